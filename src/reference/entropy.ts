/**
 * Float64 CPU oracle of the Kozachenko–Leonenko internal-energy term (MATH.md §3), independent
 * of the GPU code: brute-force k-NN in float64, digamma and the unit-ball volume in float64.
 *
 * With r_i the distance from x_i to its k-th nearest other particle x_{n(i)} (ties broken by
 * the lower index) and the smooth floor r̃_i² = r_i² + ε²:
 *
 *     Ĥ = ψ(N) − ψ(k) + log c_d + (d/N) Σ_i log r̃_i,      c_d = π^{d/2} / Γ(d/2 + 1),
 *     F = T · (−Ĥ) = T · ( (1/N) Σ_i e_i + C ),   e_i = −(d/2) log(r_i² + ε²),
 *                                                C = −(ψ(N) − ψ(k) + log c_d),
 *     g_j = N ∂F/∂x_j = −d T [ (x_j − x_{n(j)}) / r̃_j² + Σ_{i : n(i) = j} (x_j − x_i) / r̃_i² ].
 *
 * The reverse sum over the i whose k-th neighbour is j is part of the exact gradient.
 */
import { bruteForceKnn } from './knn.js';
import type { TermReference } from '../energies/types.js';

const EULER_GAMMA = 0.5772156649015329;

/**
 * The digamma function ψ(x) = Γ'(x)/Γ(x) for x > 0, in float64 (recurrence up to x ≥ 16, then
 * the asymptotic series; absolute error about 1e-15). ψ(1) = −γ, ψ(n) = −γ + Σ_{j<n} 1/j.
 *
 * @example
 * digamma(1); // -0.5772156649015329
 */
export function digamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new Error(`digamma: x must be a positive finite number (got ${x})`);
  if (x === 1) return -EULER_GAMMA;
  let acc = 0;
  while (x < 16) {
    acc -= 1 / x;
    x += 1;
  }
  const i2 = 1 / (x * x);
  // ln x − 1/(2x) − Σ B_{2n} / (2n x^{2n})
  const series = i2 * (1 / 12 - i2 * (1 / 120 - i2 * (1 / 252 - i2 * (1 / 240 - i2 * (1 / 132)))));
  return acc + Math.log(x) - 0.5 / x - series;
}

/**
 * log c_d, the log-volume of the unit d-ball, c_d = π^{d/2} / Γ(d/2 + 1): c_1 = 2, c_2 = π,
 * c_3 = 4π/3 (exact half-integer Gamma values, for any integer d ≥ 1).
 *
 * @example
 * Math.exp(logUnitBallVolume(2)); // π
 */
export function logUnitBallVolume(d: number): number {
  if (!Number.isInteger(d) || d < 1) throw new Error(`logUnitBallVolume: d must be a positive integer (got ${d})`);
  // Γ(d/2 + 1): for even d, (d/2)!; for odd d, Γ(1/2) Π_{j=0}^{(d-1)/2} (j + 1/2).
  let logGamma = 0;
  if (d % 2 === 0) {
    for (let j = 2; j <= d / 2; j++) logGamma += Math.log(j);
  } else {
    logGamma = 0.5 * Math.log(Math.PI);
    for (let j = 0; j <= (d - 1) / 2; j++) logGamma += Math.log(j + 0.5);
  }
  return (d / 2) * Math.log(Math.PI) - logGamma;
}

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
  /** n(i), the k-th neighbours. */
  neighbor: Uint32Array;
  /** The constant C (without the weight). */
  constant: number;
}

/**
 * Float64 value and exact Wasserstein gradient of the Kozachenko–Leonenko term (see the module
 * header) for positions x (n·dim values), by brute-force k-NN: O(N²).
 *
 * @example
 * const { value, grad } = entropyReference(x, n, 2, { k: 1, weight: 0.5 });
 */
export function entropyReference(x: ArrayLike<number>, n: number, dim: number, options: EntropyReferenceOptions = {}): EntropyReferenceResult {
  const k = options.k ?? 1;
  const eps = options.epsilon ?? 1e-9;
  const weight = options.weight ?? 1;
  if (![1, 2, 3].includes(dim)) throw new Error(`entropyReference: dim must be 1, 2 or 3 (got ${dim})`);
  if (x.length !== n * dim) throw new Error(`entropyReference: x has ${x.length} values, expected n·dim = ${n * dim}`);
  if (!Number.isInteger(k) || k < 1 || k >= n) throw new Error(`entropyReference: need 1 <= k < N (got k = ${k}, N = ${n})`);
  const eps2 = Math.fround(eps * eps);
  const { index, distance } = bruteForceKnn(x, dim, k);
  const neighbor = new Uint32Array(n);
  const r = new Float64Array(n);
  const density = new Float64Array(n);
  const inv = new Float64Array(n); // 1 / r̃_i²
  let sum = 0;
  for (let i = 0; i < n; i++) {
    neighbor[i] = index[i * k + k - 1]!;
    r[i] = distance[i * k + k - 1]!;
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
