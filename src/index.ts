/**
 * wgflow: Wasserstein-2 gradient flows of particle systems on the GPU (WebGPU / WGSL).
 * Public API: re-exports only. Node-only helpers (image files, PNG/SVG/CSV output, the
 * picture preset) are in `wgflow/node` (src/node.ts), not here, so this entry runs in browsers.
 */
export { getDevice, isSoftwareAdapter, INSTALL_HINT, ADAPTER_NAMES, type AdapterInfo, type AdapterChoice, type AdapterName, type DeviceLimits, type DeviceResult, type GetDeviceOptions } from './gpu/device.js';
export { createFlow, type Flow, type FlowOptions, type FlowStats, type FlowDiagnostics, type FlowCheckpoint, type Method, type Damping, type InverseDamping, type StepOptions, type FireOptions } from './flow.js';
export { quadratic, doubleWell, gaussianMixture, customPotential, type QuadraticOptions, type DoubleWellOptions, type GaussianMixtureOptions, type MixtureComponent, type CustomPotentialOptions } from './energies/potential.js';
export { interaction, type InteractionOptions, type InteractionKernel } from './energies/interaction.js';
export type { EnergyTerm, PotentialTerm, KernelTerm, TermContext, TermKernel, TermOptions, TermReference } from './energies/types.js';
export { uniformBox, gaussian, twoQuadrants, generatePositions, type InitSpec } from './init.js';
export { samplesFromPixels, samplesFromImageBitmap, samplesFromImageElement, samplesFromFile, validateSamples, type Box, type SampleOptions, type BrowserSampleOptions, type Weighting } from './samples.js';
export { createRandomFill, type RandomFill } from './kernels/random.js';
export { seedWords, type Seed } from './math/random.js';
export { slicedWasserstein2 } from './math/sliced.js';
export { entropy, ENTROPY_EPSILON, type EntropyOptions } from './energies/entropy.js';
export * from './neighbors.js';
export { klToSamples, klReference, KL_EPSILON, type KlToSamplesOptions, type KlReferenceOptions, type KlReferenceResult } from './energies/kl.js';
export { targetDensity, annealedTarget, medianSpacing, buildTargetLattice, type TargetDensityOptions, type AnnealedTargetOptions, type AnnealedTarget, type TargetLattice } from './energies/target.js';
export { pictureScheme, runPictureFlow, type PictureScheme, type PictureSchemeOptions, type PictureFlowOptions, type PictureRun, type PictureRecord } from './picture.js';
export { createParticleRenderer, type ParticleRenderer, type ParticleRendererOptions, type ParticleView, type Rgba } from './render/particles.js';
