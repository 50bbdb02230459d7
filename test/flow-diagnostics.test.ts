// flow.diagnostics(): what each kernel term and monitor reports at the current positions, by
// label, with the flow's own step and non-finite flag. Checked against the k-NN kernel run
// alone on the same positions (src/kernels/neighbors.ts), and for internal consistency.
import { describe, expect, it } from 'vitest';
import { checked, rng, testDevice, clusterOutliers } from './helpers.js';
import { createFlow } from '../src/flow.js';
import { quadratic } from '../src/energies/potential.js';
import { entropy } from '../src/energies/entropy.js';
import { createKnn } from '../src/kernels/neighbors.js';
import { createBuffer, writeView } from '../src/gpu/resources.js';


/** What entropy().diagnostics() reports, computed by createKnn alone on positions x. */
async function knnFigures(device: GPUDevice, x: Float32Array, n: number, dim: number, k: number): Promise<Record<string, number>> {
  const points = createBuffer(device, 'test.points', x.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
  writeView(device, points, 0, x);
  const knn = await createKnn(device, { points, count: n, dim, k, label: 'test.knn' });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  knn.encode(pass);
  pass.end();
  device.queue.submit([enc.finish()]);
  const { grid, search } = await knn.diagnostics();
  knn.destroy();
  points.destroy();
  return {
    cellSize: grid.cellSize, occupiedBuckets: grid.occupiedBuckets, maxBucket: grid.maxBucket, clampedLevel0: grid.clampedLevel0,
    fallback: search.fallback, escalated: search.escalated, meanCandidates: search.meanCandidates, maxWork: search.maxWork,
  };
}

/** Counts that must hold for any grid and search over n points. */
function expectConsistent(d: Record<string, number>, n: number): void {
  for (const key of ['occupiedBuckets', 'maxBucket', 'fallback', 'escalated', 'clampedLevel0']) {
    expect(Number.isInteger(d[key]), key).toBe(true);
    expect(d[key], key).toBeGreaterThanOrEqual(0);
    expect(d[key], key).toBeLessThanOrEqual(n);
  }
  expect(d.occupiedBuckets).toBeGreaterThanOrEqual(1);
  expect(d.maxBucket).toBeGreaterThanOrEqual(1);
  // n points in `occupied` buckets: the largest holds at least n / occupied of them.
  expect(d.occupiedBuckets! * d.maxBucket!).toBeGreaterThanOrEqual(n);
  expect(d.cellSize).toBeGreaterThan(0);
  expect(d.meanCandidates).toBeGreaterThan(0);
}

describe('flow.diagnostics()', () => {
  it('reports each kernel term and monitor by label, as its k-NN kernel alone does on the same positions', async () => {
    const { device } = await testDevice();
    const n = 2500, dim = 2;
    const x0 = clusterOutliers(n, dim, 11);
    await checked(device, async () => {
      const flow = await createFlow(device, {
        dim, positions: x0, h: 1e-7, method: 'gradient',
        energy: [quadratic(), entropy({ k: 1 })],
        monitor: [entropy({ k: 3, label: 'H3' })],
      });
      const d0 = await flow.diagnostics();
      expect(d0.step).toBe(0);
      expect(d0.nonFiniteStep).toBeNull();
      expect(Object.keys(d0.terms)).toEqual(['entropy']); // the potential term has no kernel
      expect(Object.keys(d0.monitors)).toEqual(['H3']);
      expect(d0.terms.entropy).toEqual(await knnFigures(device, x0, n, dim, 1));
      expect(d0.monitors.H3).toEqual(await knnFigures(device, x0, n, dim, 3));
      expectConsistent(d0.terms.entropy!, n);
      expectConsistent(d0.monitors.H3!, n);
      // The far outliers exhaust every level of the ring search: brute force answers them.
      expect(d0.terms.entropy!.fallback).toBeGreaterThan(0);
      expect(d0.terms.entropy!.fallback).toBeLessThan(n / 10);
      expect(d0.terms.entropy!.cellSize).toBeLessThan(1e-3); // set by the cluster, not the outliers

      // After steps, the figures are those of the current positions. The flow's grid is updated
      // lazily (its cell size and buckets depend on the steps before), so a fresh k-NN kernel on
      // the same positions has another grid and other counts; the flow's stay consistent, and
      // the far outliers still go to the brute-force fallback.
      await flow.step(5);
      const x5 = await flow.positions();
      const d5 = await flow.diagnostics();
      expect(d5.step).toBe(5);
      expect(d5.nonFiniteStep).toBeNull();
      expect(x5.length).toBe(n * dim);
      for (const got of [d5.terms.entropy!, d5.monitors.H3!]) {
        expect(got.fallback).toBeGreaterThan(0);
        expectConsistent(got, n);
      }
      expect(d5.terms.entropy).not.toEqual(d0.terms.entropy); // the entropy force moved the cluster
      flow.destroy();
      await expect(flow.diagnostics()).rejects.toThrow(/destroyed/);
    });
  });

  it('reports a divergence (the first non-finite step) instead of throwing', async () => {
    const { device } = await testDevice();
    const flow = await createFlow(device, { dim: 1, positions: new Float32Array([1, -2]), h: 3, energy: [quadratic()], method: 'gradient' });
    const clean = await flow.diagnostics();
    expect(clean).toEqual({ step: 0, nonFiniteStep: null, terms: {}, monitors: {} });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    flow.encodeSteps(pass, 400);
    pass.end();
    device.queue.submit([enc.finish()]);
    const d = await flow.diagnostics();
    expect(d.step).toBe(400);
    // x ← −5x each step: |x| leaves the f32 range after about 55 steps.
    expect(d.nonFiniteStep).toBeGreaterThan(40);
    expect(d.nonFiniteStep).toBeLessThan(70);
    await expect(flow.stats()).rejects.toThrow(new RegExp(`non-finite position or velocity at step ${d.nonFiniteStep}`));
    flow.destroy();
  });
});
