/**
 * The `picture` preset and the `wgflow picture` command ({@link pictureCommand}): N particles,
 * uniform in the square [−1, 1]², flow onto samples of a picture (assets/emblem.png by default)
 * by the annealed Fokker–Planck scheme of src/picture.ts and docs/picture.md.
 *
 * Node-only (reads the picture from disk); the scheme itself is browser-safe in src/picture.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { klReference } from '../energies/kl.js';
import { uniformBox } from '../init.js';
import { samplesFromPixels } from '../samples.js';
import { pictureScheme, runPictureFlow, type PictureScheme } from '../picture.js';
import { decodeImage } from '../io/image.js';
import { lineChartSvg, scatterPng, writeCsv } from '../io/plot.js';
import { slicedWasserstein2 } from '../math/sliced.js';
import { getDevice } from '../gpu/device.js';
import { registerPreset, type Preset } from '../presets.js';
import { intFlag, parseArgs } from '../args.js';

/**
 * Particles of the preset. N = 10^4 × 5000 steps took 12.3 and 14.3 min in two runs on
 * SwiftShader (2 CPU cores, 130 to 150 ms per step including the KL monitor every 50 steps),
 * within the 15 min we allow a CPU fallback, so the same N serves every adapter (`--n` to
 * change it).
 */
export const PICTURE_N = 10_000;
/** Target samples drawn from the picture. */
export const PICTURE_M = 20_000;
/** Steps of the preset, and the snapshot steps. */
export const PICTURE_STEPS = 5_000;
export const PICTURE_SNAPSHOTS = [0, 500, 1000, 5000];

export * from '../picture.js';

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
  description: `N = ${PICTURE_N} particles from the square [−1,1]² onto ${PICTURE_M} samples of assets/emblem.png: annealed Fokker–Planck flow (smoothed target −log p_σ, σ from extent/8 down, + entropy), steering, fixed h, γ = 0.5/σ; KL-to-samples monitor. docs/picture.md.`,
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
  const { flags } = parseArgs(argv);
  const int = (name: string) => intFlag(flags, name);
  const out = flags.out ?? 'out';
  await mkdir(out, { recursive: true });
  const { device, summary, fallback } = await getDevice();
  const n = int('n') ?? PICTURE_N;
  const m = int('m') ?? PICTURE_M;
  const steps = int('steps') ?? PICTURE_STEPS;
  const image = flags.image ?? emblemPath();
  console.log(`[wgflow] adapter: ${summary}`);
  if (fallback && n >= PICTURE_N) console.log(`[wgflow] CPU fallback adapter: N = ${n} × ${steps} steps takes 12 to 15 min on 2 cores (fixed costs dominate below: N = 2000 still needs ~100 ms a step)`);
  const samples = pictureSamples(image, m);
  const scheme = pictureScheme(samples, { n, annealSteps: int('anneal') ?? Math.round(0.8 * steps) });
  console.log(`[wgflow] picture: N = ${n}, M = ${m}, ${steps} steps; σ ${scheme.target.sigmas[0]!.toPrecision(3)} → ${scheme.target.sigmas.at(-1)!.toPrecision(3)} ` +
    `(${scheme.target.sigmas.length} levels) over ${scheme.annealSteps} steps, ε = ${scheme.epsilon.toPrecision(3)}, h = ${scheme.h.toPrecision(3)}, γ = ${scheme.dampingFactor}/σ`);
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
