/**
 * The KL divergence to a target known only by samples y_1..y_M (docs/math.md §5; Pérez-Cruz 2008;
 * Wang, Kulkarni and Verdú 2009), as a kernel term:
 *
 *     D̂(q‖p) = (d/N) Σ_i log(ν̃_i / r̃_i) + log(M / (N − 1)),
 *
 * ν_i the distance from x_i to its k-th nearest target sample y_{m(i)}, r_i the distance to
 * its k-th nearest other particle x_{n(i)} (for equal k the digamma corrections cancel, so the
 * formula holds for every k), with the smooth floors
 *
 *     ν̃_i² = ν_i² + εν²,     r̃_i² = r_i² + εr².
 *
 * Per-particle density and constant (F = w·((1/N) Σ e_i + C)):
 *
 *     e_i = d log(ν̃_i / r̃_i) = (d/2) (log ν̃_i² − log r̃_i²),     C = log(M / (N − 1)),
 *
 * and the exact Wasserstein gradient, reverse neighbours included:
 *
 *     g_j = N ∂F/∂x_j = w d [ (x_j − y_m(j))/ν̃_j² − (x_j − x_n(j))/r̃_j² − Σ_{i : n(i) = j} (x_j − x_i)/r̃_i² ].
 *
 * **Floors and their bias.** Without floors a particle sitting on a sample sends log ν to −∞
 * (the estimate is unbounded below) and duplicate particles send log r to +∞. The smooth
 * floors make both terms finite and differentiable everywhere: a particle on a sample has
 * e = d log εν − d log r̃ and no ν pull (the ν pull d·ν/(ν² + εν²) peaks at d/(2εν) at ν = εν);
 * duplicates have r̃ = εr and no r push. Where ν ≫ εν the bias of a term is (d/2)(εν/ν)², so
 * with the defaults (1e-6, absolute, for coordinates of order 1) the estimate equals the
 * unfloored one to f32 precision unless a distance is below ~1e-4. The float64 test oracle
 * `klOracle` uses hard floors max(ν, εν); both agree wherever no distance is within
 * a few εν of its floor. Larger floors (a fraction of the sample spacing) regularise the
 * flow: see docs/picture.md.
 *
 * **Range (no overflow, no NaN).** Every log is bounded below by log ε, every pull by
 * d/(2ε). Distances whose square leaves the f32 range (≥ 1.8e19) are handled by
 * `half_log_dist2` / `inv_dist2_vec` (shaders/common.wgsl: scaled half differences), so the
 * value stays exact and the gradient finite (tested up to |x| = 1e19). The neighbour search
 * ranks by squared distance, so it is exact while each particle's k-th neighbour distance is
 * below 1.8e19; past that it may pick another far neighbour (the value stays finite). A value
 * that still ends NaN (coordinates near the f32 maximum) makes `stats()` throw, naming the term.
 *
 * **GPU passes per step.** The M samples get a static grid built once at create(); every step
 * then runs the particles' k-NN against that grid (src/kernels/neighbors.ts, queries mode),
 * the self k-NN of the particles, the reverse-neighbour lists, and two passes of
 * shaders/kl.wgsl (the r part with a deterministic fixed-point gather of the reverse sum, then
 * the ν part). The length scale of the automatic step is l_i = min(ν̃_i, r̃_i): the
 * gradient's Lipschitz constant near particle i is about d/l_i², so h:'auto' bounds the
 * displacement by a fraction of l_i. Float64 twin: {@link klReference}.
 */
import { commonWgsl, klWgsl, neighborsWgsl, reverseWgsl } from '../shaders.gen.js';
import { createBuffer, dispatchFor, WORKGROUP_SIZE } from '../gpu/resources.js';
import { KL_PARAMS_FIELDS } from '../gpu/layout.js';
import { bindGroup, dispatch, pipeline } from '../gpu/pipelines.js';
import { wgslLibrary } from '../gpu/wgsl.js';
import { createGrid } from '../kernels/grid.js';
import { createKnn, createNeighborSearch, createReverseNeighbors, MAX_K } from '../kernels/neighbors.js';
import { knn } from '../math/knn.js';
import { checkOptions, defineKernelTerm, termError, type Fail } from './term.js';
import type { KernelTerm, TermOptions, TermReference } from './types.js';

/** Default smooth floors εν and εr (absolute, units of x), the float64 oracle's defaults. */
export const KL_EPSILON = 1e-6;

/** Fields of `struct KlParams` of shaders/kl.wgsl, in order. */
export { KL_PARAMS_FIELDS };

/** Options of {@link klToSamples}. */
export interface KlToSamplesOptions extends TermOptions {
  /** Neighbour order k of both searches, 1..8 (needs N > k and M ≥ k). Default 1. */
  k?: number;
  /**
   * Smooth floor εν of the particle-to-sample distance (absolute, units of x): log ν becomes
   * ½ log(ν² + εν²). εν² is rounded to f32 and must be a normal f32 (εν ≥ 1e-18). Default 1e-6.
   */
  epsilonNu?: number;
  /** Smooth floor εr of the particle-to-particle distance, as εν. Default 1e-6. */
  epsilonR?: number;
}

/** Options of {@link klReference}. */
export interface KlReferenceOptions {
  k?: number;
  epsilonNu?: number;
  epsilonR?: number;
  weight?: number;
}

/** Result of {@link klReference}: value and gradient (weight included) and what lies behind them. */
export interface KlReferenceResult extends TermReference {
  /** Per-particle densities e_i = (d/2)(log ν̃_i² − log r̃_i²) (without the weight). */
  density: Float64Array;
  /** The constant log(M / (N − 1)). */
  constant: number;
  /** ν_i and r_i (unfloored k-th neighbour distances). */
  nu: Float64Array;
  r: Float64Array;
  /** m(i) and n(i). */
  target: Int32Array;
  neighbor: Int32Array;
}

const fail: Fail = termError('klToSamples');

function floorSquared(eps: number, what: string): number {
  if (!Number.isFinite(eps) || !(eps >= 1e-18)) fail(`${what} must be a finite number >= 1e-18 (got ${eps})`);
  const e2 = Math.fround(eps * eps);
  if (!Number.isFinite(e2)) fail(`${what} = ${eps}: its square overflows f32`);
  return e2;
}

/**
 * Float64 twin of {@link klToSamples} (same smooth floors, ε² rounded to f32 as on the GPU):
 * the estimate D̂ times `weight`, its exact Wasserstein gradient g = N ∂F/∂x and the neighbour
 * data, with the exact k-NN of src/math/knn.ts (k-d tree for large sets).
 *
 * @example
 * const { value, grad } = klReference(particles, samples, 2, { k: 1 });
 */
export function klReference(x: ArrayLike<number>, samples: ArrayLike<number>, dim: number, options: KlReferenceOptions = {}): KlReferenceResult {
  const k = options.k ?? 1;
  const weight = options.weight ?? 1;
  const en2 = floorSquared(options.epsilonNu ?? KL_EPSILON, 'epsilonNu');
  const er2 = floorSquared(options.epsilonR ?? KL_EPSILON, 'epsilonR');
  if (![1, 2, 3].includes(dim)) fail(`dim must be 1, 2 or 3 (got ${dim})`);
  const n = x.length / dim;
  const m = samples.length / dim;
  if (!Number.isInteger(n) || !Number.isInteger(m)) fail('lengths must be multiples of dim');
  if (n < k + 1) fail(`needs more than k = ${k} particles (got N = ${n})`);
  if (m < k) fail(`needs at least k = ${k} samples (got M = ${m})`);
  const toY = knn(x, samples, dim, k);
  const toX = knn(x, x, dim, k, { excludeSelf: true });
  const nu = new Float64Array(n);
  const r = new Float64Array(n);
  const target = new Int32Array(n);
  const neighbor = new Int32Array(n);
  const density = new Float64Array(n);
  const grad = new Float64Array(n * dim);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const c = i * k + k - 1;
    nu[i] = toY.dist[c]!;
    r[i] = toX.dist[c]!;
    target[i] = toY.index[c]!;
    neighbor[i] = toX.index[c]!;
    const dn = nu[i]! * nu[i]! + en2;
    const dr = r[i]! * r[i]! + er2;
    density[i] = 0.5 * dim * (Math.log(dn) - Math.log(dr));
    sum += density[i]!;
    const mi = target[i]!;
    const j = neighbor[i]!;
    for (let a = 0; a < dim; a++) {
      grad[i * dim + a]! += (weight * dim * (x[i * dim + a]! - samples[mi * dim + a]!)) / dn;
      const t = (weight * dim * (x[i * dim + a]! - x[j * dim + a]!)) / dr;
      grad[i * dim + a]! -= t; // forward r term of i
      grad[j * dim + a]! += t; // reverse r term of j: −(x_j − x_i)/r̃_i² = +(x_i − x_j)/r̃_i²
    }
  }
  const constant = Math.log(m / (n - 1));
  return { value: weight * (sum / n + constant), grad, density, constant, nu, r, target, neighbor };
}

/**
 * KL divergence to target samples, `F = w·D̂(q‖p)`, as a kernel term for a flow's `energy`
 * (or `monitor`, to report the KL estimate while the flow follows another energy). See the
 * module header for the estimator, the floors and the exact gradient. The samples (M·dim values:
 * Float32Array, Float64Array or number[], copied to f32;
 * row-major, the flow's dim) are copied to the GPU and indexed once at create(); M and N may
 * differ by orders of magnitude. Exposes `lengthScale` (min(ν̃_i, r̃_i)) so `h: 'auto'` works.
 *
 * Cost per step: the particles' k-NN against the static sample grid and against themselves,
 * O(N·k) for well-spread points (src/kernels/neighbors.ts), plus O(N) passes. Memory: about
 * 50 bytes per sample and 60 per particle.
 *
 * @example
 * const targets = await samplesFromImageFile('assets/emblem.png', { count: 20000 });
 * const flow = await createFlow(device, { dim: 2, positions, method: 'steering', h: 'auto',
 *   energy: [klToSamples(targets, { k: 1, epsilonNu: 1e-3, epsilonR: 1e-3 })] });
 * // or as a diagnostic only:
 * //   monitor: [klToSamples(targets, { label: 'KL' })]  →  (await flow.stats()).monitors.KL
 */
export function klToSamples(samples: Float32Array | Float64Array | ArrayLike<number>, options: KlToSamplesOptions = {}): KernelTerm {
  if (samples === null || typeof samples !== 'object' || typeof (samples as ArrayLike<number>).length !== 'number') {
    fail('samples must be a Float32Array, a Float64Array or an array of numbers (M·dim values, row-major)');
  }
  checkOptions(options, fail);
  const k = options.k ?? 1;
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) fail(`k must be an integer in 1..${MAX_K} (got ${k})`);
  const weight = options.weight ?? 1;
  const epsilonNu = options.epsilonNu ?? KL_EPSILON;
  const epsilonR = options.epsilonR ?? KL_EPSILON;
  const en2 = floorSquared(epsilonNu, 'epsilonNu');
  const er2 = floorSquared(epsilonR, 'epsilonR');
  for (let q = 0; q < samples.length; q++) if (typeof samples[q] !== 'number' || !Number.isFinite(samples[q]!)) fail(`samples[${q}] is not finite (${String(samples[q])})`);
  // A private f32 copy (the GPU's precision); values beyond the f32 range are refused.
  const data = Float32Array.from(samples as ArrayLike<number>);
  for (let q = 0; q < data.length; q++) if (!Number.isFinite(data[q]!)) fail(`samples[${q}] = ${samples[q]} is outside the f32 range`);

  return defineKernelTerm({
    name: 'klToSamples',
    owner: 'Kl',
    label: options.label ?? 'kl',
    weight,
    k,
    params: KL_PARAMS_FIELDS,
    paramValues: () => ({ eps_nu2: en2, eps_r2: er2 }),
    async create(ctx, api) {
      const { device, n, dim } = ctx;
      if (data.length === 0 || data.length % dim !== 0) fail(`samples length ${data.length} is not a positive multiple of dim = ${dim}`);
      const m = data.length / dim;
      if (m < k) fail(`the k = ${k} estimator needs at least k samples (got M = ${m})`);
      const code = commonWgsl + wgslLibrary(neighborsWgsl) + reverseWgsl + klWgsl;
      const constants = { D: dim, WG: WORKGROUP_SIZE, K: k };
      const [selfPipe, targetPipe] = await Promise.all([
        pipeline(device, { label: 'Kl.kl_self', code: code, entry: 'kl_self', constants: constants }),
        pipeline(device, { label: 'Kl.kl_target', code: code, entry: 'kl_target', constants: constants }),
      ]);
      const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
      const sampleBuf = api.own(createBuffer(device, api.label('samples'), data.byteLength, S, data));
      const grid = api.own(await createGrid(device, { points: sampleBuf, count: m, dim, k, label: api.label('sampleGrid') }));
      const knnSelf = api.own(await createKnn(device, { points: ctx.positions, count: n, dim, k, label: api.label('knn') }));
      // The particles' own grid (updated first in encode) gives the search to the samples its
      // query order: particles in cell order, their positions gathered in that order.
      const toSamples = api.own(await createNeighborSearch(device, {
        grid, k, queries: ctx.positions, queryCount: n, label: api.label('toSamples'),
        queryOrder: { index: knnSelf.grid.sortedIndex, points: knnSelf.grid.sortedPoints },
      }));
      const rev = api.own(await createReverseNeighbors(device, { index: knnSelf.index, count: n, k, label: api.label('reverse') }));
      const lengths = api.own(createBuffer(device, api.label('lengthScale'), n * 4, S));
      const bgSelf = bindGroup(device, api.label('self'), selfPipe, {
        60: ctx.positions, 63: knnSelf.index, 64: rev.ends, 65: rev.list, 66: ctx.grad, 67: ctx.energy, 68: lengths, 69: api.params,
      });
      const bgTarget = bindGroup(device, api.label('target'), targetPipe, {
        60: ctx.positions, 61: sampleBuf, 62: toSamples.index, 66: ctx.grad, 67: ctx.energy, 68: lengths, 69: api.params,
      });
      // The samples do not move: build their grid once, now.
      const enc = device.createCommandEncoder({ label: api.label('sampleGrid.build') });
      const pass = enc.beginComputePass({ label: api.label('sampleGrid.build') });
      grid.encode(pass);
      pass.end();
      device.queue.submit([enc.finish()]);

      const size = dispatchFor(n);
      return {
        encode(p) {
          knnSelf.encode(p);
          toSamples.encode(p);
          rev.encode(p);
          dispatch(p, selfPipe, bgSelf, size);
          dispatch(p, targetPipe, bgTarget, size);
        },
        constant: Math.log(m / (n - 1)),
        lengthScale: { buffer: lengths, stride: 1 },
        // The particles' lazy neighbour grid keeps its last build between steps (checkpoint / restore).
        stateBuffers: knnSelf.grid.stateBuffers,
        async diagnostics() {
          const [g, t, s] = await Promise.all([grid.diagnostics(), toSamples.diagnostics(), knnSelf.diagnostics()]);
          return {
            samples: m,
            sampleCellSize: g.cellSize,
            sampleMaxBucket: g.maxBucket,
            targetFallback: t.fallback,
            targetEscalated: t.escalated,
            targetMeanCandidates: t.meanCandidates,
            targetMaxWork: t.maxWork,
            selfFallback: s.search.fallback,
            selfEscalated: s.search.escalated,
            selfMeanCandidates: s.search.meanCandidates,
          };
        },
      };
    },
    reference(x, n, dim) {
      if (x.length !== n * dim) fail(`x has ${x.length} values, expected n·dim = ${n * dim}`);
      const r = klReference(x, data, dim, { k, epsilonNu, epsilonR, weight });
      return { value: r.value, grad: r.grad };
    },
  });
}
