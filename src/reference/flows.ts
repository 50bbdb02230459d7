/**
 * Float64 CPU oracles of the flows of MATH.md, used by tests and by the CPU side of the
 * benchmarks. They follow the same update order as shaders/integrate.wgsl.
 */
import type { EnergyTerm } from '../energies/types.js';

/** Value and Wasserstein gradient g (N*dim) of a term list, in float64. */
export function referenceEnergy(terms: EnergyTerm[], x: Float64Array, n: number, dim: number): { value: number; terms: number[]; grad: Float64Array } {
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
  method: 'gradient' | 'accelerated' | 'steering';
  h: number;
  /** Constant damping or a function of the step. */
  gamma?: number | ((step: number) => number);
  steps: number;
  /** Gradient g(x) (N*dim) of the energy. */
  gradient: (x: Float64Array) => Float64Array;
  /** Called after every step with the step count. */
  onStep?: (step: number, x: Float64Array, v: Float64Array) => void;
}

/**
 * Runs a flow in float64 and returns the final positions and velocities.
 * @example const { x } = referenceFlow(Float64Array.from(x0), undefined, { dim: 3, method: 'steering', h: 0.05, gamma: 0.5, steps: 100, gradient: (x) => x.map((v) => 2 * v) });
 */
export function referenceFlow(x0: Float64Array, v0: Float64Array | undefined, o: ReferenceFlowOptions): { x: Float64Array; v: Float64Array; s: number } {
  const x = Float64Array.from(x0);
  const v = v0 ? Float64Array.from(v0) : new Float64Array(x.length);
  const gam = typeof o.gamma === 'function' ? o.gamma : () => (o.gamma as number | undefined) ?? 0.5;
  let s = 0;
  for (let t = 0; t < o.steps; t++) {
    const g = o.gradient(x);
    if (o.method === 'gradient') {
      for (let k = 0; k < x.length; k++) x[k]! -= o.h * g[k]!;
    } else {
      const gm = gam(t);
      let coef = 1;
      if (o.method === 'steering') {
        let vv = 0, gg = 0;
        for (let k = 0; k < x.length; k++) { vv += v[k]! * v[k]!; gg += g[k]! * g[k]!; }
        s = gg > 0 ? Math.sqrt(vv / gg) : 0;
        coef = 1 + gm * s;
      }
      for (let k = 0; k < x.length; k++) {
        v[k] = v[k]! - o.h * (gm * v[k]! + coef * g[k]!);
        x[k]! += o.h * v[k]!;
      }
    }
    o.onStep?.(t + 1, x, v);
  }
  return { x, v, s };
}
