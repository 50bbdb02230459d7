/**
 * KL-to-samples benchmark (GPU, the current adapter): ns per particle-step of one steering
 * step whose energy is klToSamples (k = 1) at N = M (uniform particles and samples in the same
 * square, d = 2): per step, the particles' 1-NN against the static sample grid and against
 * themselves, the reverse lists and the two KL passes, the steering reductions and update.
 * Warm-up first, then the median of 3 timed runs, GPU time by queue drain (flow.step resolves
 * when the GPU is done). Merges into bench/results/kl.json. (The picture-flow study that used
 * to live here is studies/kl-study.ts.)
 *
 *   npx tsc -p tsconfig.json && node dist/bench/kl.js [--sizes 10000,100000,1000000]
 */
import { getDevice } from '../src/gpu/device.js';
import { createFlow } from '../src/flow.js';
import { klToSamples } from '../src/energies/kl.js';
import { uniformBox } from '../src/init.js';
import { benchFlags, median, mergeJson, numberListFlag, runMain, timeMs } from './util.js';

async function bench(): Promise<void> {
  const flags = benchFlags({ sizes: { type: 'string' } }, 'bench/kl');
  const sizes = numberListFlag(flags, 'sizes') ?? [10000, 100000, 1000000];
  const { device, summary } = await getDevice();
  console.log(`adapter: ${summary}`);
  const rows: Record<string, number | string>[] = [];
  for (const n of sizes) {
    const x0 = uniformBox(n, 2, { low: -1, high: 1, seed: 3 });
    const y = uniformBox(n, 2, { low: -1, high: 1, seed: 4 });
    const term = klToSamples(y, { label: 'kl' });
    const tc = performance.now();
    const flow = await createFlow(device, { dim: 2, positions: x0, energy: [term], method: 'steering', h: 1e-7, gamma: 0.5, stepsPerSubmit: 8 });
    const createMs = performance.now() - tc;
    const steps = n >= 1e6 ? 1 : n >= 1e5 ? 3 : 20;
    await flow.step(steps); // warm-up (pipelines, caches)
    const runs: number[] = [];
    for (let r = 0; r < 3; r++) runs.push((await timeMs(() => flow.step(steps))) / steps);
    const ms = median(runs);
    const s = await flow.stats();
    flow.destroy();
    const row = { N: n, M: n, stepsPerRun: steps, msPerStep: +ms.toFixed(2), nsPerParticleStep: Math.round((ms * 1e6) / n), createMs: Math.round(createMs), kl: +s.energy.toFixed(4) };
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  mergeJson('bench/results/kl.json', {
    adapter: summary,
    what: 'one steering step (reductions + update) with energy klToSamples(k = 1) at N = M, uniform in [-1,1]^2 (particles and samples independent), d = 2',
    timing: 'queue drain (flow.step resolves when the GPU is done), median of 3 runs after a warm-up',
    rows,
  });
  device.destroy();
}

runMain(bench);
