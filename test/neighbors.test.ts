// GPU k-NN against float64 oracles (brute force, k-d tree): random and adversarial sets,
// d = 1, 2, 3, k = 1 and 4, N from 1 to 1e5; input validation; kernel objects and sentinels.
import { describe, expect, it } from 'vitest';
import { checked, rng, testDevice, clusterOutliers } from './helpers.js';
import { createBuffer, readBuffer, writeView } from '../src/gpu/resources.js';
import { createGrid, createKnn, createNeighborSearch, nearestNeighbors, NO_NEIGHBOR } from '../src/neighbors.js';
import { bruteForceKnn, kdTreeKnn, type KnnResult64 } from '../src/reference/knn.js';
import { GRID_INFO_BYTES, GRID_PARAMS_FIELDS, GRID_SAMPLES, MAX_GRID_LEVELS, SCAN_ITEMS, SCAN_PARAMS_FIELDS } from '../src/kernels/grid.js';
import { REV_PARAMS_FIELDS, SEARCH_PARAMS_FIELDS } from '../src/kernels/neighbors.js';
import { gridWgsl, neighborsWgsl } from '../src/shaders.gen.js';

const REL = 2e-6; // f32 distance vs float64 distance of the same f32 coordinates

/** Compares GPU rows with an oracle computed with k + 1 neighbours (to see the gap after the k-th). */
function compare(gpu: { index: Uint32Array; distance: Float32Array }, ref: KnnResult64, k: number, opts: { exactTies?: boolean; rows?: number[] } = {}) {
  const nq = gpu.index.length / k;
  const rows = opts.rows ?? Array.from({ length: nq }, (_, i) => i);
  const kr = ref.k;
  let checkedIdx = 0;
  for (const q of rows) {
    for (let j = 0; j < k; j++) {
      const g = gpu.distance[q * k + j]!;
      const r = ref.distance[q * kr + j]!;
      expect(Number.isNaN(g)).toBe(false);
      if (r === Infinity) {
        expect(g).toBe(Infinity);
        expect(gpu.index[q * k + j]).toBe(NO_NEIGHBOR);
        continue;
      }
      if (Math.abs(g - r) > REL * r + 1e-30) throw new Error(`row ${q} rank ${j}: GPU distance ${g} vs float64 ${r} (index ${gpu.index[q * k + j]} vs ${ref.index[q * kr + j]})`);
      // Indices where the rank is isolated (no near-tie with its neighbours in the ranking).
      const prev = j > 0 ? ref.distance[q * kr + j - 1]! : -Infinity;
      const next = j + 1 < kr ? ref.distance[q * kr + j + 1]! : Infinity;
      const isolated = r - prev > 1e-5 * r && next - r > 1e-5 * r;
      if (opts.exactTies || isolated) {
        if (gpu.index[q * k + j] !== ref.index[q * kr + j]) throw new Error(`row ${q} rank ${j}: GPU index ${gpu.index[q * k + j]} vs ${ref.index[q * kr + j]} (distances ${g}, ${r})`);
        checkedIdx++;
      }
    }
  }
  return checkedIdx;
}

function uniform(n: number, dim: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * dim }, () => scale * (2 * r() - 1));
}

function gaussian(n: number, dim: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}


/** Every point three times (exact duplicates), shuffled by a stride. */
function duplicates(n: number, dim: number, seed: number): Float32Array {
  const base = uniform(Math.ceil(n / 3), dim, seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const src = (i * 7919) % Math.ceil(n / 3);
    for (let a = 0; a < dim; a++) out[i * dim + a] = base[src * dim + a]!;
  }
  return out;
}

/** Points on a line through the origin with direction dir, random positions along it. */
function line(n: number, dim: number, seed: number, dir: number[]): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const t = 10 * r();
    for (let a = 0; a < dim; a++) out[i * dim + a] = t * dir[a]!;
  }
  return out;
}

/** Integer lattice points in random order: massive exact ties. */
function lattice(side: number, dim: number, seed: number): Float32Array {
  const n = side ** dim;
  const r = rng(seed);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let c = perm[i]!;
    for (let a = 0; a < dim; a++) {
      out[i * dim + a] = c % side;
      c = Math.floor(c / side);
    }
  }
  return out;
}

describe('nearestNeighbors equals float64 brute force', () => {
  for (const dim of [1, 2, 3]) {
    for (const k of [1, 4]) {
      it(`uniform and Gaussian, d = ${dim}, k = ${k}`, async () => {
        const { device } = await testDevice();
        for (const [name, pts] of [['uniform', uniform(3000, dim, dim * 10 + k)], ['gaussian', gaussian(3000, dim, dim * 20 + k)]] as const) {
          const gpu = await nearestNeighbors(device, pts, { dim, k });
          const ref = bruteForceKnn(pts, dim, k + 1);
          const n = compare(gpu, ref, k);
          expect(n, name).toBeGreaterThan(3000 * k * 0.99);
        }
      });
    }
  }

  it('adversarial sets: cluster + far outliers, duplicates, lines, lattices (d = 1, 2, 3; k = 1, 4)', async () => {
    const { device } = await testDevice();
    const sets: [string, Float32Array, number, boolean?][] = [
      ['cluster+outliers 2D', clusterOutliers(2500, 2, 1), 2],
      ['cluster+outliers 3D', clusterOutliers(2500, 3, 2), 3],
      ['cluster+outliers 1D', clusterOutliers(2500, 1, 3), 1],
      ['cluster+near outliers 2D', clusterOutliers(2500, 2, 4, 30), 2],
      ['duplicates 2D', duplicates(2000, 2, 5), 2],
      ['duplicates 3D', duplicates(2000, 3, 6), 3],
      ['all identical 2D', new Float32Array(2 * 500).fill(0.25), 2],
      ['diagonal line 2D', line(2000, 2, 7, [0.6, 0.8]), 2],
      ['line 3D', line(2000, 3, 8, [0.2672612, 0.5345225, 0.8017837]), 3],
      ['axis line 3D', line(2000, 3, 9, [0, 1, 0]), 3],
      ['lattice 2D', lattice(40, 2, 10), 2, true],
      ['lattice 3D', lattice(12, 3, 11), 3, true],
      ['lattice 1D', lattice(1500, 1, 12), 1, true],
    ];
    for (const [name, pts, dim, exactTies] of sets) {
      for (const k of [1, 4]) {
        const gpu = await nearestNeighbors(device, pts, { dim, k });
        const ref = bruteForceKnn(pts, dim, k + 1);
        try {
          compare(gpu, ref, k, { exactTies });
        } catch (e) {
          throw new Error(`${name}, k = ${k}: ${(e as Error).message}`);
        }
        for (const d of gpu.distance) expect(Number.isNaN(d)).toBe(false);
      }
    }
  });

  it('N = 1, 2, 3 (missing neighbours: index 0xFFFFFFFF, distance +Infinity, no NaN)', async () => {
    const { device } = await testDevice();
    const one = await nearestNeighbors(device, new Float32Array([0.5, -2]), { dim: 2, k: 1 });
    expect(Array.from(one.index)).toEqual([NO_NEIGHBOR]);
    expect(Array.from(one.distance)).toEqual([Infinity]);
    const two = await nearestNeighbors(device, new Float32Array([0, 0, 3, 4]), { dim: 2, k: 1 });
    expect(Array.from(two.index)).toEqual([1, 0]);
    expect(Array.from(two.distance)).toEqual([5, 5]);
    const three = await nearestNeighbors(device, new Float32Array([1, 2, 4]), { dim: 1, k: 4 });
    expect(Array.from(three.index)).toEqual([1, 2, NO_NEIGHBOR, NO_NEIGHBOR, 0, 2, NO_NEIGHBOR, NO_NEIGHBOR, 1, 0, NO_NEIGHBOR, NO_NEIGHBOR]);
    expect(Array.from(three.distance)).toEqual([1, 3, Infinity, Infinity, 1, 2, Infinity, Infinity, 2, 3, Infinity, Infinity]);
    const dup = await nearestNeighbors(device, new Float32Array([7, 7, 7, 7]), { dim: 2, k: 1 });
    expect(Array.from(dup.distance)).toEqual([0, 0]);
    expect(Array.from(dup.index)).toEqual([1, 0]);
  });

  it('N = 1e5 (d = 2 uniform k = 4) and 3e4 (d = 3 Gaussian k = 1) against a float64 k-d tree', async () => {
    const { device } = await testDevice();
    for (const [dim, k, pts] of [[2, 4, uniform(100_000, 2, 99)], [3, 1, gaussian(30_000, 3, 98)]] as const) {
      const gpu = await nearestNeighbors(device, pts, { dim, k });
      const ref = kdTreeKnn(pts, dim, k + 1);
      const n = pts.length / dim;
      expect(compare(gpu, ref, k)).toBeGreaterThan(n * k * 0.99);
    }
  });
});

describe('queries against a static grid', () => {
  it('nearest target samples of separate queries, inside and far outside the set', async () => {
    const { device } = await testDevice();
    const targets = uniform(3000, 2, 21);
    const queries = new Float32Array([...uniform(1000, 2, 22, 1.2), ...uniform(100, 2, 23, 1e3)]);
    for (const k of [1, 4]) {
      const gpu = await nearestNeighbors(device, targets, { dim: 2, k, queries });
      compare(gpu, bruteForceKnn(targets, 2, k + 1, queries), k);
    }
    const t3 = clusterOutliers(2000, 3, 24);
    const q3 = uniform(300, 3, 25, 10);
    compare(await nearestNeighbors(device, t3, { dim: 3, k: 1, queries: q3 }), bruteForceKnn(t3, 3, 2, q3), 1);
  });

  it('queryOrder (queries in the cell order of their own grid) gives the unordered results, every path included', async () => {
    const { device } = await testDevice();
    await checked(device, async () => {
      for (const dim of [2, 3]) {
        const m = 2500;
        const targets = clusterOutliers(m, dim, 41, 1e4);
        // Inside the set, duplicates, and far outside (second pass, coarse levels, fallback).
        const inside = uniform(700, dim, 42, 1.2);
        const xs = new Float32Array([...inside, ...inside.subarray(0, 50 * dim), ...uniform(150, dim, 43, 1e6)]);
        const n = xs.length / dim;
        const S = GPUBufferUsage.STORAGE;
        const tBuf = createBuffer(device, 'test.targets', targets.byteLength, S, targets);
        const qBuf = createBuffer(device, 'test.queries', xs.byteLength, S, xs);
        const grid = await createGrid(device, { points: tBuf, count: m, dim });
        const own = await createKnn(device, { points: qBuf, count: n, dim, k: 1 });
        const plain = await createNeighborSearch(device, { grid, k: 3, queries: qBuf, queryCount: n });
        const ordered = await createNeighborSearch(device, { grid, k: 3, queries: qBuf, queryCount: n, queryOrder: { index: own.grid.sortedIndex, points: own.grid.sortedPoints } });
        device.queue.writeBuffer(ordered.index, 0, new Uint32Array(n * 3).fill(0xdeadbeef));
        const enc = device.createCommandEncoder({ label: 'test.order' });
        const pass = enc.beginComputePass({ label: 'test.order' });
        grid.encode(pass);
        own.encode(pass);
        plain.encode(pass);
        ordered.encode(pass);
        pass.end();
        device.queue.submit([enc.finish()]);
        const read = async (s: typeof plain) => ({
          index: new Uint32Array(await readBuffer(device, s.index, n * 12)),
          distance: new Float32Array(await readBuffer(device, s.distance, n * 12)),
        });
        const a = await read(plain);
        const b = await read(ordered);
        expect(b.index).toEqual(a.index);
        expect(b.distance).toEqual(a.distance);
        compare(b, bruteForceKnn(targets, dim, 4, xs), 3);
        const d = await ordered.diagnostics();
        expect(d.secondPass).toBeGreaterThan(0);
        expect(d.escalated).toBeGreaterThan(0);
        expect(d.fallback).toBeGreaterThan(0);
        for (const o of [plain, ordered, own, grid]) o.destroy();
        tBuf.destroy();
        qBuf.destroy();
      }
      const g = await createGrid(device, { points: createBuffer(device, 'test.p', 64, GPUBufferUsage.STORAGE), count: 8, dim: 2 });
      await expect(createNeighborSearch(device, { grid: g, k: 1, queryOrder: { index: g.sortedIndex, points: g.sortedPoints } })).rejects.toThrow(/queryOrder needs separate queries/);
      g.destroy();
    });
  });

  it('one grid built once, searched twice; kernels write every output (sentinels) and report diagnostics', async () => {
    const { device } = await testDevice();
    await checked(device, async () => {
      const m = 3000;
      const n = 600;
      const targets = clusterOutliers(m, 2, 31, 1e4);
      const xs = uniform(n, 2, 32, 3);
      const S = GPUBufferUsage.STORAGE;
      const tBuf = createBuffer(device, 'test.targets', targets.byteLength, S, targets);
      const qBuf = createBuffer(device, 'test.queries', xs.byteLength, S, xs);
      const grid = await createGrid(device, { points: tBuf, count: m, dim: 2 });
      const search = await createNeighborSearch(device, { grid, k: 1, queries: qBuf, queryCount: n });
      const knn = await createKnn(device, { points: tBuf, count: m, dim: 2, k: 4 });
      device.queue.writeBuffer(search.index, 0, new Uint32Array(n).fill(0xdeadbeef));
      device.queue.writeBuffer(search.distance, 0, new Float32Array(n).fill(NaN));
      device.queue.writeBuffer(knn.index, 0, new Uint32Array(m * 4).fill(0xdeadbeef));
      device.queue.writeBuffer(knn.distance, 0, new Float32Array(m * 4).fill(NaN));
      const run = (f: (p: GPUComputePassEncoder) => void) => {
        const enc = device.createCommandEncoder({ label: 'test.nn' });
        const pass = enc.beginComputePass({ label: 'test.nn' });
        f(pass);
        pass.end();
        device.queue.submit([enc.finish()]);
      };
      run((p) => { grid.encode(p); search.encode(p); knn.encode(p); });
      const idx1 = new Uint32Array(await readBuffer(device, search.index, n * 4));
      expect(idx1.includes(0xdeadbeef)).toBe(false);
      // A second search on the same (unchanged) grid, without rebuilding it.
      device.queue.writeBuffer(search.index, 0, new Uint32Array(n).fill(0xdeadbeef));
      run((p) => search.encode(p));
      const idx2 = new Uint32Array(await readBuffer(device, search.index, n * 4));
      expect(idx2).toEqual(idx1);
      const dist = new Float32Array(await readBuffer(device, search.distance, n * 4));
      compare({ index: idx2, distance: dist }, bruteForceKnn(targets, 2, 2, xs), 1);
      const kIdx = new Uint32Array(await readBuffer(device, knn.index, m * 16));
      const kDist = new Float32Array(await readBuffer(device, knn.distance, m * 16));
      expect(kIdx.includes(0xdeadbeef)).toBe(false);
      compare({ index: kIdx, distance: kDist }, bruteForceKnn(targets, 2, 5), 4);

      const gd = await grid.diagnostics();
      expect(gd.count).toBe(m);
      expect(gd.buckets).toBeGreaterThanOrEqual(m);
      expect(gd.cellSize).toBeGreaterThan(0);
      expect(gd.cellSize).toBeLessThan(1e-3); // set by the cluster's spacing, not by the outliers
      expect(gd.occupiedBuckets).toBeGreaterThan(0);
      const sd = await search.diagnostics();
      expect(sd.count).toBe(n);
      expect(sd.meanWork).toBeGreaterThan(0);
      const kd = await knn.diagnostics();
      // The far outliers cannot finish on any level: they are answered by brute force.
      expect(kd.search.fallback).toBeGreaterThan(0);
      expect(kd.search.fallback).toBeLessThan(m / 10);
      search.destroy();
      search.destroy();
      grid.destroy();
      grid.destroy();
      knn.destroy();
      knn.destroy();
      tBuf.destroy();
      qBuf.destroy();
    });
  });
});

describe('createKnn over moving points (lazy grid update)', () => {
  /** Runs knn.encode once on `pts` (written first) and checks every row against float64 brute force. */
  async function step(device: GPUDevice, knn: Awaited<ReturnType<typeof createKnn>>, buf: GPUBuffer, pts: Float32Array, dim: number, k: number, exactTies = false) {
    writeView(device, buf, 0, pts);
    const enc = device.createCommandEncoder({ label: 'test.knn.moving' });
    const pass = enc.beginComputePass({ label: 'test.knn.moving' });
    knn.encode(pass);
    pass.end();
    device.queue.submit([enc.finish()]);
    const n = pts.length / dim;
    const index = new Uint32Array(await readBuffer(device, knn.index, n * k * 4));
    const distance = new Float32Array(await readBuffer(device, knn.distance, n * k * 4));
    compare({ index, distance }, bruteForceKnn(pts, dim, k + 1), k, { exactTies });
    return knn.diagnostics();
  }

  it('exact after every step: small moves (no rebuild), large moves (rebuild), d = 1, 2, 3, k = 1, 4', async () => {
    const { device } = await testDevice();
    for (const dim of [1, 2, 3]) {
      for (const k of [1, 4]) {
        const n = 1500;
        let pts = gaussian(n, dim, 60 + dim * 3 + k);
        const buf = createBuffer(device, 'test.moving', pts.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
        const knn = await createKnn(device, { points: buf, count: n, dim, k });
        let d = await step(device, knn, buf, pts, dim, k);
        expect(d.grid.rebuilds).toBe(1);
        expect(d.grid.displacementBound).toBe(0);
        const cell = d.grid.cellSize;
        const r = rng(70 + dim + k);
        // Each coordinate moves by up to 2% of a cell: far below the rebuild threshold.
        for (let s = 0; s < 3; s++) {
          pts = pts.map((v) => v + 0.02 * cell * (2 * r() - 1));
          d = await step(device, knn, buf, pts, dim, k);
          expect(d.grid.rebuilds, `d = ${dim}, k = ${k}, small step ${s}`).toBe(1);
          expect(d.grid.displacementBound).toBeGreaterThan(0);
          expect(d.grid.displacementBound).toBeLessThanOrEqual(0.25 * cell);
        }
        // Unchanged positions: no rebuild and no displacement beyond the last one.
        d = await step(device, knn, buf, pts, dim, k);
        expect(d.grid.rebuilds).toBe(1);
        // A large move rebuilds.
        pts = pts.map((v) => v + 2 * cell * (2 * r() - 1));
        d = await step(device, knn, buf, pts, dim, k);
        expect(d.grid.rebuilds).toBe(2);
        expect(d.grid.displacementBound).toBe(0);
        knn.destroy();
        buf.destroy();
      }
    }
  });

  it('adversarial sets moved between updates: shifted lattices (exact ties), cluster + far outliers, duplicates', async () => {
    const { device } = await testDevice();
    const cases: [string, Float32Array, number, number[], boolean][] = [
      // Integer lattices shifted by exactly representable fractions of their spacing: ties stay exact.
      ['lattice 2D', lattice(30, 2, 80), 2, [0.25, 0.125, 0.5], true],
      ['lattice 3D', lattice(10, 3, 81), 3, [0.25, 0.0625, 2], true],
      ['lattice 1D', lattice(900, 1, 82), 1, [0.125, 0.25], true],
      ['cluster+outliers 2D', clusterOutliers(2000, 2, 83), 2, [1e-6, 3e-6, 1], false],
      ['duplicates 2D', duplicates(1500, 2, 84), 2, [1e-4, 2e-4], false],
    ];
    let lazySteps = 0; // updates answered without a rebuild, with a positive displacement bound
    for (const [name, base, dim, shifts, exactTies] of cases) {
      for (const k of [1, 4]) {
        const n = base.length / dim;
        const buf = createBuffer(device, 'test.moving', base.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
        const knn = await createKnn(device, { points: buf, count: n, dim, k });
        try {
          await step(device, knn, buf, base, dim, k, exactTies);
          let pts = base;
          for (const [j, sh] of shifts.entries()) {
            // Every point moves by the same vector, except every seventh one, which moves back.
            pts = pts.map((v, q) => v + (Math.floor(q / dim) % 7 === 3 ? -sh : sh) * (1 + (q % dim)));
            if (!exactTies) pts = pts.map((v, q) => (Math.floor(q / dim) % 11 === 5 ? v + sh * 0.5 : v));
            const d = await step(device, knn, buf, pts, dim, k, exactTies);
            if (d.grid.rebuilds === 1 && d.grid.displacementBound > 0) lazySteps++;
            void j;
          }
        } catch (e) {
          throw new Error(`${name}, k = ${k}: ${(e as Error).message}`);
        }
        knn.destroy();
        buf.destroy();
      }
    }
    expect(lazySteps).toBeGreaterThan(5);
  });

  it('skin 0 rebuilds whenever a point moved, and only then', async () => {
    const { device } = await testDevice();
    const n = 800;
    let pts = uniform(n, 2, 90);
    const buf = createBuffer(device, 'test.moving', pts.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
    const knn = await createKnn(device, { points: buf, count: n, dim: 2, k: 2, skin: 0 });
    expect((await step(device, knn, buf, pts, 2, 2)).grid.rebuilds).toBe(1);
    expect((await step(device, knn, buf, pts, 2, 2)).grid.rebuilds).toBe(1);
    pts = pts.map((v, q) => (q === 7 ? v + 1e-6 : v));
    expect((await step(device, knn, buf, pts, 2, 2)).grid.rebuilds).toBe(2);
    await expect(createKnn(device, { points: buf, count: n, dim: 2, k: 1, skin: -1 })).rejects.toThrow(/skin must be a finite number >= 0/);
    knn.destroy();
    buf.destroy();
  });
});

describe('nearestNeighbors input errors', () => {
  it('rejects bad dim, k, length, NaN/Inf with clear messages', async () => {
    const { device } = await testDevice();
    const p = new Float32Array([0, 0, 1, 1]);
    await expect(nearestNeighbors(device, p, { dim: 4, k: 1 })).rejects.toThrow(/dim must be 1, 2 or 3/);
    await expect(nearestNeighbors(device, p, { dim: 2, k: 0 })).rejects.toThrow(/k must be an integer in 1\.\.8/);
    await expect(nearestNeighbors(device, p, { dim: 2, k: 9 })).rejects.toThrow(/k must be an integer in 1\.\.8/);
    await expect(nearestNeighbors(device, p, { dim: 2, k: 1.5 })).rejects.toThrow(/k must be/);
    await expect(nearestNeighbors(device, new Float32Array(5), { dim: 2, k: 1 })).rejects.toThrow(/length 5 is not a multiple of dim = 2/);
    await expect(nearestNeighbors(device, new Float32Array([0, NaN]), { dim: 2, k: 1 })).rejects.toThrow(/points\[1\] = NaN .*not finite/);
    await expect(nearestNeighbors(device, new Float32Array([0, 1, Infinity, 0]), { dim: 2, k: 1 })).rejects.toThrow(/point 1\) is not finite/);
    await expect(nearestNeighbors(device, p, { dim: 2, k: 1, queries: new Float32Array([1, -Infinity]) })).rejects.toThrow(/queries\[1\]/);
    await expect(nearestNeighbors(device, [0, 1] as unknown as Float32Array, { dim: 1, k: 1 })).rejects.toThrow(/Float32Array/);
  });

  it('names the buffer limit when N is too large for the device', async () => {
    const { device } = await testDevice();
    // A fake device with a tiny limit: the check happens before any GPU work.
    const tiny = { limits: { maxStorageBufferBindingSize: 1 << 16, maxBufferSize: 1 << 16 } } as unknown as GPUDevice;
    await expect(nearestNeighbors(tiny, new Float32Array(2 * 10_000), { dim: 2, k: 1 })).rejects.toThrow(/N = 10000 points need a \d+-byte .* over this device's storage buffer limit of 65536 bytes/);
    expect(device).toBeTruthy();
  });

  it('N = 0 gives empty results', async () => {
    const { device } = await testDevice();
    const r = await nearestNeighbors(device, new Float32Array(0), { dim: 3, k: 2 });
    expect(r.index.length).toBe(0);
    expect(r.distance.length).toBe(0);
  });
});

/** Field names and types of a WGSL struct, in order. */
function wgslStruct(code: string, name: string): [string, string][] {
  const m = code.match(new RegExp(`struct ${name} \\{([\\s\\S]*?)\\n\\}`));
  if (!m) throw new Error(`struct ${name} not found`);
  return m[1]!.split('\n').map((l) => l.replace(/\/\/.*/, '').trim()).filter(Boolean).map((l) => {
    const [f, t] = l.replace(/,$/, '').split(':').map((x) => x.trim());
    return [f!, t!];
  });
}

describe('TypeScript layouts mirror grid.wgsl and neighbors.wgsl', () => {
  it('uniform structs and constants', () => {
    const fields = (f: readonly (readonly [string, string])[]) => f.map(([a, b]) => [a, b]);
    expect(wgslStruct(gridWgsl, 'GridParams')).toEqual(fields(GRID_PARAMS_FIELDS));
    expect(wgslStruct(gridWgsl, 'ScanParams')).toEqual(fields(SCAN_PARAMS_FIELDS));
    expect(wgslStruct(neighborsWgsl, 'SearchParams')).toEqual(fields(SEARCH_PARAMS_FIELDS));
    expect(wgslStruct(neighborsWgsl, 'RevParams')).toEqual(fields(REV_PARAMS_FIELDS));
    expect(gridWgsl).toContain(`const MAX_LEVELS: u32 = ${MAX_GRID_LEVELS}u;`);
    expect(gridWgsl).toContain(`const NSAMPLE: u32 = ${GRID_SAMPLES}u;`);
    expect(gridWgsl).toContain(`const SCAN_ITEMS: u32 = ${SCAN_ITEMS}u;`);
    // GridInfo: three vec4f, four 4-byte scalars, then MAX_LEVELS LevelInfo of 4 scalars + 2 vec4<i32>.
    expect(wgslStruct(gridWgsl, 'LevelInfo').map(([, t]) => t)).toEqual(['f32', 'f32', 'u32', 'u32', 'vec4<i32>', 'vec4<i32>']);
    expect(wgslStruct(gridWgsl, 'GridInfo').map(([, t]) => t)).toEqual(['vec4f', 'vec4f', 'vec4f', 'f32', 'f32', 'u32', 'u32', 'array<LevelInfo, MAX_LEVELS>']);
    expect(GRID_INFO_BYTES).toBe(3 * 16 + 4 * 4 + MAX_GRID_LEVELS * 48);
  });
});

describe('float64 oracles', () => {
  it('the k-d tree equals brute force (self and separate queries, ties by index)', () => {
    for (const dim of [1, 2, 3]) {
      const pts = new Float32Array([...uniform(700, dim, 41), ...lattice(5, dim, 42)]);
      const q = uniform(300, dim, 43, 2);
      for (const k of [1, 5]) {
        const a = kdTreeKnn(pts, dim, k);
        const b = bruteForceKnn(pts, dim, k);
        expect(a.index).toEqual(b.index);
        expect(a.distance).toEqual(b.distance);
        expect(kdTreeKnn(pts, dim, k, q)).toEqual(bruteForceKnn(pts, dim, k, q));
      }
    }
  });
});
