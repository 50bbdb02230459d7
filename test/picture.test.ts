// The smoothed sample target (targetDensity, annealedTarget) against float64 twins, exact
// kernel density estimates and finite differences, on the GPU through a flow; and a small
// annealed picture flow that must bring the particles close to the target in sliced W2.
import { describe, expect, it } from 'vitest';
import { checked, rng, testDevice, wgslStructFields } from './helpers.js';
import { createFlow } from '../src/flow.js';
import { annealedTarget, buildTargetLattice, targetDensity, TARGET_MAX_NODES, TARGET_PARAMS_FIELDS } from '../src/energies/target.js';
import { targetWgsl } from '../src/shaders.gen.js';
import { slicedWasserstein2 } from '../src/math/sliced.js';
import { uniformBox } from '../src/init.js';
import { pictureScheme, runPictureFlow } from '../src/picture.js';
import { picturePreset, pictureSamples, pictureCommand, emblemPath } from '../app/emblem.js';
import { ringSquare } from '../studies/ring-square.js';
import { decodeImage } from '../src/io/image.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRESETS } from '../app/presets.js';

function cloud(n: number, dim: number, seed: number, scale = 1, shift = 0): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * dim }, () => shift + scale * (2 * r() - 1));
}

/** Exact −log p_σ of the Gaussian KDE at a point (float64 log-sum-exp). */
function exactU(y: ArrayLike<number>, dim: number, sigma: number, x: ArrayLike<number>): number {
  const m = y.length / dim;
  let mx = -Infinity;
  const t: number[] = [];
  for (let s = 0; s < m; s++) {
    let d2 = 0;
    for (let c = 0; c < dim; c++) d2 += (x[c]! - y[s * dim + c]!) ** 2;
    const v = -d2 / (2 * sigma * sigma);
    t.push(v);
    mx = Math.max(mx, v);
  }
  let sum = 0;
  for (const v of t) sum += Math.exp(v - mx);
  return -(mx + Math.log(sum / m) - (dim / 2) * Math.log(2 * Math.PI * sigma * sigma));
}

/** Float64 central differences of a point function. */
function fd(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let c = 0; c < x.length; c++) {
    const v = x[c]!;
    x[c] = v + h;
    const a = f(x);
    x[c] = v - h;
    const b = f(x);
    x[c] = v;
    g[c] = (a - b) / (2 * h);
  }
  return g;
}

describe('smoothed target, float64', () => {
  it('TARGET_PARAMS_FIELDS mirrors struct TargetParams of target.wgsl', () => {
    const fields = wgslStructFields(targetWgsl, 'TargetParams');
    expect(fields).toEqual(TARGET_PARAMS_FIELDS.map(([a, b]) => [a, b]));
  });

  for (const dim of [1, 2, 3]) {
    it(`d = ${dim}: lattice values equal the exact KDE −log p_σ (near and far, where p underflows)`, () => {
      const y = cloud(150, dim, 10 + dim, 0.4);
      // Δ = σ/3 (the default rule). In 1D/2D the box reaches ~25σ from the samples, where
      // p_σ ~ e^-300 underflows any direct sum in f32 and nearly in float64.
      const [sigma, half] = dim === 3 ? [0.15, 1] : [0.08, 2.2];
      const res = Math.round((2 * half) / (sigma / 3)) + 1;
      const box = Array.from({ length: dim }, () => [-half, half]).flat();
      const lat = buildTargetLattice(y, { dim, sigma, resolution: res, box });
      expect(lat.cell).toBeCloseTo(sigma / 3, 3);
      const stride = [1, lat.nodes[0], lat.nodes[0] * lat.nodes[1]];
      let umin = Infinity;
      for (const v of lat.values) umin = Math.min(umin, v);
      const r = rng(3);
      let worstNear = 0;
      let worstFar = 0;
      for (let t = 0; t < 300; t++) {
        const idx = [0, 1, 2].map((c) => (c < dim ? Math.floor(r() * lat.nodes[c]!) : 0));
        const x = idx.slice(0, dim).map((i, c) => lat.origin[c]! + i * lat.cell);
        const u = lat.values[idx[0]! * stride[0]! + idx[1]! * stride[1]! + idx[2]! * stride[2]!]!;
        const e = exactU(y, dim, sigma, x);
        expect(Number.isFinite(u)).toBe(true);
        if (e - umin < 8) worstNear = Math.max(worstNear, Math.abs(u - e));
        else worstFar = Math.max(worstFar, Math.abs(u - e) / e);
      }
      // Cloud-in-cell binning (with its Δ²/6 variance taken out of the blur): absolute error
      // O((Δ/σ)⁴) within ~4σ of the samples (measured 0.012–0.032 here), relative O(Δ/dist) far away.
      expect(worstNear).toBeLessThan(0.04);
      expect(worstFar).toBeLessThan(0.03);
    });
  }

  it('the twin gradient equals finite differences of the twin value, inside and outside the box', () => {
    for (const dim of [1, 2, 3]) {
      const y = cloud(300, dim, 20 + dim, 0.5);
      const term = targetDensity(y, { dim, sigma: 0.07 });
      const r = rng(4 + dim);
      for (let t = 0; t < 60; t++) {
        // Half inside the lattice box, half up to 3 box sizes away (the far field).
        const s = t % 2 ? 1.2 : 4;
        const x = Float64Array.from({ length: dim }, () => s * (2 * r() - 1));
        const g = term.gradient(x);
        const f = fd((z) => term.value(z), x);
        for (let c = 0; c < dim; c++) expect(Math.abs(g[c]! - f[c]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(g[c]!)));
      }
    }
  });

  it('far field: continuous at the box faces and pulling back from afar', () => {
    const y = cloud(200, 2, 31, 0.5);
    const term = targetDensity(y, { sigma: 0.05 });
    const lat = term.lattice;
    const hiX = lat.origin[0] + (lat.nodes[0] - 1) * lat.cell;
    const inside = term.value(new Float64Array([hiX - 1e-9, 0.1]));
    const outside = term.value(new Float64Array([hiX + 1e-9, 0.1]));
    expect(Math.abs(inside - outside)).toBeLessThan(1e-5 * Math.abs(inside));
    for (const p of [[50, 0], [-30, 70], [0, -1e4]]) {
      const g = term.gradient(new Float64Array(p));
      expect(g.every(Number.isFinite)).toBe(true);
      // −∇U points back towards the samples.
      expect(-(g[0]! * p[0]! + g[1]! * p[1]!)).toBeLessThan(0);
    }
  });

  it('rejects bad options; a potential term holds a bounded lattice', () => {
    const y = cloud(100, 2, 5);
    expect(() => targetDensity(y, { sigma: 0 })).toThrow(/sigma must be/);
    expect(() => targetDensity(y, { resolution: 1 })).toThrow(/resolution must be/);
    expect(() => targetDensity(y, { box: [0, 1] })).toThrow(/box must be 4/);
    expect(() => targetDensity(y, { box: [1, 0, 0, 1] })).toThrow(/hi must exceed lo/);
    expect(() => targetDensity(new Float32Array([0, NaN]))).toThrow(/not finite/);
    expect(() => targetDensity(y, { resolution: Math.ceil(Math.sqrt(TARGET_MAX_NODES)) + 10 })).toThrow(/at most/);
    expect(() => annealedTarget(y, { sigma: 0.1, sigma0: 0.05 })).toThrow(/sigma0 must be/);
    expect(() => annealedTarget(y).setProgress(1.5)).toThrow(/progress/);
  });
});

describe('smoothed target on the GPU', () => {
  for (const dim of [1, 2, 3]) {
    it(`d = ${dim}: targetDensity value and gradient equal the float64 twin and finite differences`, async () => {
      const { device } = await testDevice();
      const y = cloud(400, dim, 40 + dim, 0.5, 0.1);
      const term = targetDensity(y, { dim, sigma: 0.06, weight: 0.7 });
      const n = 600;
      // Particles inside the box and beyond it (far field).
      const x = Float32Array.from(cloud(n, dim, 50 + dim, 1.5));
      const { g, e } = await checked(device, async () => {
        const flow = await createFlow(device, { dim, positions: x, energy: [term], method: 'gradient', h: 1e-9 });
        const out = { g: await flow.gradient(), e: (await flow.stats()).terms.target! };
        flow.destroy();
        return out;
      });
      let value = 0;
      let err = 0;
      let errFd = 0;
      let big = 0;
      for (let i = 0; i < n; i++) {
        const p = Float64Array.from(x.subarray(i * dim, (i + 1) * dim));
        value += term.value(p) / n;
        const tg = term.gradient(p);
        const f = fd((z) => term.value(z), p);
        for (let c = 0; c < dim; c++) {
          err = Math.max(err, Math.abs(g[i * dim + c]! - 0.7 * tg[c]!));
          errFd = Math.max(errFd, Math.abs(g[i * dim + c]! - 0.7 * f[c]!));
          big = Math.max(big, Math.abs(0.7 * tg[c]!));
        }
      }
      expect(Math.abs(e - 0.7 * value)).toBeLessThan(1e-5 * Math.abs(0.7 * value));
      expect(err / big).toBeLessThan(1e-5);
      expect(errFd / big).toBeLessThan(1e-3);
    });
  }

  it('annealedTarget: GPU equals the twin at several progresses; the blend interpolates the ladder', async () => {
    const { device } = await testDevice();
    const y = cloud(500, 2, 61, 0.6);
    const ladder = annealedTarget(y, { sigma: 0.03, sigma0: 0.24, weight: 1.3 });
    expect(ladder.sigmas.length).toBe(4); // ratio 2: 0.24, 0.12, 0.06, 0.03
    expect(ladder.sigmas[3]).toBe(0.03);
    expect(ladder.sigmaAt(0)).toBeCloseTo(0.24, 12);
    expect(ladder.sigmaAt(1 / 3)).toBeCloseTo(0.12, 12);
    const n = 500;
    const x = cloud(n, 2, 62, 1.3);
    const flow = await createFlow(device, { dim: 2, positions: x, energy: [ladder], method: 'gradient', h: 1e-9 });
    for (const u of [0, 0.37, 2 / 3, 1]) {
      ladder.setProgress(u);
      const g = await flow.gradient();
      const st = await flow.stats();
      const ref = ladder.reference(Float64Array.from(x), n, 2);
      expect(Math.abs(st.terms.target! - ref.value)).toBeLessThan(1e-5 * Math.abs(ref.value));
      let err = 0;
      let big = 0;
      for (let q = 0; q < n * 2; q++) {
        err = Math.max(err, Math.abs(g[q]! - ref.grad[q]!));
        big = Math.max(big, Math.abs(ref.grad[q]!));
      }
      expect(err / big).toBeLessThan(1e-5);
    }
    // At u = 0.5 (q = 1.5) the potential is the mean of levels 1 and 2.
    const p = new Float64Array([0.21, -0.33]);
    const l1 = targetDensity(y, { sigma: ladder.sigmas[1]! });
    expect(Number.isFinite(l1.value(p))).toBe(true);
    expect(ladder.value(p, 0.5)).toBeCloseTo(0.5 * ladder.value(p, 1 / 3) + 0.5 * ladder.value(p, 2 / 3), 10);
    flow.destroy();
  });
});

describe('picture flow', () => {
  it('the annealed flow brings N = 500 particles from the square onto the ring + square target', async () => {
    const { device } = await testDevice();
    const n = 500;
    const m = 2000;
    const y = ringSquare(m, 11);
    const x0 = uniformBox(n, 2, { low: -1, high: 1, seed: 12 });
    const steps = 900;
    const scheme = pictureScheme(y, { n, annealSteps: 600 });
    const run = await runPictureFlow(device, { samples: y, positions: x0, steps, scheme, every: 300 });
    const sw0 = slicedWasserstein2(x0, y, 2);
    const sw = slicedWasserstein2(run.final, y, 2);
    // The yardstick: independent samples of N target points, median SW2² ≈ 6.0e-4 to these M
    // samples over 5 seeds (the sampling noise of N = 500 points; one seed alone scatters from
    // 2.4e-4 to 1.7e-3). This GPU flow ends at 6.8e-5 (2.6e-4 with the former γ = 1/σ); a
    // flow left with the wrong mass split between ring and square (fixed σ, docs/picture.md)
    // stays at tens of times the yardstick. So: below 2× the yardstick, and 50× below the start.
    const iids = [99, 100, 101, 102, 103].map((seed) => slicedWasserstein2(ringSquare(n, seed), y, 2)).sort((a, b) => a - b);
    const iid = iids[2]!;
    console.log(`picture flow N=${n}: SW2² ${sw0.toExponential(3)} → ${sw.toExponential(3)} (independent samples, median ${iid.toExponential(3)}); KL ${run.records[0]!.kl.toFixed(3)} → ${run.records.at(-1)!.kl.toFixed(3)}`);
    expect(sw).toBeLessThan(sw0 / 50);
    expect(sw).toBeLessThan(2 * iid);
    expect(run.records.at(-1)!.kl).toBeLessThan(run.records[0]!.kl - 2);
    for (const v of run.final) expect(Math.abs(v)).toBeLessThan(1.2);
  });

  // The preset's own flow (`wgflow picture`, the emblem) at N = 1000, M = 5000, 1500 steps: the
  // step scales like the spacing s_N ∝ N^{-1/2}, so 1500 steps at N = 1000 anneal over about the
  // same physical time (A·h ≈ 2.8) as the preset's 5000 steps at N = 10^4 (A·h ≈ 2.9).
  // Threshold: below the median SW2² of independent samples of N emblem points (the sampling
  // noise at this N, about 7.5e-4). Measured on SwiftShader: 9.1e-3 → 1.5e-4 in 57 s. A flow that
  // freezes the mass split between the parts (fixed σ, docs/picture.md) stays tens of times above.
  it('the preset command flows N = 1000 particles onto the emblem and writes its snapshots and KL curve', async () => {
    const out = mkdtempSync(join(tmpdir(), 'wgflow-picture-'));
    try {
      await pictureCommand(['--n', '1000', '--m', '5000', '--steps', '1500', '--out', out]);
      for (const step of [0, 500, 1000, 1500]) {
        const png = decodeImage(readFileSync(join(out, `picture-${step}.png`)), `picture-${step}.png`);
        expect(png.width).toBe(560);
      }
      expect(existsSync(join(out, 'picture-5000.png'))).toBe(false);
      const svg = readFileSync(join(out, 'picture-kl.svg'), 'utf8');
      expect(svg).toContain('<svg');
      expect(svg).toContain('annealed Fokker');
      const csv = readFileSync(join(out, 'picture-kl.csv'), 'utf8').trim().split('\n');
      expect(csv[0]).toBe('step,kl,energy,sigma');
      expect(csv.length).toBeGreaterThan(50);
      for (const line of csv.slice(1)) for (const v of line.split(',')) expect(Number.isFinite(Number(v)), line).toBe(true);
      const sum = JSON.parse(readFileSync(join(out, 'picture-summary.json'), 'utf8')) as Record<string, number>;
      console.log(`picture preset N=1000: SW2² ${sum.sw2Start!.toExponential(2)} → ${sum.sw2Final!.toExponential(2)} (independent samples ${sum.sw2IndependentSample!.toExponential(2)}); KL ${sum.klStart!.toFixed(3)} → ${sum.klFinal!.toFixed(3)}; ${sum.wallS} s`);
      expect(sum.n).toBe(1000);
      expect(sum.sw2Final).toBeLessThan(sum.sw2Start! / 20);
      expect(sum.sw2Final).toBeLessThan(sum.sw2IndependentSample!);
      expect(sum.klFinal).toBeLessThan(sum.klStart! - 2);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);

  it('the preset is registered and its picture loads', () => {
    expect(PRESETS.picture).toBe(picturePreset);
    const y = pictureSamples(emblemPath(), 1000);
    expect(y.length).toBe(2000);
    for (const v of y) expect(Math.abs(v)).toBeLessThanOrEqual(1);
  });
});
