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
 * **Lattice.** The samples are binned with cloud-in-cell (multilinear) weights onto the
 * lattice nodes, then blurred by a separable Gaussian evaluated in the log domain
 * (log-sum-exp along each axis, over the whole axis): so log p_σ is accurate at every node,
 * including far from the samples where p_σ underflows float64 (about 38σ away), and U grows
 * like dist²/(2σ²) there as it should. The binning error is O((Δ/σ)²) in log p (Δ the cell
 * side); cost O(nodes · axis length) once, e.g. 256² nodes in ~0.2 s.
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
import { KdTree } from '../reference/kl.js';
import type { PotentialTerm, TermOptions } from './types.js';

/** f32 slots before the node values in the term's parameters. */
export const TARGET_HEADER = 16;
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

function fail(msg: string): never {
  throw new Error(`wgflow: targetDensity: ${msg}`);
}

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
export function buildTargetLattice(samples: ArrayLike<number>, options: TargetDensityOptions = {}): TargetLattice {
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
  const cap = TARGET_DEFAULT_RESOLUTION[d];
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
    origin[c] = 0.5 * (box[2 * c]! + box[2 * c + 1]!) - 0.5 * (nodes[c] - 1) * cell;
  }
  const total = nodes[0] * nodes[1] * nodes[2];
  if (total > TARGET_MAX_NODES) fail(`the lattice has ${total} nodes (${nodes.slice(0, dim).join('×')}); at most ${TARGET_MAX_NODES}: lower resolution`);

  // Cloud-in-cell binning; L holds log(weight), −∞ for empty nodes.
  const w = new Float64Array(total);
  const stride = [1, nodes[0], nodes[0] * nodes[1]];
  const base = [0, 0, 0];
  const frac = [0, 0, 0];
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < dim; c++) {
      const q = Math.min(Math.max((samples[i * dim + c]! - origin[c]) / cell, 0), nodes[c]! - 1);
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
  const a = (cell * cell) / (2 * sigma * sigma);
  const logNorm = -0.5 * Math.log(2 * Math.PI * sigma * sigma);
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
  p.set([lat.nodes[0], lat.nodes[1], lat.nodes[2], lat.origin[0], lat.origin[1], lat.origin[2], 1 / lat.cell, lat.cell,
    1 / (2 * lat.sigma * lat.sigma), ...lat.slopes], 0);
  p.set(lat.values, TARGET_HEADER);
  return p;
}

/**
 * Float64 evaluation of U and ∇U from the f32 parameter block (the GPU's arithmetic in
 * float64), for the term's `value`/`gradient` twins and the tests.
 */
function evaluate(p: Float32Array, dim: number, x: ArrayLike<number>): { u: number; g: Float64Array } {
  const nodes = [p[0]!, p[1]!, p[2]!];
  const ih = p[6]!;
  const i2s = p[8]!;
  const base = [0, 0, 0];
  const t = [0, 0, 0];
  const inside = [1, 1, 1];
  const g = new Float64Array(dim);
  let far = 0;
  for (let c = 0; c < dim; c++) {
    const q = (x[c]! - p[3 + c]!) * ih;
    const hi = nodes[c]! - 1;
    const qc = Math.min(Math.max(q, 0), hi);
    const dl = (q - qc) / ih;
    if (dl > 0) {
      far += p[10 + 2 * c]! * dl + dl * dl * i2s;
      g[c] = p[10 + 2 * c]! + 2 * dl * i2s;
      inside[c] = 0;
    } else if (dl < 0) {
      far += -p[9 + 2 * c]! * dl + dl * dl * i2s;
      g[c] = -p[9 + 2 * c]! + 2 * dl * i2s;
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

/**
 * Potential `U = −log p_σ` of the Gaussian KDE of target samples (see the module header):
 * with `entropy({ temperature: 1 })` the flow relaxes to p_σ and its energy is KL(ρ ‖ p_σ).
 * The lattice is built here, on the host, once (float64); the GPU interpolates it.
 *
 * The term also exposes its lattice as `term.lattice` (float64 values) for plots and tests.
 *
 * @example
 * const targets = await samplesFromImageFile('assets/emblem.png', { count: 20000 });
 * const flow = await createFlow(device, { dim: 2, positions, method: 'steering', h: 'auto',
 *   energy: [targetDensity(targets, { sigma: 0.015 }), entropy({ temperature: 1 })],
 *   monitor: [klToSamples(targets, { label: 'KL' })] });
 */
export function targetDensity(samples: Float32Array | Float64Array, options: TargetDensityOptions = {}): PotentialTerm & { lattice: TargetLattice } {
  if (!(samples instanceof Float32Array || samples instanceof Float64Array)) fail('samples must be a Float32Array or Float64Array (M·dim values, row-major)');
  if (!options || typeof options !== 'object') fail('options must be an object');
  const weight = options.weight ?? 1;
  if (!Number.isFinite(weight)) fail(`weight must be finite (got ${weight})`);
  const lattice = buildTargetLattice(samples, options);
  const dim = lattice.dim;
  const packed = packLattice(lattice);
  const H = TARGET_HEADER;
  return {
    kind: 'potential',
    label: options.label ?? 'target',
    weight,
    lattice,
    params: Array.from(packed),
    wgsl: (id) => `
fn td_${id}(x: vec3f) -> vec4f {
  let nn = vec3u(u32(prm_${id}(0u)), u32(prm_${id}(1u)), u32(prm_${id}(2u)));
  let ih = prm_${id}(6u);
  let i2s = prm_${id}(8u);
  var base = vec3u(0u);
  var t = vec3f(0.0);
  var inside = vec3f(1.0);
  var gfar = vec3f(0.0);
  var far = 0.0;
  for (var c = 0u; c < D; c++) {
    let q = (x[c] - prm_${id}(3u + c)) * ih;
    let qc = clamp(q, 0.0, f32(nn[c] - 1u));
    let dl = (q - qc) / ih;
    if (dl > 0.0) {
      let s = prm_${id}(10u + 2u * c);
      far += s * dl + dl * dl * i2s;
      gfar[c] = s + 2.0 * dl * i2s;
      inside[c] = 0.0;
    } else if (dl < 0.0) {
      let s = prm_${id}(9u + 2u * c);
      far += -s * dl + dl * dl * i2s;
      gfar[c] = -s + 2.0 * dl * i2s;
      inside[c] = 0.0;
    }
    let i0 = min(u32(floor(qc)), nn[c] - 2u);
    base[c] = i0;
    t[c] = qc - f32(i0);
  }
  let stride = vec3u(1u, nn.x, nn.x * nn.y);
  var v = 0.0;
  var g = vec3f(0.0);
  for (var corner = 0u; corner < (1u << D); corner++) {
    var w = 1.0;
    var idx = 0u;
    var dw = vec3f(1.0);
    for (var c = 0u; c < D; c++) {
      let bit = (corner >> c) & 1u;
      let f = select(1.0 - t[c], t[c], bit == 1u);
      idx += (base[c] + bit) * stride[c];
      w *= f;
      for (var c2 = 0u; c2 < D; c2++) {
        if (c2 == c) { dw[c2] *= select(-1.0, 1.0, bit == 1u); } else { dw[c2] *= f; }
      }
    }
    let val = prm_${id}(${H}u + idx);
    v += w * val;
    g += dw * val;
  }
  return vec4f(v + far, g * ih * inside + gfar);
}
fn U_${id}(x: vec3f) -> f32 { return td_${id}(x).x; }
fn dU_${id}(x: vec3f) -> vec3f { return td_${id}(x).yzw; }`,
    value(x) {
      return evaluate(packed, dim, x).u;
    },
    gradient(x) {
      return evaluate(packed, dim, x).g;
    },
  };
}
