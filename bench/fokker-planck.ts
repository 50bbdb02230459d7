/**
 * Benchmark (not a test): ns per particle-step of one steering step of the Fokker–Planck
 * energy F = ∫|x|²ρ + ∫ρ log ρ (quadratic() + entropy(), k = 1, d = 2) at N = 10^4, 10^5, 10^6
 * on the current adapter, and of the exact neighbour search alone (createKnn: grid rebuild +
 * ring search, the part of the entropy term that dominates), with the ratios
 * time(10^6)/time(10^5) (linear cost: ≈ 10; O(N) means ≤ 12). For comparison, the same step as a
 * single-threaded TypeScript loop in float64 with the k-d tree of src/reference/knn.ts
 * (build + self query every step, forward and reverse entropy terms, steering reductions).
 *
 * GPU time: a queue drain (submit, onSubmittedWorkDone) around `steps` steps recorded with
 * flow.encodeSteps into one pass (no readback inside), after a warm-up submission; median of
 * runs. The particles start at the Fokker–Planck equilibrium N(0, ½ I) (seeded), with a small
 * step (h = 1e-5), so every timed step sees the same kind of configuration. Writes
 * bench/results/fokker-planck.json.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/fokker-planck.js [--sizes 10000,100000,1000000] [--runs 3] [--no-cpu] [--no-gpu]
 */
import { getDevice } from '../src/gpu/device.js';
import { createFlow } from '../src/flow.js';
import { quadratic } from '../src/energies/potential.js';
import { entropy } from '../src/energies/entropy.js';
import { createBuffer } from '../src/gpu/resources.js';
import { createKnn } from '../src/neighbors.js';
import { fokkerPlanckSteeringStep } from './peers/cpu.js';
import { gaussian } from '../src/init.js';
import { benchFlags, intFlag, median, numberListFlag, runMain, timeSyncMs, writeJson } from './util.js';

const DIM = 2;
const H = 1e-5;
const GAMMA = 0.5;

/** ms per step of `steps` steps recorded by `encode` into one pass, by a queue drain. */
async function drain(device: GPUDevice, encode: (pass: GPUComputePassEncoder) => void): Promise<number> {
  const t0 = performance.now();
  const enc = device.createCommandEncoder({ label: 'bench.fokkerPlanck' });
  const pass = enc.beginComputePass({ label: 'bench.fokkerPlanck' });
  encode(pass);
  pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const flags = benchFlags({ sizes: { type: 'string' }, runs: { type: 'string' }, 'no-cpu': { type: 'boolean' }, 'no-gpu': { type: 'boolean' } }, 'bench/fokker-planck');
  const sizes = numberListFlag(flags, 'sizes') ?? [10000, 100000, 1000000];
  const runs = intFlag(flags, 'runs') ?? 3;
  const withCpu = !flags['no-cpu'];
  const withGpu = !flags['no-gpu'];
  const { device, summary } = await getDevice();
  console.log(`adapter: ${summary}`);
  console.log(`steering step of quadratic() + entropy() (k = 1), d = ${DIM}, h = ${H}, γ = ${GAMMA}; GPU time by queue drain, median of ${runs}`);
  const eps2 = Math.fround(1e-9 * 1e-9);
  const rows: Record<string, number | string>[] = [];
  for (const n of sizes) {
    const x0 = gaussian(n, DIM, { std: Math.SQRT1_2, seed: 11 });
    const row: Record<string, number | string> = { N: n };
    if (withGpu) {
      // Whole step: potential + entropy (grid, k-NN, reverse lists, gradient) + reductions + integrate.
      const flow = await createFlow(device, { dim: DIM, positions: x0, energy: [quadratic(), entropy()], method: 'steering', h: H, gamma: GAMMA });
      const steps = n >= 1e6 ? 1 : n >= 1e5 ? 2 : 10;
      const gpuRuns = n >= 1e6 ? Math.min(runs, 3) : runs;
      await drain(device, (p) => flow.encodeSteps(p, 1)); // warm-up
      const step: number[] = [];
      for (let r = 0; r < gpuRuns; r++) step.push((await drain(device, (p) => flow.encodeSteps(p, steps))) / steps);
      const st = await flow.stats();
      // Neighbour search alone, on the flow's current positions.
      const pts = await flow.positions();
      flow.destroy();
      const buf = createBuffer(device, 'bench.points', pts.byteLength, GPUBufferUsage.STORAGE, pts);
      const knn = await createKnn(device, { points: buf, count: n, dim: DIM, k: 1, label: 'bench.knn' });
      await drain(device, (p) => knn.encode(p));
      const nn: number[] = [];
      for (let r = 0; r < gpuRuns; r++) nn.push((await drain(device, (p) => { for (let s = 0; s < steps; s++) knn.encode(p); })) / steps);
      const diag = await knn.diagnostics();
      knn.destroy();
      buf.destroy();
      Object.assign(row, {
        gpu_step_ms: +median(step).toFixed(2),
        gpu_ns_per_particle_step: +((median(step) * 1e6) / n).toFixed(1),
        knn_ms: +median(nn).toFixed(2),
        knn_ns_per_particle: +((median(nn) * 1e6) / n).toFixed(1),
        knn_share: +(median(nn) / median(step)).toFixed(3),
        knn_mean_candidates: +diag.search.meanCandidates.toFixed(2),
        energy_after: +st.energy.toFixed(4),
        gpu_samples: `${gpuRuns} x ${steps} steps`,
      });
    }
    if (withCpu) {
      const x = Float64Array.from(x0), v = new Float64Array(n * DIM), g = new Float64Array(n * DIM);
      fokkerPlanckSteeringStep(x, v, g, H, GAMMA, eps2); // warm-up (JIT)
      const cpuRuns = n >= 1e6 ? Math.min(runs, 3) : runs;
      const cpu: number[] = [];
      for (let r = 0; r < cpuRuns; r++) {
        cpu.push(timeSyncMs(() => fokkerPlanckSteeringStep(x, v, g, H, GAMMA, eps2)));
      }
      row.cpu_step_ms = +median(cpu).toFixed(1);
      row.cpu_ns_per_particle_step = +((median(cpu) * 1e6) / n).toFixed(1);
      if (withGpu) row.cpu_over_gpu = +(median(cpu) / (row.gpu_step_ms as number)).toFixed(3);
    }
    rows.push(row);
    console.log(row);
  }
  const ratio = (key: string, a: number, b: number) => {
    const ra = rows.find((r) => r.N === a)?.[key], rb = rows.find((r) => r.N === b)?.[key];
    return typeof ra === 'number' && typeof rb === 'number' ? +(rb / ra).toFixed(2) : undefined;
  };
  const ratios = {
    gpu_step_1e6_over_1e5: ratio('gpu_step_ms', 1e5, 1e6),
    knn_1e6_over_1e5: ratio('knn_ms', 1e5, 1e6),
    cpu_step_1e6_over_1e5: ratio('cpu_step_ms', 1e5, 1e6),
    gpu_step_1e5_over_1e4: ratio('gpu_step_ms', 1e4, 1e5),
    knn_1e5_over_1e4: ratio('knn_ms', 1e4, 1e5),
    cpu_step_1e5_over_1e4: ratio('cpu_step_ms', 1e4, 1e5),
  };
  console.table(rows);
  console.log(ratios, '(O(N): time(10^6)/time(10^5) ≤ 12)');
  writeJson('bench/results/fokker-planck.json', {
    adapter: summary,
    what: 'one steering step of quadratic() + entropy() (k = 1), d = 2, particles from N(0, ½ I), h = 1e-5, γ = 0.5; and the k-NN search alone (createKnn.encode)',
    timing: `queue drain around steps recorded into one pass (flow.encodeSteps), after a warm-up; median of ${runs} (at most 3 at 10^6)`,
    cpu: 'single-threaded TypeScript, float64, k-d tree build + self query per step (src/reference/knn.ts), same update as integrate.wgsl',
    rows,
    ratios,
  });
  device.destroy();
}

runMain(main);
