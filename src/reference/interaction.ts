/**
 * Float64 oracle of the interaction term (MATH.md §2) by brute-force O(N²) sums:
 *   F = 1/(2N²) Σ_{i≠j} W(x_i − x_j),  g_i = (1/N) Σ_{j≠i} ∇W(x_i − x_j),
 *   e_i = 1/(2N) Σ_{j≠i} W(x_i − x_j)  (so F = (1/N) Σ_i e_i),
 * with the same kernels (and the same regularisation of the power kernel) as
 * shaders/interaction.wgsl.
 */

/**
 * Default regularisation radius eps of the power kernel (see `PowerKernel` in
 * src/energies/interaction.ts): pairs closer than eps see a quadratic continuation of W.
 *
 * @example
 * const W = powerKernel64(2, 0, Math.fround(POWER_KERNEL_EPS ** 2));
 */
export const POWER_KERNEL_EPS = 1e-6;

/**
 * A pair kernel in float64: returns W(z) and writes ∇W(z) into out[0..2]. z always has three
 * components (zeros beyond the dimension), as in the WGSL. W must be even (∇W odd).
 *
 * @example
 * const harmonic: PairKernel64 = (z0, z1, z2, out) => { out[0] = z0; out[1] = z1; out[2] = z2; return 0.5 * (z0 * z0 + z1 * z1 + z2 * z2); };
 */
export type PairKernel64 = (z0: number, z1: number, z2: number, out: Float64Array) => number;

/** φ_p(r) = r^p / p for p ≠ 0, log r for p = 0, from s = r² and q = r^(p−2). */
function phi(s: number, q: number, p: number): number {
  return p === 0 ? 0.5 * Math.log(s) : (q * s) / p;
}

/**
 * The attraction–repulsion power kernel `W(z) = φ_a(|z|) − φ_b(|z|)` (a > b), where
 * `φ_p(r) = r^p/p` and `φ_0(r) = log r`; `∇W(z) = (|z|^(a−2) − |z|^(b−2)) z`. For |z| < eps
 * (eps² given, as the GPU rounds it) W is continued by the quadratic with the same value and
 * slope at eps, so duplicates get a finite W(0) and a zero gradient.
 *
 * @example
 * const W = powerKernel64(2, 0, 1e-12); // |z|²/2 − log|z|
 * const g = new Float64Array(3);
 * W(1, 0, 0, g); // 0.5, g = [0, 0, 0]
 */
export function powerKernel64(a: number, b: number, eps2: number): PairKernel64 {
  const ea = 0.5 * a - 1, eb = 0.5 * b - 1;
  return (z0, z1, z2, out) => {
    const s = z0 * z0 + z1 * z1 + z2 * z2;
    const se = Math.max(s, eps2);
    const qa = se ** ea, qb = se ** eb;
    const c = qa - qb;
    out[0] = c * z0;
    out[1] = c * z1;
    out[2] = c * z2;
    return phi(se, qa, a) - phi(se, qb, b) + 0.5 * c * (s - se);
  };
}

/**
 * Gaussian kernel `W(z) = A exp(−|z|²/(2σ²))`, `∇W(z) = −(A/σ²) exp(−|z|²/(2σ²)) z`.
 *
 * @example
 * const W = gaussianKernel64(0.5, 1); // repulsive bump of width 0.5
 */
export function gaussianKernel64(sigma: number, amplitude: number): PairKernel64 {
  const k = 1 / (2 * sigma * sigma);
  return (z0, z1, z2, out) => {
    const w = amplitude * Math.exp(-k * (z0 * z0 + z1 * z1 + z2 * z2));
    out[0] = -2 * k * w * z0;
    out[1] = -2 * k * w * z1;
    out[2] = -2 * k * w * z2;
    return w;
  };
}

/**
 * Result of {@link interactionReference}.
 *
 * @example
 * const { value, grad, density }: InteractionReference = interactionReference(x, n, dim, W);
 */
export interface InteractionReference {
  /** weight · F. */
  value: number;
  /** weight · g, N·dim. */
  grad: Float64Array;
  /** e_i = 1/(2N) Σ_{j≠i} W(x_i − x_j) (unweighted), N. */
  density: Float64Array;
  /** |weight|/N · Σ_{j≠i} |∇W(x_i − x_j)|, N: the scale of g_i's rounding error (for tolerances). */
  gradAbs: Float64Array;
  /** 1/(2N) Σ_{j≠i} |W(x_i − x_j)|, N: the scale of e_i's rounding error. */
  densityAbs: Float64Array;
}

/**
 * Brute-force float64 value, gradient and energy densities of the interaction term for
 * positions x (N·dim, row-major). O(N²) (each pair once, by evenness of W).
 *
 * @example
 * const { value, grad } = interactionReference(x, n, 2, powerKernel64(2, 0, 1e-12));
 */
export function interactionReference(x: ArrayLike<number>, n: number, dim: number, kernel: PairKernel64, weight = 1): InteractionReference {
  const grad = new Float64Array(n * dim);
  const density = new Float64Array(n);
  const gradAbs = new Float64Array(n);
  const densityAbs = new Float64Array(n);
  const out = new Float64Array(3);
  const p = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < dim; c++) p[3 * i + c] = x[i * dim + c]!;
  for (let i = 0; i < n; i++) {
    const xi0 = p[3 * i]!, xi1 = p[3 * i + 1]!, xi2 = p[3 * i + 2]!;
    for (let j = i + 1; j < n; j++) {
      const w = kernel(xi0 - p[3 * j]!, xi1 - p[3 * j + 1]!, xi2 - p[3 * j + 2]!, out);
      density[i] += w;
      density[j] += w;
      densityAbs[i] += Math.abs(w);
      densityAbs[j] += Math.abs(w);
      const ga = Math.hypot(out[0]!, out[1]!, out[2]!);
      gradAbs[i] += ga;
      gradAbs[j] += ga;
      for (let c = 0; c < dim; c++) {
        grad[i * dim + c] += out[c]!;
        grad[j * dim + c] -= out[c]!;
      }
    }
  }
  let total = 0;
  for (let i = 0; i < n; i++) {
    density[i] /= 2 * n;
    densityAbs[i] /= 2 * n;
    gradAbs[i] *= Math.abs(weight) / n;
    total += density[i]!;
  }
  for (let k = 0; k < grad.length; k++) grad[k] *= weight / n;
  return { value: (weight * total) / Math.max(1, n), grad, density, gradAbs, densityAbs };
}
