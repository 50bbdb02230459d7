/**
 * A smoothed sample target as a potential: `U = −log p_σ`, p_σ the Gaussian kernel density
 * estimate of the samples y_1..y_M,
 *
 *     p_σ(x) = (1/M) Σ_s (2πσ²)^{−d/2} exp(−|x − y_s|² / (2σ²)),
 *
 * precomputed once on the host in float64 on a regular lattice and read on the GPU by
 * multilinear (bilinear in 2D) interpolation. With `entropy()` at temperature 1 the flow is
 * the Fokker–Planck flow of `F = ∫ρ log ρ − ∫ρ log p_σ = KL(ρ ‖ p_σ)`: its minimiser is p_σ and
 * its minimum 0 (up to the entropy estimator's bias), so the energy itself reports the KL to
 * the smoothed target. See docs/picture.md for why this converges where the exact KL-to-samples
 * flow does not.
 *
 * Two terms: {@link targetDensity}, a PotentialTerm (one σ), and {@link annealedTarget}, a
 * kernel term holding a ladder of σ's blended by a host-set progress (the annealed scheme of
 * docs/picture.md). Both evaluate the lattice with `tgt_eval` of shaders/target.wgsl.
 *
 * **Lattice.** The samples are binned with cloud-in-cell (multilinear) weights onto the
 * lattice nodes, then blurred by a separable Gaussian evaluated in the log domain
 * (log-sum-exp along each axis, over the whole axis): so log p_σ is accurate at every node,
 * including far from the samples where p_σ underflows float64 (about 38σ away), and U grows
 * like dist²/(2σ²) there as it should. Binning spreads each sample by a tent of variance
 * Δ²/6 per axis (Δ the cell side), so the blur uses σ_b² = σ² − Δ²/6: the error in U is then
 * about 0.01–0.03 within a few σ of the samples at the default Δ ≤ σ/3, and O(Δ/dist)
 * relative far away. Cost O(nodes · axis length) once, e.g. 256² nodes in ~0.2 s.
 *
 * **Interpolation.** Inside the lattice box, U is the multilinear interpolant B of the node
 * values (f32), and ∇U its exact gradient (piecewise: constant along the axis within a cell,
 * discontinuous across cell faces), so finite differences of U match ∇U away from cell faces.
 *
 * **Far field.** Outside the box, with π(x) the nearest point of the box and δ_c = x_c − π_c(x):
 *
 *     U(x) = B(π(x)) + Σ_c ( a_{c,±} |δ_c| + δ_c² / (2σ²) ),
 *
 * a quadratic that brings far particles back from any distance (the true −log p_σ grows the
 * same way, |x − y|²/(2σ²)). a_{c,±} ≥ 0 is the mean outward slope of U over that face of the
 * lattice, so U is continuous and its normal derivative nearly so at the faces.
 */
import { commonWgsl, targetWgsl } from '../shaders.gen.js';
import { createBuffer, dispatchFor, maxBindingBytes, WORKGROUP_SIZE } from '../gpu/resources.js';
import { LATTICE_HEADER, TARGET_PARAMS_FIELDS } from '../gpu/layout.js';
import { bindGroup, dispatch, pipeline } from '../gpu/pipelines.js';
import { wgslLibrary } from '../gpu/wgsl.js';
import { KdTree } from '../math/knn.js';
import { checkOptions, defineKernelTerm, termError, type Fail } from './term.js';
import type { KernelTerm, PotentialTerm, TermOptions } from './types.js';

/** f32 slots before the node values in the term's parameters (LATTICE_HEADER of src/gpu/layout.ts). */
export const TARGET_HEADER = LATTICE_HEADER.LAT_VALUES;
const { LAT_NODES, LAT_ORIGIN, LAT_INV_SPACING, LAT_SPACING, LAT_INV_2S2, LAT_SLOPES } = LATTICE_HEADER;
/** Largest number of lattice nodes (the flow copies potential parameters into one array). */
export const TARGET_MAX_NODES = 100_000;
/** Default nodes along the longest axis of the box, by dimension (≤ {@link TARGET_MAX_NODES} in all). */
export const TARGET_DEFAULT_RESOLUTION: Readonly<Record<1 | 2 | 3, number>> = { 1: 4096, 2: 256, 3: 40 };

/** Options of {@link targetDensity}. */
export interface TargetDensityOptions extends TermOptions {
  /** Dimension of the samples, 1..3. Default 2. */
  dim?: number;
  /**
   * Bandwidth σ > 0 of the Gaussian kernel (units of x). The flow's minimiser is the samples'
   * distribution blurred by σ, so smaller is sharper; below about the sample spacing the
   * density gets lumpy (particles gather on samples), below about 1.5 cells the lattice
   * under-resolves it. Default: max(2 × the median nearest-neighbour distance of the samples,
   * 1.5 cells at the default resolution).
   */
  sigma?: number;
  /** Nodes along the longest axis of the box (≥ 2; cells are square). Default: enough for Δ ≤ σ/3, capped at {@link TARGET_DEFAULT_RESOLUTION}. */
  resolution?: number;
  /**
   * Lattice box `[lo_0, hi_0, lo_1, hi_1, (lo_2, hi_2)]` (2·dim numbers). Samples outside are
   * binned at the nearest face. Default: the samples' bounding box padded by 4σ on every side.
   */
  box?: readonly number[];
}

/** The lattice behind a {@link targetDensity} term (float64 values, before rounding to f32). */
export interface TargetLattice {
  dim: number;
  sigma: number;
  /** Nodes per axis (3 entries, 1 past dim). */
  nodes: [number, number, number];
  /** Coordinates of node 0 (3 entries, 0 past dim). */
  origin: [number, number, number];
  /** Cell side Δ. */
  cell: number;
  /** Far-field slopes a (lo_0, hi_0, lo_1, hi_1, lo_2, hi_2). */
  slopes: number[];
  /** U = −log p_σ at the nodes, x fastest, then y, then z. */
  values: Float64Array;
}

const fail: Fail = termError('targetDensity');

/** Median distance from (up to 4096 spread) samples to their nearest other sample (0 if all coincide). */
export function medianSpacing(samples: ArrayLike<number>, dim: number): number {
  const m = samples.length / dim;
  if (m < 2) return 0;
  const tree = new KdTree(samples, dim);
  const q = Math.min(m, 4096);
  const idx = new Int32Array(2);
  const d2 = new Float64Array(2);
  const out: number[] = [];
  for (let t = 0; t < q; t++) {
    const i = Math.floor((t * m) / q);
    const found = tree.query(samples, i * dim, 2, i, idx, d2, 0);
    // Nearest at non-zero distance if the nearest is a duplicate.
    const d = found > 0 && d2[0]! > 0 ? d2[0]! : found > 1 ? d2[1]! : 0;
    if (d > 0) out.push(Math.sqrt(d));
  }
  if (!out.length) return 0;
  out.sort((a, b) => a - b);
  return out[Math.floor(out.length / 2)]!;
}

/**
 * Builds the lattice of U = −log p_σ (float64) for samples (M·dim): CIC binning, then a
 * log-domain separable Gaussian blur along each axis (see the module header).
 *
 * @example
 * const lat = buildTargetLattice(samples, { dim: 2, sigma: 0.02 });
 * // lat.values[i + lat.nodes[0] * j] = −log p_σ at (origin[0] + i·cell, origin[1] + j·cell)
 */
export function buildTargetLattice(samples: ArrayLike<number>, options: TargetDensityOptions = {}, maxResolution?: number): TargetLattice {
  const dim = options.dim ?? 2;
  if (![1, 2, 3].includes(dim)) fail(`dim must be 1, 2 or 3 (got ${dim})`);
  const d = dim as 1 | 2 | 3;
  if (samples.length === 0 || samples.length % dim !== 0) fail(`samples length ${samples.length} is not a positive multiple of dim = ${dim}`);
  for (let q = 0; q < samples.length; q++) if (!Number.isFinite(samples[q]!)) fail(`samples[${q}] is not finite`);
  const m = samples.length / dim;
  const lo = [0, 0, 0];
  const hi = [0, 0, 0];
  for (let c = 0; c < dim; c++) {
    lo[c] = Infinity;
    hi[c] = -Infinity;
    for (let i = 0; i < m; i++) {
      const v = samples[i * dim + c]!;
      lo[c] = Math.min(lo[c]!, v);
      hi[c] = Math.max(hi[c]!, v);
    }
  }
  const extent = Math.max(...lo.slice(0, dim).map((v, c) => hi[c]! - v));
  const cap = maxResolution ?? TARGET_DEFAULT_RESOLUTION[d];
  let sigma = options.sigma;
  if (sigma === undefined) {
    // 1.5 cells at the cap with a 4σ pad: σ ≥ 1.5 (E + 8σ)/(cap − 1).
    const minSigma = (1.5 * extent) / (cap - 13);
    sigma = Math.max(2 * medianSpacing(samples, dim), minSigma);
    if (!(sigma > 0)) sigma = 1; // a single point (or all coincident): any scale will do
  }
  if (!(Number.isFinite(sigma) && sigma > 0)) fail(`sigma must be a finite number > 0 (got ${sigma})`);
  let box: number[];
  if (options.box !== undefined) {
    box = Array.from(options.box);
    if (box.length !== 2 * dim || !box.every(Number.isFinite)) fail(`box must be ${2 * dim} finite numbers [lo_0, hi_0, ...] (got ${JSON.stringify(options.box)})`);
    for (let c = 0; c < dim; c++) if (!(box[2 * c + 1]! > box[2 * c]!)) fail(`box axis ${c}: hi must exceed lo (got ${box[2 * c]}, ${box[2 * c + 1]})`);
  } else {
    box = [];
    for (let c = 0; c < dim; c++) box.push(lo[c]! - 4 * sigma, hi[c]! + 4 * sigma);
  }
  const span = Math.max(...Array.from({ length: dim }, (_, c) => box[2 * c + 1]! - box[2 * c]!));
  const res = options.resolution ?? Math.min(cap, Math.ceil(span / (sigma / 3)) + 1);
  if (!Number.isInteger(res) || res < 2) fail(`resolution must be an integer >= 2 (got ${res})`);
  const cell = span / (res - 1);
  const nodes: [number, number, number] = [1, 1, 1];
  const origin: [number, number, number] = [0, 0, 0];
  for (let c = 0; c < dim; c++) {
    const e = box[2 * c + 1]! - box[2 * c]!;
    nodes[c] = Math.max(2, Math.ceil(e / cell - 1e-9) + 1);
    // Centre the (slightly wider) lattice on the requested axis.
    origin[c] = 0.5 * (box[2 * c]! + box[2 * c + 1]!) - 0.5 * (nodes[c]! - 1) * cell;
  }
  const total = nodes[0] * nodes[1] * nodes[2];
  if (total > 2 ** 26) fail(`the lattice has ${total} nodes (${nodes.slice(0, dim).join('×')}); lower resolution`);

  // Cloud-in-cell binning; L holds log(weight), −∞ for empty nodes.
  const w = new Float64Array(total);
  const stride = [1, nodes[0], nodes[0] * nodes[1]];
  const base = [0, 0, 0];
  const frac = [0, 0, 0];
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < dim; c++) {
      const q = Math.min(Math.max((samples[i * dim + c]! - origin[c]!) / cell, 0), nodes[c]! - 1);
      const b = Math.min(Math.floor(q), nodes[c]! - 2);
      base[c] = b;
      frac[c] = q - b;
    }
    for (let corner = 0; corner < 1 << dim; corner++) {
      let wt = 1 / m;
      let idx = 0;
      for (let c = 0; c < dim; c++) {
        const bit = (corner >> c) & 1;
        wt *= bit ? frac[c]! : 1 - frac[c]!;
        idx += (base[c]! + bit) * stride[c]!;
      }
      w[idx]! += wt;
    }
  }
  let L = new Float64Array(total);
  for (let q = 0; q < total; q++) L[q] = w[q]! > 0 ? Math.log(w[q]!) : -Infinity;

  // Separable log-domain blur: along axis c, L'(i) = log Σ_j exp(L(j) + log g_σ((i − j)Δ)).
  // Cloud-in-cell binning spreads each sample by a tent of variance Δ²/6 per axis (on average
  // over positions in the cell); blurring with σ_b² = σ² − Δ²/6 makes the total σ² again, which
  // cuts the binning error near the samples from O((Δ/σ)²) to about O((Δ/σ)⁴).
  const sb2 = Math.max(sigma * sigma - (cell * cell) / 6, 0.25 * sigma * sigma);
  const a = (cell * cell) / (2 * sb2);
  const logNorm = -0.5 * Math.log(2 * Math.PI * sb2);
  for (let c = 0; c < dim; c++) {
    const n = nodes[c]!;
    const s = stride[c]!;
    const out = new Float64Array(total).fill(-Infinity);
    const line = new Float64Array(n);
    const fin = new Int32Array(n);
    for (let start = 0; start < total; start++) {
      // Line starts: nodes whose coordinate along c is 0.
      if (Math.floor(start / s) % n !== 0) continue;
      let nf = 0;
      for (let j = 0; j < n; j++) {
        line[j] = L[start + j * s]!;
        if (line[j]! > -Infinity) fin[nf++] = j;
      }
      if (nf === 0) continue;
      for (let i = 0; i < n; i++) {
        let mx = -Infinity;
        for (let t = 0; t < nf; t++) {
          const j = fin[t]!;
          const v = line[j]! - a * (i - j) * (i - j);
          if (v > mx) mx = v;
        }
        let sum = 0;
        for (let t = 0; t < nf; t++) {
          const j = fin[t]!;
          const v = line[j]! - a * (i - j) * (i - j) - mx;
          if (v > -745) sum += Math.exp(v);
        }
        out[start + i * s] = mx + Math.log(sum) + logNorm;
      }
    }
    L = out;
  }
  const values = new Float64Array(total);
  for (let q = 0; q < total; q++) values[q] = -L[q]!;

  // Far-field slopes: mean outward slope over each face (≥ 0).
  const slopes = [0, 0, 0, 0, 0, 0];
  for (let c = 0; c < dim; c++) {
    const n = nodes[c]!;
    const s = stride[c]!;
    let sumLo = 0;
    let sumHi = 0;
    let count = 0;
    for (let q = 0; q < total; q++) {
      if (Math.floor(q / s) % n !== 0) continue;
      sumLo += (values[q]! - values[q + s]!) / cell;
      sumHi += (values[q + (n - 1) * s]! - values[q + (n - 2) * s]!) / cell;
      count++;
    }
    slopes[2 * c] = Math.max(0, sumLo / count);
    slopes[2 * c + 1] = Math.max(0, sumHi / count);
  }
  return { dim, sigma, nodes, origin, cell, slopes, values };
}

/** The f32 parameter block of a lattice: header then node values (what the GPU reads). */
function packLattice(lat: TargetLattice): Float32Array {
  const p = new Float32Array(TARGET_HEADER + lat.values.length);
  p.set(lat.nodes, LAT_NODES);
  p.set(lat.origin, LAT_ORIGIN);
  p[LAT_INV_SPACING] = 1 / lat.cell;
  p[LAT_SPACING] = lat.cell;
  p[LAT_INV_2S2] = 1 / (2 * lat.sigma * lat.sigma);
  p.set(lat.slopes, LAT_SLOPES);
  p.set(lat.values, TARGET_HEADER);
  return p;
}

/**
 * Float64 evaluation of U and ∇U from an f32 lattice block at offset `o` (the GPU's
 * arithmetic of tgt_eval in shaders/target.wgsl, in float64), for the float64 twins.
 */
function evaluate(q32: Float32Array, dim: number, x: ArrayLike<number>, o = 0): { u: number; g: Float64Array } {
  const p = o ? q32.subarray(o) : q32;
  const nodes = [p[LAT_NODES]!, p[LAT_NODES + 1]!, p[LAT_NODES + 2]!];
  const ih = p[LAT_INV_SPACING]!;
  const i2s = p[LAT_INV_2S2]!;
  const base = [0, 0, 0];
  const t = [0, 0, 0];
  const inside = [1, 1, 1];
  const g = new Float64Array(dim);
  let far = 0;
  for (let c = 0; c < dim; c++) {
    const q = (x[c]! - p[LAT_ORIGIN + c]!) * ih;
    const hi = nodes[c]! - 1;
    const qc = Math.min(Math.max(q, 0), hi);
    const dl = (q - qc) / ih;
    if (dl > 0) {
      far += p[LAT_SLOPES + 1 + 2 * c]! * dl + dl * dl * i2s;
      g[c] = p[LAT_SLOPES + 1 + 2 * c]! + 2 * dl * i2s;
      inside[c] = 0;
    } else if (dl < 0) {
      far += -p[LAT_SLOPES + 2 * c]! * dl + dl * dl * i2s;
      g[c] = -p[LAT_SLOPES + 2 * c]! + 2 * dl * i2s;
      inside[c] = 0;
    }
    const i0 = Math.min(Math.floor(qc), nodes[c]! - 2);
    base[c] = i0;
    t[c] = qc - i0;
  }
  const stride = [1, nodes[0]!, nodes[0]! * nodes[1]!];
  let v = 0;
  const gb = [0, 0, 0];
  for (let corner = 0; corner < 1 << dim; corner++) {
    let w = 1;
    let idx = 0;
    const dw = [1, 1, 1];
    for (let c = 0; c < dim; c++) {
      const bit = (corner >> c) & 1;
      const f = bit ? t[c]! : 1 - t[c]!;
      idx += (base[c]! + bit) * stride[c]!;
      w *= f;
      for (let c2 = 0; c2 < dim; c2++) dw[c2]! *= c2 === c ? (bit ? 1 : -1) : f;
    }
    const val = p[TARGET_HEADER + idx]!;
    v += w * val;
    for (let c = 0; c < dim; c++) gb[c]! += dw[c]! * val;
  }
  for (let c = 0; c < dim; c++) g[c]! += gb[c]! * ih * inside[c]!;
  return { u: v + far, g };
}


/** The WGSL of `tgt_eval` (shaders/target.wgsl) specialised for a potential term `id`. */
function potentialWgsl(id: string): string {
  const fn = wgslLibrary(targetWgsl).replace(/^\/\/.*$/gm, '').trim();
  return `${fn.replaceAll('tgt_at(', `prm_${id}(`).replaceAll('tgt_eval(', `tgt_eval_${id}(`).replace(/\bLAT_/g, `LAT_${id}_`)}
fn U_${id}(x: vec3f) -> f32 { return tgt_eval_${id}(x, 0u).x; }
fn dU_${id}(x: vec3f) -> vec3f { return tgt_eval_${id}(x, 0u).yzw; }`;
}

/**
 * Potential `U = −log p_σ` of the Gaussian KDE of target samples (see the module header):
 * with `entropy({ temperature: 1 })` the flow relaxes to p_σ and its energy is KL(ρ ‖ p_σ).
 * The lattice is built here, on the host, once (float64, at most {@link TARGET_MAX_NODES}
 * nodes since potential parameters share one array in the flow); the GPU interpolates it.
 * The term exposes its lattice as `term.lattice` (float64 values) for plots and tests.
 * For targets made of separated parts, prefer {@link annealedTarget} (docs/picture.md).
 *
 * @example
 * const targets = await samplesFromImageFile('assets/emblem.png', { count: 20000 });
 * const flow = await createFlow(device, { dim: 2, positions, method: 'steering', h: 1e-3, gamma: 50,
 *   energy: [targetDensity(targets, { sigma: 0.02 }), entropy({ temperature: 1, epsilon: 2e-3 })],
 *   monitor: [klToSamples(targets, { label: 'KL' })] });
 */
export function targetDensity(samples: Float32Array | Float64Array, options: TargetDensityOptions = {}): PotentialTerm & { lattice: TargetLattice } {
  if (!(samples instanceof Float32Array || samples instanceof Float64Array)) fail('samples must be a Float32Array or Float64Array (M·dim values, row-major)');
  checkOptions(options, fail);
  const weight = options.weight ?? 1;
  if (!Number.isFinite(weight)) fail(`weight must be finite (got ${weight})`);
  const lattice = buildTargetLattice(samples, options);
  const total = lattice.values.length;
  if (total > TARGET_MAX_NODES) fail(`the lattice has ${total} nodes (${lattice.nodes.slice(0, lattice.dim).join('×')}); a potential term holds at most ${TARGET_MAX_NODES}: lower resolution, or use annealedTarget (a kernel term, no such limit)`);
  const dim = lattice.dim;
  const packed = packLattice(lattice);
  return {
    kind: 'potential',
    label: options.label ?? 'target',
    weight,
    lattice,
    params: Array.from(packed),
    wgsl: potentialWgsl,
    value(x) {
      return evaluate(packed, dim, x).u;
    },
    gradient(x) {
      return evaluate(packed, dim, x).g;
    },
  };
}

/** Fields of `struct TargetParams` of shaders/target.wgsl, in order. */
export { TARGET_PARAMS_FIELDS };

/** Largest default resolution of the finest level of {@link annealedTarget}, by dimension. */
export const ANNEALED_DEFAULT_RESOLUTION: Readonly<Record<1 | 2 | 3, number>> = { 1: 8192, 2: 512, 3: 96 };

/** Options of {@link annealedTarget}. */
export interface AnnealedTargetOptions extends TermOptions {
  /** Dimension of the samples, 1..3. Default 2. */
  dim?: number;
  /** Final bandwidth σ (progress 1). Default as {@link targetDensity}, with the finer lattice cap {@link ANNEALED_DEFAULT_RESOLUTION}. */
  sigma?: number;
  /** Starting bandwidth σ₀ (progress 0), ≥ σ. Default max(σ, extent/8), extent the samples' largest side. */
  sigma0?: number;
  /** Number of lattices K ≥ 2 (σ₀ … σ, geometric). Default ⌈log₂(σ₀/σ)⌉ + 1 (ratio ≤ 2 between levels). */
  levels?: number;
  /** Nodes along the longest axis of the finest lattice. Default: Δ ≤ σ/3, capped at {@link ANNEALED_DEFAULT_RESOLUTION}. Coarser levels use Δ ≤ σ_k/3. */
  resolution?: number;
}

/** The kernel term of {@link annealedTarget}, with its ladder and progress control. */
export interface AnnealedTarget extends KernelTerm {
  /** The bandwidths σ₀ > … > σ of the ladder. */
  readonly sigmas: readonly number[];
  /** Their lattices (float64). */
  readonly lattices: readonly TargetLattice[];
  /** Current progress u ∈ [0, 1]. */
  readonly progress: number;
  /**
   * Sets the progress u ∈ [0, 1] for later steps of every flow using this term (between
   * `flow.step` calls): with q = u·(K − 1), k = ⌊q⌋, U = (1 − (q − k))·U_k + (q − k)·U_{k+1}.
   */
  setProgress(u: number): void;
  /** The geometric bandwidth σ₀^{1−u} σ^u that the blend at progress u stands for. */
  sigmaAt(u: number): number;
  /** Float64 U and ∇U at one point and a progress (default: the current one). */
  value(x: ArrayLike<number>, u?: number): number;
  gradient(x: ArrayLike<number>, u?: number): Float64Array;
}

/**
 * A ladder of smoothed targets `U_k = −log p_{σ_k}` (σ₀ > … > σ_{K−1} = σ, geometric), blended
 * by a host-set progress u, as a kernel term: with `entropy()` at temperature 1 this is the
 * annealed Fokker–Planck flow of docs/picture.md. At large σ the smoothed target has one mode,
 * so the flow puts the right mass in every region of the picture; as σ shrinks each part of
 * the picture keeps its share, which a flow at a small fixed σ cannot do (mass left in the
 * wrong basin stays there: the barrier between parts grows like gap²/(2σ²)). Each lattice is
 * built as for {@link targetDensity}; all live in one GPU buffer, so there is no limit from
 * the flow's potential parameters, and a step evaluates only the two blended lattices.
 * Energy density e_i = U(x_i) (constant 0); the gradient ADDs w ∇U.
 *
 * @example
 * const ladder = annealedTarget(targets, { sigma: 0.01 });
 * const flow = await createFlow(device, { dim: 2, positions, method: 'steering', h: 1e-3,
 *   gamma: (step) => 1 / ladder.sigmaAt(Math.min(1, step / 2000)),
 *   energy: [ladder, entropy({ epsilon: 2e-3 })] });
 * for (let s = 0; s < 3000; s += 20) { ladder.setProgress(Math.min(1, s / 2000)); await flow.step(20); }
 */
export function annealedTarget(samples: Float32Array | Float64Array, options: AnnealedTargetOptions = {}): AnnealedTarget {
  const fail: Fail = termError('annealedTarget');
  if (!(samples instanceof Float32Array || samples instanceof Float64Array)) fail('samples must be a Float32Array or Float64Array (M·dim values, row-major)');
  checkOptions(options, fail);
  const dim = options.dim ?? 2;
  if (![1, 2, 3].includes(dim)) fail(`dim must be 1, 2 or 3 (got ${dim})`);
  const weight = options.weight ?? 1;
  const cap = ANNEALED_DEFAULT_RESOLUTION[dim as 1 | 2 | 3];
  const finest = buildTargetLattice(samples, { dim, sigma: options.sigma, resolution: options.resolution }, cap);
  const sigma = finest.sigma;
  let extent = 0;
  const m = samples.length / dim;
  for (let c = 0; c < dim; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < m; i++) {
      lo = Math.min(lo, samples[i * dim + c]!);
      hi = Math.max(hi, samples[i * dim + c]!);
    }
    extent = Math.max(extent, hi - lo);
  }
  const sigma0 = options.sigma0 ?? Math.max(sigma, extent / 8);
  if (!(Number.isFinite(sigma0) && sigma0 >= sigma)) fail(`sigma0 must be a finite number >= sigma = ${sigma} (got ${sigma0})`);
  const K = options.levels ?? Math.max(2, Math.ceil(Math.log2(sigma0 / sigma) - 1e-9) + 1);
  if (!Number.isInteger(K) || K < 2 || K > 16) fail(`levels must be an integer in 2..16 (got ${K})`);
  const sigmas = Array.from({ length: K }, (_, k) => sigma0 * Math.pow(sigma / sigma0, k / (K - 1)));
  sigmas[K - 1] = sigma;
  const lattices = sigmas.map((s, k) => (k === K - 1 ? finest : buildTargetLattice(samples, { dim, sigma: s }, cap)));
  const blocks = lattices.map(packLattice);
  const offsets: number[] = [];
  let total = 0;
  for (const b of blocks) {
    offsets.push(total);
    total += b.length;
  }
  const all = new Float32Array(total);
  blocks.forEach((b, k) => all.set(b, offsets[k]!));
  const label = options.label ?? 'target';
  let progress = 0;
  /** The repack of every live GPU kernel of this term (setProgress uploads the new blend). */
  const live = new Set<() => void>();
  const blendAt = (u: number) => {
    const q = Math.min(Math.max(u, 0), 1) * (K - 1);
    const k = Math.min(Math.floor(q), K - 2);
    return { a: k, b: k + 1, blend: q - k };
  };
  const checkU = (u: number) => {
    if (!(u >= 0 && u <= 1)) fail(`progress must be in [0, 1] (got ${u})`);
    return u;
  };
  const evalAt = (x: ArrayLike<number>, u: number) => {
    const { a, b, blend } = blendAt(u);
    const ra = evaluate(all, dim, x, offsets[a]);
    if (blend === 0) return ra;
    const rb = evaluate(all, dim, x, offsets[b]);
    const g = new Float64Array(dim);
    for (let c = 0; c < dim; c++) g[c] = (1 - blend) * ra.g[c]! + blend * rb.g[c]!;
    return { u: (1 - blend) * ra.u + blend * rb.u, g };
  };

  const base = defineKernelTerm({
    name: 'annealedTarget',
    owner: 'Target',
    label,
    weight,
    params: TARGET_PARAMS_FIELDS,
    paramValues() {
      const { a, b, blend } = blendAt(progress);
      return { blend, off_a: offsets[a]!, off_b: offsets[b]! };
    },
    async create(ctx, api) {
      const { device, n } = ctx;
      if (ctx.dim !== dim) fail(`the flow has dim = ${ctx.dim} but the samples were given with dim = ${dim}`);
      if (all.byteLength > maxBindingBytes(device)) fail(`the lattices need ${all.byteLength} bytes, more than this device binds (${maxBindingBytes(device)}); lower resolution or levels`);
      const pipe = await pipeline(device, { label: 'Target.target_main', code: commonWgsl + targetWgsl, entry: 'target_main', constants: { D: dim, WG: WORKGROUP_SIZE } });
      const lat = api.own(createBuffer(device, api.label('lattices'), all.byteLength, GPUBufferUsage.STORAGE, all));
      const bg = bindGroup(device, api.label('main'), pipe, { 70: ctx.positions, 71: lat, 72: ctx.grad, 73: ctx.energy, 74: api.params });
      const size = dispatchFor(n);
      live.add(api.repack);
      api.own({ destroy: () => live.delete(api.repack) });
      return {
        encode(pass) {
          dispatch(pass, pipe, bg, size);
        },
      };
    },
    reference(x: Float64Array, n: number, d: number) {
      if (d !== dim || x.length !== n * d) fail(`reference: expected ${n}·${dim} values`);
      const grad = new Float64Array(n * dim);
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const r = evalAt(x.subarray(i * dim, (i + 1) * dim), progress);
        sum += r.u;
        for (let c = 0; c < dim; c++) grad[i * dim + c] = weight * r.g[c]!;
      }
      return { value: (weight * sum) / n, grad };
    },
  });

  return {
    ...base,
    sigmas,
    lattices,
    get progress() {
      return progress;
    },
    setProgress(u: number) {
      progress = checkU(u);
      for (const repack of live) repack();
    },
    sigmaAt(u: number) {
      return sigma0 * Math.pow(sigma / sigma0, Math.min(Math.max(checkU(u), 0), 1));
    },
    value(x, u = progress) {
      return evalAt(x, checkU(u)).u;
    },
    gradient(x, u = progress) {
      return evalAt(x, checkU(u)).g;
    },
  };
}
