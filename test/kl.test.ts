// The KL-to-samples term on the GPU against the float64 oracle (src/reference/kl.ts) and the
// term's own smooth-floor twin: value, exact gradient (reverse sum included), float64 finite
// differences, N ≠ M in 1D/2D/3D, degenerate sets (particles on samples, duplicates), ADD
// semantics, slot isolation, determinism, setWeight, the length scale, and use in a flow.
import { describe, expect, it } from 'vitest';
import { gpuValue, relMax, relNorm, rng, runTerm as runTermAt, testDevice, type RunTermOptions, wgslStructFields } from './helpers.js';
import { KL_EPSILON, KL_PARAMS_FIELDS, klReference, klToSamples } from '../src/energies/kl.js';
import { klWgsl } from '../src/shaders.gen.js';
import { klOracle } from '../src/reference/kl.js';
import { createFlow } from '../src/flow.js';
import type { KernelTerm } from '../src/energies/types.js';


/** The shared runTerm at this file's slot; these terms expose diagnostics and a length scale. */
const runTerm = (device: GPUDevice, term: KernelTerm, x: Float32Array, n: number, dim: number, opts: RunTermOptions = {}) =>
  runTermAt(device, term, x, n, dim, { slot: 1, ...opts }).then((r) => {
    expect(r.lengthStride).toBe(1);
    return { ...r, diag: r.diag!, len: r.len! };
  });

function cloud(n: number, dim: number, seed: number, opts: { gaussian?: boolean; scale?: number; shift?: number } = {}): Float32Array {
  const r = rng(seed);
  const s = opts.scale ?? 1;
  const sh = opts.shift ?? 0;
  return Float32Array.from({ length: n * dim }, () => sh + s * (opts.gaussian ? Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()) : 2 * r() - 1));
}

/** Float64 central differences of the oracle's value, as the Wasserstein gradient N ∂D̂/∂x. */
function finiteDifferences(value: (x: Float64Array) => number, x: Float32Array, n: number): Float64Array {
  const x64 = Float64Array.from(x);
  const g = new Float64Array(x.length);
  // Small enough for the closest pairs of these sets (distances down to ~1e-6 in 1D), large
  // enough that float64 rounding stays far below the tolerance.
  const h = 1e-9;
  for (let q = 0; q < x.length; q++) {
    const v = x64[q]!;
    x64[q] = v + h;
    const fp = value(x64);
    x64[q] = v - h;
    const fm = value(x64);
    x64[q] = v;
    g[q] = (n * (fp - fm)) / (2 * h);
  }
  return g;
}

describe('float64 pieces', () => {
  it('KL_PARAMS_FIELDS mirrors struct KlParams of kl.wgsl', () => {
    const fields = wgslStructFields(klWgsl, 'KlParams');
    expect(fields).toEqual(KL_PARAMS_FIELDS.map(([a, b]) => [a, b]));
  });

  it('the smooth-floor twin equals the oracle away from the floors, and its gradient equals finite differences', () => {
    for (const [dim, k] of [[1, 1], [2, 1], [2, 3], [3, 2]] as const) {
      const n = 50;
      const x = cloud(n, dim, 3 + dim + 10 * k);
      const y = cloud(170, dim, 40 + dim, { gaussian: true, scale: 0.6 });
      // Floors far below every distance: the smooth and the hard floor agree to float64 rounding.
      const tiny = { epsilonNu: 1e-12, epsilonR: 1e-12 };
      const twin0 = klReference(x, y, dim, { k, weight: 0.8, ...tiny });
      const oracle = klOracle(x, y, dim, { k });
      expect(twin0.value).toBeCloseTo(0.8 * oracle.value, 9);
      expect(relMax(twin0.grad, oracle.grad.map((v) => 0.8 * v))).toBeLessThan(1e-9);
      // Default floors: the difference is the documented bias (d/2N) Σ log(1 + ε²/ν²) − log(1 + ε²/r²).
      const twin = klReference(x, y, dim, { k, weight: 0.8 });
      let bias = 0;
      const e2 = Math.fround(KL_EPSILON ** 2);
      for (let i = 0; i < n; i++) bias += (dim / 2) * (Math.log1p(e2 / twin.nu[i]! ** 2) - Math.log1p(e2 / twin.r[i]! ** 2));
      expect(twin.value - 0.8 * oracle.value).toBeCloseTo((0.8 * bias) / n, 12);
      const fd = finiteDifferences((z) => klReference(z, y, dim, { k, weight: 0.8 }).value, x, n);
      expect(relMax(twin.grad, fd)).toBeLessThan(1e-6);
    }
  });
});

describe('KL-to-samples term on the GPU', () => {
  for (const dim of [1, 2, 3]) {
    it(`d = ${dim}: value and gradient equal the float64 oracle and its finite differences (N ≠ M, k = 1 and 3)`, async () => {
      const { device } = await testDevice();
      for (const [k, n, m, weight] of [[1, 300, 1000, 1], [3, 160, 60, 0.6]] as const) {
        const x = cloud(n, dim, 10 * dim + k, { gaussian: k === 3 });
        const y = cloud(m, dim, 20 * dim + k, { gaussian: true, scale: 0.7, shift: 0.2 });
        // Floors of 1e-9 sit far below every distance here (f32 coordinates of order 1), so the
        // smooth floors and the oracle's hard floors give the same estimate.
        const eps = 1e-9;
        const term = klToSamples(y, { k, weight, epsilonNu: eps, epsilonR: eps });
        const { dg, e, constant, len, diag } = await runTerm(device, term, x, n, dim);
        const oracle = klOracle(x, y, dim, { k, epsNu: eps, epsR: eps });
        expect(constant).toBeCloseTo(Math.log(m / (n - 1)), 12);
        for (const v of e) expect(Number.isFinite(v)).toBe(true);
        expect(Math.abs(gpuValue(e, constant, weight) - weight * oracle.value)).toBeLessThan(1e-5 * Math.max(1, Math.abs(oracle.value)));
        const og = oracle.grad.map((v) => weight * v);
        expect(relMax(dg, og)).toBeLessThan(1e-4);
        const fd = finiteDifferences((z) => weight * klOracle(z, y, dim, { k, epsNu: eps, epsR: eps }).value, x, n);
        expect(relMax(dg, fd)).toBeLessThan(1e-3);
        expect(relNorm(dg, fd)).toBeLessThan(1e-3);
        // Length scale: min(ν̃, r̃) per particle.
        for (let i = 0; i < n; i++) {
          const l = Math.min(Math.hypot(oracle.nu[i]!, eps), Math.hypot(oracle.r[i]!, eps));
          expect(Math.abs(len[i]! - l)).toBeLessThan(1e-5 * l);
        }
        expect(diag.targetFallback).toBe(0);
        expect(diag.samples).toBe(m);
        expect(term.reference(Float64Array.from(x), n, dim).value).toBe(klReference(x, y, dim, { k, weight, epsilonNu: eps, epsilonR: eps }).value);
        // Default floors: equal to the smooth-floor twin.
        const d2 = await runTerm(device, klToSamples(y, { k, weight }), x, n, dim);
        const twin = klReference(x, y, dim, { k, weight });
        expect(Math.abs(gpuValue(d2.e, d2.constant, weight) - twin.value)).toBeLessThan(1e-5 * Math.max(1, Math.abs(twin.value)));
        expect(relMax(d2.dg, twin.grad)).toBeLessThan(1e-4);
      }
    });
  }

  it('M and N orders of magnitude apart (N = 200 vs M = 40000, N = 20000 vs M = 150)', async () => {
    const { device } = await testDevice();
    for (const [n, m] of [[200, 40_000], [20_000, 150]] as const) {
      const x = cloud(n, 2, n + 1, { gaussian: true });
      const y = cloud(m, 2, m + 2, { scale: 1.5 });
      const { dg, e, constant, diag } = await runTerm(device, klToSamples(y), x, n, 2);
      const twin = klReference(x, y, 2);
      expect(Math.abs(gpuValue(e, constant, 1) - twin.value)).toBeLessThan(1e-4 * Math.max(1, Math.abs(twin.value)));
      expect(relNorm(dg, twin.grad)).toBeLessThan(1e-4);
      expect(diag.targetFallback! + diag.selfFallback!).toBe(0);
    }
  });

  it('particles exactly on samples and duplicate particles: finite, equal to the smooth-floor twin', async () => {
    const { device } = await testDevice();
    for (const dim of [1, 2, 3]) {
      const y = cloud(200, dim, 500 + dim);
      const free = cloud(100, dim, 600 + dim, { scale: 1.2 });
      // 50 particles on samples 0..49, 30 more on samples 0..29 (duplicates on samples), 100 free,
      // and 20 duplicates of free particles.
      const x = new Float32Array([...y.slice(0, 50 * dim), ...y.slice(0, 30 * dim), ...free, ...free.slice(0, 20 * dim)]);
      const n = x.length / dim;
      for (const [k, eps] of [[1, KL_EPSILON], [1, 1e-3], [2, 1e-4]] as const) {
        const term = klToSamples(y, { k, epsilonNu: eps, epsilonR: eps });
        const { dg, e, constant, len } = await runTerm(device, term, x, n, dim);
        for (const v of dg) expect(Number.isFinite(v)).toBe(true);
        for (const v of e) expect(Number.isFinite(v)).toBe(true);
        for (const v of len) expect(v).toBeGreaterThan(0);
        const twin = klReference(x, y, dim, { k, epsilonNu: eps, epsilonR: eps });
        expect(Math.abs(gpuValue(e, constant, 1) - twin.value)).toBeLessThan(1e-4 * Math.max(1, Math.abs(twin.value)));
        // Gradients of f32 positions: absolute error relative to the largest component.
        expect(relMax(dg, twin.grad)).toBeLessThan(1e-4);
        if (k === 1) {
          // On-sample particles: density d·log εν − d·log r̃ and no ν pull.
          expect(twin.nu[0]).toBe(0);
        }
      }
    }
  });

  it('adds to G, writes only its slot, is deterministic run to run, follows setWeight', async () => {
    const { device } = await testDevice();
    const n = 500;
    const x = cloud(n, 2, 77, { gaussian: true });
    const y = cloud(800, 2, 78);
    const g0 = Float32Array.from({ length: n * 2 }, (_, i) => 0.25 * (i % 7) - 0.5);
    const { dg, outs } = await runTerm(device, klToSamples(y, { weight: 1 }), x, n, 2, { g0, weightAfter: 2.5, runs: 2 });
    const twin = klReference(x, y, 2, { weight: 2.5 });
    let maxErr = 0;
    let maxG = 0;
    for (let q = 0; q < n * 2; q++) {
      maxErr = Math.max(maxErr, Math.abs(dg[q]! - twin.grad[q]!));
      maxG = Math.max(maxG, Math.abs(twin.grad[q]!));
    }
    expect(maxErr / maxG).toBeLessThan(1e-5);
    expect(outs[1]!.dg).toEqual(outs[0]!.dg);
    expect(outs[1]!.e).toEqual(outs[0]!.e);
  });

  it('in a flow: monitor value equals the oracle; as the energy with h:auto it steps without NaN and lowers the estimate', async () => {
    const { device } = await testDevice();
    const n = 400;
    const x = cloud(n, 2, 91);
    const y = cloud(1500, 2, 92, { gaussian: true, scale: 0.4 });
    const oracle = klReference(x, y, 2);
    const flow = await createFlow(device, { dim: 2, positions: x, method: 'gradient', h: 1e-9, monitor: [klToSamples(y, { label: 'KL' })] });
    const s = await flow.stats();
    expect(Math.abs(s.monitors.KL! - oracle.value)).toBeLessThan(1e-4 * Math.max(1, Math.abs(oracle.value)));
    expect(s.energy).toBe(0);
    flow.destroy();
    const f2 = await createFlow(device, { dim: 2, positions: x, method: 'steering', h: 'auto', energy: [klToSamples(y, { epsilonNu: 1e-3, epsilonR: 1e-3 })] });
    const e0 = (await f2.stats()).energy;
    await f2.step(40);
    const s2 = await f2.stats();
    expect(Number.isFinite(s2.energy)).toBe(true);
    expect(s2.h).toBeGreaterThan(0);
    expect(s2.energy).toBeLessThan(e0);
    f2.destroy();
  });

  it('Float64Array and number[] samples equal the Float32Array ones', async () => {
    const { device } = await testDevice();
    const y = cloud(300, 2, 5, { gaussian: true });
    const x = cloud(200, 2, 6);
    const a = await runTerm(device, klToSamples(y), x, 200, 2);
    for (const alt of [Float64Array.from(y), Array.from(y)]) {
      const b = await runTerm(device, klToSamples(alt), x, 200, 2);
      expect(b.e).toEqual(a.e);
      expect(b.dg).toEqual(a.dg);
    }
  });

  // Squared distances leave the f32 range past |x − y| ≈ 1.8e19: the per-particle logs and
  // pulls are then taken from the scaled half difference (common.wgsl half_log_dist2 and
  // inv_dist2_vec), so far particles give the exact estimate and a finite (tiny) gradient.
  it('far from the samples (|x| up to 1e19): value and gradient equal the oracle, never inf or NaN', async () => {
    const { device } = await testDevice();
    const y = cloud(500, 2, 7, { gaussian: true, scale: 0.5 });
    const base = cloud(150, 2, 8);
    for (const scale of [1e3, 1e9, 1e15, 1e19]) {
      const x = base.map((v) => v * scale);
      const f = await createFlow(device, { dim: 2, positions: x, energy: [klToSamples(y, { label: 'KL' })], method: 'gradient', h: 1e-4 });
      const s = await f.stats();
      const g = await f.gradient();
      f.destroy();
      const ref = klReference(x, y, 2);
      expect(Number.isFinite(s.terms.KL!), `scale ${scale}`).toBe(true);
      expect(Math.abs(s.terms.KL! - ref.value), `scale ${scale}: KL ${s.terms.KL} vs ${ref.value}`).toBeLessThan(1e-6 * Math.abs(ref.value));
      for (const v of g) expect(Number.isFinite(v)).toBe(true);
      expect(relMax(g, ref.grad), `scale ${scale}: gradient`).toBeLessThan(1e-4);
    }
  });

  it('rejects bad options, too few particles or samples', async () => {
    const y = new Float32Array([0, 0, 1, 1]);
    expect(() => klToSamples(y, { k: 0 })).toThrow(/k must be an integer/);
    expect(() => klToSamples(y, { k: 9 })).toThrow(/k must be/);
    expect(() => klToSamples(y, { epsilonNu: 0 })).toThrow(/epsilonNu must be/);
    expect(() => klToSamples(y, { epsilonR: NaN })).toThrow(/epsilonR must be/);
    expect(() => klToSamples(new Float32Array([0, NaN]))).toThrow(/not finite/);
    expect(() => klToSamples('01' as unknown as Float32Array)).toThrow(/Float32Array, a Float64Array or an array/);
    expect(() => klToSamples([0, Infinity])).toThrow(/not finite/);
    expect(() => klToSamples(new Float64Array([0, 1e39]))).toThrow(/outside the f32 range/);
    expect(klToSamples(y).label).toBe('kl');
    const { device } = await testDevice();
    await expect(runTerm(device, klToSamples(y, { k: 3 }), cloud(10, 2, 1), 10, 2)).rejects.toThrow(/at least k samples/);
    await expect(runTerm(device, klToSamples(y, { k: 1 }), new Float32Array([0, 0]), 1, 2)).rejects.toThrow(/more than k particles/);
    await expect(runTerm(device, klToSamples(new Float32Array([0, 0, 1])), cloud(10, 2, 1), 10, 2)).rejects.toThrow(/multiple of dim/);
  });
});
