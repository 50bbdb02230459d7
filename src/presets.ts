/**
 * Presets: ready-made comparisons of the flows (the seed paper's numerical examples), used by
 * the `wgflow` command and by `npm start`. Browser-safe (no Node imports).
 */
import { createFlow, type Damping, type Flow, type FlowOptions, type FlowStats, type Method } from './flow.js';
import { quadratic } from './energies/potential.js';
import type { EnergyTerm } from './energies/types.js';
import { uniformBox } from './init.js';

/** One flow of a comparison. */
export interface PresetRun {
  label: string;
  method: Method;
  h: FlowOptions['h'];
  gamma?: Damping;
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
}

/**
 * The seed paper's first example: V(ρ) = ∫|x|² ρ in R³ (minimum 0, a Dirac at 0), N = 1000
 * points uniform in [−1, 1]³, compared across the three flows. Time convention: MATH.md's
 * (g carries the factor N), h = 0.05, γ = 0.5. The gradient flow contracts by (1 − 2h) a step.
 */
export const quadraticPreset: Preset = {
  name: 'quadratic',
  description: 'V = ∫|x|² ρ in R³ (minimum 0). N = 1000 uniform in [−1,1]³; h = 0.05 and γ = 0.5 in MATH.md\'s convention (g carries the factor N).',
  dim: 3,
  n: 1000,
  positions: (n) => uniformBox(n, 3, { low: -1, high: 1, seed: 1 }),
  energy: () => [quadratic()],
  runs: [
    { label: 'gradient', method: 'gradient', h: 0.05 },
    { label: 'accelerated', method: 'accelerated', h: 0.05, gamma: 0.5 },
    { label: 'steering', method: 'steering', h: 0.05, gamma: 0.5 },
  ],
  steps: 300,
  every: 1,
  fMin: 0,
};

/** All presets by name. Later modules register theirs with {@link registerPreset}. */
export const PRESETS: Record<string, Preset> = { quadratic: quadraticPreset };

/** Adds a preset to {@link PRESETS}. */
export function registerPreset(p: Preset): void {
  PRESETS[p.name] = p;
}

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
