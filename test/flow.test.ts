import { describe, expect, it } from 'vitest';
import { testDevice, rng } from './helpers.js';
import { createFlow, type Method } from '../src/flow.js';
import { quadratic, doubleWell, gaussianMixture } from '../src/energies/potential.js';
import { referenceEnergy, referenceFlow } from '../src/reference/flows.js';

function randomPositions(n: number, dim: number, seed: number, scale = 2): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * dim }, () => scale * (2 * r() - 1));
}

/** max_i |a_i - b_i| / max(1, max |b|) */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0, s = 1e-30;
  for (let k = 0; k < b.length; k++) { m = Math.max(m, Math.abs(a[k]! - b[k]!)); s = Math.max(s, Math.abs(b[k]!)); }
  return m / s;
}

describe('flows match the float64 reference', () => {
  const methods: Method[] = ['gradient', 'accelerated', 'steering'];
  for (const n of [1, 7, 1000, 65537]) {
    for (const dim of [1, 2, 3]) {
      it(`N=${n} d=${dim}: gradient, accelerated, steering for 100 steps`, async () => {
        const { device } = await testDevice();
        const x0 = randomPositions(n, dim, n * 10 + dim);
        const energy = [quadratic({ center: [0.3, -0.2, 0.1].slice(0, dim), scale: 0.8 }), doubleWell({ a: 1.2, depth: 0.3, weight: 0.5 })];
        for (const method of methods) {
          const flow = await createFlow(device, { dim, positions: x0, energy, method, h: 0.02, gamma: 0.7 });
          await flow.step(100);
          const x = await flow.positions();
          flow.destroy();
          const ref = referenceFlow(Float64Array.from(x0), undefined, {
            dim, method, h: 0.02, gamma: 0.7, steps: 100,
            gradient: (y) => referenceEnergy(energy, y, n, dim).grad,
          });
          const e = relErr(x, ref.x);
          expect(e, `${method} rel error`).toBeLessThan(2e-4);
        }
      });
    }
  }
});

describe('quadratic gradient flow', () => {
  it('contracts every particle by (1 - 2h) per step', async () => {
    const { device } = await testDevice();
    const n = 1000, dim = 3, h = 0.05;
    const x0 = randomPositions(n, dim, 3);
    const flow = await createFlow(device, { dim, positions: x0, energy: [quadratic()], method: 'gradient', h });
    for (const steps of [1, 10, 50]) {
      const before = await flow.positions();
      await flow.step(steps);
      const after = await flow.positions();
      const f = (1 - 2 * h) ** steps;
      for (let k = 0; k < before.length; k++) expect(Math.abs(after[k]! - f * before[k]!)).toBeLessThanOrEqual(1e-6 * Math.abs(before[k]!) * steps + 1e-7);
    }
    flow.destroy();
  });
});

describe('stats', () => {
  for (const reduction of ['tree', 'serial'] as const) it(`match float64 reductions (rel 1e-5) up to N = 10^6 (${reduction})`, async () => {
    const { device } = await testDevice();
    for (const [n, dim] of [[1, 2], [7, 3], [1000, 1], [65537, 2], [1_000_000, 3]] as const) {
      const r = rng(n);
      const x0 = Float32Array.from({ length: n * dim }, (_, k) => 1.5 + (k % dim) + r() * 3);
      const v0 = Float32Array.from({ length: n * dim }, () => r() - 0.3);
      const energy = [quadratic({ scale: 0.5 }), gaussianMixture({ dim, components: [{ weight: 1, mean: Array(dim).fill(1), sigma: 0.7 }, { weight: 2, mean: Array(dim).fill(-1), sigma: 1.3 }] })];
      const flow = await createFlow(device, { dim, positions: x0, velocities: v0, energy, method: 'accelerated', h: 0.1, reduction });
      const s = await flow.stats();
      flow.destroy();
      const x = Float64Array.from(x0);
      const ref = referenceEnergy(energy, x, n, dim);
      let kin = 0, res = 0;
      const mean = new Float64Array(dim);
      for (let k = 0; k < x.length; k++) { kin += v0[k]! * v0[k]!; res += ref.grad[k]! ** 2; mean[k % dim]! += x[k]!; }
      for (let c = 0; c < dim; c++) mean[c]! /= n;
      const cov = new Float64Array(dim * dim);
      for (let i = 0; i < n; i++) for (let a = 0; a < dim; a++) for (let b = 0; b < dim; b++) cov[a * dim + b]! += (x[i * dim + a]! - mean[a]!) * (x[i * dim + b]! - mean[b]!) / n;
      const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);
      expect(rel(s.kinetic, kin / (2 * n))).toBeLessThan(1e-5);
      expect(rel(s.residual, res / n)).toBeLessThan(1e-5);
      expect(rel(s.terms.quadratic!, ref.terms[0]!)).toBeLessThan(1e-5);
      expect(rel(s.terms.gaussianMixture!, ref.terms[1]!)).toBeLessThan(1e-5);
      expect(rel(s.energy, ref.value)).toBeLessThan(1e-5);
      for (let c = 0; c < dim; c++) expect(rel(s.mean[c]!, mean[c]!)).toBeLessThan(1e-5);
      for (let a = 0; a < dim; a++) expect(rel(s.covariance[a * dim + a]!, cov[a * dim + a]!)).toBeLessThan(1e-4);
      for (let k = 0; k < dim * dim; k++) expect(Math.abs(s.covariance[k]! - cov[k]!)).toBeLessThan(1e-4 * Math.sqrt(cov[0]! * cov[dim * dim - 1]!) + 1e-12);
    }
  });
});

describe('large N', () => {
  it('runs past 65535 workgroups (2D dispatch): every particle of N = 65535·256 + 1 moves', async () => {
    const { device } = await testDevice();
    const n = 65535 * 256 + 1;
    const x0 = new Float32Array(n);
    for (let i = 0; i < n; i++) x0[i] = 1 + (i % 1000) / 1000;
    const h = 0.125; // (1 − 2h) = 0.75 is exact in float32
    const flow = await createFlow(device, { dim: 1, positions: x0, energy: [quadratic()], method: 'gradient', h });
    await flow.step(1);
    const x = await flow.positions();
    const s = await flow.stats();
    flow.destroy();
    let bad = 0;
    for (let i = 0; i < n; i++) if (x[i] !== Math.fround(0.75 * x0[i]!)) bad++;
    expect(bad).toBe(0);
    expect(s.mean[0]).toBeCloseTo(0.75 * 1.4995, 3);
  });
});
