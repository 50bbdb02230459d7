import { describe, expect, it } from 'vitest';
import { testDevice } from './helpers.js';
import { createFlow } from '../src/flow.js';
import { quadratic } from '../src/energies/potential.js';
import { entropy } from '../src/energies/entropy.js';
import { twoQuadrants } from '../src/init.js';
import { referenceEnergy, referenceFlow } from '../src/reference/flows.js';
import { entropyReference } from '../src/energies/entropy.js';

// Fokker–Planck energy F = ∫|x|²ρ + ∫ρ log ρ in R²: minimiser N(0, ½I) (per-axis variance 0.5).
describe('Fokker–Planck flow (quadratic + Kozachenko–Leonenko entropy)', () => {
  it('reaches per-axis variance 0.5 ± 0.05 and the energy plateau of a float64 run from the same start', async () => {
    const { device } = await testDevice();
    const n = 400, dim = 2, h = 2e-3, gamma = 2.5, steps = 2000, every = 50;
    const x0 = twoQuadrants(n, { seed: 4 });
    const energy = [quadratic(), entropy()];
    const flow = await createFlow(device, { dim, positions: x0, energy, method: 'accelerated', h, gamma });
    const gpuE: number[] = [];
    for (let t = 0; t < steps; t += every) {
      await flow.step(every);
      gpuE.push((await flow.stats()).energy);
    }
    const s = await flow.stats();
    flow.destroy();
    expect(Math.abs(s.covariance[0]! - 0.5)).toBeLessThan(0.05);
    expect(Math.abs(s.covariance[3]! - 0.5)).toBeLessThan(0.05);
    const refE: number[] = [];
    const ref = referenceFlow(Float64Array.from(x0), undefined, {
      dim, method: 'accelerated', h, gamma, steps,
      gradient: (y) => referenceEnergy(energy, y, n, dim).grad,
      onStep: (t, y) => { if (t % every === 0) refE.push(referenceEnergy(energy, y, n, dim).value); },
    });
    expect(ref.x.every(Number.isFinite)).toBe(true);
    const tail = (a: number[]) => a.slice(-8).reduce((p, q) => p + q, 0) / 8;
    // Plateau of the estimated energy: both runs agree; it lies well below −log π (lattice bias).
    expect(Math.abs(tail(gpuE) - tail(refE))).toBeLessThan(0.03);
    expect(tail(refE)).toBeLessThan(-Math.log(Math.PI) - 0.5);
    // The energy has settled: the last quarter varies little.
    const last = gpuE.slice(-10);
    expect(Math.max(...last) - Math.min(...last)).toBeLessThan(0.05);
  });

  it("h: 'auto' converges without tuning (accelerated, γ = 2.5, from the two quadrants)", async () => {
    const { device } = await testDevice();
    // Default autoStep (the curvature rule, fraction 0.03 for the damped flows); a small N keeps the test short.
    const n = 150;
    const flow = await createFlow(device, { dim: 2, positions: twoQuadrants(n, { seed: 2 }), energy: [quadratic(), entropy()], method: 'accelerated', h: 'auto', gamma: 2.5 });
    await flow.step(3000);
    const s = await flow.stats();
    flow.destroy();
    expect(s.h).toBeGreaterThan(5e-4);
    expect(s.h).toBeLessThanOrEqual(0.05);
    expect(Math.abs(s.covariance[0]! - 0.5)).toBeLessThan(0.05);
    expect(Math.abs(s.covariance[3]! - 0.5)).toBeLessThan(0.05);
    expect(Math.abs(s.mean[0]!)).toBeLessThan(0.05);
  });

  it("h: 'auto' without a length-scale term is refused", async () => {
    const { device } = await testDevice();
    await expect(createFlow(device, { dim: 2, positions: new Float32Array([0, 1, 2, 3]), energy: [quadratic()], h: 'auto' })).rejects.toThrow(/needs a term with a length scale/);
  });
});

describe('monitors and setWeight', () => {
  it('a monitor term is reported by stats() and does not change the dynamics', async () => {
    const { device } = await testDevice();
    const n = 300;
    const x0 = twoQuadrants(n, { seed: 9 });
    const a = await createFlow(device, { dim: 2, positions: x0, energy: [quadratic()], method: 'steering', h: 0.01, monitor: [entropy({ temperature: 2 })] });
    const b = await createFlow(device, { dim: 2, positions: x0, energy: [quadratic()], method: 'steering', h: 0.01 });
    await a.stats();
    await a.step(20);
    await b.step(20);
    const sa = await a.stats();
    const xa = await a.positions();
    const xb = await b.positions();
    a.destroy();
    b.destroy();
    expect(Buffer.from(xa.buffer).equals(Buffer.from(xb.buffer))).toBe(true);
    const ref = entropyReference(Float64Array.from(xa), n, 2, { k: 1, weight: 2 });
    expect(sa.monitors.entropy).toBeCloseTo(ref.value, 4);
    expect(sa.terms.entropy).toBeUndefined();
    expect(sa.energy).toBeCloseTo(sa.terms.quadratic!, 6);
  });
  it('setWeight changes a term for later steps and in stats', async () => {
    const { device } = await testDevice();
    const x0 = new Float32Array([1, -2, 0.5, 3]);
    const flow = await createFlow(device, { dim: 2, positions: x0, energy: [quadratic({ label: 'q' }), entropy()], method: 'gradient', h: 0.01 });
    const g1 = await flow.gradient();
    flow.setWeight('q', 3);
    flow.setWeight('entropy', 0);
    const g3 = await flow.gradient();
    for (let k = 0; k < 4; k++) expect(g3[k]).toBeCloseTo(3 * 2 * x0[k]!, 4);
    expect(g1[0]).not.toBeCloseTo(g3[0]!, 2);
    const s = await flow.stats();
    expect(Math.abs(s.terms.entropy!)).toBe(0);
    expect(s.terms.q).toBeCloseTo(3 * (1 + 4 + 0.25 + 9) / 2, 4);
    expect(() => flow.setWeight('nope', 1)).toThrow(/no energy term 'nope'/);
    flow.destroy();
  });
});
