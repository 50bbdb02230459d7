/**
 * Benchmark (not a test): ns per particle of the exact k-NN search alone (grid rebuild + ring
 * search, as a flow runs it every step) at N = 10^4, 10^5, 10^6, d = 2, uniform and Gaussian
 * data, on the current adapter; the ratio time(10^6)/time(10^5); and, for comparison, a
 * single-threaded TypeScript k-d tree (float64, build + queries: src/reference/knn.ts).
 *
 * GPU time: timestamp queries around the compute pass when the device offers them, else a
 * queue drain around one submit of several searches. Warm-up first, median of runs (at most 3
 * at 10^6). Writes
 * bench/results/neighbors.json.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/neighbors.js [--sizes 10000,100000] [--k 1] [--runs 5] [--no-cpu]
 */
import { getDevice } from '../src/gpu/device.js';
import { createBuffer, readBuffer } from '../src/gpu/resources.js';
import { createKnn, type KnnKernel } from '../src/neighbors.js';
import { kdTreeKnn } from '../src/reference/knn.js';
import { benchFlags, intFlag, median, numberListFlag, runMain, timeSyncMs, writeJson } from './util.js';

/** Deterministic points: uniform in [0, 1]^2 or standard Gaussian (Box–Muller). */
function data(kind: 'uniform' | 'gaussian', n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const r = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n * 2);
  for (let i = 0; i < out.length; i++) out[i] = kind === 'uniform' ? r() : Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}

/** Times `reps` encodes of `run` in one pass; returns ms per encode. */
async function timeGpu(device: GPUDevice, run: (p: GPUComputePassEncoder) => void, reps: number, timestamps: boolean): Promise<number> {
  if (timestamps) {
    const qs = device.createQuerySet({ label: 'bench.timestamps', type: 'timestamp', count: 2 });
    const resolve = createBuffer(device, 'bench.resolve', 16, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC);
    const enc = device.createCommandEncoder({ label: 'bench.knn' });
    const pass = enc.beginComputePass({ label: 'bench.knn', timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
    for (let r = 0; r < reps; r++) run(pass);
    pass.end();
    enc.resolveQuerySet(qs, 0, 2, resolve, 0);
    device.queue.submit([enc.finish()]);
    const t = new BigInt64Array(await readBuffer(device, resolve, 16));
    qs.destroy();
    resolve.destroy();
    const ns = Number(t[1]! - t[0]!);
    if (ns > 0) return ns / 1e6 / reps;
    // Wrapped or unsupported counter: fall through to a queue drain.
  }
  const t0 = performance.now();
  const enc = device.createCommandEncoder({ label: 'bench.knn' });
  const pass = enc.beginComputePass({ label: 'bench.knn' });
  for (let r = 0; r < reps; r++) run(pass);
  pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / reps;
}

async function main(): Promise<void> {
  const flags = benchFlags({ sizes: { type: 'string' }, k: { type: 'string' }, runs: { type: 'string' }, 'no-cpu': { type: 'boolean' } }, 'bench/neighbors');
  const sizes = numberListFlag(flags, 'sizes') ?? [10000, 100000, 1000000];
  const k = intFlag(flags, 'k') ?? 1;
  const runs = intFlag(flags, 'runs') ?? 5;
  const withCpu = !flags['no-cpu'];
  const { device, summary } = await getDevice();
  const timestamps = device.features.has('timestamp-query');
  console.log(`adapter: ${summary}`);
  console.log(`timing: ${timestamps ? 'timestamp queries around the pass' : 'queue drain'}; k = ${k}, d = 2, median of ${runs}`);
  const rows: Record<string, number | string>[] = [];
  for (const kind of ['uniform', 'gaussian'] as const) {
    for (const n of sizes) {
      const pts = data(kind, n, 17 + n);
      const buf = createBuffer(device, 'bench.points', pts.byteLength, GPUBufferUsage.STORAGE, pts);
      const knn: KnnKernel = await createKnn(device, { points: buf, count: n, dim: 2, k, label: 'bench.knn' });
      const reps = Math.max(1, Math.min(20, Math.round(1e5 / n)));
      await timeGpu(device, (p) => knn.encode(p), 1, timestamps); // warm-up
      const total: number[] = [];
      const grid: number[] = [];
      const gpuRuns = n >= 1e6 ? Math.min(runs, 3) : runs;
      for (let r = 0; r < gpuRuns; r++) {
        total.push(await timeGpu(device, (p) => knn.encode(p), reps, timestamps));
        grid.push(await timeGpu(device, (p) => knn.grid.encode(p), reps, timestamps));
      }
      await timeGpu(device, (p) => knn.encode(p), 1, timestamps);
      const diag = await knn.diagnostics();
      knn.destroy();
      buf.destroy();
      const row: Record<string, number | string> = {
        data: kind,
        N: n,
        gpu_ms: +median(total).toFixed(3),
        gpu_ns_per_particle: +((median(total) * 1e6) / n).toFixed(1),
        grid_ns_per_particle: +((median(grid) * 1e6) / n).toFixed(1),
        mean_candidates: +diag.search.meanCandidates.toFixed(2),
        fallback: diag.search.fallback,
        escalated: diag.search.escalated,
      };
      if (withCpu) {
        const cpuRuns = n >= 1e6 ? Math.min(runs, 3) : runs;
        kdTreeKnn(pts, 2, k); // warm-up (JIT)
        const cpu: number[] = [];
        for (let r = 0; r < cpuRuns; r++) {
          cpu.push(timeSyncMs(() => kdTreeKnn(pts, 2, k)));
        }
        row.cpu_kdtree_ms = +median(cpu).toFixed(1);
        row.cpu_ns_per_particle = +((median(cpu) * 1e6) / n).toFixed(1);
        row.cpu_over_gpu = +(median(cpu) / median(total)).toFixed(3);
      }
      rows.push(row);
      console.log(row);
    }
  }
  const ratios: Record<string, number> = {};
  for (const kind of ['uniform', 'gaussian']) {
    const a = rows.find((r) => r.data === kind && r.N === 1e5);
    const b = rows.find((r) => r.data === kind && r.N === 1e6);
    if (a && b) ratios[`${kind}_time_1e6_over_1e5`] = +((b.gpu_ms as number) / (a.gpu_ms as number)).toFixed(2);
  }
  console.table(rows);
  console.log(ratios);
  writeJson('bench/results/neighbors.json', {
    adapter: summary,
    what: 'exact k-NN, grid rebuild + search (KnnKernel.encode), d = 2',
    k,
    timing: `${timestamps ? 'timestamp queries' : 'queue drain'}, median of ${runs}`,
    cpu: 'single-threaded TypeScript k-d tree, float64, build + queries (src/reference/knn.ts)',
    rows,
    ratios,
  });
  device.destroy();
}

runMain(main);
