/**
 * Runs a flow until it has converged, by a criterion on what `flow.stats()` reports, checked
 * every `every` steps (never inside the step loop):
 *
 * - **Criterion** ({@link ConvergenceCriterion}): every per-axis variance within
 *   `variance ± varianceTol` (default 0.50 ± 0.02) and the energy within `energyTol` (0.01) of
 *   its plateau. The plateau is only known once the run has settled, so the run stops when the
 *   checks of its last `window` (20 %) of flow time, and at least `minWindowTime` (0.3) of it,
 *   all meet the variance band, stay within `energyTol` of their mean, and do not drift (the
 *   means of the window's two halves differ by at most `energyTol`/2). The plateau is then that
 *   mean, and the reported step is the first check after which every check meets the criterion
 *   (the definition the issue uses, applied to the recorded checks).
 * - **Step cap**: a run that has not settled by `maxSteps` stops there and is reported with how
 *   far it got and the steps it would need, extrapolated ({@link extrapolate}); a run whose
 *   extrapolation already lies far beyond the cap stops early (`projectStop`).
 *
 * Flow time t = Σ h over the steps (`stats().time`, summed on the GPU at every step). Node or
 * browser: no file access here.
 */
import { createFlow, type EnergyTerm, type FlowOptions, type FlowStats } from '../src/index.js';

/** The convergence criterion of {@link runToConvergence}. */
export interface ConvergenceCriterion {
  /** Target per-axis variance. Default 0.5. */
  variance?: number;
  /** Half-width of the variance band, in (0, variance). Default 0.02. */
  varianceTol?: number;
  /** Largest distance of the energy from its plateau, > 0. Default 0.01. */
  energyTol?: number;
  /** Confirmation window: this fraction of the flow time so far, in (0, 1). Default 0.2. */
  window?: number;
  /** Least flow time of the confirmation window, ≥ 0. Default 0.3. */
  minWindowTime?: number;
}

/** A criterion with every default applied. */
export type Criterion = Required<ConvergenceCriterion>;

/** Defaults of {@link ConvergenceCriterion}. */
export const CRITERION_DEFAULTS: Criterion = { variance: 0.5, varianceTol: 0.02, energyTol: 0.01, window: 0.2, minWindowTime: 0.3 };

/**
 * Checks a criterion and applies its defaults; throws `wgflow: converge: ...` naming a value
 * outside its range.
 *
 * @example resolveCriterion({ varianceTol: 0.05 }); // { variance: 0.5, varianceTol: 0.05, energyTol: 0.01, window: 0.2, minWindowTime: 0.3 }
 */
export function resolveCriterion(c: ConvergenceCriterion = {}): Criterion {
  const r = { ...CRITERION_DEFAULTS, ...Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) } as Criterion;
  const fail = (m: string): never => {
    throw new Error(`wgflow: converge: ${m}`);
  };
  if (!(Number.isFinite(r.variance) && r.variance > 0)) fail(`criterion variance must be a finite number > 0 (got ${r.variance})`);
  if (!(Number.isFinite(r.varianceTol) && r.varianceTol > 0 && r.varianceTol < r.variance)) fail(`criterion varianceTol must be in (0, variance = ${r.variance}) (got ${r.varianceTol})`);
  if (!(Number.isFinite(r.energyTol) && r.energyTol > 0)) fail(`criterion energyTol must be a finite number > 0 (got ${r.energyTol})`);
  if (!(r.window > 0 && r.window < 1)) fail(`criterion window must be in (0, 1) (got ${r.window})`);
  if (!(Number.isFinite(r.minWindowTime) && r.minWindowTime >= 0)) fail(`criterion minWindowTime must be a finite number ≥ 0 (got ${r.minWindowTime})`);
  return r;
}

/** One check of a run. */
export interface Check {
  step: number;
  /** Flow time Σ h. */
  time: number;
  energy: number;
  /** Per-axis variances. */
  variance: number[];
  residual: number;
  kinetic: number;
  h: number;
  gamma: number;
  restarts: number;
  /** Cumulative GPU stepping time, ms (diagnostics excluded). */
  ms: number;
}

/** The criterion's verdict on recorded checks. */
export interface Verdict {
  /** The confirmation window settled (the run may stop). */
  settled: boolean;
  /** Mean energy of the window (the plateau, when settled). */
  plateau: number;
  /** Index of the first check of the window. */
  windowStart: number;
  /** The first check after which every check meets the criterion (when settled), else null. */
  index: number | null;
}

const inBand = (c: Check, k: Criterion) => c.variance.every((v) => Math.abs(v - k.variance) <= k.varianceTol);

/**
 * Applies the criterion to the checks so far (pure). See the module header.
 *
 * @example judge(checks, resolveCriterion()).settled
 */
export function judge(checks: readonly Check[], k: Criterion): Verdict {
  const m = checks.length;
  if (m === 0) return { settled: false, plateau: NaN, windowStart: 0, index: null };
  const tEnd = checks[m - 1]!.time;
  const span = Math.max(k.window * tEnd, k.minWindowTime);
  let w0 = m - 1;
  while (w0 > 0 && checks[w0 - 1]!.time >= tEnd - span) w0--;
  const win = checks.slice(w0);
  const mean = (a: readonly Check[]) => a.reduce((s, c) => s + c.energy, 0) / a.length;
  const plateau = mean(win);
  const half = Math.floor(win.length / 2);
  const settled = checks[0]!.time <= tEnd - span && win.length >= 10 && win.every((c) => inBand(c, k) && Math.abs(c.energy - plateau) <= k.energyTol)
    && Math.abs(mean(win.slice(0, half)) - mean(win.slice(half))) <= k.energyTol / 2;
  let index: number | null = null;
  if (settled) {
    index = m - 1;
    while (index > 0 && inBand(checks[index - 1]!, k) && Math.abs(checks[index - 1]!.energy - plateau) <= k.energyTol) index--;
  }
  return { settled, plateau, windowStart: w0, index };
}

/** Where a run that has not converged is heading, from the trend of its last half. */
export interface Extrapolation {
  /** Projected steps to meet the criterion at the current step size, or null if it cannot be said. */
  steps: number | null;
  /** Projected flow time. */
  time: number | null;
  /** The fitted energy limit, and the rates of the energy and of the variance's approach to its band. */
  fit?: { energy: number; energyRate: number; varianceRate: number };
  /** How it was obtained, or why not. */
  note: string;
}

/**
 * Projects when a run would meet the criterion, from its last half: the energy as
 * E∞ + A e^{−κt} (through the means of three equal flow-time thirds), the distance
 * d = max_a |var_a − variance| as e^{−κ_v t} (least squares on log d). It needs the energy to be
 * within energyTol/2 of E∞ and d within varianceTol/2; steps = current step + (t_need − t)/h at
 * the current h. Null steps, with the reason, when either trend is not a monotone decay.
 *
 * @example extrapolate(run.checks, resolveCriterion()).steps
 */
export function extrapolate(checks: readonly Check[], k: Criterion): Extrapolation {
  const m = checks.length;
  if (m < 12) return { steps: null, time: null, note: 'too few checks to extrapolate' };
  const last = checks[m - 1]!;
  const half = checks.slice(Math.floor(m / 2));
  const tb = last.time;
  // Three consecutive groups of as many checks (equally spaced in time at a steady step): for
  // y = y∞ + A e^{−κt} their means differ by the ratio e^{−κ Δ}, Δ the spacing of their mean times.
  const n3 = Math.floor(half.length / 3);
  const parts = [0, 1, 2].map((j) => half.slice(half.length - (3 - j) * n3, half.length - (2 - j) * n3));
  const mean = (p: Check[], f: (c: Check) => number) => p.reduce((s, c) => s + f(c), 0) / p.length;
  const [t1, t2, t3] = parts.map((p) => mean(p, (c) => c.time)) as [number, number, number];
  const dt = (t3 - t1) / 2;
  if (!(dt > 0) || Math.abs(t3 - t2 - (t2 - t1)) > 0.25 * dt) return { steps: null, time: null, note: 'the step size changed too much over the last half to extrapolate' };
  const [e1, e2, e3] = parts.map((p) => mean(p, (c) => c.energy)) as [number, number, number];
  const r = (e2 - e3) / (e1 - e2);
  if (!(r > 0 && r < 1)) return { steps: null, time: null, note: 'the energy does not decay monotonically over the last half (oscillating or at its noise floor): no extrapolation' };
  const energyRate = -Math.log(r) / dt;
  const eInf = e3 - ((e2 - e3) * r) / (1 - r);
  // An underdamped run swings through the target: its distance is no exponential decay.
  const crossed = last.variance.some((_, a) => half.some((c) => Math.sign(c.variance[a]! - k.variance) !== Math.sign(half[0]!.variance[a]! - k.variance)));
  if (crossed) return { steps: null, time: null, note: 'the variance swings through its target over the last half (an oscillation): no extrapolation' };
  // Variance: log-linear least squares of the distance to the target.
  const dist = (c: Check) => Math.max(...c.variance.map((v) => Math.abs(v - k.variance)));
  const pts = half.filter((c) => dist(c) > 0).map((c) => [c.time, Math.log(dist(c))] as const);
  const mt = pts.reduce((s, p) => s + p[0], 0) / pts.length, my = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  const slope = pts.reduce((s, p) => s + (p[0] - mt) * (p[1] - my), 0) / Math.max(1e-300, pts.reduce((s, p) => s + (p[0] - mt) ** 2, 0));
  const varianceRate = -slope;
  const dNow = dist(last);
  if (!(varianceRate > 0) && dNow > k.varianceTol / 2) return { steps: null, time: null, fit: { energy: eInf, energyRate, varianceRate }, note: 'the variance does not approach its band over the last half: no extrapolation' };
  // The energy near the last group's mean time is e3; it is within tol/2 after ln(|e3 − E∞|/(tol/2))/κ.
  const tE = t3 + Math.max(0, Math.log(Math.abs(e3 - eInf) / (k.energyTol / 2)) / energyRate);
  const tV = dNow <= k.varianceTol / 2 ? tb : tb + Math.log(dNow / (k.varianceTol / 2)) / varianceRate;
  const time = Math.max(tb, tE, tV);
  const steps = Math.round(last.step + (time - tb) / last.h);
  return {
    steps, time, fit: { energy: eInf, energyRate, varianceRate },
    note: `E → ${eInf.toFixed(3)} at rate ${energyRate.toPrecision(2)}, variance distance at rate ${varianceRate.toPrecision(2)} per unit flow time, over the last half; at h = ${last.h.toPrecision(2)}`,
  };
}

/** One flow of a convergence job: createFlow options beyond the problem's. */
export interface ConvergenceRunSpec {
  label: string;
  options: Omit<FlowOptions, 'dim' | 'positions' | 'energy' | 'label'>;
}

/** The problem all flows of a job start from. */
export interface ConvergenceProblem {
  name: string;
  dim: number;
  positions: Float32Array;
  energy: () => EnergyTerm[];
}

/** Options of {@link runToConvergence}. */
export interface RunToConvergenceOptions {
  /** Check interval (steps). Default 10. */
  every?: number;
  /** Step cap, a positive integer. */
  maxSteps: number;
  /**
   * Run exactly maxSteps (no stop at convergence, no early stop): the paper's fixed iteration
   * counts. Default false.
   */
  fixedSteps?: boolean;
  /** Stop early when the extrapolation lies beyond this many times the cap (checked every 10 % of the cap after its first quarter). Default 2; 0: never. */
  projectStop?: number;
  criterion?: ConvergenceCriterion;
  /** Steps (multiples of `every`) whose positions are kept. */
  snapshots?: number[];
  /** Called after every check. */
  onCheck?: (check: Check, cap: number) => void;
}

/** What {@link runToConvergence} reports for one flow. */
export interface ConvergenceRun {
  label: string;
  method: string;
  /** The `h` option as given. */
  hOption: number | 'auto';
  /** The `gamma` option as given (text), and the damping the flow used. */
  gammaOption: string;
  gamma: number;
  /** The run's FIRE and automatic-step options as text, when it gives any ('' otherwise). */
  settings: string;
  checks: Check[];
  /** Converged: step, flow time, stepping ms at that step, plateau. */
  converged: { step: number; time: number; ms: number; plateau: number } | null;
  /** Why the run ended. */
  stop: 'converged' | 'cap' | 'projected' | 'fixed' | 'failed';
  /** For a run that did not converge: where it is heading. */
  extrapolation?: Extrapolation;
  /** Kept positions by step (the last one included). */
  snapshots: { step: number; time: number; positions: Float32Array }[];
  finalStats: FlowStats | null;
  /** Wall time of the whole run (stepping and checks), ms. */
  wallMs: number;
  error?: string;
}

function variances(s: FlowStats, dim: number): number[] {
  return Array.from({ length: dim }, (_, a) => s.covariance[a * dim + a]!);
}

/** `fire` and `autoStep` options as text ('fire.power centred, fire.grace 300, autoStep.fraction 0.025'). */
function settingsText(o: Partial<FlowOptions>): string {
  const parts: string[] = [];
  for (const key of ['fire', 'autoStep'] as const) {
    for (const [k, v] of Object.entries(o[key] ?? {})) parts.push(`${key}.${k} ${String(v)}`);
  }
  return parts.join(', ');
}

function gammaText(g: FlowOptions['gamma']): string {
  if (g === undefined) return 'default';
  if (typeof g === 'number' || typeof g === 'string') return String(g);
  if (typeof g === 'function') return 'function';
  return `inverse(c=${g.c})`;
}

/**
 * Runs one flow of a problem until the criterion settles, the cap, or (with fixedSteps) exactly
 * maxSteps; see the module header. A flow that throws (e.g. diverges) is reported with
 * `stop: 'failed'` and the checks up to it.
 *
 * @example const run = await runToConvergence(device, problem, { label: 'accelerated', options: { method: 'accelerated', h: 'auto' } }, { maxSteps: 3000 });
 */
export async function runToConvergence(device: GPUDevice, problem: ConvergenceProblem, spec: ConvergenceRunSpec, o: RunToConvergenceOptions): Promise<ConvergenceRun> {
  const every = o.every ?? 10;
  if (!Number.isInteger(every) || every < 1) throw new Error(`wgflow: converge: every must be a positive integer (got ${every})`);
  if (!Number.isInteger(o.maxSteps) || o.maxSteps < 1) throw new Error(`wgflow: converge: the step cap must be a positive integer (got ${o.maxSteps})`);
  const projectStop = o.projectStop ?? 2;
  if (!(projectStop === 0 || projectStop >= 1)) throw new Error(`wgflow: converge: projectStop must be 0 or ≥ 1 (got ${projectStop})`);
  const k = resolveCriterion(o.criterion);
  const snaps = new Set(o.snapshots ?? []);
  const t0 = performance.now();
  const out: ConvergenceRun = {
    label: spec.label, method: spec.options.method ?? 'gradient', hOption: spec.options.h, gammaOption: gammaText(spec.options.gamma), gamma: NaN,
    settings: settingsText(spec.options),
    checks: [], converged: null, stop: 'cap', snapshots: [], finalStats: null, wallMs: 0,
  };
  const flow = await createFlow(device, { ...spec.options, dim: problem.dim, positions: problem.positions, energy: problem.energy(), label: `wgflow.converge.${problem.name}.${spec.label}` });
  try {
    let ms = 0, lastProjection: number | null = null;
    const record = async () => {
      const s = await flow.stats();
      const time = s.time;
      const c: Check = { step: s.step, time, energy: s.energy, variance: variances(s, problem.dim), residual: s.residual, kinetic: s.kinetic, h: s.h, gamma: s.gamma, restarts: s.restarts, ms };
      out.checks.push(c);
      out.finalStats = s;
      if (s.step > 0) out.gamma = s.gamma;
      if (snaps.has(s.step)) out.snapshots.push({ step: s.step, time, positions: await flow.positions() });
      o.onCheck?.(c, o.maxSteps);
      return c;
    };
    await record();
    for (let done = 0; done < o.maxSteps;) {
      const m = Math.min(every, o.maxSteps - done);
      const ta = performance.now();
      await flow.step(m);
      ms += performance.now() - ta;
      done += m;
      await record();
      if (o.fixedSteps) continue;
      if (judge(out.checks, k).settled) {
        out.stop = 'converged';
        break;
      }
      // Early stop: the projection lies beyond projectStop × the cap at two successive looks.
      const look = Math.max(every, Math.round(o.maxSteps / 10 / every) * every);
      if (projectStop > 0 && done >= o.maxSteps / 4 && done % look === 0) {
        const e = extrapolate(out.checks, k);
        const far = e.steps !== null && e.steps > projectStop * o.maxSteps;
        if (far && lastProjection !== null && e.steps! < 1.5 * lastProjection && e.steps! > lastProjection / 1.5) {
          out.stop = 'projected';
          break;
        }
        lastProjection = far ? e.steps : null;
      }
    }
    if (o.fixedSteps) out.stop = 'fixed';
    const last = out.checks.at(-1)!;
    if (!out.snapshots.some((s) => s.step === last.step)) out.snapshots.push({ step: last.step, time: last.time, positions: await flow.positions() });
  } catch (e) {
    out.stop = 'failed';
    out.error = (e as Error).message;
  } finally {
    flow.destroy();
  }
  const v = judge(out.checks, k);
  if (v.settled && v.index !== null) {
    const c = out.checks[v.index]!;
    out.converged = { step: c.step, time: c.time, ms: c.ms, plateau: v.plateau };
  } else if (out.stop !== 'failed') {
    out.extrapolation = extrapolate(out.checks, k);
  }
  out.wallMs = performance.now() - t0;
  return out;
}
