/**
 * Benchmark (not a test): ns per particle-step of one steering step with the quadratic
 * potential at N = 10^4, 10^5, 10^6 (d = 3) on the current adapter, against the same update as
 * a plain single-threaded TypeScript loop (float32 arrays). Warm-up first, median of runs,
 * GPU time by queue drain (flow.step resolves when the GPU is done). Writes
 * bench/results/steering.json.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/steering.js [--sizes 10000,100000]   (npm run bench runs bench/harness.ts)
 */
import { getDevice } from '../src/gpu/device.js';
import { createFlow } from '../src/flow.js';
import { quadratic } from '../src/energies/potential.js';
import { gaussian } from '../src/init.js';
import { quadraticSteeringStep as cpuSteeringStep } from './peers/cpu.js';
import { benchFlags, median, numberListFlag, runMain, timeMs, timeSyncMs, writeJson } from './util.js';

async function main(): Promise<void> {
  const flags = benchFlags({ sizes: { type: 'string' } }, 'bench/steering');
  const sizes = numberListFlag(flags, 'sizes') ?? [1e4, 1e5, 1e6];
  const { device, summary } = await getDevice();
  console.log(`adapter: ${summary}`);
  const dim = 3, h = 0.01, gamma = 0.5;
  const rows: Record<string, number | string>[] = [];
  for (const n of sizes) {
    const x0 = gaussian(n, dim, { seed: 3 });
    const flow = await createFlow(device, { dim, positions: x0, energy: [quadratic()], method: 'steering', h, gamma });
    const steps = n >= 1e6 ? 10 : n >= 1e5 ? 40 : 200;
    await flow.step(steps); // warm-up
    const gpu: number[] = [];
    for (let r = 0; r < 5; r++) gpu.push((await timeMs(() => flow.step(steps))) * 1e6 / (n * steps));
    flow.destroy();
    const x = Float32Array.from(x0), v = new Float32Array(n * dim), g = new Float32Array(n * dim);
    const cpuSteps = Math.max(3, Math.round(2e7 / (n * dim)));
    cpuSteeringStep(x, v, g, h, gamma);
    const cpu: number[] = [];
    for (let r = 0; r < 5; r++) {
      cpu.push(timeSyncMs(() => { for (let k = 0; k < cpuSteps; k++) cpuSteeringStep(x, v, g, h, gamma); }) * 1e6 / (n * cpuSteps));
    }
    const row = { N: n, gpu_ns_per_particle_step: +median(gpu).toFixed(2), cpu_ns_per_particle_step: +median(cpu).toFixed(2), cpu_over_gpu: +(median(cpu) / median(gpu)).toFixed(3) };
    rows.push(row);
    console.log(row);
  }
  console.table(rows);
  writeJson('bench/results/steering.json', { adapter: summary, method: 'steering', energy: 'quadratic', dim, timing: 'queue drain, median of 5', rows });
  device.destroy();
}

runMain(main);
