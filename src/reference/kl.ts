/**
 * Float64 CPU oracle of the KL-divergence-to-samples estimator (docs/math.md §5; Pérez-Cruz 2008,
 * Wang, Kulkarni and Verdú 2009) and its exact gradient, on the oracle k-NN of ./knn.ts (brute
 * force, or its k-d tree for large sets). The GPU KL term and the library's smooth-floor twin
 * `klReference` (src/energies/kl.ts) are tested against this file.
 *
 * With particles x_1..x_N and target samples y_1..y_M in R^d, ν_i the distance from x_i to its
 * k-th nearest target sample y_{m(i)} and r_i the distance to its k-th nearest *other*
 * particle x_{n(i)}:
 *
 *     D̂(q‖p) = (d/N) Σ_i log(ν_i / r_i) + log(M / (N − 1))
 *
 * (for equal k in both searches the digamma corrections cancel, so the same formula holds for
 * every k), and
 *
 *     ∂D̂/∂x_j = (d/N) [ (x_j − y_{m(j)})/ν_j² − (x_j − x_{n(j)})/r_j² − Σ_{i : n(i) = j} (x_j − x_i)/r_i² ].
 *
 * The Wasserstein gradient returned is g = N ∂D̂/∂x (docs/math.md §1.3: each particle has mass 1/N).
 *
 * **Floors.** A particle on a target sample sends log ν to −∞ and duplicate particles send
 * log r to +∞, so the estimator uses ν̃_i = max(ν_i, εν) and r̃_i = max(r_i, εr) (options
 * `epsNu`, `epsR`, both 1e-6 by default). The value and gradient returned are those of the
 * floored estimator: where a distance is at or below its floor, its term is constant and
 * contributes no gradient. When comparing with the GPU term, pass the GPU term's floors.
 */

import { bruteForceKnn, kdTreeKnn } from './knn.js';

function checkCloud(a: ArrayLike<number>, dim: number, what: string): number {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`wgflow: klOracle: dim must be a positive integer (got ${dim})`);
  if (a.length % dim !== 0) throw new Error(`wgflow: klOracle: ${what} length ${a.length} is not a multiple of dim = ${dim}`);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new Error(`wgflow: klOracle: ${what} has a non-finite value at index ${i}`);
  }
  return a.length / dim;
}

/** Options of {@link klOracle}. */
export interface KlOracleOptions {
  /** Which neighbour (k-th nearest) both distances use. Default 1. */
  k?: number;
  /** Floor εν of the particle-to-target distance ν (see the file header). Default 1e-6. */
  epsNu?: number;
  /** Floor εr of the particle-to-particle distance r. Default 1e-6. */
  epsR?: number;
  /** Neighbour search: `'brute'`, `'tree'` (k-d tree) or `'auto'` (brute when N·M ≤ 2.5e5). Default `'auto'`. */
  method?: 'auto' | 'brute' | 'tree';
}

/** Result of {@link klOracle}. Compatible with the energy-term `TermReference` (weight 1). */
export interface KlOracleResult {
  /** The estimate D̂ (floored distances). */
  value: number;
  /** Wasserstein gradient g = N ∂D̂/∂x, N·dim. */
  grad: Float64Array;
  /** Per-particle density e_i = d·log(ν̃_i / r̃_i), so that value = mean(e) + constant. */
  density: Float64Array;
  /** The constant log(M / (N − 1)). */
  constant: number;
  /** ν_i, unfloored distance to the k-th nearest target sample. */
  nu: Float64Array;
  /** r_i, unfloored distance to the k-th nearest other particle. */
  r: Float64Array;
  /** m(i), the index of that target sample. */
  target: Int32Array;
  /** n(i), the index of that particle. */
  neighbor: Int32Array;
}

/**
 * The k-NN KL-to-samples estimate D̂(q‖p) of docs/math.md §5.1 for particles x (N·dim) and target
 * samples y (M·dim), with its exact gradient, in float64. Needs N ≥ k + 1 and M ≥ k.
 * Distances are floored at `epsNu`/`epsR` (default 1e-6; see the file header).
 *
 * @example
 * const { value, grad } = klOracle(particles, targets, 2, { k: 1 });
 * // value: the estimate; grad: N·∂D̂/∂x, the per-particle Wasserstein gradient
 */
export function klOracle(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  dim: number,
  options: KlOracleOptions = {},
): KlOracleResult {
  const n = checkCloud(x, dim, 'particles');
  const m = checkCloud(y, dim, 'targets');
  const k = options.k ?? 1;
  const epsNu = options.epsNu ?? 1e-6;
  const epsR = options.epsR ?? 1e-6;
  if (!Number.isInteger(k) || k < 1) throw new Error(`wgflow: klOracle: k must be a positive integer (got ${k})`);
  if (n < k + 1) throw new Error(`wgflow: klOracle: need at least k + 1 = ${k + 1} particles (got ${n})`);
  if (m < k) throw new Error(`wgflow: klOracle: need at least k = ${k} target samples (got ${m})`);
  if (!(epsNu >= 0) || !(epsR >= 0)) throw new Error('wgflow: klOracle: epsNu and epsR must be >= 0');
  const method = options.method ?? 'auto';
  if (method !== 'auto' && method !== 'brute' && method !== 'tree') throw new Error(`wgflow: klOracle: method must be 'auto', 'brute' or 'tree' (got ${String(method)})`);
  const brute = (pairs: number) => method === 'brute' || (method === 'auto' && pairs <= 250_000);
  const toY = brute(n * m) ? bruteForceKnn(y, dim, k, x) : kdTreeKnn(y, dim, k, x);
  const toX = brute(n * n) ? bruteForceKnn(x, dim, k) : kdTreeKnn(x, dim, k);

  const nu = new Float64Array(n);
  const r = new Float64Array(n);
  const target = new Int32Array(n);
  const neighbor = new Int32Array(n);
  const density = new Float64Array(n);
  const grad = new Float64Array(n * dim);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const nui = toY.distance[i * k + k - 1]!;
    const ri = toX.distance[i * k + k - 1]!;
    nu[i] = nui;
    target[i] = toY.index[i * k + k - 1]!;
    r[i] = ri;
    neighbor[i] = toX.index[i * k + k - 1]!;
    const e = dim * (Math.log(Math.max(nui, epsNu)) - Math.log(Math.max(ri, epsR)));
    density[i] = e;
    sum += e;
  }
  // g = N ∂D̂/∂x = d [ (x_j − y_m(j))/ν_j² − (x_j − x_n(j))/r_j² − Σ_{i: n(i)=j} (x_j − x_i)/r_i² ].
  for (let i = 0; i < n; i++) {
    const nui = nu[i]!;
    const ri = r[i]!;
    if (nui > epsNu && nui > 0) {
      const c = dim / (nui * nui);
      const mi = target[i]!;
      for (let a = 0; a < dim; a++) grad[i * dim + a]! += c * (x[i * dim + a]! - y[mi * dim + a]!);
    }
    if (ri > epsR && ri > 0) {
      const c = dim / (ri * ri);
      const j = neighbor[i]!;
      for (let a = 0; a < dim; a++) {
        const t = c * (x[i * dim + a]! - x[j * dim + a]!);
        grad[i * dim + a]! -= t;
        grad[j * dim + a]! += t;
      }
    }
  }
  const constant = Math.log(m / (n - 1));
  return { value: sum / n + constant, grad, density, constant, nu, r, target, neighbor };
}
