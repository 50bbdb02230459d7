/**
 * Profile (not a test): the in-loop step reduction (MODE 0, both stages) alone, for the column
 * masks of steering, FIRE and all columns, timed in alternation by queue drains; serial (the
 * CPU adapters' shape) unless --tree.
 *
 *   npx tsc -p tsconfig.json && WGFLOW_ADAPTER=llvmpipe node dist/bench/profile-reduce.js [--n 100000] [--dim 3] [--runs 7] [--tree]
 */
import { getDevice } from '../src/gpu/device.js';
import { createBuffer } from '../src/gpu/resources.js';
import { createFlowReduce, stepColumnMask, ALL_STEP_COLUMNS } from '../src/kernels/reduce.js';
import { drainMs, median } from './timing.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const n = Number(arg('--n') ?? 1e5), dim = Number(arg('--dim') ?? 3), runs = Number(arg('--runs') ?? 7);
  const serial = !process.argv.includes('--tree');
  const { device, summary } = await getDevice();
  console.log(`adapter: ${summary}`);
  const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const data = new Float32Array(n * dim).map((_, i) => Math.sin(i));
  const buffers = {
    positions: createBuffer(device, 'p', data.byteLength, S, data),
    velocities: createBuffer(device, 'v', data.byteLength, S, data),
    gradient: createBuffer(device, 'g', data.byteLength, S, data),
    energy: createBuffer(device, 'e', n * 4, S),
    params: createBuffer(device, 'prm', 256, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, new Uint32Array(64).fill(0).map((_, i) => (i === 0 ? n : 0))),
    weights: createBuffer(device, 'w', 16, S, new Float32Array([1, 0, 0, 0])),
  };
  const variants: [string, number][] = [['vv,gg (steering)', stepColumnMask(['vv', 'gg'])], ['vv,gg,gv (FIRE)', stepColumnMask(['vv', 'gg', 'gv'])], ['all 9 columns', ALL_STEP_COLUMNS]];
  const reds = await Promise.all(variants.map(([, m]) => createFlowReduce(device, { n, dim, stepSlots: 1, statsSlots: 1, serial, stepColumns: m, buffers, label: 'r' })));
  const enc = reds.map((r) => (p: GPUComputePassEncoder) => r.encode(p, 'step'));
  const reps = Math.max(1, Math.round(1e6 / n));
  for (const e of enc) await drainMs(device, e, 1);
  const t: number[][] = enc.map(() => []);
  for (let r = 0; r < runs; r++) for (const [i, e] of enc.entries()) t[i]!.push(await drainMs(device, e, reps));
  for (const [i, [name]] of variants.entries()) {
    const ms = median(t[i]!) / reps;
    console.log(`${name}: ${ms.toFixed(3)} ms, ${((ms * 1e6) / n).toFixed(1)} ns/particle`);
  }
  device.destroy();
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
