/**
 * The internal-energy (negative entropy) term of docs/math.md §4, `F = T ∫ ρ log ρ = −T Ĥ`, with the
 * Kozachenko–Leonenko k-nearest-neighbour estimator
 *
 *     Ĥ = ψ(N) − ψ(k) + log c_d + (d/N) Σ_i log r̃_i,     c_d = π^{d/2} / Γ(d/2 + 1),
 *
 * r_i the distance from x_i to its k-th nearest other particle x_{n(i)} and r̃_i² = r_i² + ε²
 * (a smooth floor). Per-particle density and constant (F = T·((1/N) Σ e_i + C)):
 *
 *     e_i = −d log r̃_i = −(d/2) log(r_i² + ε²),     C = −(ψ(N) − ψ(k) + log c_d),
 *
 * and the exact Wasserstein gradient, reverse neighbours included:
 *
 *     g_j = N ∂F/∂x_j = −d T [ (x_j − x_{n(j)}) / r̃_j² + Σ_{i : n(i) = j} (x_j − x_i) / r̃_i² ].
 *
 * Every step runs on the GPU: grid rebuild + exact k-NN (src/kernels/neighbors.ts), the
 * reverse-neighbour lists (a counting sort of n(i)), and one gradient pass
 * (shaders/entropy.wgsl) that gathers each j's reverse sum in 64-bit fixed point relative to
 * its largest term, so the sum does not depend on the order of the list: the result is
 * deterministic and accurate to f32 rounding. Float64 twin: {@link entropyReference}.
 */
import { commonWgsl, entropyWgsl, neighborsWgsl, reverseWgsl } from '../shaders.gen.js';
import { dispatchFor, WORKGROUP_SIZE } from '../gpu/resources.js';
import { ENTROPY_PARAMS_FIELDS } from '../gpu/layout.js';
import { bindGroup, dispatch, pipeline } from '../gpu/pipelines.js';
import { wgslLibrary } from '../gpu/wgsl.js';
import { createKnn, createReverseNeighbors, MAX_K } from '../kernels/neighbors.js';
import { knn } from '../math/knn.js';
import { digamma, logUnitBallVolume } from '../math/special.js';
import { checkOptions, defineKernelTerm, termError, type Fail } from './term.js';
import type { KernelTerm, TermOptions, TermReference } from './types.js';

/** Default smooth floor ε of the neighbour distances (absolute, in the units of x). */
export const ENTROPY_EPSILON = 1e-9;

/** Fields of `struct EntropyParams` of shaders/entropy.wgsl, in order. */
export { ENTROPY_PARAMS_FIELDS };

/** Options of {@link entropy}. */
export interface EntropyOptions extends TermOptions {
  /** Neighbour order k of the estimator, 1..8 (N must exceed k). Default 1. */
  k?: number;
  /** Temperature T = 1/β multiplying the term (an alias of `weight`). Default 1. */
  temperature?: number;
  /**
   * Smooth floor ε of the distances, absolute (units of x): log r is replaced by
   * ½ log(r² + ε²), so duplicate particles (r = 0) give the finite density −d log ε and no
   * gradient, and nothing is NaN or infinite. The bias is about (ε/r)²/2 per particle: keep ε
   * far below the typical spacing (the default suits coordinates of order 1 up to ~10^7
   * particles in 1D). ε² is rounded to f32 and must be a normal f32 (ε ≥ 1e-18). Default 1e-9.
   */
  epsilon?: number;
}

const fail: Fail = termError('entropy');

/**
 * The additive constant C = −(ψ(N) − ψ(k) + log c_d) of the term (per unit weight): with it,
 * F = T·((1/N) Σ e_i + C).
 *
 * @example
 * entropyConstant(1000, 1, 2); // −(ψ(1000) − ψ(1) + log π)
 */
export function entropyConstant(n: number, k: number, d: number): number {
  return -(digamma(n) - digamma(k) + logUnitBallVolume(d));
}

/** Options of {@link entropyReference}. */
export interface EntropyReferenceOptions {
  /** Neighbour order k (1 ≤ k < N). Default 1. */
  k?: number;
  /** Smooth floor ε of the distances (absolute). ε² is rounded to f32, as on the GPU. Default 1e-9. */
  epsilon?: number;
  /** Temperature T multiplying the term. Default 1. */
  weight?: number;
}

/** Result of {@link entropyReference}: value, gradient and the neighbour data behind them. */
export interface EntropyReferenceResult extends TermReference {
  /** Per-particle densities e_i = −(d/2) log(r_i² + ε²) (without the weight). */
  density: Float64Array;
  /** r_i, the k-th neighbour distances. */
  r: Float64Array;
  /** n(i), the k-th neighbours (ties broken by the lower index). */
  neighbor: Uint32Array;
  /** The constant C (without the weight). */
  constant: number;
}

/**
 * Float64 twin of {@link entropy}: the value and exact Wasserstein gradient of the
 * Kozachenko–Leonenko term (see the module header) for positions x (n·dim values), with the
 * exact k-NN of src/math/knn.ts (brute force for small sets, a k-d tree for large ones).
 *
 * @example
 * const { value, grad } = entropyReference(x, n, 2, { k: 1, weight: 0.5 });
 */
export function entropyReference(x: ArrayLike<number>, n: number, dim: number, options: EntropyReferenceOptions = {}): EntropyReferenceResult {
  const k = options.k ?? 1;
  const eps = options.epsilon ?? ENTROPY_EPSILON;
  const weight = options.weight ?? 1;
  const bad: Fail = termError('entropyReference');
  if (![1, 2, 3].includes(dim)) bad(`dim must be 1, 2 or 3 (got ${dim})`);
  if (x.length !== n * dim) bad(`x has ${x.length} values, expected n·dim = ${n * dim}`);
  if (!Number.isInteger(k) || k < 1 || k >= n) bad(`need 1 <= k < N (got k = ${k}, N = ${n})`);
  const eps2 = Math.fround(eps * eps);
  const { index, dist } = knn(x, x, dim, k, { excludeSelf: true });
  const neighbor = new Uint32Array(n);
  const r = new Float64Array(n);
  const density = new Float64Array(n);
  const inv = new Float64Array(n); // 1 / r̃_i²
  let sum = 0;
  for (let i = 0; i < n; i++) {
    neighbor[i] = index[i * k + k - 1]!;
    r[i] = dist[i * k + k - 1]!;
    const den = r[i]! * r[i]! + eps2;
    inv[i] = 1 / den;
    density[i] = -0.5 * dim * Math.log(den);
    sum += density[i]!;
  }
  const constant = entropyConstant(n, k, dim);
  const grad = new Float64Array(n * dim);
  const c = -dim * weight;
  for (let i = 0; i < n; i++) {
    const j = neighbor[i]!;
    for (let a = 0; a < dim; a++) {
      const d = x[i * dim + a]! - x[j * dim + a]!;
      grad[i * dim + a]! += c * d * inv[i]!; // forward term of i
      grad[j * dim + a]! -= c * d * inv[i]!; // reverse term of j: (x_j − x_i) = −d
    }
  }
  return { value: weight * (sum / n + constant), grad, density, r, neighbor, constant };
}

/**
 * Kozachenko–Leonenko internal energy `F = T ∫ ρ log ρ` for a flow's `energy` list (see the
 * module header for the estimator, its constant and its exact gradient). Combined with a
 * potential U it gives the Fokker–Planck energy, whose minimiser is ∝ exp(−U/T).
 *
 * The term needs N > k particles. Cost per step: O(N) for the grid and the reverse lists, and
 * the neighbour search (O(N·k) for well-spread particles; see src/kernels/neighbors.ts).
 *
 * @example
 * // Fokker–Planck: U = |x|², T = 1; the particles relax to N(0, ½ I).
 * const flow = await createFlow(device, { dim: 2, positions, method: 'gradient', h: 1e-3,
 *   energy: [quadratic(), entropy({ k: 1, temperature: 1 })] });
 */
export function entropy(options: EntropyOptions = {}): KernelTerm {
  checkOptions(options, fail);
  const k = options.k ?? 1;
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) fail(`k must be an integer in 1..${MAX_K} (got ${k})`);
  if (options.temperature !== undefined && options.weight !== undefined && options.temperature !== options.weight) {
    fail(`temperature (${options.temperature}) and weight (${options.weight}) disagree; give one of them`);
  }
  const weight = options.temperature ?? options.weight ?? 1;
  const epsilon = options.epsilon ?? ENTROPY_EPSILON;
  if (!Number.isFinite(epsilon) || !(epsilon >= 1e-18)) fail(`epsilon must be a finite number >= 1e-18 (got ${epsilon})`);
  const eps2 = Math.fround(epsilon * epsilon);
  if (!Number.isFinite(eps2)) fail(`epsilon = ${epsilon}: ε² overflows f32`);

  // λ_min = 0: displacement convex, flat along translations (gamma: 'auto' of the flow).
  return { ...defineKernelTerm({
    name: 'entropy',
    owner: 'Entropy',
    label: options.label ?? 'entropy',
    weight,
    weightName: 'temperature',
    k,
    params: ENTROPY_PARAMS_FIELDS,
    paramValues: () => ({ eps2 }),
    async create(ctx, api) {
      const { device, n, dim } = ctx;
      const code = commonWgsl + wgslLibrary(neighborsWgsl) + reverseWgsl + entropyWgsl;
      const gradPipe = await pipeline(device, { label: 'Entropy.entropy_grad', code: code, entry: 'entropy_grad', constants: { D: dim, WG: WORKGROUP_SIZE, K: k } });
      const knnKernel = api.own(await createKnn(device, { points: ctx.positions, count: n, dim, k, label: api.label('knn') }));
      const rev = api.own(await createReverseNeighbors(device, { index: knnKernel.index, count: n, k, label: api.label('reverse') }));
      const bg = bindGroup(device, api.label('gradient'), gradPipe, {
        50: ctx.positions, 51: knnKernel.index, 52: rev.ends, 53: rev.list, 54: ctx.grad, 55: ctx.energy, 56: api.params,
      });
      const size = dispatchFor(n);
      return {
        encode(pass) {
          knnKernel.encode(pass);
          rev.encode(pass);
          dispatch(pass, gradPipe, bg, size);
        },
        constant: entropyConstant(n, k, dim),
        // The k-th nearest-neighbour distance (the last column of row i of the k-NN table), for
        // the flow's automatic step: the estimator's curvature along that pair is d·w/r_k².
        lengthScale: { buffer: knnKernel.distance, stride: k, offset: k - 1 },
        // The lazy neighbour grid keeps its last build between steps (checkpoint / restore).
        stateBuffers: knnKernel.grid.stateBuffers,
        async diagnostics() {
          const { grid, search } = await knnKernel.diagnostics();
          return {
            cellSize: grid.cellSize,
            occupiedBuckets: grid.occupiedBuckets,
            maxBucket: grid.maxBucket,
            clampedLevel0: grid.clampedLevel0,
            fallback: search.fallback,
            escalated: search.escalated,
            meanCandidates: search.meanCandidates,
            maxWork: search.maxWork,
          };
        },
      };
    },
    reference(x, n, dim) {
      const r = entropyReference(x, n, dim, { k, epsilon, weight });
      return { value: r.value, grad: r.grad };
    },
  }), lambdaMin: 0 };
}
