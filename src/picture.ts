/**
 * The annealed Fokker–Planck picture scheme of docs/picture.md, browser-safe (no file access):
 *
 *     F_u(ρ) = ∫ ρ U_u + ∫ ρ log ρ,     U_u = blend of −log p_{σ_k} (annealedTarget),
 *
 * steering flow with a fixed step h, damping γ(t) = 0.5/σ(u(t)) and the progress
 * u(t) = min(1, (t/A)²) over the annealing steps A: the bandwidth goes geometrically from
 * σ₀ = extent/8 to the final σ, the entropy has a smooth floor ε = s_N/4 (s_N the typical
 * spacing of N particles on the picture) and h = min(0.15 s_N, σ/2). The KL-to-samples
 * estimate is reported through a monitor term (klToSamples) and never drives the flow.
 *
 * The `picture` preset and command (Node, reads the picture file) are in app/emblem.ts.
 */
import { createFlow, type Flow, type FlowStats } from './flow.js';
import { annealedTarget, medianSpacing, type AnnealedTarget } from './energies/target.js';
import { entropy } from './energies/entropy.js';
import { klToSamples } from './energies/kl.js';
import type { EnergyTerm, KernelTerm } from './energies/types.js';
import { slicedWasserstein2 } from './math/sliced.js';

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
  /** γ = dampingFactor / σ(u). Default 0.5 (docs/picture.md: within 2× of the best measured c on every target tried). */
  dampingFactor?: number;
  /** Nodes along the longest axis of the finest lattice (annealedTarget's `resolution`). Default: annealedTarget's. */
  resolution?: number;
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
  /** c of the damping γ = c/σ(u). */
  dampingFactor: number;
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
  const target = annealedTarget(samples, { sigma: options.sigma, sigma0: options.sigma0, resolution: options.resolution, label: 'target' });
  const sigma = target.sigmas[target.sigmas.length - 1]!;
  const epsilon = (options.epsilonFactor ?? 0.25) * spacing;
  const h = Math.min((options.stepFactor ?? 0.15) * spacing, 0.5 * sigma);
  const damping = options.dampingFactor ?? 0.5;
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
    dampingFactor: damping,
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
