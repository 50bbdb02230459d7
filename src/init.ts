/**
 * Built-in initial particle sets, generated on the host in float64 from a seed (mulberry32
 * uniforms of src/math/random.ts, Box–Muller normals) and rounded to float32. The same seed
 * gives the same set everywhere.
 */
import { mulberry32 } from './math/random.js';

function checkN(n: number, dim: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`wgflow: particle count must be a positive integer (got ${n})`);
  if (![1, 2, 3].includes(dim)) throw new Error(`wgflow: dim must be 1, 2 or 3 (got ${dim})`);
}

/**
 * N points uniform in the box [low, high]^dim.
 * @example const x = uniformBox(1000, 2, { low: -1, high: 1, seed: 7 });
 */
export function uniformBox(n: number, dim: number, options: { low?: number; high?: number; seed?: number } = {}): Float32Array {
  checkN(n, dim);
  const lo = options.low ?? 0;
  const hi = options.high ?? 1;
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) throw new Error('wgflow: uniformBox needs finite low < high');
  const u = mulberry32(options.seed ?? 1);
  const out = new Float32Array(n * dim);
  for (let k = 0; k < out.length; k++) out[k] = lo + (hi - lo) * u();
  return out;
}

/**
 * N points from N(mean, std² I).
 * @example const x = gaussian(1000, 3, { std: 2, seed: 1 });
 */
export function gaussian(n: number, dim: number, options: { mean?: number[]; std?: number; seed?: number } = {}): Float32Array {
  checkN(n, dim);
  const std = options.std ?? 1;
  const mean = options.mean ?? [0, 0, 0];
  if (!(std > 0) || !Number.isFinite(std)) throw new Error('wgflow: gaussian std must be finite and > 0');
  const u = mulberry32(options.seed ?? 1);
  const out = new Float32Array(n * dim);
  for (let k = 0; k < out.length; k++) {
    const z = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
    out[k] = (mean[k % dim] ?? 0) + std * z;
  }
  return out;
}

/**
 * The seed paper's Fokker–Planck start in R²: the first ⌈N/2⌉ points uniform in [0,1]², the
 * rest uniform in [−1,0]².
 * @example const x = twoQuadrants(1000, { seed: 1 });
 */
export function twoQuadrants(n: number, options: { seed?: number } = {}): Float32Array {
  checkN(n, 2);
  const u = mulberry32(options.seed ?? 1);
  const out = new Float32Array(n * 2);
  const half = Math.ceil(n / 2);
  for (let i = 0; i < n; i++) {
    const off = i < half ? 0 : -1;
    out[2 * i] = off + u();
    out[2 * i + 1] = off + u();
  }
  return out;
}

/** A built-in initial set, as accepted by `createFlow({ positions })`. */
export type InitSpec =
  | { kind: 'uniform'; n: number; low?: number; high?: number; seed?: number }
  | { kind: 'gaussian'; n: number; mean?: number[]; std?: number; seed?: number }
  | { kind: 'two-quadrants'; n: number; seed?: number };

/** Generates the positions of an {@link InitSpec}. */
export function generatePositions(spec: InitSpec, dim: number): Float32Array {
  switch (spec.kind) {
    case 'uniform': return uniformBox(spec.n, dim, spec);
    case 'gaussian': return gaussian(spec.n, dim, spec);
    case 'two-quadrants':
      if (dim !== 2) throw new Error('wgflow: the two-quadrants start is defined for dim = 2');
      return twoQuadrants(spec.n, spec);
    default: throw new Error(`wgflow: unknown initial set ${(spec as { kind: string }).kind}`);
  }
}
