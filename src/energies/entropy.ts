/**
 * The internal-energy (negative entropy) term of MATH.md §3, `F = T ∫ ρ log ρ = −T Ĥ`, with the
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
 * deterministic and accurate to f32 rounding. Float64 twin: src/reference/entropy.ts.
 */
import { commonWgsl, entropyWgsl, neighborsWgsl, reverseWgsl } from '../shaders.gen.js';
import { createBuffer, dispatchFor, WORKGROUP_SIZE } from '../gpu/resources.js';
import { packStruct, type Scalar } from '../gpu/layout.js';
import { bindGroup, dispatch, pipeline } from '../gpu/pipelines.js';
import { wgslLibrary } from '../gpu/wgsl.js';
import { createKnn, createReverseNeighbors, MAX_K } from '../kernels/neighbors.js';
import { entropyConstant, entropyReference } from '../reference/entropy.js';
import type { KernelTerm, TermContext, TermKernel, TermOptions } from './types.js';

/** Default smooth floor ε of the neighbour distances (absolute, in the units of x). */
export const ENTROPY_EPSILON = 1e-9;

/** Fields of `struct EntropyParams` of shaders/entropy.wgsl, in order. */
export const ENTROPY_PARAMS_FIELDS: readonly (readonly [string, Scalar])[] = [
  ['n', 'u32'], ['e_base', 'u32'], ['weight', 'f32'], ['eps2', 'f32'],
];

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

function fail(msg: string): never {
  throw new Error(`wgflow: entropy: ${msg}`);
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
  if (!options || typeof options !== 'object') fail('options must be an object');
  const k = options.k ?? 1;
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) fail(`k must be an integer in 1..${MAX_K} (got ${k})`);
  if (options.temperature !== undefined && options.weight !== undefined && options.temperature !== options.weight) {
    fail(`temperature (${options.temperature}) and weight (${options.weight}) disagree; give one of them`);
  }
  const weight = options.temperature ?? options.weight ?? 1;
  if (!Number.isFinite(weight)) fail(`temperature must be finite (got ${weight})`);
  const epsilon = options.epsilon ?? ENTROPY_EPSILON;
  if (!Number.isFinite(epsilon) || !(epsilon >= 1e-18)) fail(`epsilon must be a finite number >= 1e-18 (got ${epsilon})`);
  const eps2 = Math.fround(epsilon * epsilon);
  if (!Number.isFinite(eps2)) fail(`epsilon = ${epsilon}: ε² overflows f32`);
  const label = options.label ?? 'entropy';

  return {
    kind: 'kernel',
    label,
    weight,
    async create(ctx: TermContext): Promise<TermKernel> {
      const { device, n, dim } = ctx;
      if (![1, 2, 3].includes(dim)) fail(`dim must be 1, 2 or 3 (got ${dim})`);
      if (!(n > k)) fail(`the k = ${k} estimator needs more than k particles (got N = ${n})`);
      const prefix = `${ctx.label}.${label}`;
      const code = commonWgsl + wgslLibrary(neighborsWgsl) + reverseWgsl + entropyWgsl;
      const gradPipe = await pipeline(device, { label: 'Entropy.entropy_grad', code: code, entry: 'entropy_grad', constants: { D: dim, WG: WORKGROUP_SIZE, K: k } });
      const knn = await createKnn(device, { points: ctx.positions, count: n, dim, k, label: `${prefix}.knn` });
      let rev;
      try {
        rev = await createReverseNeighbors(device, { index: knn.index, count: n, k, label: `${prefix}.reverse` });
      } catch (e) {
        knn.destroy();
        throw e;
      }
      const pack = (w: number) => new Uint8Array(packStruct(ENTROPY_PARAMS_FIELDS, { n, e_base: ctx.slot * n, weight: w, eps2 }));
      const params = createBuffer(device, `${prefix}.params`, 16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, pack(weight));
      const bg = bindGroup(device, `${prefix}.gradient`, gradPipe, {
        50: ctx.positions, 51: knn.index, 52: rev.ends, 53: rev.list, 54: ctx.grad, 55: ctx.energy, 56: params,
      });
      const size = dispatchFor(n);
      const constant = entropyConstant(n, k, dim);
      let destroyed = false;
      return {
        encode(pass) {
          if (destroyed) fail('kernel used after destroy()');
          knn.encode(pass);
          rev.encode(pass);
          dispatch(pass, gradPipe, bg, size);
        },
        constant: () => constant,
        // Nearest-neighbour distances (row i of the k-NN table), for the flow's automatic step.
        lengthScale: { buffer: knn.distance, stride: k },
        async diagnostics() {
          const { grid, search } = await knn.diagnostics();
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
        setWeight(w: number) {
          if (!Number.isFinite(w)) fail(`weight must be finite (got ${w})`);
          device.queue.writeBuffer(params, 0, pack(w));
        },
        destroy() {
          if (destroyed) return;
          destroyed = true;
          rev.destroy();
          knn.destroy();
          params.destroy();
        },
      };
    },
    reference(x: Float64Array, n: number, dim: number) {
      const r = entropyReference(x, n, dim, { k, epsilon, weight });
      return { value: r.value, grad: r.grad };
    },
  };
}
