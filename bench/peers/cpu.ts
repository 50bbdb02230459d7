/**
 * The single-threaded TypeScript peers of the benchmark harness (and of bench/fokker-planck.ts
 * and bench/steering.ts): the same updates as shaders/integrate.wgsl, written as a plain CPU
 * loop would write them.
 */
import { KdTree } from '../../src/reference/knn.js';
import { entropyConstant } from '../../src/energies/entropy.js';

/**
 * One steering step of the Fokker–Planck energy F = ∫|x|²ρ + ∫ρ log ρ in d = 2, float64,
 * single-threaded, the same update as shaders/integrate.wgsl (METHOD 2): a k-d tree built and
 * self-queried for the 1-NN (src/reference/knn.ts), g = 2x + entropy gradient (forward and
 * reverse terms, r̃² = r² + ε²), s = sqrt(Σ|v|²/Σ|g|²), v ← v − h(γv + (1+γs)g), x ← x + hv.
 * Returns the energy at the start of the step.
 *
 * @example
 * const x = Float64Array.from(gaussian(n, 2, { std: Math.SQRT1_2 })), v = new Float64Array(2 * n), g = new Float64Array(2 * n);
 * fokkerPlanckSteeringStep(x, v, g, 1e-5, 0.5, Math.fround(1e-18));
 */
export function fokkerPlanckSteeringStep(x: Float64Array, v: Float64Array, g: Float64Array, h: number, gamma: number, eps2: number): number {
  const DIM = 2;
  const n = x.length / DIM;
  const tree = new KdTree(x, DIM);
  const { index, distance } = tree.query(x, 1, (q) => q);
  let eU = 0, eH = 0;
  for (let k = 0; k < x.length; k++) {
    g[k] = 2 * x[k]!;
    eU += x[k]! * x[k]!;
  }
  for (let i = 0; i < n; i++) {
    const r = distance[i]!;
    const den = r * r + eps2;
    eH -= 0.5 * DIM * Math.log(den);
    const j = index[i]!;
    const c = -DIM / den;
    for (let a = 0; a < DIM; a++) {
      const d = c * (x[i * DIM + a]! - x[j * DIM + a]!);
      g[i * DIM + a]! += d;
      g[j * DIM + a]! -= d;
    }
  }
  let vv = 0, gg = 0;
  for (let k = 0; k < x.length; k++) {
    vv += v[k]! * v[k]!;
    gg += g[k]! * g[k]!;
  }
  const coef = 1 + gamma * (gg > 0 ? Math.sqrt(vv / gg) : 0);
  for (let k = 0; k < x.length; k++) {
    const vk = v[k]! - h * (gamma * v[k]! + coef * g[k]!);
    v[k] = vk;
    x[k]! += h * vk;
  }
  return (eU + eH) / n + entropyConstant(n, 1, DIM);
}

/**
 * One steering step with U = |x|² as a plain loop over float32 arrays (any dimension), the
 * same update as integrate.wgsl: g = 2x, s = sqrt(Σ|v|²/Σ|g|²), v ← v − h(γv + (1+γs)g), x ← x + hv.
 */
export function quadraticSteeringStep(x: Float32Array, v: Float32Array, g: Float32Array, h: number, gamma: number): void {
  let vv = 0, gg = 0;
  for (let k = 0; k < x.length; k++) {
    const gk = 2 * x[k]!;
    g[k] = gk;
    vv += v[k]! * v[k]!;
    gg += gk * gk;
  }
  const s = gg > 0 ? Math.sqrt(vv / gg) : 0;
  const coef = 1 + gamma * s;
  for (let k = 0; k < x.length; k++) {
    const vk = v[k]! - h * (gamma * v[k]! + coef * g[k]!);
    v[k] = vk;
    x[k] = x[k]! + h * vk;
  }
}
