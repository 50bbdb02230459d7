/**
 * Float64 reference of the aggregation example: particles under the attraction–repulsion
 * power kernel `W(z) = |z|^a/a − |z|^b/b` (src/energies/interaction.ts) follow the gradient
 * flow `x_i ← x_i − h g_i`, `g_i = (1/N) Σ_{j≠i} ∇W(x_i − x_j)`.
 *
 * Known steady states, for quadratic attraction a = 2 and Newtonian repulsion b = 2 − d
 * (1D: −|z|, 2D: −log|z|, 3D: +1/|z|): the continuum minimiser is the **uniform ball of radius
 * 1** centred at the (conserved) mean, with density 1/|B_d| = d/|S^{d−1}| (1/2, 1/π, 3/(4π)):
 * inside the support the velocity −∇W * ρ must vanish, and its divergence there is
 * −(d − |S^{d−1}| ρ) (the repulsive part is |S^{d−1}| times the Newtonian potential), so ρ is
 * that constant, and unit mass fixes the radius at 1.
 * Its energy F = ½ ∫∫ W ρ ρ is −1/6 (1D), 3/8 (2D), 9/10 (3D); its mean squared radius is
 * d/(d + 2). In 1D the discrete steady state is known exactly: the particles sit at
 * `x̄ + (2i − N − 1)/N`, i = 1..N (evenly spaced, spacing 2/N).
 */

/** The GPU term's default regularisation radius of the power kernel (POWER_KERNEL_EPS of src/energies/interaction.ts). */
const DEFAULT_EPS = 1e-6;

/**
 * F = 1/(2N²) Σ_{i≠j} W(x_i − x_j) and g_i = (1/N) Σ_{j≠i} ∇W(x_i − x_j) for the power kernel
 * W = φ_a − φ_b (φ_p(r) = r^p/p, φ_0 = log r), continued below |z| = eps by the quadratic with
 * W's value and slope at eps (as the GPU does); brute force, each pair once.
 */
function powerInteraction(x: Float64Array, n: number, dim: number, a: number, b: number, eps2: number): { value: number; grad: Float64Array } {
  const phi = (s: number, p: number) => (p === 0 ? 0.5 * Math.log(s) : s ** (0.5 * p) / p);
  const grad = new Float64Array(n * dim);
  const z = new Float64Array(dim);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let c = 0; c < dim; c++) {
        z[c] = x[i * dim + c]! - x[j * dim + c]!;
        s += z[c]! * z[c]!;
      }
      const se = Math.max(s, eps2);
      const slope = se ** (0.5 * a - 1) - se ** (0.5 * b - 1); // ∇W(z) = slope · z
      sum += phi(se, a) - phi(se, b) + 0.5 * slope * (s - se);
      for (let c = 0; c < dim; c++) {
        grad[i * dim + c]! += slope * z[c]!;
        grad[j * dim + c]! -= slope * z[c]!;
      }
    }
  }
  for (let k = 0; k < grad.length; k++) grad[k]! /= n;
  return { value: sum / Math.max(1, n * n), grad };
}

/**
 * Options of {@link aggregationFlow}.
 *
 * @example
 * const o: AggregationFlowOptions = { dim: 3, h: 0.05, steps: 400 }; // a = 2, b = −1: unit ball
 */
export interface AggregationFlowOptions {
  /** 1, 2 or 3. */
  dim: number;
  /** Attraction exponent. Default 2. */
  a?: number;
  /** Repulsion exponent. Default 2 − dim (Newtonian: the steady state is the unit ball). */
  b?: number;
  /** Power-kernel regularisation radius (as the GPU term). Default 1e-6 (the term's default). */
  eps?: number;
  /** Time step h. */
  h: number;
  /** Number of explicit Euler steps. */
  steps: number;
  /** Called after every step with the step count, positions, energy F and mean |g|². */
  onStep?: (step: number, x: Float64Array, energy: number, residual: number) => void;
}

/**
 * Result of {@link aggregationFlow}.
 *
 * @example
 * const { x, energy, residual }: AggregationFlowResult = aggregationFlow(x0, n, { dim: 2, h: 0.05, steps: 400 });
 */
export interface AggregationFlowResult {
  /** Final positions, N·dim. */
  x: Float64Array;
  /** F at the final positions. */
  energy: number;
  /** mean_i |g_i|² at the final positions (→ 0 at a steady state). */
  residual: number;
}

/**
 * Runs the float64 gradient flow of the power-kernel interaction energy (explicit Euler,
 * O(N²) per step) from x0 (N·dim, row-major).
 *
 * @example
 * const r = aggregationFlow(x0, 300, { dim: 2, h: 0.05, steps: 400 }); // a = 2, b = 0
 * const s = aggregationStats(r.x, 300, 2); // s.maxRadius ≈ 1, s.meanSquareRadius ≈ 0.5
 */
export function aggregationFlow(x0: ArrayLike<number>, n: number, o: AggregationFlowOptions): AggregationFlowResult {
  const dim = o.dim;
  if (x0.length !== n * dim) throw new Error(`wgflow: aggregationFlow: x0 must hold n·dim = ${n * dim} values (got ${x0.length})`);
  const a = o.a ?? 2;
  const b = o.b ?? 2 - dim;
  const eps2 = Math.fround((o.eps ?? DEFAULT_EPS) ** 2);
  const x = Float64Array.from(x0);
  let r = powerInteraction(x, n, dim, a, b, eps2);
  for (let t = 0; t < o.steps; t++) {
    for (let k = 0; k < x.length; k++) x[k]! -= o.h * r.grad[k]!;
    r = powerInteraction(x, n, dim, a, b, eps2);
    if (o.onStep) o.onStep(t + 1, x, r.value, meanSquare(r.grad, n));
  }
  return { x, energy: r.value, residual: meanSquare(r.grad, n) };
}

function meanSquare(g: Float64Array, n: number): number {
  let s = 0;
  for (const v of g) s += v * v;
  return s / Math.max(1, n);
}

/**
 * The continuum steady state of the aggregation flow with a = 2, b = 2 − dim: the uniform ball
 * of radius 1, its energy F and mean squared radius E|x − x̄|².
 *
 * @example
 * newtonianBallSteadyState(2); // { radius: 1, energy: 0.375, meanSquareRadius: 0.5 }
 */
export function newtonianBallSteadyState(dim: number): { radius: number; energy: number; meanSquareRadius: number } {
  const energy = ({ 1: -1 / 6, 2: 3 / 8, 3: 9 / 10 } as Record<number, number>)[dim];
  if (energy === undefined) throw new RangeError(`wgflow: dim ${dim} must be 1, 2 or 3`);
  return { radius: 1, energy, meanSquareRadius: dim / (dim + 2) };
}

/**
 * The exact discrete steady state in 1D for a = 2, b = 1 (`W = z²/2 − |z|`): the sorted
 * particles sit at `mean + (2i − N − 1)/N`, i = 1..N, where every g_i vanishes.
 *
 * @example
 * aggregation1DEquilibrium(4); // [-0.75, -0.25, 0.25, 0.75]
 */
export function aggregation1DEquilibrium(n: number, mean = 0): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => mean + (2 * (i + 1) - n - 1) / n);
}

/**
 * Mean, largest and mean squared distance to the mean of a particle cloud (N·dim).
 *
 * @example
 * const { mean, maxRadius, meanSquareRadius } = aggregationStats(x, n, 2);
 */
export function aggregationStats(x: ArrayLike<number>, n: number, dim: number): { mean: number[]; maxRadius: number; meanSquareRadius: number } {
  if (x.length < n * dim) throw new Error(`wgflow: aggregationStats: x must hold n·dim = ${n * dim} values (got ${x.length})`);
  const mean = new Array<number>(dim).fill(0);
  for (let i = 0; i < n; i++) for (let c = 0; c < dim; c++) mean[c]! += x[i * dim + c]! / n;
  let maxR2 = 0, sum = 0;
  for (let i = 0; i < n; i++) {
    let r2 = 0;
    for (let c = 0; c < dim; c++) r2 += (x[i * dim + c]! - mean[c]!) ** 2;
    maxR2 = Math.max(maxR2, r2);
    sum += r2;
  }
  return { mean, maxRadius: Math.sqrt(maxR2), meanSquareRadius: sum / Math.max(1, n) };
}
