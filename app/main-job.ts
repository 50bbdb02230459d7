/**
 * The main job (`npm start` = `wgflow converge`): the Fokker–Planck comparison of the gradient,
 * accelerated, steering and FIRE flows from the two-quadrant start, each run to convergence
 * (app/converge.ts: per-axis variance 0.50 ± 0.02 and the energy within 0.01 of its plateau),
 * with a progress bar, and the outputs a person reads, like the seed paper's figures 3 and 4:
 *
 * - `<preset>-snapshots.png|.svg`: per flow a row of particle snapshots after 0, 500, 1000, 2000
 *   and 5000 iterations (or the last one), coloured by iteration, titles naming flow, h and γ;
 * - `<preset>-convergence.png|.svg`: energy above the lowest plateau and residual ⟨|g|²⟩ against
 *   iteration, log axes, one line per flow;
 * - `<preset>-convergence.csv` (every check of every flow), `<preset>-report.json` (everything),
 *   `<preset>-table.md` (the table printed at the end: steps, flow time and wall time to
 *   converge, final variance, plateau; for a flow that did not converge, how far it got and the
 *   steps it would need, extrapolated).
 *
 * The particle count is chosen from the adapter (10⁴ on a GPU, 10³ on a CPU fallback adapter)
 * and stated; the step cap scales with √(N/10³), like the steps the damped flows need.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runToConvergence, resolveCriterion, type ConvergenceCriterion, type ConvergenceRun, type Criterion } from './converge.js';
import { figurePng, figureSvg, lineChart, snapshotGrid, type SnapshotPanel } from './figure.js';
import { createProgress, type Progress } from './progress.js';
import type { Preset } from './presets.js';

/** Default particle count: 10⁴ on a GPU, 10³ on a CPU fallback adapter. */
export function defaultSize(fallback: boolean): number {
  return fallback ? 1000 : 10000;
}

/** Default step cap for N particles: the preset's steps × √(N / preset N), a multiple of 10. */
export function defaultCap(preset: Preset, n: number): number {
  return preset.converge?.fixedSteps ? preset.steps : Math.max(10, Math.round((preset.steps * Math.sqrt(n / preset.n)) / 10) * 10);
}

/**
 * FIRE's settings in the main job where the preset's FIRE run uses `h: 'auto'` (the k-NN
 * energies), measured in docs/convergence.md ("FIRE"): FIRE 2.0's defaults reset at every step
 * once the particles sit on the 1-NN estimator's kinks and never converge. The centred power
 * removes the −(h/2)Σ|f|² bias of FIRE 2.0's P, the grace stops a reset from triggering the
 * next, the small α_start stops the mixing (whose force direction the chatter dominates) from
 * acting as a friction α/h on the smooth modes, and the fraction sets the step.
 */
export const MAIN_JOB_FIRE = { autoStep: { fraction: 0.025 }, fire: { power: 'centred', grace: 300, alphaStart: 0.005 } } as const;

/** Options of {@link runMainJob}. */
export interface MainJobOptions {
  /** Particles. Default {@link defaultSize}. */
  n?: number;
  /** Step cap per flow, a positive integer. Default {@link defaultCap}. */
  maxSteps?: number;
  /** Check interval. Default the preset's `every`. */
  every?: number;
  criterion?: ConvergenceCriterion;
  /** Only these flows (labels). */
  only?: string[];
  /**
   * FIRE with `h: 'auto'`: 'tuned' ({@link MAIN_JOB_FIRE}, the default) or 'fire2' (FIRE 2.0's
   * defaults, which reset at every step on this energy).
   */
  fire?: 'tuned' | 'fire2';
  /** Whether the adapter is a CPU fallback (for the default size and the statement). */
  fallback: boolean;
  /** Adapter description, copied into the report. */
  adapter: string;
  /** Output folder; nothing is written when absent. */
  out?: string;
  /** Progress display. Default a new one on stderr. */
  progress?: Progress;
  /** Lines of text (the statement, the table). Default console.log. */
  log?: (line: string) => void;
}

/** Result of {@link runMainJob}. */
export interface MainJobReport {
  preset: string;
  description: string;
  n: number;
  /** Why this N. */
  sizeNote: string;
  maxSteps: number;
  every: number;
  criterion: Criterion & { text: string };
  adapter: string;
  runs: ConvergenceRun[];
  /** Wall time of the job, ms. */
  wallMs: number;
  /** Written files. */
  files: string[];
}

/** The criterion in words (printed and written). */
export function criterionText(k: Criterion): string {
  return `converged = every per-axis variance within ${k.variance} ± ${k.varianceTol} and the energy within ${k.energyTol} of its plateau, ` +
    `from the reported step to the end; the run stops once its last ${Math.round(k.window * 100)} % of flow time (at least ${k.minWindowTime}) holds that, ` +
    `with the plateau = the mean energy there`;
}

const g3 = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Number(v.toPrecision(3)).toString());

/** h as text: the option, and for 'auto' the step at the end. */
function stepText(r: ConvergenceRun): string {
  const last = r.checks.at(-1);
  return r.hOption === 'auto' ? `auto (${g3(last?.h)} at the end)` : g3(r.hOption);
}

/** A run's settings in a snapshot heading: 'centred P, grace 300, α_start 0.005, f 0.025'. */
function shortSettings(settings: string): string {
  return settings.replace('fire.power centred', 'centred P').replace('autoStep.fraction', 'f').replace(/fire\.|autoStep\./g, '').replace('alphaStart', 'α_start');
}

function gammaText(r: ConvergenceRun): string {
  if (r.method === 'gradient' || r.method === 'fire') return '—';
  return r.gammaOption === 'default' || r.gammaOption === 'auto' ? `${g3(r.gamma)} (2√λ_min)` : g3(r.gamma);
}

/** The table of a report (Markdown, readable as text). */
export function mainJobTable(rep: MainJobReport): string {
  const head = ['flow', 'h', 'γ', 'converged at step', 'flow time', 'wall s (stepping)', 'final variance', 'plateau', 'stopped', 'note'];
  const rows = rep.runs.map((r) => {
    const last = r.checks.at(-1)!;
    const c = r.converged;
    const e = r.extrapolation;
    const settings = r.settings ? `${r.settings}. ` : '';
    const note = settings + (r.error ? `failed: ${r.error}` : c ? '' : e?.steps != null ? `needs ≈ ${e.steps} steps (t ≈ ${g3(e.time)}), extrapolated: ${e.note}` : e ? e.note : '');
    return [r.label, stepText(r), gammaText(r), c ? String(c.step) : `not within ${last.step}`, c ? g3(c.time) : `${g3(last.time)} so far`,
      c ? (c.ms / 1000).toFixed(1) : `${(last.ms / 1000).toFixed(1)} so far`, last.variance.map((v) => v.toFixed(3)).join(' / '),
      c ? c.plateau.toFixed(4) : `${last.energy.toFixed(4)} (last)`, `${r.stop} at ${last.step}`, note];
  });
  const widths = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`;
  return [
    `## ${rep.preset}: time to solution (N = ${rep.n}, d = 2, step cap ${rep.maxSteps}, checked every ${rep.every} steps)`,
    '',
    `${rep.sizeNote}`,
    `Criterion: ${rep.criterion.text}.`,
    `Adapter: ${rep.adapter}.`,
    '',
    line(head),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
    '',
  ].join('\n');
}

/**
 * The tuned run beside the paper's setting (npm start), per flow: settings, where it converged
 * (or how far it got) and the final variance.
 */
export function besideTable(tuned: MainJobReport, paper: MainJobReport): string {
  const k = tuned.criterion;
  const cell = (rep: MainJobReport, label: string) => {
    const r = rep.runs.find((x) => x.label === label);
    if (!r) return ['not run', '', ''];
    const last = r.checks.at(-1)!;
    const h = stepText(r), gam = gammaText(r);
    const where = r.error ? `failed: ${r.error}` : r.converged ? `converged at step ${r.converged.step} (t = ${g3(r.converged.time)})` :
      `not within ${last.step}${r.extrapolation?.steps != null ? ` (needs ≈ ${r.extrapolation.steps})` : ''}`;
    return [`h = ${h}${gam === '—' ? '' : `, γ = ${gam}`}`, where, last.variance.map((v) => v.toFixed(3)).join(' / ')];
  };
  const labels = [...new Set([...tuned.runs.map((r) => r.label), ...paper.runs.map((r) => r.label)])];
  const rows = labels.map((l) => [l, ...cell(tuned, l), ...cell(paper, l)]);
  const head = ['flow', 'tuned: settings', 'tuned: result', 'tuned: final variance', "paper's setting", "paper's: result", "paper's: final variance"];
  const widths = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`;
  return [
    `## ${tuned.preset} (N = ${tuned.n}, the tuned defaults) beside ${paper.preset} (N = ${paper.n}, the paper's setting)`,
    '',
    `Criterion of both: ${criterionText(k)}.`,
    '',
    line(head),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

/** The snapshot grid (figure 3) of a report. */
export function snapshotFigure(rep: MainJobReport, columns: number[]) {
  const k = rep.criterion;
  return snapshotGrid({
    title: `${rep.preset}: particles by iteration (N = ${rep.n})`,
    subtitle: `colour = iteration (column); converged = per-axis variance ${k.variance} ± ${k.varianceTol} and |F − plateau| ≤ ${k.energyTol}; t = flow time Σh`,
    box: [-2.5, 2.5, -2.5, 2.5],
    radius: rep.n > 5000 ? 0.6 : 1.1,
    rows: rep.runs.map((r) => {
      const last = r.snapshots.at(-1);
      // A run that stopped before an iteration shows its final state in the first such column.
      const firstMissing = columns.findIndex((step) => last !== undefined && last.step < step);
      const panels: (SnapshotPanel | undefined)[] = columns.map((step, j) => {
        const s = j === firstMissing ? last : r.snapshots.find((p) => p.step === step);
        const tag = j === firstMissing ? ` (${r.stop}, end)` : '';
        return s ? { positions: s.positions, title: `step ${s.step}${tag} · t = ${s.time.toFixed(2)}`, color: (0.85 * j) / Math.max(1, columns.length - 1) } : undefined;
      });
      const damping = r.method === 'gradient' ? 'no damping (first order)' : r.method === 'fire' ? (r.settings ? shortSettings(r.settings) : 'FIRE 2.0 (no γ)') : `γ = ${gammaText(r)}`;
      const outcome = r.converged ? `converged at step ${r.converged.step}` : `not converged (${r.stop} at step ${r.checks.at(-1)?.step ?? 0})`;
      return { heading: `${r.label} · h = ${stepText(r)} · ${damping} · ${outcome}`, panels };
    }),
  });
}

/** The convergence charts (figure 4) of a report: energy above the lowest plateau, residual. */
export function convergenceFigure(rep: MainJobReport) {
  const energies = rep.runs.flatMap((r) => r.checks.map((c) => c.energy)).filter(Number.isFinite);
  const ref = Math.min(...energies) - 1e-3;
  return lineChart({
    title: `${rep.preset}: energy and residual against iteration (N = ${rep.n})`,
    subtitle: `energy above F* = ${ref.toFixed(4)} (the lowest energy any flow reached, − 0.001); residual = mean |g_i|²`,
    panels: [
      { title: 'energy − F*', xLabel: 'iteration', yLabel: 'F − F*', logY: true, series: rep.runs.map((r) => ({ name: r.label, x: r.checks.map((c) => c.step), y: r.checks.map((c) => c.energy - ref) })), hlines: [{ y: rep.criterion.energyTol, label: `energy tolerance ${rep.criterion.energyTol}` }] },
      { title: 'residual ⟨|g|²⟩', xLabel: 'iteration', yLabel: 'mean |g|²', logY: true, series: rep.runs.map((r) => ({ name: r.label, x: r.checks.map((c) => c.step), y: r.checks.map((c) => c.residual) })) },
    ],
  });
}

/**
 * Runs the main job on `preset` (it needs a `converge` field): every flow of the preset from
 * the same start, to convergence or the cap, then the table and (with `out`) the files.
 *
 * @example const rep = await runMainJob(device, PRESETS['fokker-planck'], { fallback: true, adapter: summary, out: 'out' });
 */
export async function runMainJob(device: GPUDevice, preset: Preset, o: MainJobOptions): Promise<MainJobReport> {
  const conv = preset.converge;
  if (!conv) throw new Error(`wgflow: converge: preset '${preset.name}' has no convergence criterion (use fokker-planck or paper-fp)`);
  const k = resolveCriterion({ ...conv.criterion, ...o.criterion });
  if (o.n !== undefined && !(Number.isInteger(o.n) && o.n >= 2)) throw new Error(`wgflow: converge: N must be an integer ≥ 2 (got ${o.n})`);
  if (o.maxSteps !== undefined && !(Number.isInteger(o.maxSteps) && o.maxSteps >= 1)) throw new Error(`wgflow: converge: the step cap must be a positive integer (got ${o.maxSteps})`);
  const every = o.every ?? preset.every;
  if (!(Number.isInteger(every) && every >= 1)) throw new Error(`wgflow: converge: every must be a positive integer (got ${every})`);
  const n = o.n ?? defaultSize(o.fallback);
  const maxSteps = o.maxSteps ?? defaultCap(preset, n);
  const sizeNote = o.n !== undefined ? `N = ${n} (given).`
    : `N = ${n}, chosen from the adapter: ${o.fallback ? 'a CPU fallback adapter (10⁴ on a GPU)' : 'a GPU (10³ on a CPU fallback adapter)'}.`;
  const log = o.log ?? ((l: string) => console.log(l));
  log(`[wgflow] converge ${preset.name}: ${preset.description}`);
  log(`[wgflow] ${sizeNote} Step cap ${maxSteps} per flow${conv.fixedSteps ? ' (fixed: every flow runs exactly that many iterations)' : ''}.`);
  log(`[wgflow] ${criterionText(k)}.`);
  const progress = o.progress ?? createProgress();
  const t0 = performance.now();
  const x0 = preset.positions(n);
  const runs: ConvergenceRun[] = [];
  for (const r of preset.runs) {
    if (o.only && !o.only.includes(r.label)) continue;
    const { label, ...given } = r;
    const options = r.method === 'fire' && r.h === 'auto' && (o.fire ?? 'tuned') === 'tuned' ? { ...given, ...MAIN_JOB_FIRE } : given;
    const tRun = performance.now();
    const run = await runToConvergence(device, { name: preset.name, dim: preset.dim, positions: x0, energy: preset.energy }, { label, options }, {
      every, maxSteps, fixedSteps: conv.fixedSteps, criterion: k, snapshots: conv.snapshots,
      onCheck: (c, cap) => {
        const perStep = (performance.now() - tRun) / Math.max(1, c.step);
        const eta = ((cap - c.step) * perStep) / 1000;
        progress.update(label, c.step, cap, `E ${c.energy.toFixed(4)}  var ${c.variance.map((v) => v.toFixed(3)).join('/')}  h ${c.h.toPrecision(3)}  ETA ≤ ${eta.toFixed(0)} s`);
      },
    });
    const last = run.checks.at(-1);
    if (last && last.step < maxSteps) progress.update(label, maxSteps, maxSteps, `${run.stop} at step ${last.step}`);
    runs.push(run);
  }
  progress.end();
  const rep: MainJobReport = {
    preset: preset.name, description: preset.description, n, sizeNote, maxSteps, every,
    criterion: { ...k, text: criterionText(k) }, adapter: o.adapter, runs, wallMs: performance.now() - t0, files: [],
  };
  log(mainJobTable(rep));
  if (o.out) rep.files = await writeMainJobOutputs(rep, o.out, conv.snapshots);
  return rep;
}

/** Writes the job's figures (PNG and SVG), CSV, JSON and table; returns the paths. */
export async function writeMainJobOutputs(rep: MainJobReport, dir: string, columns: number[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const base = join(dir, rep.preset);
  const files: string[] = [];
  const put = async (path: string, data: string | Buffer) => {
    await writeFile(path, data);
    files.push(path);
  };
  const snaps = snapshotFigure(rep, columns);
  await put(`${base}-snapshots.png`, figurePng(snaps));
  await put(`${base}-snapshots.svg`, figureSvg(snaps));
  const chart = convergenceFigure(rep);
  await put(`${base}-convergence.png`, figurePng(chart));
  await put(`${base}-convergence.svg`, figureSvg(chart));
  const header = ['flow', 'step', 'time', 'energy', ...rep.runs[0]!.checks[0]!.variance.map((_, a) => `var_${'xyz'[a]}`), 'residual', 'kinetic', 'h', 'gamma', 'restarts', 'ms'];
  const lines = [header.join(',')];
  for (const r of rep.runs) for (const c of r.checks) lines.push([r.label, ...[c.step, c.time, c.energy, ...c.variance, c.residual, c.kinetic, c.h, c.gamma, c.restarts, c.ms].map((v) => String(v))].join(','));
  await put(`${base}-convergence.csv`, lines.join('\n') + '\n');
  const json = { ...rep, runs: rep.runs.map((r) => ({ ...r, snapshots: r.snapshots.map((s) => ({ step: s.step, time: s.time })) })) };
  await put(`${base}-report.json`, JSON.stringify(json, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2));
  await put(`${base}-table.md`, mainJobTable(rep));
  return files;
}
