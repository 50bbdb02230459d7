/**
 * Presets: ready-made comparisons of the flows (the seed paper's numerical examples), used by
 * the `wgflow` command and by `npm start`, and {@link PRESETS}, the explicit list of every
 * preset the command knows (the picture preset of app/emblem.ts included).
 */
import { createFlow, entropy, type Damping, type EnergyTerm, type Flow, type FlowOptions, type FlowStats, type Method } from '../src/index.js';
import { picturePreset } from './emblem.js';
import type { ConvergenceCriterion } from './converge.js';
import { buildEnergy, configPositions, type RunConfig } from './config.js';

/** One flow of a comparison. */
export interface PresetRun {
  label: string;
  method: Method;
  h: FlowOptions['h'];
  gamma?: Damping;
  /** Langevin temperature (createFlow's `temperature`). */
  temperature?: number;
  /** Langevin seed (createFlow's `seed`). */
  seed?: number;
  /** Adaptive restart (createFlow's `restart`). */
  restart?: boolean;
  /** FIRE displacement cap (createFlow's `maxDisplacement`). */
  maxDisplacement?: number;
}

/** A comparison preset. */
export interface Preset {
  name: string;
  /** One paragraph: what it shows, the time convention, known facts. */
  description: string;
  dim: number;
  /** Initial positions (deterministic). */
  positions: (n: number) => Float32Array;
  /** Default particle count. */
  n: number;
  energy: () => EnergyTerm[];
  runs: PresetRun[];
  steps: number;
  /** Record diagnostics every `every` steps. */
  every: number;
  /** Known minimum of the energy, if any. */
  fMin?: number;
  /** Extra float64 figures of the final positions for the summary (e.g. an independent estimate). */
  finalCheck?: (x: Float32Array) => Record<string, number>;
  /**
   * How `wgflow converge` runs the preset (app/main-job.ts): the criterion (per-axis variance
   * and energy plateau), the iterations whose positions are drawn, and whether the runs go to
   * convergence (the step cap is `steps`, scaled with √(N/n)) or exactly `steps` iterations
   * (the seed paper's fixed counts). Presets without it are not for `converge`.
   */
  converge?: { criterion?: ConvergenceCriterion; snapshots: number[]; fixedSteps: boolean };
  /**
   * The run configuration the preset is built from (app/config.ts; `wgflow config <preset>`
   * prints it). Absent for presets that are their own command (picture).
   */
  config?: RunConfig;
}

/**
 * A preset from its run configuration (app/config.ts): the positions, energy and flows are
 * built from the config alone, so `wgflow run <preset>` and `wgflow run <its config file>` run
 * the same problem. `extras` adds what a JSON file cannot hold (a float64 final check).
 *
 * @example
 * const preset = presetFromConfig(parseConfig(JSON.parse(text), 'my.json'));
 */
export function presetFromConfig(config: RunConfig, extras: Pick<Preset, 'finalCheck'> = {}): Preset {
  return {
    name: config.name,
    description: config.description ?? `Run configuration '${config.name}'.`,
    dim: config.dim,
    n: config.n,
    positions: (n) => configPositions(config, n),
    energy: () => buildEnergy(config.energy),
    runs: config.runs.map((r) => {
      const run: PresetRun = { label: r.label, method: r.method, h: r.h };
      if (r.gamma !== undefined) run.gamma = r.gamma;
      for (const k of ['temperature', 'seed', 'restart', 'maxDisplacement'] as const) if (r[k] !== undefined) (run as unknown as Record<string, unknown>)[k] = r[k];
      return run;
    }),
    steps: config.steps,
    every: config.every,
    ...(config.fMin !== undefined ? { fMin: config.fMin } : {}),
    ...(config.converge ? { converge: { snapshots: [...config.converge.snapshots], fixedSteps: config.converge.fixedSteps } } : {}),
    ...extras,
    config,
  };
}

/**
 * The seed paper's first example: V(ρ) = ∫|x|² ρ in R³ (minimum 0, a Dirac at 0), N = 1000
 * points uniform in [−1, 1]³, compared across the three flows. Time convention: docs/math.md §1.4's
 * (g carries the factor N), h = 0.05, γ = 0.5. The gradient flow contracts by (1 − 2h) a step.
 */
export const quadraticPreset: Preset = presetFromConfig({
  name: 'quadratic',
  description: 'V = ∫|x|² ρ in R³ (minimum 0). N = 1000 uniform in [−1,1]³; h = 0.05 and γ = 0.5 in the convention of docs/math.md §1.4 (g carries the factor N).',
  dim: 3,
  n: 1000,
  init: { kind: 'uniform', low: -1, high: 1, seed: 1 },
  energy: [{ term: 'quadratic' }],
  runs: [
    { label: 'gradient', method: 'gradient', h: 0.05 },
    { label: 'accelerated', method: 'accelerated', h: 0.05, gamma: 0.5 },
    { label: 'steering', method: 'steering', h: 0.05, gamma: 0.5 },
  ],
  steps: 300,
  every: 1,
  snapshots: [0, 20],
  fMin: 0,
});

/** The config of the Fokker–Planck problem (shared by fokker-planck, paper-fp and main). */
const fokkerPlanckConfig: RunConfig = {
  name: 'fokker-planck',
  description: 'F = ∫|x|² ρ + ∫ ρ log ρ in R² (KL to N(0, ½I) + const), Kozachenko–Leonenko entropy with exact gradient; N = 1000 from the two-quadrant start; tuned defaults: automatic step, γ = 2√2 (critical). Variance → 0.5; the 1-NN estimate plateaus near −2.87 (not −log π ≈ −1.1447: lattice bias of the estimator).',
  dim: 2,
  n: 1000,
  init: { kind: 'two-quadrants', seed: 1 },
  energy: [{ term: 'quadratic' }, { term: 'entropy' }],
  runs: [
    { label: 'gradient', method: 'gradient', h: 'auto' },
    { label: 'accelerated', method: 'accelerated', h: 'auto' },
    { label: 'steering', method: 'steering', h: 'auto' },
    { label: 'fire', method: 'fire', h: 'auto' },
  ],
  steps: 3000,
  every: 10,
  snapshots: [0, 500, 1000, 2000],
  converge: { snapshots: [0, 500, 1000, 2000, 5000], fixedSteps: false },
};

/** The float64 check of the Fokker–Planck presets' final particles (k = 4 estimate of the energy). */
function fokkerPlanckCheck(x: Float32Array): Record<string, number> {
  const n = x.length / 2;
  if (n > 5000) return {};
  let u = 0;
  for (let k = 0; k < x.length; k++) u += x[k]! * x[k]!;
  // An independent estimate: the k = 4 Kozachenko–Leonenko entropy of the final particles
  // (the term's float64 value).
  const h4 = entropy({ k: 4 }).reference(Float64Array.from(x), n, 2).value;
  return { energyK4: u / n + h4 };
}

/**
 * The seed paper's Fokker–Planck example: F(ρ) = ∫|x|² ρ + ∫ ρ log ρ in R², i.e. the KL
 * divergence to N(0, ½ I) up to a constant, with the Kozachenko–Leonenko entropy (k = 1) and
 * its exact gradient (reverse neighbours included). N = 1000 from the two-quadrant start (half
 * uniform in [0,1]², half in [−1,0]²), at the tuned defaults: the automatic step (h: 'auto',
 * the curvature rule) and the critical damping γ = 2√λ_min = 2√2 of the slowest mode
 * (λ_min = 2 from the quadratic, 0 from the entropy), for the gradient, accelerated, steering
 * and FIRE flows; `wgflow converge` (npm start) runs each to convergence (docs/convergence.md).
 * The paper's own setting is the preset `paper-fp`.
 *
 * Time convention: docs/math.md §1.4's (g carries the factor N); the seed paper's η = 0.5 at N = 1000
 * corresponds to h = 5e-4 here.
 *
 * Known facts: the per-axis variance tends to 0.5. The true minimum is −(d/2) log π ≈ −1.1447,
 * but the plateau of the *estimated* energy is lower (near −2.8 at N = 1000 in a float64
 * reference): at equilibrium the particles sit in a near-lattice whose nearest-neighbour
 * distances exceed those of random samples, so the 1-NN estimator overstates the entropy. The
 * `wgflow` command also reports the final energy under an independent k = 4 estimate.
 */
export const fokkerPlanckPreset: Preset = presetFromConfig(fokkerPlanckConfig, { finalCheck: fokkerPlanckCheck });

/**
 * The main job of `npm start` (`wgflow run main`): the Fokker–Planck comparison of
 * {@link fokkerPlanckPreset} as a converge job (app/main-job.ts): each flow to convergence,
 * outputs named fokker-planck-* in out/.
 */
export const mainPreset: Preset = presetFromConfig({
  ...fokkerPlanckConfig,
  description: 'The main job (npm start): the fokker-planck comparison, each flow run to convergence (app/main-job.ts; docs/convergence.md); outputs out/fokker-planck-*.',
  job: 'converge',
}, { finalCheck: fokkerPlanckCheck });

/**
 * The seed paper's own Fokker–Planck setting (its figures 3 and 4): η = 0.5 in its convention,
 * i.e. h = 5e-4 here at N = 1000, γ = 0.5, exactly 5000 iterations, exact gradients, the
 * gradient, accelerated and steering flows. Reported beside the tuned `fokker-planck` runs
 * (docs/convergence.md): γ = 0.5 is underdamped (the breathing mode rings), and the gradient
 * flow at this h chatters far from the plateau.
 */
export const paperFokkerPlanckPreset: Preset = presetFromConfig({
  ...fokkerPlanckConfig,
  name: 'paper-fp',
  description: 'The seed paper\'s Fokker–Planck setting (figures 3, 4): N = 1000 from the two quadrants, h = 5e-4 (η = 0.5 in its convention), γ = 0.5, 5000 iterations, exact gradients.',
  runs: [
    { label: 'gradient', method: 'gradient', h: 5e-4 },
    { label: 'accelerated', method: 'accelerated', h: 5e-4, gamma: 'paper' },
    { label: 'steering', method: 'steering', h: 5e-4, gamma: 'paper' },
  ],
  steps: 5000,
  converge: { snapshots: [0, 500, 1000, 2000, 5000], fixedSteps: true },
}, { finalCheck: fokkerPlanckCheck });

/**
 * The seed paper's quadratic example in its own setting (its figure 2): V = ∫|x|² ρ in R³,
 * N = 1000 uniform in [−1, 1]³, η = 0.5 in its convention (h = 5e-4 here), γ = 0.5, 5000
 * iterations. Beside it, `quadratic-tuned` and `quadratic` (h = 0.05).
 */
export const paperQuadraticPreset: Preset = presetFromConfig({
  ...quadraticPreset.config!,
  name: 'paper-quadratic',
  description: 'The seed paper\'s quadratic setting (figure 2): V = ∫|x|² ρ in R³, N = 1000 uniform in [−1,1]³, h = 5e-4 (η = 0.5 in its convention), γ = 0.5, 5000 iterations.',
  runs: [
    { label: 'gradient', method: 'gradient', h: 5e-4 },
    { label: 'accelerated', method: 'accelerated', h: 5e-4, gamma: 'paper' },
    { label: 'steering', method: 'steering', h: 5e-4, gamma: 'paper' },
  ],
  steps: 5000,
  every: 10,
  snapshots: [0, 1000],
});

/**
 * The quadratic example at tuned parameters: λ_min = λ_max = 2, so the damping is critical,
 * γ = 2√2 ('auto'), and h = 0.25 = 1/(2λ) for every flow (the gradient flow halves the distance
 * to the minimiser each step; the condition number is 1, so no momentum method can beat it).
 */
export const tunedQuadraticPreset: Preset = presetFromConfig({
  ...quadraticPreset.config!,
  name: 'quadratic-tuned',
  description: 'V = ∫|x|² ρ in R³ at tuned parameters: h = 0.25 = 1/(2λ), γ = 2√2 (critical, gamma: \'auto\'); condition number 1, so the gradient flow is already optimal.',
  runs: [
    { label: 'gradient', method: 'gradient', h: 0.25 },
    { label: 'accelerated', method: 'accelerated', h: 0.25, gamma: 'auto' },
    { label: 'steering', method: 'steering', h: 0.25, gamma: 'auto' },
  ],
  steps: 60,
  every: 1,
  snapshots: [0, 5],
});

/**
 * Every preset of the `wgflow` command, by name, in the order `wgflow list` shows them. An
 * explicit list: no module registers presets as a side effect of being imported.
 */
export const PRESETS: Readonly<Record<string, Preset>> = Object.freeze({
  quadratic: quadraticPreset,
  'fokker-planck': fokkerPlanckPreset,
  picture: picturePreset,
  'paper-fp': paperFokkerPlanckPreset,
  'paper-quadratic': paperQuadraticPreset,
  'quadratic-tuned': tunedQuadraticPreset,
  main: mainPreset,
});

/** The recorded history of one run. */
export interface RunHistory {
  label: string;
  method: Method;
  steps: number[];
  energy: number[];
  residual: number[];
  kinetic: number[];
  h: number[];
  /** Per-term energies, by term label. */
  terms: Record<string, number[]>;
  /** Final positions. */
  final: Float32Array;
  finalStats: FlowStats;
  /** Wall time of the stepping (diagnostics excluded), ms. */
  stepMs: number;
}

/** Options of {@link runPreset}. */
export interface RunPresetOptions {
  n?: number;
  steps?: number;
  every?: number;
  /** Called after every recorded point. */
  onProgress?: (run: PresetRun, step: number, total: number, stats: FlowStats) => void;
  /** Positions snapshots to keep (step numbers), per run. */
  snapshots?: number[];
  onSnapshot?: (run: PresetRun, step: number, positions: Float32Array) => void;
  /** Only these run labels. */
  only?: string[];
}

/**
 * Runs every flow of a preset from the same start, recording diagnostics every `every` steps.
 * @example const histories = await runPreset(device, PRESETS.quadratic, { onProgress: (r, k, n) => console.log(r.label, k, n) });
 */
export async function runPreset(device: GPUDevice, preset: Preset, options: RunPresetOptions = {}): Promise<RunHistory[]> {
  const n = options.n ?? preset.n;
  const steps = options.steps ?? preset.steps;
  const every = options.every ?? preset.every;
  const x0 = preset.positions(n);
  const out: RunHistory[] = [];
  for (const run of preset.runs) {
    if (options.only && !options.only.includes(run.label)) continue;
    const flow: Flow = await createFlow(device, { dim: preset.dim, positions: x0, energy: preset.energy(), method: run.method, h: run.h, gamma: run.gamma, label: `wgflow.${preset.name}.${run.label}` });
    try {
      const hist: RunHistory = { label: run.label, method: run.method, steps: [], energy: [], residual: [], kinetic: [], h: [], terms: {}, final: new Float32Array(0), finalStats: undefined as unknown as FlowStats, stepMs: 0 };
      const record = (s: FlowStats) => {
        hist.steps.push(s.step);
        hist.energy.push(s.energy);
        hist.residual.push(s.residual);
        hist.kinetic.push(s.kinetic);
        hist.h.push(s.h);
        for (const [k, v] of Object.entries(s.terms)) (hist.terms[k] ??= []).push(v);
        options.onProgress?.(run, s.step, steps, s);
      };
      record(await flow.stats());
      const snaps = new Set(options.snapshots ?? []);
      if (snaps.has(0)) options.onSnapshot?.(run, 0, await flow.positions());
      let done = 0;
      while (done < steps) {
        const m = Math.min(every, steps - done);
        const t0 = performance.now();
        await flow.step(m);
        hist.stepMs += performance.now() - t0;
        done += m;
        record(await flow.stats());
        if (snaps.has(done)) options.onSnapshot?.(run, done, await flow.positions());
      }
      hist.final = await flow.positions();
      hist.finalStats = await flow.stats();
      out.push(hist);
    } finally {
      flow.destroy();
    }
  }
  return out;
}
