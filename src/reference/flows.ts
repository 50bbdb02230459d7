/**
 * Float64 CPU oracles of the flows of docs/math.md §8, used by tests and by the CPU side of the
 * benchmarks. They follow the same update order as shaders/integrate.wgsl (including FIRE 2.0
 * and adaptive restart) and draw Langevin noise from the same Philox stream.
 */
import { normal4, type Words2 } from './random.js';

/**
 * What {@link referenceEnergy} reads of an energy term (the library's EnergyTerm has this shape):
 * a pointwise potential with its float64 U and ∇U, or a kernel term with its float64 twin.
 */
export type ReferenceTerm =
  | { kind: 'potential'; weight: number; value(x: Float64Array): number; gradient(x: Float64Array): ArrayLike<number> }
  | { kind: 'kernel'; reference(x: Float64Array, n: number, dim: number): { value: number; grad: ArrayLike<number> } };

/** A Langevin seed, as the flow takes it: an integer (< 2^64) or the two key words [lo, hi]. */
export type ReferenceSeed = number | bigint | readonly [number, number];

/** The Philox key words (lo, hi) of a seed: its low and high 32 bits. */
function keyOf(seed: ReferenceSeed): Words2 {
  if (Array.isArray(seed)) return [seed[0] >>> 0, seed[1] >>> 0];
  const s = BigInt(seed as number | bigint);
  return [Number(s & 0xffffffffn), Number((s >> 32n) & 0xffffffffn)];
}

/** Value and Wasserstein gradient g (N*dim) of a term list, in float64. */
export function referenceEnergy(terms: readonly ReferenceTerm[], x: Float64Array, n: number, dim: number): { value: number; terms: number[]; grad: Float64Array } {
  const grad = new Float64Array(n * dim);
  const values: number[] = [];
  for (const t of terms) {
    if (t.kind === 'potential') {
      let v = 0;
      for (let i = 0; i < n; i++) {
        const xi = x.subarray(i * dim, (i + 1) * dim);
        v += t.value(xi);
        const g = t.gradient(xi);
        for (let c = 0; c < dim; c++) grad[i * dim + c]! += t.weight * g[c]!;
      }
      values.push((t.weight * v) / n);
    } else {
      const r = t.reference(x, n, dim);
      for (let k = 0; k < grad.length; k++) grad[k]! += r.grad[k]!;
      values.push(r.value);
    }
  }
  return { value: values.reduce((a, b) => a + b, 0), terms: values, grad };
}

/** Options of {@link referenceFlow}. */
export interface ReferenceFlowOptions {
  dim: number;
  method: 'gradient' | 'accelerated' | 'steering' | 'langevin' | 'fire';
  h: number;
  /** Constant damping or a function of the step. Default 0.5. */
  gamma?: number | ((step: number) => number);
  steps: number;
  /** Gradient g(x) (N*dim) of the energy. */
  gradient: (x: Float64Array) => Float64Array;
  /** Energy (for adaptive restart). */
  energy?: (x: Float64Array) => number;
  /** Adaptive restart (accelerated, steering). */
  restart?: boolean;
  /** Langevin temperature. Default 1. */
  temperature?: number;
  /** Langevin seed. Default 1. */
  seed?: ReferenceSeed;
  /** FIRE constants (defaults as in createFlow). */
  fire?: { nDelay?: number; fInc?: number; fDec?: number; alphaStart?: number; fAlpha?: number; hMax?: number; hMin?: number; grace?: number; power?: 'half-step' | 'centred' };
  maxDisplacement?: number;
  /** Called after every step with the step count. */
  onStep?: (step: number, x: Float64Array, v: Float64Array, h: number) => void;
}

/**
 * Runs a flow in float64 and returns the final positions and velocities.
 * @example const { x } = referenceFlow(Float64Array.from(x0), undefined, { dim: 3, method: 'steering', h: 0.05, gamma: 0.5, steps: 100, gradient: (x) => x.map((v) => 2 * v) });
 */
export function referenceFlow(x0: Float64Array, v0: Float64Array | undefined, o: ReferenceFlowOptions): { x: Float64Array; v: Float64Array; s: number; h: number; alpha: number; restarts: number } {
  const x = Float64Array.from(x0);
  const v = v0 ? Float64Array.from(v0) : new Float64Array(x.length);
  const dim = o.dim;
  const n = x.length / dim;
  const gam = typeof o.gamma === 'function' ? o.gamma : () => (o.gamma as number | undefined) ?? 0.5;
  const F = { nDelay: 5, fInc: 1.1, fDec: 0.5, alphaStart: 0.1, fAlpha: 0.99, hMax: 10 * o.h, hMin: 0.02 * o.h, grace: 0, power: 'half-step', ...o.fire };
  const key = keyOf(o.seed ?? 1);
  let s = 0, h = o.h, alpha = F.alphaStart, nPos = 0, restarts = 0, lastEnergy = Infinity, calm = 0;
  for (let t = 0; t < o.steps; t++) {
    const g = o.gradient(x);
    if (o.method === 'gradient') {
      for (let k = 0; k < x.length; k++) x[k]! -= h * g[k]!;
    } else if (o.method === 'langevin') {
      const sigma = Math.sqrt(2 * h * (o.temperature ?? 1));
      for (let i = 0; i < n; i++) {
        const xi = normal4([i, t, 0, 0], key);
        for (let c = 0; c < dim; c++) x[i * dim + c]! += -h * g[i * dim + c]! + sigma * xi[c]!;
      }
    } else if (o.method === 'fire') {
      let p = 0, vv = 0, gg = 0;
      for (let k = 0; k < x.length; k++) { p -= g[k]! * v[k]!; vv += v[k]! * v[k]!; gg += g[k]! * g[k]!; }
      // 'centred': the velocity at the time of the force, v(t − h/2) + h f(t)/2.
      if (F.power === 'centred') p += 0.5 * h * gg;
      let reset = false;
      if (!(p > 0) && calm < F.grace) {
        nPos = 0; // grace after a reset: no reset, no change of h or α
      } else if (p > 0) {
        nPos++;
        if (nPos > F.nDelay) { h = Math.min(h * F.fInc, F.hMax); alpha *= F.fAlpha; }
      } else {
        nPos = 0;
        if (t >= F.nDelay) { h = Math.max(h * F.fDec, F.hMin); alpha = F.alphaStart; }
        if (vv > 0) restarts++;
        reset = true;
        calm = 0;
      }
      calm++;
      for (let k = 0; k < x.length; k++) {
        if (reset) { x[k]! -= 0.5 * h * v[k]!; v[k] = 0; }
        v[k] = v[k]! - h * g[k]!;
      }
      let v2 = 0, f2 = 0;
      for (let k = 0; k < x.length; k++) { v2 += v[k]! * v[k]!; f2 += g[k]! * g[k]!; }
      const mix = f2 > 0 ? Math.sqrt(v2 / f2) : 0;
      for (let i = 0; i < n; i++) {
        let len = 0;
        for (let c = 0; c < dim; c++) {
          const k = i * dim + c;
          if (f2 > 0) v[k] = (1 - alpha) * v[k]! - alpha * mix * g[k]!;
          len += (h * v[k]!) ** 2;
        }
        len = Math.sqrt(len);
        const cap = o.maxDisplacement && len > o.maxDisplacement ? o.maxDisplacement / len : 1;
        for (let c = 0; c < dim; c++) x[i * dim + c]! += cap * h * v[i * dim + c]!;
      }
    } else {
      const gm = gam(t);
      if (o.restart) {
        const e = o.energy!(x);
        if (e > lastEnergy) { v.fill(0); restarts++; }
        lastEnergy = e;
      }
      let coef = 1;
      if (o.method === 'steering') {
        let vv = 0, gg = 0;
        for (let k = 0; k < x.length; k++) { vv += v[k]! * v[k]!; gg += g[k]! * g[k]!; }
        s = gg > 0 ? Math.sqrt(vv / gg) : 0;
        coef = 1 + gm * s;
      }
      for (let k = 0; k < x.length; k++) {
        v[k] = v[k]! - h * (gm * v[k]! + coef * g[k]!);
        x[k]! += h * v[k]!;
      }
    }
    o.onStep?.(t + 1, x, v, h);
  }
  return { x, v, s, h, alpha, restarts };
}
