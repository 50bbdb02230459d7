/**
 * The picture-flow (KL) study of docs/picture.md, on the GPU (the current adapter): the
 * picture flows on the ring + square target (N = 2000 particles uniform in [−1, 1]², seed 12;
 * M = 5000 samples, studies/ring-square.ts, seed 11), recording every 100 steps the squared
 * sliced W2 to the samples and the KL-to-samples estimate (a monitor term). Flows: the
 * annealed Fokker–Planck scheme (pictureScheme), the same at the final σ only (fixedSigma),
 * Fokker–Planck with h: 'auto' (fpAuto), and the exact KL-to-samples flow with h: 'auto'
 * (klAuto), FIRE (klFire) and larger floors (klFloor). Merges into studies/results/kl-study.json.
 *
 *   npx tsc -p tsconfig.json && node dist/studies/kl-study.js [--n 2000] [--m 5000] [--steps 3000] [--every 100] [--only annealed,fixedSigma]
 */
import { createFlow, entropy, getDevice, klReference, klToSamples, pictureScheme, runPictureFlow, slicedWasserstein2, targetDensity, uniformBox, type FlowOptions } from '../src/index.js';
import { benchFlags, intFlag, median, mergeJson, runMain, textFlag } from '../bench/util.js';
import { ringSquare } from './ring-square.js';

const RESULTS = 'studies/results/kl-study.json';

interface StudyRow {
  step: number;
  sw2: number;
  kl: number;
  h?: number;
}

async function study(): Promise<void> {
  const flags = benchFlags({ n: { type: 'string' }, m: { type: 'string' }, steps: { type: 'string' }, every: { type: 'string' }, only: { type: 'string' } }, 'studies/kl-study');
  const n = intFlag(flags, 'n') ?? 2000;
  const m = intFlag(flags, 'm') ?? 5000;
  const steps = intFlag(flags, 'steps') ?? 3000;
  const every = intFlag(flags, 'every') ?? 100;
  const only = textFlag(flags, 'only')?.split(',');
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
      energy: [targetDensity(y, { sigma, resolution: 256 }), entropy()], method: 'steering', h: 'auto', autoStep: { rule: 'displacement' }, gamma: 0.5 })) };
  }
  if (want('klAuto')) {
    results.klAuto = { what: 'exact KL-to-samples (k = 1, floors 1e-6): steering, h: auto, γ = 0.5', ...(await flowRun('klAuto', {
      energy: [klToSamples(y)], method: 'steering', h: 'auto', autoStep: { rule: 'displacement' }, gamma: 0.5 })) };
  }
  if (want('klFire')) {
    const cap = 0.1 * scheme.spacing;
    results.klFire = { what: `exact KL-to-samples (k = 1, floors 1e-6): FIRE 2.0, h0 = 1e-4, hMax = 1e-3, maxDisplacement = ${cap.toPrecision(3)} (0.1 s_N)`, ...(await flowRun('klFire', {
      energy: [klToSamples(y)], method: 'fire', h: 1e-4, fire: { hMax: 1e-3 }, maxDisplacement: cap })) };
  }
  if (want('klFloor')) {
    const eps = 0.25 * scheme.spacing;
    results.klFloor = { what: `exact KL-to-samples, k = 1, floors εν = εr = ${eps.toPrecision(3)} (s_N/4): steering, h: auto, γ = 0.5`, ...(await flowRun('klFloor', {
      energy: [klToSamples(y, { epsilonNu: eps, epsilonR: eps })], method: 'steering', h: 'auto', autoStep: { rule: 'displacement' }, gamma: 0.5 })) };
  }
  mergeJson(RESULTS, { adapter: summary, n, m, steps, target: 'ring + square (studies/ring-square.ts ringSquare, seed 11), start uniform in [-1,1]^2 (seed 12)', independentSample: floor, ...results });
  device.destroy();
}

runMain(study);
