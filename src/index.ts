/**
 * wgflow: Wasserstein-2 gradient flows of particle systems on the GPU (WebGPU / WGSL).
 * Public API: re-exports only.
 */
export { getDevice, isSoftwareAdapter, INSTALL_HINT, type AdapterInfo, type DeviceResult, type GetDeviceOptions } from './device.js';
export { createFlow, type Flow, type FlowOptions, type FlowStats, type FlowCheckpoint, type Method, type Damping, type InverseDamping, type StepOptions } from './flow.js';
export { quadratic, doubleWell, gaussianMixture, customPotential, type QuadraticOptions, type DoubleWellOptions, type GaussianMixtureOptions, type MixtureComponent, type CustomPotentialOptions } from './energies/potential.js';
export type { EnergyTerm, PotentialTerm, KernelTerm, TermContext, TermKernel, TermOptions, TermReference } from './energies/types.js';
export { uniformBox, gaussian, twoQuadrants, generatePositions, type InitSpec } from './init.js';
export { referenceFlow, referenceEnergy, type ReferenceFlowOptions } from './reference/flows.js';
