/**
 * The `picture` preset: N particles, uniform in the square [−1, 1]², flow onto samples of a
 * picture (assets/emblem.png by default) by the annealed Fokker–Planck scheme of
 * docs/picture.md:
 *
 *     F_u(ρ) = ∫ ρ U_u + ∫ ρ log ρ,     U_u = blend of −log p_{σ_k} (annealedTarget),
 *
 * steering flow with a fixed step h, damping γ(t) = 1/σ(u(t)) and the progress
 * u(t) = min(1, (t/A)²) over the annealing steps A: the bandwidth goes geometrically from
 * σ₀ = extent/8 to the final σ, the entropy has a smooth floor ε = s_N/4 (s_N the typical
 * spacing of N particles on the picture) and h = min(0.15 s_N, σ/2). The KL-to-samples
 * estimate is reported through a monitor term (klToSamples) and never drives the flow.
 *
 * Node-only (reads the picture from disk). `wgflow picture` runs {@link pictureCommand}.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createFlow, type Flow, type FlowStats } from '../flow.js';
import { annealedTarget, medianSpacing, type AnnealedTarget } from '../energies/target.js';
import { entropy } from '../energies/entropy.js';
import { klReference, klToSamples } from '../energies/kl.js';
import type { EnergyTerm, KernelTerm } from '../energies/types.js';
import { uniformBox } from '../init.js';
import { mulberry32, samplesFromPixels } from '../targets.js';
import { decodeImage } from '../io/image.js';
import { lineChartSvg, scatterPng, writeCsv } from '../io/plot.js';
import { slicedWasserstein2 } from '../reference/sliced.js';
import { getDevice } from '../device.js';
import { registerPreset, type Preset } from '../presets.js';

/**
 * Particles of the preset. N = 10^4 × 5000 steps took 12.4 min on SwiftShader (2 CPU cores,
 * 132 ms per step including the KL monitor every 50 steps), under the 15 min we allow a CPU
 * fallback, so the same N serves every adapter (`--n` to change it).
 */
export const PICTURE_N = 10_000;
/** Target samples drawn from the picture. */
export const PICTURE_M = 20_000;
/** Steps of the preset, and the snapshot steps. */
export const PICTURE_STEPS = 5_000;
export const PICTURE_SNAPSHOTS = [0, 500, 1000, 5000];

/** Options of {@link pictureScheme}. */
export interface PictureSchemeOptions {
  /** Number of particles N (sets the entropy floor and the step). */
  n: number;
  /** Annealing steps A (progress u = min(1, (step/A)²)). Default 3000. */
  annealSteps?: number;
  /** Exponent of the progress schedule. Default 2 (more time at the coarse levels). */
  power?: number;
  /** Final bandwidth σ. Default: annealedTarget's. */
  sigma?: number;
  /** Starting bandwidth σ₀. Default: annealedTarget's (extent/8). */
  sigma0?: number;
  /** Entropy floor ε as a fraction of the particle spacing s_N. Default 0.25. */
  epsilonFactor?: number;
  /** Step h as a fraction of s_N (and at most σ/2). Default 0.15. */
  stepFactor?: number;
  /** γ = dampingFactor / σ(u). Default 1. */
  dampingFactor?: number;
}

/** The annealed Fokker–Planck scheme for one picture and particle count; see the module header. */
export interface PictureScheme {
  target: AnnealedTarget;
  entropy: KernelTerm;
  /** Typical nearest-neighbour spacing s_N of N particles distributed like the samples. */
  spacing: number;
  /** Entropy floor ε. */
  epsilon: number;
  /** Fixed step h. */
  h: number;
  annealSteps: number;
  power: number;
  /** Progress u at a step. */
  progressAt(step: number): number;
  /** Damping γ at a step. */
  gammaAt(step: number): number;
  /** The energy [target, entropy]. */
  energy(): EnergyTerm[];
}

/**
 * The scheme's terms and constants for samples (M·2) and N particles.
 *
 * @example
 * const scheme = pictureScheme(targets, { n: 10000 });
 * const flow = await createFlow(device, { dim: 2, positions, energy: scheme.energy(), method: 'steering',
 *   h: scheme.h, gamma: (s) => scheme.gammaAt(s), monitor: [klToSamples(targets, { label: 'KL' })] });
 * for (let s = 0; s < 5000; s += 10) { scheme.target.setProgress(scheme.progressAt(s)); await flow.step(10); }
 */
export function pictureScheme(samples: Float32Array, options: PictureSchemeOptions): PictureScheme {
  const n = options.n;
  if (!Number.isInteger(n) || n < 2) throw new Error(`wgflow: pictureScheme: n must be an integer >= 2 (got ${n})`);
  const m = samples.length / 2;
  const annealSteps = options.annealSteps ?? 3000;
  const power = options.power ?? 2;
  if (!(annealSteps > 0) || !(power > 0)) throw new Error('wgflow: pictureScheme: annealSteps and power must be > 0');
  // s_N: the median spacing of min(N, M) spread samples, rescaled by (M/N)^{1/2} when N > M.
  const take = Math.min(n, m);
  const sub = new Float32Array(2 * take);
  for (let t = 0; t < take; t++) {
    const i = Math.floor((t * m) / take);
    sub[2 * t] = samples[2 * i]!;
    sub[2 * t + 1] = samples[2 * i + 1]!;
  }
  let spacing = medianSpacing(sub, 2);
  if (n > m) spacing *= Math.sqrt(m / n);
  if (!(spacing > 0)) throw new Error('wgflow: pictureScheme: the samples have no spread');
  const target = annealedTarget(samples, { sigma: options.sigma, sigma0: options.sigma0, label: 'target' });
  const sigma = target.sigmas[target.sigmas.length - 1]!;
  const epsilon = (options.epsilonFactor ?? 0.25) * spacing;
  const h = Math.min((options.stepFactor ?? 0.15) * spacing, 0.5 * sigma);
  const damping = options.dampingFactor ?? 1;
  const ent = entropy({ temperature: 1, epsilon, label: 'entropy' });
  const progressAt = (step: number) => Math.min(1, Math.pow(Math.max(0, step) / annealSteps, power));
  return {
    target,
    entropy: ent,
    spacing,
    epsilon,
    h,
    annealSteps,
    power,
    progressAt,
    gammaAt: (step) => damping / target.sigmaAt(progressAt(step)),
    energy: () => [target, ent],
  };
}

/** One recorded point of {@link runPictureFlow}. */
export interface PictureRecord {
  step: number;
  /** KL-to-samples estimate (monitor, 1-NN). */
  kl: number;
  /** Energy of the flow (annealed target + entropy). */
  energy: number;
  /** Squared sliced W2 to the samples (when asked for). */
  sw2?: number;
  progress: number;
  sigma: number;
}

/** Options of {@link runPictureFlow}. */
export interface PictureFlowOptions {
  /** Target samples, M·2. */
  samples: Float32Array;
  /** Initial positions, N·2. */
  positions: Float32Array;
  steps: number;
  /** The scheme (default: pictureScheme(samples, { n })). */
  scheme?: PictureScheme;
  /** Record every `every` steps. Default 100. */
  every?: number;
  /** Steps between progress updates. Default 10. */
  chunk?: number;
  /** Also compute the squared sliced W2 to the samples at each record (float64, host). Default false. */
  sw2?: boolean;
  /** Steps after which to call onSnapshot with the positions. */
  snapshots?: number[];
  onSnapshot?: (step: number, positions: Float32Array) => void | Promise<void>;
  onRecord?: (r: PictureRecord, stats: FlowStats) => void;
}

/** Result of {@link runPictureFlow}. */
export interface PictureRun {
  records: PictureRecord[];
  final: Float32Array;
  scheme: PictureScheme;
  /** Wall time of the stepping, ms (records excluded). */
  stepMs: number;
}

/**
 * Runs the annealed picture flow on `device`: creates the flow (steering, the scheme's h and
 * γ(t), a KL monitor), advances the progress every `chunk` steps, records every `every`.
 *
 * @example
 * const run = await runPictureFlow(device, { samples, positions, steps: 3000, sw2: true });
 * console.log(run.records.at(-1));
 */
export async function runPictureFlow(device: GPUDevice, options: PictureFlowOptions): Promise<PictureRun> {
  const { samples, positions, steps } = options;
  const n = positions.length / 2;
  const scheme = options.scheme ?? pictureScheme(samples, { n });
  const every = options.every ?? 100;
  const chunk = options.chunk ?? 10;
  const snaps = new Set(options.snapshots ?? []);
  const flow: Flow = await createFlow(device, {
    dim: 2, positions, energy: scheme.energy(), method: 'steering', h: scheme.h,
    gamma: (s) => scheme.gammaAt(s), monitor: [klToSamples(samples, { label: 'KL' })], label: 'wgflow.picture',
  });
  const records: PictureRecord[] = [];
  let stepMs = 0;
  try {
    const record = async (step: number) => {
      const st = await flow.stats();
      const u = scheme.progressAt(step);
      const r: PictureRecord = { step, kl: st.monitors.KL!, energy: st.energy, progress: u, sigma: scheme.target.sigmaAt(u) };
      if (options.sw2) r.sw2 = slicedWasserstein2(await flow.positions(), samples, 2);
      records.push(r);
      options.onRecord?.(r, st);
    };
    const snapshot = async (step: number) => {
      if (snaps.has(step)) await options.onSnapshot?.(step, await flow.positions());
    };
    scheme.target.setProgress(0);
    await record(0);
    await snapshot(0);
    let done = 0;
    while (done < steps) {
      // Stop at the next record, snapshot or progress update.
      let next = Math.min(steps, done + chunk, (Math.floor(done / every) + 1) * every);
      for (const s of snaps) if (s > done && s < next) next = s;
      scheme.target.setProgress(scheme.progressAt(done));
      const t0 = performance.now();
      await flow.step(next - done);
      stepMs += performance.now() - t0;
      done = next;
      if (done % every === 0 || done === steps) await record(done);
      await snapshot(done);
    }
    return { records, final: await flow.positions(), scheme, stepMs };
  } finally {
    flow.destroy();
  }
}

/**
 * The ring + square target of the study in docs/picture.md (two parts with a gap, equal mass): half the samples uniform in the annulus
 * 0.6 ≤ |y| ≤ 0.7, half uniform in the square [−0.3, 0.3]².
 *
 * @example
 * const y = ringSquare(5000, 11); // 10000 floats
 */
export function ringSquare(m: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(2 * m);
  for (let i = 0; i < m; i++) {
    if (r() < 0.5) {
      const a = 2 * Math.PI * r();
      const rad = Math.sqrt(0.36 + (0.49 - 0.36) * r());
      out[2 * i] = rad * Math.cos(a);
      out[2 * i + 1] = rad * Math.sin(a);
    } else {
      out[2 * i] = -0.3 + 0.6 * r();
      out[2 * i + 1] = -0.3 + 0.6 * r();
    }
  }
  return out;
}

/** Finds assets/emblem.png from the source (src/presets) or the build (dist/src/presets). */
export function emblemPath(): string {
  for (const rel of ['../../assets/emblem.png', '../../../assets/emblem.png']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('wgflow: picture: assets/emblem.png not found next to the package');
}

/** Samples (M·2) of a picture file, fitted into [−1, 1]². Synchronous (PNG or JPEG). */
export function pictureSamples(path: string, count = PICTURE_M, seed = 1): Float32Array {
  const { width, height, data } = decodeImage(readFileSync(path), path);
  return samplesFromPixels(data, width, height, { count, seed });
}

let presetScheme: { samples: Float32Array; scheme: PictureScheme } | undefined;
function presetParts() {
  if (!presetScheme) {
    const samples = pictureSamples(emblemPath());
    presetScheme = { samples, scheme: pictureScheme(samples, { n: PICTURE_N }) };
  }
  return presetScheme;
}

/**
 * The registered `picture` preset, for `wgflow list` and `wgflow compare picture`. Its
 * damping function also advances the annealing (the flow tabulates γ on the host before each
 * submission, so the progress moves every submission, 64 steps); `wgflow picture` uses
 * {@link runPictureFlow}, which moves it every 10 steps and adds the KL monitor and snapshots.
 */
export const picturePreset: Preset = {
  name: 'picture',
  description: `N = ${PICTURE_N} particles from the square [−1,1]² onto ${PICTURE_M} samples of assets/emblem.png: annealed Fokker–Planck flow (smoothed target −log p_σ, σ from extent/8 down, + entropy), steering, fixed h, γ = 1/σ; KL-to-samples monitor. docs/picture.md.`,
  dim: 2,
  n: PICTURE_N,
  positions: (n) => uniformBox(n, 2, { low: -1, high: 1, seed: 1 }),
  energy: () => presetParts().scheme.energy(),
  get runs() {
    const { scheme } = presetParts();
    return [{
      label: 'annealed',
      method: 'steering' as const,
      h: scheme.h,
      gamma: (step: number) => {
        scheme.target.setProgress(scheme.progressAt(step));
        return scheme.gammaAt(step);
      },
    }];
  },
  steps: PICTURE_STEPS,
  every: 50,
};

registerPreset(picturePreset);

function parseFlags(argv: string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    if (a.startsWith('--')) {
      const [key, val] = a.slice(2).split('=');
      flags[key!] = val ?? argv[++k] ?? '';
    }
  }
  return flags;
}

/**
 * `wgflow picture [--n N] [--m M] [--steps S] [--anneal A] [--image PATH] [--out DIR]`: runs
 * the preset and writes out/picture-<step>.png (particles over the samples after 0, 500, 1000
 * and S steps), out/picture-kl.svg and .csv (the KL estimate against the step, with the
 * estimate of an independent sample of N target points for reference) and
 * out/picture-summary.json. Default N = {@link PICTURE_N} on every adapter.
 *
 * @example
 * // node dist/src/cli.js picture --out out
 */
export async function pictureCommand(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  const int = (name: string) => {
    if (flags[name] === undefined) return undefined;
    const v = Number(flags[name]);
    if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer (got ${flags[name]})`);
    return v;
  };
  const out = flags.out ?? 'out';
  await mkdir(out, { recursive: true });
  const { device, summary, fallback } = await getDevice();
  const n = int('n') ?? PICTURE_N;
  const m = int('m') ?? PICTURE_M;
  const steps = int('steps') ?? PICTURE_STEPS;
  const image = flags.image ?? emblemPath();
  console.log(`[wgflow] adapter: ${summary}`);
  if (fallback && n >= PICTURE_N) console.log(`[wgflow] CPU fallback adapter: N = ${n} × ${steps} steps takes ~12 min on 2 cores (fixed costs dominate below: N = 2000 still needs ~100 ms a step)`);
  const samples = pictureSamples(image, m);
  const scheme = pictureScheme(samples, { n, annealSteps: int('anneal') ?? Math.round(0.8 * steps) });
  console.log(`[wgflow] picture: N = ${n}, M = ${m}, ${steps} steps; σ ${scheme.target.sigmas[0]!.toPrecision(3)} → ${scheme.target.sigmas.at(-1)!.toPrecision(3)} ` +
    `(${scheme.target.sigmas.length} levels) over ${scheme.annealSteps} steps, ε = ${scheme.epsilon.toPrecision(3)}, h = ${scheme.h.toPrecision(3)}, γ = 1/σ`);
  const snapshots = [...new Set([...PICTURE_SNAPSHOTS.filter((s) => s < steps), steps])];
  const box = [-1.1, 1.1, -1.1, 1.1] as const;
  const written: string[] = [];
  const tty = process.stderr.isTTY;
  const t0 = performance.now();
  const run = await runPictureFlow(device, {
    samples, positions: picturePreset.positions(n), steps, scheme, every: Math.max(10, Math.round(steps / 100)), snapshots,
    onSnapshot: async (step, x) => {
      const path = join(out, `picture-${step}.png`);
      await writeFile(path, scatterPng(x, 2, { targets: samples, box, width: 560, height: 560, radius: n > 5000 ? 1 : 1.5, targetRadius: 0.8 }));
      written.push(path);
    },
    onRecord: (r) => {
      const line = `[wgflow] picture step ${String(r.step).padStart(6)}/${steps}  KL ${r.kl.toFixed(4)}  σ ${r.sigma.toPrecision(3)}  ${((performance.now() - t0) / 1000).toFixed(0)} s`;
      if (tty) process.stderr.write(`\r${line}${r.step === steps ? '\n' : ''}`);
      else if (r.step % Math.max(1, Math.round(steps / 10)) === 0) console.error(line);
    },
  });
  // Reference: the same figures for independent samples of N picture points (median of 5
  // seeds: the sliced distance of such a sample scatters by several times from seed to seed).
  const mid = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
  const fresh = [2, 3, 4, 5, 6].map((seed) => pictureSamples(image, n, seed));
  const klIid = mid(fresh.map((f) => klReference(f, samples, 2).value));
  const sw2Iid = mid(fresh.map((f) => slicedWasserstein2(f, samples, 2)));
  const sw2Final = slicedWasserstein2(run.final, samples, 2);
  const sw2Start = slicedWasserstein2(picturePreset.positions(n), samples, 2);
  const st = run.records.map((r) => r.step);
  await writeCsv(join(out, 'picture-kl.csv'), ['step', 'kl', 'energy', 'sigma'], run.records.map((r) => [r.step, r.kl, r.energy, r.sigma]));
  await writeFile(join(out, 'picture-kl.svg'), lineChartSvg({
    title: `picture: KL-to-samples estimate (N = ${n}, M = ${m})`,
    xLabel: 'step', yLabel: 'KL estimate (1-NN)',
    series: [
      { name: 'annealed Fokker–Planck flow', x: st, y: run.records.map((r) => r.kl) },
      { name: `independent samples of ${n} picture points (median)`, x: [0, steps], y: [klIid, klIid] },
    ],
  }));
  const summaryJson = {
    adapter: summary, n, m, steps, annealSteps: scheme.annealSteps, sigmas: scheme.target.sigmas, epsilon: scheme.epsilon, h: scheme.h,
    klStart: run.records[0]!.kl, klFinal: run.records.at(-1)!.kl, klIndependentSample: klIid,
    sw2Start, sw2Final, sw2IndependentSample: sw2Iid, stepMs: Math.round(run.stepMs), wallS: Math.round((performance.now() - t0) / 1000),
  };
  await writeFile(join(out, 'picture-summary.json'), JSON.stringify(summaryJson, null, 2));
  console.log(`[wgflow] KL ${summaryJson.klStart.toFixed(3)} → ${summaryJson.klFinal.toFixed(3)} (independent samples: ${klIid.toFixed(3)}); ` +
    `SW2² ${sw2Start.toExponential(2)} → ${sw2Final.toExponential(2)} (independent samples, median: ${sw2Iid.toExponential(2)})`);
  console.log(`[wgflow] wrote ${[...written, join(out, 'picture-kl.svg'), join(out, 'picture-kl.csv'), join(out, 'picture-summary.json')].join(', ')}`);
  device.destroy();
}
