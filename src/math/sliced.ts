/**
 * Sliced Wasserstein-2 distance between two point clouds (float64, on the host), used to
 * measure how close a flow's particles came to a target cloud. Clouds may have different sizes:
 * on each projection the two empirical quantile functions are matched exactly.
 */
import { mulberry32 } from './random.js';

/** Options of {@link slicedWasserstein2}. */
export interface SlicedOptions {
  /**
   * Number of projection directions. Default 128. Ignored in 1D (one exact projection); in 3D
   * rounded up to a multiple of 3 (directions come as random orthonormal frames).
   */
  projections?: number;
  /** Seed of the random directions. Default 1. */
  seed?: number;
}

function checkCloud(a: ArrayLike<number>, dim: number, what: string): number {
  if (!Number.isInteger(dim) || dim < 1 || dim > 3) {
    throw new Error(`wgflow: slicedWasserstein2: dim must be 1, 2 or 3 (got ${dim})`);
  }
  if (a.length === 0 || a.length % dim !== 0) {
    throw new Error(`wgflow: slicedWasserstein2: ${what} must hold a positive multiple of dim = ${dim} values (got ${a.length})`);
  }
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new Error(`wgflow: slicedWasserstein2: ${what} has a non-finite value at index ${i}`);
  }
  return a.length / dim;
}

/**
 * Exact squared W2 distance between two 1D empirical measures with equal weights (1/n and 1/m),
 * given their atoms sorted ascending: ∫₀¹ (F_a⁻¹(t) − F_b⁻¹(t))² dt, with the breakpoints i/n and
 * j/m merged in exact integer arithmetic.
 *
 * @example
 * wasserstein2Sorted1d(new Float64Array([0, 1]), new Float64Array([0, 0.5, 1])); // 1/12
 */
export function wasserstein2Sorted1d(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) throw new Error('wgflow: wasserstein2Sorted1d: empty measure');
  // Quantile level t·n·m, an integer on every breakpoint.
  let i = 0;
  let j = 0;
  let t = 0;
  let sum = 0;
  const nm = n * m;
  while (i < n && j < m) {
    const ti = (i + 1) * m;
    const tj = (j + 1) * n;
    const next = Math.min(ti, tj);
    const d = a[i]! - b[j]!;
    sum += (next - t) * d * d;
    t = next;
    if (ti === next) i++;
    if (tj === next) j++;
  }
  return sum / nm;
}

/** Uniform random rotation matrix (row-major 3×3) from a uniform unit quaternion. */
function randomRotation(rand: () => number): number[] {
  const u1 = rand(), u2 = rand(), u3 = rand();
  const s1 = Math.sqrt(1 - u1), s2 = Math.sqrt(u1);
  const w = s1 * Math.sin(2 * Math.PI * u2);
  const x = s1 * Math.cos(2 * Math.PI * u2);
  const y = s2 * Math.sin(2 * Math.PI * u3);
  const z = s2 * Math.cos(2 * Math.PI * u3);
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
    2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
    2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
  ];
}

/**
 * The unit directions {@link slicedWasserstein2} projects on (P·dim values): in 1D the single
 * direction 1; in 2D P equally spaced angles θ_k = φ + πk/P with a random offset φ; in 3D
 * ⌈P/3⌉ random orthonormal frames (uniform rotations). Both designs average every quadratic
 * form exactly: mean_k (θ_k·s)² = |s|²/d, so the sliced distance of a shifted cloud is exact.
 *
 * @example
 * const dirs = slicingDirections(2, 4, 1); // 4 unit vectors 45° apart, 8 numbers
 */
export function slicingDirections(dim: number, projections = 128, seed = 1): Float64Array {
  if (!Number.isInteger(projections) || projections < 1) {
    throw new Error(`wgflow: slicedWasserstein2: projections must be a positive integer (got ${projections})`);
  }
  const rand = mulberry32(seed);
  if (dim === 1) return new Float64Array([1]);
  if (dim === 2) {
    const out = new Float64Array(2 * projections);
    const phi = (rand() * Math.PI) / projections;
    for (let k = 0; k < projections; k++) {
      const th = phi + (Math.PI * k) / projections;
      out[2 * k] = Math.cos(th);
      out[2 * k + 1] = Math.sin(th);
    }
    return out;
  }
  if (dim === 3) {
    const frames = Math.ceil(projections / 3);
    const out = new Float64Array(9 * frames);
    for (let f = 0; f < frames; f++) out.set(randomRotation(rand), 9 * f); // rows are orthonormal
    return out;
  }
  throw new Error(`wgflow: slicedWasserstein2: dim must be 1, 2 or 3 (got ${dim})`);
}

/**
 * Squared sliced Wasserstein-2 distance SW₂²(a, b) = mean over directions θ of W₂²(θ#a, θ#b),
 * the 1D distances computed exactly by quantile matching of the sorted projections (so the
 * clouds may have different sizes). For uniformly distributed directions this estimates
 * E_θ W₂²(θ#a, θ#b); a cloud shifted by s gives exactly |s|²/d (|s|² in 1D, |s|²/2 in 2D).
 * Take the square root for a distance.
 *
 * @example
 * const sw2 = slicedWasserstein2(particles, targets, 2, { projections: 128, seed: 1 });
 */
export function slicedWasserstein2(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dim: number,
  options: SlicedOptions = {},
): number {
  const n = checkCloud(a, dim, 'a');
  const m = checkCloud(b, dim, 'b');
  const dirs = slicingDirections(dim, options.projections ?? 128, options.seed ?? 1);
  const p = dirs.length / dim;
  const pa = new Float64Array(n);
  const pb = new Float64Array(m);
  let sum = 0;
  for (let k = 0; k < p; k++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += dirs[k * dim + c]! * a[i * dim + c]!;
      pa[i] = s;
    }
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += dirs[k * dim + c]! * b[i * dim + c]!;
      pb[i] = s;
    }
    pa.sort();
    pb.sort();
    sum += wasserstein2Sorted1d(pa, pb);
  }
  return sum / p;
}
