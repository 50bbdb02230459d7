/**
 * Convergence comparison of the flows of a preset: every run of the preset (gradient,
 * accelerated, steering, ...) plus a FIRE 2.0 run, from the same start, checked every k steps
 * with `flow.stats()` (never inside the step loop), and for each the number of steps and the
 * wall time of GPU stepping (diagnostics excluded) needed to meet a convergence criterion.
 *
 * Criteria (see {@link CriterionSpec}, evaluated by {@link evaluateCriterion}):
 *
 * - **threshold** (presets with a known attainable minimum, e.g. `quadratic`, F_min = 0):
 *   the reported step t* is the first check at which |F − F_min| < tol (default 1e-3) and
 *   after which it stays below tol at every later check of the run. Accelerated flows
 *   oscillate (on a quadratic the whole cloud passes near 0 each half period), so a single
 *   dip below tol does not count; requiring it to stay below makes t* the step after which
 *   the run is converged. Because checks happen every k steps, the first step that meets the
 *   criterion lies in (t* − k, t*]; both ends are reported.
 * - **plateau** (presets whose energy is an estimate with no attainable known minimum, e.g.
 *   `fokker-planck`): per run, F_p = median of the energies at the checks in the last 10 % of
 *   the run (at least 3 checks); the band is `max(rtol·max(1, |F_p|), spread)`, rtol = 1e-3,
 *   where spread = max |F − F_p| over that window (so an estimator whose plateau is noisier
 *   than rtol gets a band as wide as its own final noise, not a never-met criterion); t* is
 *   the first check after which every later check stays within the band of F_p. If the window
 *   is still drifting (|median of its first half − median of its second half| > rtol·max(1,
 *   |F_p|)) the plateau is not established and the run counts as not converged: run longer.
 *
 * Node-only (it writes files, with the helpers of app/plot.ts): used by `wgflow compare`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFlow, type Damping, type FireOptions, type Flow, type FlowOptions, type Method } from '../src/index.js';
import type { Preset, PresetRun } from './presets.js';
import { lineChartSvg } from './plot.js';

/** A convergence criterion of {@link compareMethods}. */
export type CriterionSpec =
  | {
      kind: 'threshold';
      /** Known minimum. Default the preset's fMin (0 if absent). */
      fMin?: number;
      /** Absolute tolerance on |F − F_min|. Default 1e-3. */
      tol?: number;
    }
  | {
      kind: 'plateau';
      /** Relative tolerance: band = max(rtol·max(1, |F_p|), final spread). Default 1e-3. */
      rtol?: number;
      /** Fraction of the run (its last checks) that defines the plateau. Default 0.1. */
      window?: number;
    };

/**
 * A run of a comparison: a preset run, optionally with more flow options (fire,
 * maxDisplacement, restart, ...). Every field other than `label` is passed to createFlow.
 */
export type CompareRun = PresetRun & Partial<Omit<FlowOptions, 'dim' | 'positions' | 'energy' | 'label' | 'method' | 'h' | 'gamma'>>;

/** What {@link evaluateCriterion} concludes for one run. */
export interface CriterionResult {
  /** Whether the criterion was met (and, for a plateau, the plateau was established). */
  reached: boolean;
  /** First check step t* after which the criterion holds to the end of the run; null if never. */
  step: number | null;
  /** Smallest step that could meet it given the check interval: previous check + 1 (0 if t* = 0). */
  stepLowerBound: number | null;
  /** Index of t* in the recorded checks. */
  index: number | null;
  /** First check at which the criterion held at all (an oscillating flow may leave the band again afterwards); null if never. */
  firstStep: number | null;
  /** Whether t* lies in the last 10 % of the run, so that "stays" is confirmed by few checks only: run longer to be sure. */
  late?: boolean;
  /** Cumulative GPU stepping time up to t*, ms (null if not reached or no timings given). */
  ms: number | null;
  /** Reference value the distance is measured from (F_min, or the plateau F_p). */
  reference: number;
  /** Half-width of the band: tol, or the plateau band. */
  band: number;
  /** Plateau details (plateau criterion only). */
  plateau?: { value: number; spread: number; drift: number; windowChecks: number; established: boolean };
  /** Why it was not reached, if not. */
  note?: string;
}

/**
 * Applies a criterion to recorded checks (pure; no GPU). `steps[j]`, `energy[j]` are the
 * checks, `cumMs[j]` the cumulative stepping time up to `steps[j]` (optional).
 *
 * @example
 * evaluateCriterion([0, 5, 10], [1, 2e-3, 5e-4], { kind: 'threshold', fMin: 0, tol: 1e-3 }); // step 10, lower bound 6
 */
export function evaluateCriterion(steps: ArrayLike<number>, energy: ArrayLike<number>, spec: CriterionSpec, cumMs?: ArrayLike<number>): CriterionResult {
  const m = energy.length;
  if (steps.length !== m) throw new Error(`wgflow: compare: ${steps.length} steps but ${m} energies`);
  let reference: number, band: number;
  let plateau: CriterionResult['plateau'];
  if (spec.kind === 'threshold') {
    reference = spec.fMin ?? 0;
    band = spec.tol ?? 1e-3;
    if (!(band > 0)) throw new Error(`wgflow: compare: threshold tol must be > 0 (got ${band})`);
  } else {
    const rtol = spec.rtol ?? 1e-3;
    const frac = spec.window ?? 0.1;
    if (!(rtol > 0) || !(frac > 0 && frac <= 1)) throw new Error('wgflow: compare: plateau needs rtol > 0 and window in (0, 1]');
    const w = Math.min(m, Math.max(3, Math.ceil(frac * m)));
    const win = Array.from({ length: w }, (_, j) => energy[m - w + j]!);
    const value = median(win);
    const spread = win.reduce((s, e) => Math.max(s, Math.abs(e - value)), 0);
    const half = Math.floor(w / 2);
    const drift = w >= 2 ? Math.abs(median(win.slice(0, Math.max(1, half))) - median(win.slice(half))) : Infinity;
    const tolAbs = rtol * Math.max(1, Math.abs(value));
    reference = value;
    band = Math.max(tolAbs, spread);
    plateau = { value, spread, drift, windowChecks: w, established: Number.isFinite(value) && drift <= tolAbs && m >= 3 };
  }
  // Last check outside the band (non-finite counts as outside): t* is the check after it.
  let last = -1, first = -1;
  for (let j = 0; j < m; j++) {
    const e = energy[j]!;
    const ok = Number.isFinite(e) && (spec.kind === 'threshold' ? Math.abs(e - reference) < band : Math.abs(e - reference) <= band);
    if (!ok) last = j;
    else if (first < 0) first = j;
  }
  const base = { reference, band, plateau, firstStep: first >= 0 ? steps[first]! : null };
  if (m === 0) return { ...base, reached: false, step: null, stepLowerBound: null, index: null, ms: null, note: 'no checks recorded' };
  if (plateau && !plateau.established) {
    return { ...base, reached: false, step: null, stepLowerBound: null, index: null, ms: null, note: `no plateau: the energy still drifts by ${plateau.drift.toExponential(2)} over the last ${plateau.windowChecks} checks; run longer` };
  }
  if (last === m - 1) {
    return { ...base, reached: false, step: null, stepLowerBound: null, index: null, ms: null, note: `not within ${band.toExponential(2)} of ${reference} at the end of the run (step ${steps[m - 1]})` };
  }
  const index = last + 1;
  return {
    ...base,
    reached: true,
    step: steps[index]!,
    stepLowerBound: index === 0 ? steps[0]! : steps[index - 1]! + 1,
    index,
    ms: cumMs ? cumMs[index]! : null,
    ...(spec.kind === 'threshold' && m > 1 && steps[index]! - steps[0]! > 0.9 * (steps[m - 1]! - steps[0]!) ? { late: true } : {}),
  };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k]! : 0.5 * (s[k - 1]! + s[k]!);
}

/**
 * Default criterion of a preset: the preset's own `compare` field if it has one, plateau for
 * `fokker-planck` (its energy carries the k-NN entropy estimate, whose minimum is not
 * attainable to 1e-3), threshold |F − F_min| < 1e-3 when the preset knows F_min, plateau
 * otherwise.
 *
 * @example defaultCriterion(PRESETS.quadratic); // { kind: 'threshold', fMin: 0, tol: 1e-3 }
 */
export function defaultCriterion(preset: Preset): CriterionSpec {
  const own = (preset as Preset & { compare?: CriterionSpec }).compare;
  if (own && (own.kind === 'threshold' || own.kind === 'plateau')) return own.kind === 'threshold' ? { fMin: preset.fMin ?? 0, tol: 1e-3, ...own } : { rtol: 1e-3, window: 0.1, ...own };
  if (preset.name === 'fokker-planck' || preset.fMin === undefined) return { kind: 'plateau', rtol: 1e-3, window: 0.1 };
  return { kind: 'threshold', fMin: preset.fMin, tol: 1e-3 };
}

/** Options of the FIRE run {@link compareMethods} adds (all optional). */
export interface FireRunOptions {
  /** Initial step h₀. Default the preset's step (its gradient run's h, else its smallest h). */
  h?: number;
  /** Largest step. Default 10 h₀. */
  hMax?: number;
  /** Per-particle displacement cap per step (0: none). Default 0.1 × the RMS radius of the start about its mean. */
  maxDisplacement?: number;
  /** Other FIRE constants. Defaults: N_min 5, f_inc 1.1, f_dec 0.5, α_start 0.1, f_α 0.99. */
  fire?: FireOptions;
}

/**
 * The step of a preset: its gradient run's h, else the smallest fixed h of its runs, else (all
 * steps automatic) the largest automatic step `autoStep.hMax` (default 0.05).
 *
 * @example presetStep(PRESETS.quadratic); // 0.05
 */
export function presetStep(preset: Preset): number {
  const fixed = (r: PresetRun) => (typeof r.h === 'number' ? r.h : undefined);
  const g = preset.runs.find((r) => r.method === 'gradient' && fixed(r) !== undefined);
  if (g) return fixed(g)!;
  const hs = preset.runs.map(fixed).filter((h): h is number => h !== undefined);
  if (hs.length) return Math.min(...hs);
  const autos = preset.runs.map((r) => (r as { autoStep?: { hMax?: number } }).autoStep?.hMax ?? 0.05);
  return autos.length ? Math.max(...autos) : 0.05;
}

/** RMS distance of a cloud (N·dim) from its mean. */
function rmsRadius(x: ArrayLike<number>, dim: number): number {
  const n = x.length / dim;
  const mean = new Array<number>(dim).fill(0);
  for (let i = 0; i < n; i++) for (let c = 0; c < dim; c++) mean[c]! += x[i * dim + c]! / n;
  let s = 0;
  for (let i = 0; i < n; i++) for (let c = 0; c < dim; c++) s += (x[i * dim + c]! - mean[c]!) ** 2;
  return Math.sqrt(s / Math.max(1, n));
}

/**
 * The runs a comparison makes: the preset's runs, plus a FIRE run (label 'fire') if the preset
 * has none. FIRE: h₀ = the preset's step, h_max = 10 h₀, the usual FIRE 2.0 constants, and a
 * displacement cap of 0.1 × the start's RMS radius (it keeps a particle from jumping across the
 * cloud while the step grows; stiff estimator gradients such as the entropy's 1/r need it).
 *
 * @example compareRuns(PRESETS.quadratic, PRESETS.quadratic.positions(200)).map((r) => r.label); // gradient, accelerated, steering, fire
 */
export function compareRuns(preset: Preset, x0: ArrayLike<number>, fire: FireRunOptions | false = {}): CompareRun[] {
  const runs: CompareRun[] = preset.runs.map((r) => ({ ...r }));
  if (fire === false || runs.some((r) => r.method === 'fire')) return runs;
  const h0 = fire.h ?? presetStep(preset);
  const cap = fire.maxDisplacement ?? 0.1 * rmsRadius(x0, preset.dim);
  runs.push({
    label: 'fire', method: 'fire', h: h0,
    fire: { hMax: fire.hMax ?? 10 * h0, ...fire.fire },
    ...(cap > 0 ? { maxDisplacement: cap } : {}),
  });
  return runs;
}

/** The outcome of one run of a comparison. */
export interface CompareRunResult {
  label: string;
  method: Method;
  /** Initial step (or 'auto'). */
  h: number | 'auto';
  /** Damping as text (number, 'function' or the schedule). */
  gamma?: string;
  restart?: boolean;
  fire?: FireOptions;
  maxDisplacement?: number;
  criterion: CriterionResult;
  /** Steps run in all (more than the requested steps if the run was extended). */
  totalSteps: number;
  /** GPU stepping time of the whole run, ms (diagnostics excluded). */
  totalMs: number;
  /** totalMs / totalSteps. */
  msPerStep: number;
  finalEnergy: number;
  /** The error, if the flow failed (e.g. it diverged); the history up to it is kept. */
  error?: string;
  /** The checks: step, energy, current h, cumulative stepping ms. */
  history: { steps: number[]; energy: number[]; h: number[]; cumMs: number[] };
}

/** Result of {@link compareMethods}. */
export interface CompareReport {
  preset: string;
  description: string;
  dim: number;
  n: number;
  steps: number;
  /** Longest run allowed by extension. */
  maxSteps: number;
  /** Check interval k. */
  every: number;
  criterion: CriterionSpec & { text: string };
  /** Known minimum of the energy, if any (for plots). */
  fMin?: number;
  adapter?: string;
  runs: CompareRunResult[];
  /** Best runs by steps and by time, and every run's ratio to the best (null if not reached). */
  ranking: { bySteps?: string; byTime?: string; stepRatio: Record<string, number | null>; timeRatio: Record<string, number | null> };
}

/** Options of {@link compareMethods}. */
export interface CompareOptions {
  /** Particles. Default the preset's n. */
  n?: number;
  /** Steps per run. Default the preset's steps. */
  steps?: number;
  /**
   * A run that has not met the criterion after `steps` (or met it only within its last 10 %,
   * or whose plateau still drifts) goes on in chunks of ⌈steps/2⌉ up to this many steps.
   * Default 2 × steps; equal to steps: no extension.
   */
  maxSteps?: number;
  /** Check interval k (stats every k steps). Default 5. */
  every?: number;
  /** Default {@link defaultCriterion}(preset). */
  criterion?: CriterionSpec;
  /** The FIRE run, or false for none. */
  fire?: FireRunOptions | false;
  /** Run (and undo by checkpoint/restore) one check interval first so that first-submission costs are not timed. Default true. */
  warmup?: boolean;
  /** Only these run labels. */
  only?: string[];
  /** Adapter description, copied into the report. */
  adapter?: string;
  /** Called after every check. */
  onProgress?: (run: CompareRun, step: number, total: number, energy: number) => void;
}

/** One-line description of a criterion. */
export function criterionText(c: CriterionSpec): string {
  if (c.kind === 'threshold') {
    return `|F − F_min| < ${c.tol ?? 1e-3} (F_min = ${c.fMin ?? 0}) at a check and at every later check of the run`;
  }
  const r = c.rtol ?? 1e-3, w = c.window ?? 0.1;
  return `plateau: F_p = median of F over the last ${Math.round(w * 100)}% of the checks; first check after which |F − F_p| ≤ max(${r}·max(1,|F_p|), spread of that window) to the end; not reached if the window drifts by more than ${r}·max(1,|F_p|)`;
}

function gammaText(g: Damping | undefined): string | undefined {
  if (g === undefined) return undefined;
  if (typeof g === 'number') return String(g);
  if (typeof g === 'function') return 'function';
  if (typeof g === 'string') return g;
  return `inverse(c=${g.c}, t0=${g.t0 ?? 1}, floor=${g.floor ?? 0})`;
}

/**
 * Runs every flow of a comparison (the preset's runs plus FIRE, see {@link compareRuns}) from
 * the same start for `steps` steps (longer, up to `maxSteps`, for a run that has not settled),
 * recording `flow.stats()` every `every` steps and timing only the `flow.step()` calls, then
 * applies the criterion to each run.
 *
 * @example
 * const report = await compareMethods(device, PRESETS.quadratic, { n: 200, every: 5 });
 * for (const r of report.runs) console.log(r.label, r.criterion.step, r.criterion.ms);
 */
export async function compareMethods(device: GPUDevice, preset: Preset, options: CompareOptions = {}): Promise<CompareReport> {
  const n = options.n ?? preset.n;
  const steps = options.steps ?? preset.steps;
  const every = options.every ?? 5;
  if (!Number.isInteger(every) || every < 1) throw new Error(`wgflow: compare: every must be a positive integer (got ${every})`);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`wgflow: compare: steps must be a positive integer (got ${steps})`);
  const maxSteps = options.maxSteps ?? 2 * steps;
  if (!Number.isInteger(maxSteps) || maxSteps < steps) throw new Error(`wgflow: compare: maxSteps must be an integer ≥ steps (got ${maxSteps})`);
  const criterion = options.criterion ?? defaultCriterion(preset);
  const x0 = preset.positions(n);
  const runs = compareRuns(preset, x0, options.fire ?? {}).filter((r) => !options.only || options.only.includes(r.label));
  const results: CompareRunResult[] = [];
  for (const run of runs) {
    const history = { steps: [] as number[], energy: [] as number[], h: [] as number[], cumMs: [] as number[] };
    let cum = 0, error: string | undefined;
    let flow: Flow | undefined;
    try {
      const { label: _label, ...flowOptions } = run;
      flow = await createFlow(device, { ...flowOptions, dim: preset.dim, positions: x0, energy: preset.energy(), label: `wgflow.compare.${preset.name}.${run.label}` });
      if (options.warmup ?? true) {
        const cp = await flow.checkpoint();
        await flow.step(Math.min(every, steps));
        flow.restore(cp);
      }
      let target = steps;
      const record = async () => {
        const s = await flow!.stats();
        history.steps.push(s.step);
        history.energy.push(s.energy);
        history.h.push(s.h);
        history.cumMs.push(cum);
        options.onProgress?.(run, s.step, target, s.energy);
      };
      await record();
      let done = 0;
      for (;;) {
        while (done < target) {
          const m = Math.min(every, target - done);
          const t0 = performance.now();
          await flow.step(m);
          cum += performance.now() - t0;
          done += m;
          await record();
        }
        const c = evaluateCriterion(history.steps, history.energy, criterion);
        if ((c.reached && !c.late) || target >= maxSteps) break;
        target = Math.min(maxSteps, target + Math.ceil(steps / 2));
      }
    } catch (e) {
      error = (e as Error).message;
    } finally {
      flow?.destroy();
    }
    const crit = evaluateCriterion(history.steps, history.energy, criterion, history.cumMs);
    if (error) Object.assign(crit, { reached: false, step: null, stepLowerBound: null, index: null, ms: null, late: undefined, note: `failed: ${error}` });
    const total = history.steps.at(-1) ?? 0;
    results.push({
      label: run.label, method: run.method, h: run.h, gamma: gammaText(run.gamma),
      ...(run.restart ? { restart: true } : {}), ...(run.fire ? { fire: run.fire } : {}), ...(run.maxDisplacement ? { maxDisplacement: run.maxDisplacement } : {}),
      criterion: crit, totalSteps: total, totalMs: cum, msPerStep: total > 0 ? cum / total : NaN,
      finalEnergy: history.energy.at(-1) ?? NaN, ...(error ? { error } : {}), history,
    });
  }
  return {
    preset: preset.name, description: preset.description, dim: preset.dim, n, steps, maxSteps, every,
    criterion: { ...criterion, text: criterionText(criterion) },
    ...(preset.fMin !== undefined ? { fMin: preset.fMin } : {}),
    ...(options.adapter ? { adapter: options.adapter } : {}),
    runs: results, ranking: rank(results),
  };
}

function rank(runs: CompareRunResult[]): CompareReport['ranking'] {
  const ok = runs.filter((r) => r.criterion.reached);
  const best = (key: (r: CompareRunResult) => number) => ok.reduce<CompareRunResult | undefined>((b, r) => (!b || key(r) < key(b) ? r : b), undefined);
  const bs = best((r) => r.criterion.step!);
  const bt = best((r) => r.criterion.ms ?? Infinity);
  const ratio = (r: CompareRunResult, v: number | null, b: number | null | undefined) => (r.criterion.reached && v !== null && b ? v / b : null);
  return {
    bySteps: bs?.label, byTime: bt?.label,
    stepRatio: Object.fromEntries(runs.map((r) => [r.label, ratio(r, r.criterion.step, bs?.criterion.step)])),
    timeRatio: Object.fromEntries(runs.map((r) => [r.label, ratio(r, r.criterion.ms, bt?.criterion.ms)])),
  };
}

const fmt = (v: number | null | undefined, digits = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Number(v.toPrecision(digits)).toString());

/**
 * The comparison as a Markdown table (also readable as plain text), with the criterion and
 * the winner.
 *
 * @example console.log(compareTable(report));
 */
export function compareTable(report: CompareReport): string {
  const threshold = report.criterion.kind === 'threshold';
  const distHead = threshold ? 'final F − F_min' : 'plateau F_p';
  const head = ['flow', 'method', 'h', 'γ', 'steps to criterion', 'first in band', 'time to criterion (ms)', 'ms/step', distHead, 'steps run', 'steps vs best', 'time vs best'];
  const rows = report.runs.map((r) => {
    const c = r.criterion;
    const stepsCell = c.reached ? (c.stepLowerBound !== null && c.stepLowerBound < c.step! ? `${c.step} (${c.stepLowerBound}–${c.step})` : String(c.step)) + (c.late ? ' late' : '') : `not reached${r.error ? ' (failed)' : ''}`;
    const h = typeof r.h === 'number' ? fmt(r.h) : r.h;
    const extra = r.method === 'fire' ? `${h}→${fmt(r.fire?.hMax)}${r.maxDisplacement ? `, cap ${fmt(r.maxDisplacement, 2)}` : ''}` : h;
    const sr = report.ranking.stepRatio[r.label], tr = report.ranking.timeRatio[r.label];
    return [
      r.label, r.method, extra, r.gamma ?? '—', stepsCell, c.firstStep === null ? '—' : String(c.firstStep), c.reached ? fmt(c.ms, 4) : '—', fmt(r.msPerStep),
      threshold ? fmt(r.finalEnergy - (report.criterion.kind === 'threshold' ? report.criterion.fMin ?? 0 : 0)) : fmt(c.plateau?.value, 6), String(r.totalSteps),
      sr === null || sr === undefined ? '—' : `×${sr.toFixed(2)}`, tr === null || tr === undefined ? '—' : `×${tr.toFixed(2)}`,
    ];
  });
  const widths = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`;
  const out = [
    `## ${report.preset}: convergence comparison (N = ${report.n}, d = ${report.dim}, ${report.steps} steps, extended up to ${report.maxSteps} where not settled, checked every ${report.every})`,
    '',
    `Criterion: ${report.criterion.text}.`,
    'Steps: the first check meeting it (in parentheses the range the true first step lies in; "late": within the last 10 % of the run, run longer to confirm). ' +
      'First in band: the first check inside the band at all (oscillating flows leave it again). Time: GPU stepping only, diagnostics excluded.',
    ...(report.adapter ? [`Adapter: ${report.adapter}.`] : []),
    '',
    line(head),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
    '',
  ];
  const { bySteps, byTime } = report.ranking;
  if (bySteps) {
    const others = report.runs.filter((r) => r.label !== bySteps && r.criterion.reached).map((r) => `${r.label} ×${report.ranking.stepRatio[r.label]!.toFixed(2)}`);
    out.push(`Fewest steps: **${bySteps}**${others.length ? ` (others: ${others.join(', ')})` : ''}.`);
  }
  if (byTime) {
    const others = report.runs.filter((r) => r.label !== byTime && r.criterion.reached && report.ranking.timeRatio[r.label] !== null).map((r) => `${r.label} ×${report.ranking.timeRatio[r.label]!.toFixed(2)}`);
    out.push(`Least time: **${byTime}**${others.length ? ` (others: ${others.join(', ')})` : ''}.`);
  }
  for (const r of report.runs) if (!r.criterion.reached) out.push(`${r.label}: ${r.criterion.note ?? 'not reached'}.`);
  return out.join('\n') + '\n';
}

/**
 * SVG of the convergence: for a threshold criterion F − F_min, for a plateau |F − F_p| (each
 * run's own plateau), on a log axis against iteration, with the criterion's band as a grey
 * line. With `againstFMin` and a known F_min, F − F_min whatever the criterion (non-positive
 * values leave gaps). Values below 10⁻⁶ × the band are drawn at that floor (the gradient and
 * FIRE flows of a quadratic go on to 1e-30 and below, which would squeeze the part that
 * matters), and the title says so.
 *
 * @example await writeFile('out/quadratic-compare.svg', compareChartSvg(report));
 */
export function compareChartSvg(report: CompareReport, againstFMin = false): string {
  const threshold = report.criterion.kind === 'threshold';
  const useFMin = threshold || againstFMin;
  const fMin = report.criterion.kind === 'threshold' ? report.criterion.fMin ?? 0 : report.fMin ?? 0;
  const bands = report.runs.map((r) => r.criterion.band).filter((b) => b > 0 && Number.isFinite(b));
  const band = threshold ? (report.criterion.kind === 'threshold' ? report.criterion.tol ?? 1e-3 : 1e-3) : bands.length ? Math.min(...bands) : NaN;
  const floor = Number.isFinite(band) ? band * 1e-6 : 0;
  let clipped = false;
  const clip = (v: number) => {
    if (Number.isFinite(v) && v > 0 && v < floor) {
      clipped = true;
      return floor;
    }
    return v;
  };
  const series = report.runs.map((r) => ({
    name: r.label,
    x: r.history.steps,
    y: r.history.energy.map((e) => clip(useFMin ? e - fMin : Math.abs(e - r.criterion.reference))),
  }));
  const xMax = Math.max(0, ...report.runs.map((r) => r.history.steps.at(-1) ?? 0));
  const bandSeries = (useFMin && !threshold) || !Number.isFinite(band) ? [] : [{ name: threshold ? `tol ${fmt(band)}` : `band ${fmt(band)}`, x: [0, xMax], y: [band, band], color: '#999999' }];
  return lineChartSvg({
    title: `${report.preset}: ${useFMin ? `energy − F_min (F_min = ${fmt(fMin, 6)})` : '|energy − plateau|'} against iteration${clipped ? ` (floor ${fmt(floor)})` : ''}`,
    xLabel: 'iteration',
    yLabel: useFMin ? 'F − F_min' : '|F − F_p|',
    logY: true,
    series: [...series, ...bandSeries],
  });
}

/**
 * Writes `<preset>-compare.json`, `-compare.md` and `-compare.svg` (plus `-compare-fmin.svg`
 * for a plateau criterion on a preset with a known F_min) to `dir`; returns the paths.
 *
 * @example const paths = await writeCompareOutputs(report, 'out');
 */
export async function writeCompareOutputs(report: CompareReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const base = join(dir, `${report.preset}-compare`);
  const paths = [`${base}.json`, `${base}.md`, `${base}.svg`];
  await writeFile(paths[0]!, JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2));
  await writeFile(paths[1]!, compareTable(report));
  await writeFile(paths[2]!, compareChartSvg(report));
  if (report.criterion.kind === 'plateau' && report.fMin !== undefined) {
    paths.push(`${base}-fmin.svg`);
    await writeFile(paths[3]!, compareChartSvg(report, true));
  }
  return paths;
}
