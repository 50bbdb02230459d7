// The worked example of docs/architecture.md ("Adding an energy term"), verbatim, run through
// createFlow on the real adapter against its own float64 value/gradient and finite differences.
import { describe, expect, it } from 'vitest';
import { createFlow, type PotentialTerm, type TermOptions } from '../src/index.js';
import { relMax, rng, testDevice } from './helpers.js';

interface SoftWallOptions extends TermOptions { a?: number; kappa?: number }

/** U(x) = κ Σ_c max(0, |x_c| − a)², ∇U = 2κ sign(x_c) max(0, |x_c| − a). Not strongly convex. */
function softWall(options: SoftWallOptions = {}): PotentialTerm {
  const a = options.a ?? 1, kappa = options.kappa ?? 1;
  if (!(a >= 0) || !(kappa >= 0)) throw new Error(`wgflow: softWall: a and kappa must be ≥ 0 (got ${a}, ${kappa})`);
  return {
    kind: 'potential', label: options.label ?? 'softWall', weight: options.weight ?? 1,
    params: [a, kappa],
    wgsl: (id) => `
fn U_${id}(x: vec3f) -> f32 { let e = max(abs(x) - vec3f(prm_${id}(0u)), vec3f(0.0)); return prm_${id}(1u) * dot(e, e); }
fn dU_${id}(x: vec3f) -> vec3f { return 2.0 * prm_${id}(1u) * sign(x) * max(abs(x) - vec3f(prm_${id}(0u)), vec3f(0.0)); }`,
    value: (x) => x.reduce((s, c) => s + kappa * Math.max(0, Math.abs(c) - a) ** 2, 0),
    gradient: (x) => x.map((c) => 2 * kappa * Math.sign(c) * Math.max(0, Math.abs(c) - a)),
  };
}

describe('docs/architecture.md worked example: a new potential term', () => {
  for (const dim of [1, 2, 3]) {
    it(`softWall in d = ${dim}: GPU value and gradient equal the float64 twin`, async () => {
      const { device } = await testDevice();
      const n = 500;
      const r = rng(40 + dim);
      const x = new Float32Array(n * dim).map(() => 4 * (r() - 0.5));
      const term = softWall({ a: 0.8, kappa: 1.5 });
      const flow = await createFlow(device, { dim, positions: x, energy: [term], h: 1e-3 });
      try {
        const s = await flow.stats();
        const g = await flow.gradient();
        let value = 0;
        const gRef = new Float64Array(n * dim);
        for (let i = 0; i < n; i++) {
          const xi = Float64Array.from(x.subarray(i * dim, (i + 1) * dim));
          value += term.value(xi) / n;
          gRef.set(term.gradient(xi), i * dim);
          // Finite differences of the float64 value (away from the kinks at |x_c| = a).
          for (let c = 0; c < dim; c++) {
            if (Math.abs(Math.abs(xi[c]!) - 0.8) < 1e-3) continue;
            const e = 1e-6, p = Float64Array.from(xi), m = Float64Array.from(xi);
            p[c]! += e; m[c]! -= e;
            expect(Math.abs((term.value(p) - term.value(m)) / (2 * e) - gRef[i * dim + c]!)).toBeLessThan(1e-5);
          }
        }
        expect(Math.abs(s.terms.softWall! - value) / value).toBeLessThan(1e-5);
        expect(relMax(g, gRef)).toBeLessThan(1e-5);
        expect(value).toBeGreaterThan(0);
      } finally {
        flow.destroy();
      }
    });
  }
});
