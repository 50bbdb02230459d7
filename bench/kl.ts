/**
 * KL-to-samples benchmark and picture-flow study (GPU, the current adapter).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/kl.js [bench] [--sizes 10000,100000,1000000]
 *   node dist/bench/kl.js study [--n 2000] [--m 5000] [--steps 3000] [--only a,b]
 *
 * `bench`: ns per particle-step of one steering step whose energy is klToSamples (k = 1) at
 * N = M (uniform particles and samples in the same square, d = 2): per step, the particles'
 * 1-NN against the static sample grid and against themselves, the reverse lists and the two
 * KL passes, the steering reductions and update. Warm-up first, then the median of 3 timed
 * runs, GPU time by queue drain (flow.step resolves when the GPU is done). Writes
 * bench/results/kl.json.
 *
 * `study`: the picture flows of docs/picture.md on the ring + square target (N = 2000
 * particles uniform in [−1, 1]², M = 5000 samples: half uniform in the annulus 0.6 ≤ r ≤ 0.7,
 * half uniform in [−0.3, 0.3]²), recording every 100 steps the squared sliced W2 to the
 * samples and the KL-to-samples estimate (a monitor term). Writes bench/results/kl-study.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { getDevice } from '../src/gpu/device.js';
import { createFlow, type FlowOptions } from '../src/flow.js';
import { klReference, klToSamples } from '../src/energies/kl.js';
import { targetDensity } from '../src/energies/target.js';
import { entropy } from '../src/energies/entropy.js';
import { uniformBox } from '../src/init.js';
import { slicedWasserstein2 } from '../src/math/sliced.js';
import { pictureScheme, ringSquare, runPictureFlow } from '../src/presets/picture.js';

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function merge(path: string, part: Record<string, unknown>): void {
  mkdirSync('bench/results', { recursive: true });
  const old = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
  writeFileSync(path, JSON.stringify({ ...old, ...part }, null, 2) + '\n');
}

async function bench(): Promise<void> {
  const sizes = (arg('sizes') ?? '10000,100000,1000000').split(',').map(Number);
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
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      await flow.step(steps);
      runs.push((performance.now() - t0) / steps);
    }
    const ms = median(runs);
    const s = await flow.stats();
    flow.destroy();
    const row = { N: n, M: n, stepsPerRun: steps, msPerStep: +ms.toFixed(2), nsPerParticleStep: Math.round((ms * 1e6) / n), createMs: Math.round(createMs), kl: +s.energy.toFixed(4) };
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  merge('bench/results/kl.json', {
    adapter: summary,
    what: 'one steering step (reductions + update) with energy klToSamples(k = 1) at N = M, uniform in [-1,1]^2 (particles and samples independent), d = 2',
    timing: 'queue drain (flow.step resolves when the GPU is done), median of 3 runs after a warm-up',
    rows,
  });
  device.destroy();
}

interface StudyRow {
  step: number;
  sw2: number;
  kl: number;
  h?: number;
}

async function study(): Promise<void> {
  const n = Number(arg('n') ?? 2000);
  const m = Number(arg('m') ?? 5000);
  const steps = Number(arg('steps') ?? 3000);
  const every = Number(arg('every') ?? 100);
  const only = arg('only')?.split(',');
  const y = ringSquare(m, 11);
  const x0 = uniformBox(n, 2, { low: -1, high: 1, seed: 12 });
  // Yardstick: independent samples of N target points. Their SW2² to the M samples scatters by
  // ~4x from seed to seed (heavy-tailed), so report the median over 9 seeds and the range.
  const sws: number[] = [];
  const kls: number[] = [];
  for (let seed = 99; seed < 108; seed++) {
    const fresh = ringSquare(n, seed);
    sws.push(slicedWasserstein2(fresh, y, 2));
    kls.push(klReference(fresh, y, 2).value);
  }
  const floor = { sw2: median(sws), kl: median(kls), sw2Min: Math.min(...sws), sw2Max: Math.max(...sws), seeds: '99..107' };
  const { device, summary } = await getDevice();
  console.log(`adapter: ${summary}; independent samples of ${n} (median of 9): SW2² ${floor.sw2.toExponential(3)} (${floor.sw2Min.toExponential(2)}..${floor.sw2Max.toExponential(2)}), KL ${floor.kl.toFixed(4)}`);
  const results: Record<string, unknown> = {};
  const flowRun = async (name: string, options: Omit<FlowOptions, 'dim' | 'positions'>) => {
    const rows: StudyRow[] = [];
    const t0 = performance.now();
    const flow = await createFlow(device, { dim: 2, positions: x0, monitor: [klToSamples(y, { label: 'KL' })], ...options });
    let error: string | undefined;
    try {
      for (let s = 0; s <= steps; s += every) {
        if (s > 0) await flow.step(every);
        const st = await flow.stats();
        const row = { step: s, sw2: slicedWasserstein2(await flow.positions(), y, 2), kl: st.monitors.KL!, h: st.h };
        rows.push(row);
        console.log(name, JSON.stringify(row));
      }
    } catch (e) {
      error = (e as Error).message;
      console.log(name, 'failed:', error);
    } finally {
      flow.destroy();
    }
    return { rows, error, wallS: Math.round((performance.now() - t0) / 1000) };
  };
  const want = (k: string) => !only || only.includes(k);
  const scheme = pictureScheme(y, { n, annealSteps: Math.round((2 / 3) * steps) });
  const settings = { epsilon: scheme.epsilon, h: scheme.h, sigmas: scheme.target.sigmas, annealSteps: scheme.annealSteps, spacing: scheme.spacing };
  if (want('annealed')) {
    const t0 = performance.now();
    const run = await runPictureFlow(device, { samples: y, positions: x0, steps, scheme, every, sw2: true, onRecord: (r) => console.log('annealed', JSON.stringify(r)) });
    results.annealed = { what: `annealed Fokker–Planck (pictureScheme): steering, fixed h, γ = ${scheme.dampingFactor}/σ(u), entropy floor ε = s_N/4`, settings, rows: run.records.map((r) => ({ step: r.step, sw2: r.sw2!, kl: r.kl, sigma: r.sigma })), wallS: Math.round((performance.now() - t0) / 1000) };
  }
  const sigma = scheme.target.sigmas.at(-1)!;
  if (want('fixedSigma')) {
    // Same as annealed but at the final σ from the start (isolates the annealing).
    const gamma = scheme.gammaAt(Number.MAX_SAFE_INTEGER);
    results.fixedSigma = { what: `Fokker–Planck at the final σ = ${sigma.toPrecision(3)} only: steering, same h, same γ = ${(gamma * sigma).toPrecision(2)}/σ, same entropy floor`, ...(await flowRun('fixedSigma', {
      energy: [targetDensity(y, { sigma, resolution: 256 }), entropy({ epsilon: scheme.epsilon })], method: 'steering', h: scheme.h, gamma })) };
  }
  if (want('fpAuto')) {
    results.fpAuto = { what: `Fokker–Planck at σ = ${sigma.toPrecision(3)}: steering, h: auto, γ = 0.5, entropy ε = 1e-9 (the lead's suggestion as given)`, ...(await flowRun('fpAuto', {
      energy: [targetDensity(y, { sigma, resolution: 256 }), entropy()], method: 'steering', h: 'auto', gamma: 0.5 })) };
  }
  if (want('klAuto')) {
    results.klAuto = { what: 'exact KL-to-samples (k = 1, floors 1e-6): steering, h: auto, γ = 0.5', ...(await flowRun('klAuto', {
      energy: [klToSamples(y)], method: 'steering', h: 'auto', gamma: 0.5 })) };
  }
  if (want('klFire')) {
    const cap = 0.1 * scheme.spacing;
    results.klFire = { what: `exact KL-to-samples (k = 1, floors 1e-6): FIRE 2.0, h0 = 1e-4, hMax = 1e-3, maxDisplacement = ${cap.toPrecision(3)} (0.1 s_N)`, ...(await flowRun('klFire', {
      energy: [klToSamples(y)], method: 'fire', h: 1e-4, fire: { hMax: 1e-3 }, maxDisplacement: cap })) };
  }
  if (want('klFloor')) {
    const eps = 0.25 * scheme.spacing;
    results.klFloor = { what: `exact KL-to-samples, k = 1, floors εν = εr = ${eps.toPrecision(3)} (s_N/4): steering, h: auto, γ = 0.5`, ...(await flowRun('klFloor', {
      energy: [klToSamples(y, { epsilonNu: eps, epsilonR: eps })], method: 'steering', h: 'auto', gamma: 0.5 })) };
  }
  merge('bench/results/kl-study.json', { adapter: summary, n, m, steps, target: 'ring + square (bench/kl.ts ringSquare, seed 11), start uniform in [-1,1]^2 (seed 12)', independentSample: floor, ...results });
  device.destroy();
}

const mode = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'bench';
(mode === 'study' ? study() : bench()).then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
