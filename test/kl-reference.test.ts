import { describe, expect, it } from 'vitest';
import { rng } from './helpers.js';
import { KdTree, knn } from '../src/math/knn.js';
import { klOracle } from '../src/reference/kl.js';
import { bruteForceKnn } from '../src/reference/knn.js';
import { slicedWasserstein2, slicingDirections, wasserstein2Sorted1d } from '../src/math/sliced.js';

function uniform(n: number, dim: number, seed: number, scale = 1): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n * dim }, () => scale * (2 * r() - 1));
}

/** n·dim Gaussian values N(mean, sigma²) per coordinate (Box–Muller). */
function gaussian(n: number, dim: number, seed: number, mean: number[] = [], sigma = 1): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n * dim);
  for (let i = 0; i < out.length; i++) {
    const u = 1 - r();
    const v = r();
    out[i] = (mean[i % dim] ?? 0) + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

describe('knn (src/math/knn.ts)', () => {
  for (const dim of [1, 2, 3]) {
    it(`k-d tree equals brute force (dim ${dim}, k = 1 and 3, with self exclusion and duplicates)`, () => {
      const pts = uniform(300, dim, 10 + dim);
      pts.set(pts.subarray(0, dim), 5 * dim); // a duplicate point
      const qs = uniform(200, dim, 20 + dim, 1.2);
      for (const k of [1, 3]) {
        const a = knn(qs, pts, dim, k, { method: 'brute' });
        const b = knn(qs, pts, dim, k, { method: 'tree' });
        expect(Array.from(b.index)).toEqual(Array.from(a.index));
        expect(Array.from(b.dist)).toEqual(Array.from(a.dist));
        const c = knn(pts, pts, dim, k, { method: 'brute', excludeSelf: true });
        const d = knn(pts, pts, dim, k, { method: 'tree', excludeSelf: true });
        expect(Array.from(d.index)).toEqual(Array.from(c.index));
        for (let i = 0; i < 300; i++) expect(c.index[i * k]).not.toBe(i);
      }
      // the duplicate pair are each other's nearest other point, at distance 0
      const self = knn(pts, pts, dim, 1, { method: 'tree', excludeSelf: true });
      expect(self.index[0]).toBe(5);
      expect(self.dist[0]).toBe(0);
    });
  }

  it('equals the oracle brute force of src/reference/knn.ts (indices and distances, ties included)', () => {
    for (const dim of [1, 2, 3]) {
      const pts = uniform(700, dim, 30 + dim);
      pts.set(pts.subarray(0, 2 * dim), 9 * dim); // duplicates: ties at distance 0
      const qs = uniform(250, dim, 40 + dim, 1.1);
      for (const k of [1, 4]) {
        for (const method of ['brute', 'tree'] as const) {
          const self = knn(pts, pts, dim, k, { method, excludeSelf: true });
          const selfOracle = bruteForceKnn(pts, dim, k);
          expect(Array.from(self.index)).toEqual(Array.from(selfOracle.index));
          expect(Array.from(self.dist)).toEqual(Array.from(selfOracle.distance));
          const cross = knn(qs, pts, dim, k, { method });
          const crossOracle = bruteForceKnn(pts, dim, k, qs);
          expect(Array.from(cross.index)).toEqual(Array.from(crossOracle.index));
          expect(Array.from(cross.dist)).toEqual(Array.from(crossOracle.distance));
        }
      }
    }
  });

  it('sorts by distance with ties to the lower index; checks its inputs', () => {
    const x = new Float64Array([0, 0, 1, 0, -1, 0, 3, 0]);
    const { index, dist } = knn(new Float64Array([0, 0]), x, 2, 3);
    expect(Array.from(index)).toEqual([0, 1, 2]);
    expect(Array.from(dist)).toEqual([0, 1, 1]);
    const t = new KdTree(x, 2, 1);
    const idx = new Int32Array(2);
    const d2 = new Float64Array(2);
    expect(t.query([0, 0], 0, 2, 0, idx, d2, 0)).toBe(2);
    expect(Array.from(idx)).toEqual([1, 2]);
    expect(() => knn(x, x, 2, 4, { excludeSelf: true })).toThrow(/only 3 candidates/);
    expect(() => knn(x, new Float64Array([NaN, 0]), 2, 1)).toThrow(/non-finite/);
    expect(() => knn(new Float64Array(3), x, 2, 1)).toThrow(/multiple of dim/);
  });
});

describe('klOracle (float64 oracle of docs/math.md §5)', () => {
  for (const [dim, k] of [[1, 1], [2, 1], [3, 1], [2, 2], [2, 3]] as const) {
    it(`gradient equals central finite differences (dim ${dim}, k ${k})`, () => {
      const n = 14;
      const x = uniform(n, dim, 100 + dim + 10 * k);
      const y = uniform(23, dim, 200 + dim + 10 * k);
      const res = klOracle(x, y, dim, { k, method: 'brute' });
      // g = N ∂D̂/∂x
      // fourth-order central differences: (8[f(h) − f(−h)] − [f(2h) − f(−2h)]) / 12h
      const h = 1e-5;
      const f = (c: number, t: number) => {
        const xs = Float64Array.from(x);
        xs[c]! += t;
        return klOracle(xs, y, dim, { k, method: 'brute' }).value;
      };
      let maxErr = 0;
      let maxG = 0;
      for (let c = 0; c < n * dim; c++) {
        const fd = (8 * (f(c, h) - f(c, -h)) - (f(c, 2 * h) - f(c, -2 * h))) / (12 * h);
        maxErr = Math.max(maxErr, Math.abs(fd - res.grad[c]! / n));
        maxG = Math.max(maxG, Math.abs(res.grad[c]! / n));
      }
      expect(maxG).toBeGreaterThan(0);
      expect(maxErr / maxG).toBeLessThan(1e-6);
    });
  }

  it('includes the reverse-neighbour sum (dropping it breaks the gradient)', () => {
    const dim = 2;
    const x = uniform(10, dim, 7);
    const y = uniform(10, dim, 8);
    const res = klOracle(x, y, dim);
    // rebuild the gradient without the reverse-neighbour sum: it must differ
    const partial = new Float64Array(res.grad.length);
    for (let i = 0; i < 10; i++) {
      for (let a = 0; a < dim; a++) {
        partial[i * dim + a] =
          (dim * (x[i * dim + a]! - y[res.target[i]! * dim + a]!)) / res.nu[i]! ** 2 -
          (dim * (x[i * dim + a]! - x[res.neighbor[i]! * dim + a]!)) / res.r[i]! ** 2;
      }
    }
    const diff = partial.reduce((s, v, c) => Math.max(s, Math.abs(v - res.grad[c]!)), 0);
    expect(diff).toBeGreaterThan(1e-3);
  });

  it('value = mean(density) + log(M/(N-1)); floors keep duplicates and exact hits finite', () => {
    const x = new Float64Array([0, 0, 0, 0, 1, 1, 0.5, 0.2]); // particles 0 and 1 coincide
    const y = new Float64Array([1, 1, 3, 3, -1, 0]); // particle 2 sits on a target sample
    const res = klOracle(x, y, 2, { epsNu: 1e-3, epsR: 1e-2 });
    expect(res.constant).toBeCloseTo(Math.log(3 / 3), 15);
    const mean = res.density.reduce((s, v) => s + v, 0) / 4;
    expect(res.value).toBeCloseTo(mean + res.constant, 12);
    expect(Number.isFinite(res.value)).toBe(true);
    expect(res.grad.every(Number.isFinite)).toBe(true);
    expect(res.r[0]).toBe(0);
    expect(res.nu[2]).toBe(0);
    // floored terms carry no gradient: particle 2's target pull vanishes
    expect(res.density[2]).toBeCloseTo(2 * (Math.log(1e-3) - Math.log(res.r[2]!)), 12);
    expect(() => klOracle(new Float64Array([0, 0]), y, 2)).toThrow(/at least k \+ 1/);
    expect(() => klOracle(x, y.subarray(0, 4), 2, { k: 3 })).toThrow(/at least k = 3 target/);
  });

  it('tree and brute paths agree', () => {
    const x = gaussian(600, 2, 31);
    const y = gaussian(700, 2, 32);
    const a = klOracle(x, y, 2, { method: 'brute' });
    const b = klOracle(x, y, 2, { method: 'tree' });
    expect(b.value).toBe(a.value);
    expect(Array.from(b.grad)).toEqual(Array.from(a.grad));
  });

  it('a sample from the target itself gives D̂ ≈ 0 (N = M = 5000)', () => {
    const x = gaussian(5000, 2, 41);
    const y = gaussian(5000, 2, 42);
    const { value } = klOracle(x, y, 2);
    expect(Math.abs(value)).toBeLessThan(0.1);
  });

  it('two Gaussians: D̂ is close to the analytic KL', () => {
    // KL(N(0, I) ‖ N(μ, σ² I)) = ½ [d/σ² + |μ|²/σ² − d + 2 d log σ]
    const d = 2;
    const mu = [1, 0];
    const sigma = 1.5;
    const exact = 0.5 * (d / sigma ** 2 + (mu[0]! ** 2 + mu[1]! ** 2) / sigma ** 2 - d + 2 * d * Math.log(sigma));
    const x = gaussian(5000, d, 51);
    const y = gaussian(5000, d, 52, mu, sigma);
    const { value } = klOracle(x, y, d);
    expect(Math.abs(value - exact)).toBeLessThan(0.1);
  });
});

describe('slicedWasserstein2', () => {
  it('is 0 between identical clouds, also of different sizes', () => {
    const a = gaussian(300, 2, 61);
    expect(slicedWasserstein2(a, a, 2)).toBe(0);
    const twice = new Float64Array(1200);
    twice.set(a, 0);
    twice.set(a, 600);
    expect(slicedWasserstein2(a, twice, 2)).toBeCloseTo(0, 14);
  });

  it('matches quantiles exactly for different sizes in 1D', () => {
    expect(wasserstein2Sorted1d([0, 1], [0, 0.5, 1])).toBeCloseTo(1 / 12, 15);
    expect(slicedWasserstein2([1, 0], [0.5, 1, 0], 1)).toBeCloseTo(1 / 12, 15);
  });

  it('of a shifted cloud is |s|² in 1D, |s|²/2 in 2D and |s|²/3 in 3D (exact direction designs)', () => {
    for (const dim of [1, 2, 3]) {
      const s = [0.3, -0.4, 0.5].slice(0, dim);
      const s2 = s.reduce((t, v) => t + v * v, 0);
      const a = gaussian(400, dim, 70 + dim);
      const b = a.map((v, i) => v + s[i % dim]!);
      for (const projections of [1, 7, 128]) {
        if (dim === 2 && projections === 1) continue; // one direction cannot average
        const sw = slicedWasserstein2(a, b, dim, { projections, seed: 5 });
        expect(sw).toBeCloseTo(s2 / dim, 10);
      }
    }
    // directions are unit vectors; in 3D they come as orthonormal frames
    const dirs = slicingDirections(3, 4, 9);
    expect(dirs.length).toBe(18);
    for (let k = 0; k < 6; k++) expect(Math.hypot(dirs[3 * k]!, dirs[3 * k + 1]!, dirs[3 * k + 2]!)).toBeCloseTo(1, 12);
  });

  it('is deterministic for a seed and rejects bad input', () => {
    const a = gaussian(100, 2, 81);
    const b = gaussian(120, 2, 82, [0.5, 0]);
    expect(slicedWasserstein2(a, b, 2, { seed: 3 })).toBe(slicedWasserstein2(a, b, 2, { seed: 3 }));
    expect(() => slicedWasserstein2(new Float64Array(0), b, 2)).toThrow(/positive multiple/);
    expect(() => slicedWasserstein2(a, [NaN, 0], 2)).toThrow(/non-finite/);
    expect(() => slicedWasserstein2(a, b, 2, { projections: 0 })).toThrow(/projections/);
  });
});
