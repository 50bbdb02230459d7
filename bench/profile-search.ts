/**
 * Profile (not a test): the exact self k-NN search alone (createKnn's search, on a built grid,
 * fixed positions) for several cell scales, interleaved so that the machine's load hits them
 * alike: ns per query, candidates, work, the queries the level-0 box pass could not settle
 * (second pass), escalations past level 0, brute-force fallbacks, grid occupancy.
 *
 *   npx tsc -p tsconfig.json && N=100000 DIM=2 K=1 CELL=0.67,1,1.33 WGFLOW_ADAPTER=llvmpipe node dist/bench/profile-search.js
 */
import { getDevice } from '../src/gpu/device.js';
import { createBuffer } from '../src/gpu/resources.js';
import { createKnn } from '../src/neighbors.js';
import { gaussian } from '../src/init.js';

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

async function main(): Promise<void> {
  const { device, summary } = await getDevice();
  console.log(`adapter: ${summary}`);
  const n = Number(process.env.N ?? 100000);
  const k = Number(process.env.K ?? 1);
  const dim = Number(process.env.DIM ?? 2);
  const x = gaussian(n, dim, { std: 0.7, seed: 3 });
  const buf = createBuffer(device, 'bench.points', x.byteLength, GPUBufferUsage.STORAGE, x);
  const scales = (process.env.CELL ?? '1').split(',').map(Number);
  const knns = await Promise.all(scales.map((c) => createKnn(device, { points: buf, count: n, dim, k, cellScale: c, label: 'bench.knn' })));
  const time = async (f: (p: GPUComputePassEncoder) => void, reps: number) => {
    const t0 = performance.now();
    const enc = device.createCommandEncoder({ label: 'bench.search' });
    const p = enc.beginComputePass({ label: 'bench.search' });
    for (let r = 0; r < reps; r++) f(p);
    p.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / reps;
  };
  for (const kn of knns) await time((p) => kn.encode(p), 1);
  const res: number[][] = knns.map(() => []);
  for (let r = 0; r < 5; r++) for (const [i, kn] of knns.entries()) res[i]!.push(await time((p) => kn.search.encode(p), 2));
  for (const [i, kn] of knns.entries()) {
    const d = await kn.diagnostics();
    console.log(`N ${n} d ${dim} k ${k} cellScale ${scales[i]}: ${((median(res[i]!) * 1e6) / n).toFixed(0)} ns/query; candidates ${d.search.meanCandidates.toFixed(2)}, work ${d.search.meanWork.toFixed(2)}, second pass ${d.search.secondPass}, escalated ${d.search.escalated}, fallback ${d.search.fallback}, occupancy ${d.grid.meanOccupancy.toFixed(2)}`);
    kn.destroy();
  }
  buf.destroy();
  device.destroy();
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
