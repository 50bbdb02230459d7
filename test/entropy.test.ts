// The Kozachenko–Leonenko entropy term on the GPU against its float64 twin: value, analytic
// gradient, float64 finite differences; duplicates; ADD semantics, slot isolation, setWeight.
import { describe, expect, it } from 'vitest';
import { gpuValue, relMax, relNorm, rng, runTerm as runTermAt, testDevice, type RunTermOptions, wgslStructFields } from './helpers.js';
import { entropy, entropyConstant, entropyReference, ENTROPY_EPSILON, ENTROPY_PARAMS_FIELDS } from '../src/energies/entropy.js';
import { entropyWgsl } from '../src/shaders.gen.js';
import { digamma, logUnitBallVolume } from '../src/math/special.js';
import type { KernelTerm } from '../src/energies/types.js';


/** The shared runTerm at this file's slot; these terms expose diagnostics and a length scale. */
const runTerm = (device: GPUDevice, term: KernelTerm, x: Float32Array, n: number, dim: number, opts: RunTermOptions = {}) =>
  runTermAt(device, term, x, n, dim, { slot: 2, ...opts }).then((r) => {
    return { ...r, diag: r.diag!, len: r.len! };
  });

function cloud(n: number, dim: number, seed: number, gaussian = false): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * dim }, () => (gaussian ? Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()) : 2 * r() - 1));
}

/** Float64 central differences of the reference value, as the Wasserstein gradient N ∂F/∂x. */
function finiteDifferences(x: Float32Array, n: number, dim: number, k: number, weight: number): Float64Array {
  const x64 = Float64Array.from(x);
  const g = new Float64Array(n * dim);
  const h = 1e-7;
  for (let q = 0; q < n * dim; q++) {
    const v = x64[q]!;
    x64[q] = v + h;
    const fp = entropyReference(x64, n, dim, { k, weight }).value;
    x64[q] = v - h;
    const fm = entropyReference(x64, n, dim, { k, weight }).value;
    x64[q] = v;
    g[q] = (n * (fp - fm)) / (2 * h);
  }
  return g;
}

describe('float64 reference pieces', () => {
  it('ENTROPY_PARAMS_FIELDS mirrors struct EntropyParams of entropy.wgsl', () => {
    const fields = wgslStructFields(entropyWgsl, 'EntropyParams');
    expect(fields).toEqual(ENTROPY_PARAMS_FIELDS.map(([a, b]) => [a, b]));
  });

  it('digamma and the unit-ball volume', () => {
    expect(digamma(1)).toBeCloseTo(-0.5772156649015329, 14);
    expect(digamma(2)).toBeCloseTo(1 - 0.5772156649015329, 14);
    expect(digamma(10)).toBeCloseTo(2.251752589066721, 13);
    expect(digamma(0.5)).toBeCloseTo(-1.9635100260214235, 13);
    expect(digamma(1000)).toBeCloseTo(6.907255195648812, 12);
    let h = -0.5772156649015329;
    for (let j = 1; j < 50; j++) h += 1 / j;
    expect(digamma(50)).toBeCloseTo(h, 13);
    expect(Math.exp(logUnitBallVolume(1))).toBeCloseTo(2, 14);
    expect(Math.exp(logUnitBallVolume(2))).toBeCloseTo(Math.PI, 14);
    expect(Math.exp(logUnitBallVolume(3))).toBeCloseTo((4 * Math.PI) / 3, 14);
    expect(Math.exp(logUnitBallVolume(4))).toBeCloseTo(Math.PI ** 2 / 2, 13);
    expect(entropyConstant(100, 3, 2)).toBeCloseTo(-(digamma(100) - digamma(3) + Math.log(Math.PI)), 14);
  });

  it('the analytic gradient equals float64 finite differences (reverse sum included)', () => {
    for (const [dim, k] of [[1, 1], [2, 3], [3, 2]] as const) {
      const n = 60;
      const x = cloud(n, dim, 7 + dim);
      const ref = entropyReference(Float64Array.from(x), n, dim, { k, weight: 0.7 });
      expect(relMax(ref.grad, finiteDifferences(x, n, dim, k, 0.7))).toBeLessThan(1e-6);
    }
  });
});

describe('entropy term on the GPU', () => {
  for (const dim of [1, 2, 3]) {
    it(`d = ${dim}: value, gradient vs float64 analytic and finite differences (k = 1, 3)`, async () => {
      const { device } = await testDevice();
      for (const [k, n, weight] of [[1, 300, 1], [3, 120, 0.37]] as const) {
        const x = cloud(n, dim, 100 * dim + k, k === 3);
        const term = entropy({ k, temperature: weight });
        const { dg, e, constant } = await runTerm(device, term, x, n, dim);
        const ref = entropyReference(Float64Array.from(x), n, dim, { k, weight });
        expect(constant).toBeCloseTo(ref.constant, 12);
        for (const v of e) expect(Number.isFinite(v)).toBe(true);
        const F = gpuValue(e, constant, weight);
        expect(Math.abs(F - ref.value)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.value)));
        expect(term.reference(Float64Array.from(x), n, dim).value).toBe(ref.value);
        expect(relMax(dg, ref.grad)).toBeLessThan(1e-5);
        const fd = finiteDifferences(x, n, dim, k, weight);
        expect(relMax(dg, fd)).toBeLessThan(1e-3);
        expect(relNorm(dg, fd)).toBeLessThan(1e-3);
      }
    });
  }

  it('leaving out the reverse sum would be wrong (the test can tell)', () => {
    const n = 80;
    const x = cloud(n, 2, 5);
    const ref = entropyReference(Float64Array.from(x), n, 2, { k: 1 });
    const forwardOnly = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      const j = ref.neighbor[i]!;
      for (let a = 0; a < 2; a++) forwardOnly[i * 2 + a] = (-2 * (x[i * 2 + a]! - x[j * 2 + a]!)) / (ref.r[i]! ** 2 + Math.fround(ENTROPY_EPSILON ** 2));
    }
    expect(relMax(forwardOnly, ref.grad)).toBeGreaterThan(0.1);
  });

  it('adds to G, writes only its slot, is deterministic, follows setWeight', async () => {
    const { device } = await testDevice();
    const n = 400;
    const dim = 2;
    const x = cloud(n, dim, 77, true);
    const g0 = Float32Array.from({ length: n * dim }, (_, i) => 0.25 * (i % 7) - 0.5);
    const term = entropy({ k: 1 });
    const { dg, outs } = await runTerm(device, term, x, n, dim, { g0, weightAfter: 2.5, runs: 2 });
    const ref = entropyReference(Float64Array.from(x), n, dim, { k: 1, weight: 2.5 });
    // G0 + g: compare the increment with a tolerance that covers the f32 addition to G0.
    let maxErr = 0;
    let maxG = 0;
    for (let q = 0; q < n * dim; q++) {
      maxErr = Math.max(maxErr, Math.abs(dg[q]! - ref.grad[q]!));
      maxG = Math.max(maxG, Math.abs(ref.grad[q]!));
    }
    expect(maxErr / maxG).toBeLessThan(1e-5);
    expect(outs[1]!.dg).toEqual(outs[0]!.dg); // bit-identical run to run
    expect(outs[1]!.e).toEqual(outs[0]!.e);
  });

  it('duplicates and a large set: finite everywhere, equal to the float64 twin', async () => {
    const { device } = await testDevice();
    // Every point twice, plus a triple: r = 0 for all of them at k = 1.
    const base = cloud(150, 3, 91);
    const x = new Float32Array([...base, ...base, ...base.slice(0, 3)]);
    const n = x.length / 3;
    for (const k of [1, 3]) {
      const { dg, e, constant } = await runTerm(device, entropy({ k }), x, n, 3);
      for (const v of dg) expect(Number.isFinite(v)).toBe(true);
      for (const v of e) expect(Number.isFinite(v)).toBe(true);
      const ref = entropyReference(Float64Array.from(x), n, 3, { k });
      expect(Math.abs(gpuValue(e, constant, 1) - ref.value)).toBeLessThan(1e-4 * Math.abs(ref.value));
      expect(relMax(dg, ref.grad)).toBeLessThan(1e-5);
    }
    // 20000 Gaussian points in 2D, k = 2: against the (O(N²)) twin.
    const big = cloud(20_000, 2, 92, true);
    const { dg, e, constant, diag } = await runTerm(device, entropy({ k: 2, temperature: 0.5 }), big, 20_000, 2);
    const ref = entropyReference(Float64Array.from(big), 20_000, 2, { k: 2, weight: 0.5 });
    expect(Math.abs(gpuValue(e, constant, 0.5) - ref.value)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.value)));
    expect(relNorm(dg, ref.grad)).toBeLessThan(1e-4);
    expect(diag.fallback).toBe(0);
  });

  // Spread over up to 1e18: squared distances of the far outliers to the bulk leave the f32
  // range (common.wgsl half_log_dist2, inv_dist2_vec), the value and gradient still equal the
  // twin and stay finite. (The neighbour search ranks by squared distance, so it is exact while
  // each nearest-neighbour distance is below 1.8e19; past that, see src/energies/kl.ts.)
  it('widely spread sets (scale up to 1e18): finite, equal to the float64 twin', async () => {
    const { device } = await testDevice();
    const base = cloud(200, 2, 93, true);
    for (const scale of [1e9, 1e18]) {
      const x = base.map((v) => v * scale);
      const { dg, e, constant } = await runTerm(device, entropy(), x, 200, 2);
      for (const v of dg) expect(Number.isFinite(v)).toBe(true);
      for (const v of e) expect(Number.isFinite(v)).toBe(true);
      const ref = entropyReference(Float64Array.from(x), 200, 2);
      expect(Math.abs(gpuValue(e, constant, 1) - ref.value), `scale ${scale}`).toBeLessThan(1e-6 * Math.abs(ref.value));
      expect(relMax(dg, ref.grad), `scale ${scale}`).toBeLessThan(1e-4);
    }
  });

  it('rejects bad options and too few particles', async () => {
    expect(() => entropy({ k: 0 })).toThrow(/k must be an integer in 1\.\.8/);
    expect(() => entropy({ k: 9 })).toThrow(/k must be/);
    expect(() => entropy({ epsilon: 0 })).toThrow(/epsilon must be/);
    expect(() => entropy({ epsilon: NaN })).toThrow(/epsilon must be/);
    expect(() => entropy({ temperature: 1, weight: 2 })).toThrow(/disagree/);
    expect(() => entropy({ temperature: Infinity })).toThrow(/finite/);
    expect(entropy({ temperature: 0.3 }).weight).toBe(0.3);
    expect(entropy().label).toBe('entropy');
    const { device } = await testDevice();
    await expect(runTerm(device, entropy({ k: 2 }), new Float32Array([0, 1]), 2, 1)).rejects.toThrow(/needs more than k particles/);
  });
});
