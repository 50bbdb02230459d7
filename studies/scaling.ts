/**
 * Scaling study of the time to solution (issue 11): for the Fokker–Planck preset (quadratic +
 * Kozachenko–Leonenko entropy, d = 2, two-quadrant start), the steps, flow time and wall time
 * each flow needs to meet the main job's criterion (app/converge.ts: per-axis variance
 * 0.50 ± 0.02, energy within 0.01 of its plateau) at several N, at the tuned defaults (h:
 * 'auto', γ = 2√2) and at fixed steps. Write-up: docs/convergence.md.
 *
 *   node dist/studies/scaling.js run --n 1000 [--flows accelerated,steering,gradient,fire]
 *        [--h 5e-4] [--gamma 2.83|paper] [--chatter B] [--fraction F] [--fire JSON] [--cap S] [--every K] [--tag T] [--results FILE]
 *     one JSON line per flow appended to studies/results/scaling.jsonl (every check kept)
 *   node dist/studies/scaling.js report
 *     studies/results/scaling.md (table, log–log fits of steps and wall time against N) and
 *     studies/results/scaling.{svg,png} (log–log plot with the fitted exponents)
 *
 * `--h` replaces the automatic step by a fixed one (the "best fixed h" runs), `--gamma` the
 * damping, `--chatter` and `--fraction` the automatic step's chatter bound and fraction
 * (`autoStep.chatter`, `autoStep.fraction`; `--chatter 0` is the rule before the chatter bound),
 * `--fire` FIRE's options as JSON (e.g. '{"power":"centred","grace":300,"alphaStart":0.002}'). The cap defaults to 3000·√(N/1000)·1.25; gradient and FIRE flows, which cannot
 * converge at this N within it, stop early and report the extrapolated steps.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { getDevice, type Damping, type FireOptions, type Method } from '../src/index.js';
import { PRESETS } from '../app/presets.js';
import { runToConvergence, type ConvergenceRun } from '../app/converge.js';
import { figurePng, figureSvg, lineChart } from '../app/figure.js';
import { intFlag, numFlag, parseFlags, textFlag } from '../app/args.js';

const RESULTS = 'studies/results/scaling.jsonl';

/** One recorded run (a line of scaling.jsonl). */
interface Row {
  tag: string;
  n: number;
  flow: string;
  method: Method;
  h: number | 'auto';
  gamma: string;
  cap: number;
  adapter: string;
  stop: ConvergenceRun['stop'];
  /** How a row not measured by this driver was measured. */
  note?: string;
  converged: ConvergenceRun['converged'];
  extrapolation?: ConvergenceRun['extrapolation'];
  /** Steps run, flow time, stepping ms, wall ms, ms per step. */
  steps: number;
  time: number;
  ms: number;
  wallMs: number;
  msPerStep: number;
  finalVariance: number[];
  finalEnergy: number;
  hEnd: number;
  checks: [number, number, number, number, number, number][];
  date: string;
}

async function run(flags: Record<string, string | boolean | undefined>): Promise<void> {
  const n = intFlag(flags, 'n') ?? 1000;
  const every = intFlag(flags, 'every') ?? (n >= 10000 ? 20 : 10);
  const cap = intFlag(flags, 'cap') ?? Math.round((3000 * Math.sqrt(n / 1000) * 1.25) / every) * every;
  const flows = (textFlag(flags, 'flows') ?? 'accelerated,steering,gradient,fire').split(',');
  const hFixed = numFlag(flags, 'h');
  const gammaFlag = textFlag(flags, 'gamma');
  const gamma: Damping | undefined = gammaFlag === undefined ? undefined : gammaFlag === 'paper' || gammaFlag === 'auto' ? gammaFlag : Number(gammaFlag);
  if (typeof gamma === 'number' && !(gamma >= 0)) throw new Error(`wgflow: scaling: --gamma must be a number ≥ 0, 'auto' or 'paper' (got ${gammaFlag})`);
  const chatterText = textFlag(flags, 'chatter');
  const chatter = chatterText === undefined ? undefined : Number(chatterText);
  if (chatter !== undefined && !(chatter >= 0)) throw new Error(`wgflow: scaling: --chatter must be a number ≥ 0 (got ${chatterText})`);
  const fraction = numFlag(flags, 'fraction');
  const fireText = textFlag(flags, 'fire');
  const fire = fireText === undefined ? undefined : (JSON.parse(fireText) as FireOptions);
  const tag = textFlag(flags, 'tag') ?? (hFixed ? `fixed h=${hFixed}` : 'tuned');
  const preset = PRESETS['fokker-planck']!;
  const { device, summary } = await getDevice();
  const x0 = preset.positions(n);
  mkdirSync('studies/results', { recursive: true });
  for (const flow of flows) {
    const spec = preset.runs.find((r) => r.label === flow);
    if (!spec) throw new Error(`wgflow: scaling: unknown flow '${flow}' (${preset.runs.map((r) => r.label).join(', ')})`);
    const autoStep = { ...(chatter !== undefined ? { chatter } : {}), ...(fraction !== undefined ? { fraction } : {}) };
    const options = { method: spec.method, h: hFixed ?? spec.h, ...(gamma !== undefined ? { gamma } : {}), ...(hFixed === undefined && Object.keys(autoStep).length ? { autoStep } : {}), ...(fire && spec.method === 'fire' ? { fire } : {}) };
    const t0 = performance.now();
    const r = await runToConvergence(device, { name: 'scaling', dim: 2, positions: x0, energy: preset.energy }, { label: flow, options }, {
      every, maxSteps: cap,
      onCheck: (c) => {
        if (c.step % (every * 50) === 0) console.error(`[scaling] N=${n} ${flow} step ${c.step}/${cap} E ${c.energy.toFixed(4)} var ${c.variance.map((v) => v.toFixed(3)).join('/')} h ${c.h.toPrecision(3)} ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      },
    });
    const last = r.checks.at(-1)!;
    const row: Row = {
      tag, n, flow, method: spec.method, h: options.h, gamma: gammaFlag ?? 'default', cap, adapter: summary, stop: r.stop, converged: r.converged,
      ...(r.extrapolation ? { extrapolation: r.extrapolation } : {}),
      steps: last.step, time: last.time, ms: last.ms, wallMs: r.wallMs, msPerStep: last.ms / Math.max(1, last.step),
      finalVariance: last.variance, finalEnergy: last.energy, hEnd: last.h,
      checks: r.checks.map((c) => [c.step, +c.time.toPrecision(6), +c.energy.toFixed(5), +c.variance[0]!.toFixed(4), +c.variance[1]!.toFixed(4), +c.h.toPrecision(4)]),
      date: new Date().toISOString(),
    };
    appendFileSync(textFlag(flags, 'results') ?? RESULTS, JSON.stringify(row) + '\n');
    console.log(JSON.stringify({ ...row, checks: undefined, adapter: undefined }));
  }
  device.destroy();
}

/** Least-squares slope and intercept of log10 y against log10 x. */
function fitLogLog(pts: [number, number][]): { exponent: number; prefactor: number } | null {
  if (pts.length < 2) return null;
  const X = pts.map(([x]) => Math.log10(x)), Y = pts.map(([, y]) => Math.log10(y));
  const mx = X.reduce((a, b) => a + b, 0) / X.length, my = Y.reduce((a, b) => a + b, 0) / Y.length;
  const sxx = X.reduce((s, x) => s + (x - mx) ** 2, 0);
  if (!(sxx > 0)) return null;
  const slope = X.reduce((s, x, j) => s + (x - mx) * (Y[j]! - my), 0) / sxx;
  return { exponent: slope, prefactor: 10 ** (my - slope * mx) };
}

function report(): void {
  if (!existsSync(RESULTS)) throw new Error(`wgflow: scaling: no ${RESULTS} yet; run 'scaling.js run' first`);
  const rows = readFileSync(RESULTS, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);
  const key = (r: Row) => `${r.flow} (${r.tag})`;
  const groups = new Map<string, Row[]>();
  for (const r of rows) (groups.get(key(r)) ?? groups.set(key(r), []).get(key(r))!).push(r);
  const stepsOf = (r: Row) => r.converged?.step ?? r.extrapolation?.steps ?? null;
  const lines = [
    '# Scaling of the time to solution (Fokker–Planck, d = 2, two-quadrant start)',
    '',
    'Criterion: per-axis variance 0.50 ± 0.02 and the energy within 0.01 of its plateau (app/converge.ts). "steps": the converged step, or (marked ≈) the steps extrapolated from the trend of a run stopped at its cap. Wall time: GPU stepping to that step (diagnostics excluded), measured on the adapter named; extrapolated runs: steps × ms/step.',
    '',
    '| flow | N | h (end) | γ | steps to converge | flow time | wall s | ms/step | final variance | stopped | adapter |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [k, rs] of groups) {
    for (const r of [...rs].sort((a, b) => a.n - b.n)) {
      const s = stepsOf(r);
      const wall = r.converged?.ms != null ? r.converged.ms / 1000 : s !== null ? (s * r.msPerStep) / 1000 : NaN;
      lines.push(`| ${k} | ${r.n} | ${r.hEnd.toPrecision(3)} | ${r.gamma} | ${r.converged ? r.converged.step : s !== null ? `≈ ${s}` : '—'} | ${r.converged ? r.converged.time.toFixed(2) : r.extrapolation?.time ? `≈ ${r.extrapolation.time.toFixed(2)}` : '—'} | ${Number.isFinite(wall) ? wall.toFixed(0) : '—'} | ${r.msPerStep.toFixed(1)} | ${r.finalVariance.map((v) => v.toFixed(3)).join(' / ')} | ${r.stop} at ${r.steps} | ${r.adapter.split(' (')[0]!.slice(0, 40)} |`);
    }
  }
  lines.push('', '## Fitted exponents (steps ∝ N^a, wall time ∝ N^b; least squares on log–log, over the sizes measured)', '', 'The runs were made on a shared 2-core machine whose load changed the wall time per step by up to 10× between runs; the wall-time exponents b mix those loads and say little; compare the steps.', '', '| flow | sizes | a (steps) | b (wall time) |', '|---|---|---|---|');
  const series: { name: string; x: number[]; y: number[]; marks?: boolean }[] = [];
  for (const [k, rs] of groups) {
    const pts = rs.map((r) => [r.n, stepsOf(r)] as [number, number | null]).filter((p): p is [number, number] => p[1] !== null).sort((p, q) => p[0] - q[0]);
    const wall = rs.map((r) => [r.n, r.converged?.ms != null ? r.converged.ms : (stepsOf(r) ?? NaN) * r.msPerStep] as [number, number]).filter((p) => Number.isFinite(p[1]));
    const fs = fitLogLog(pts), fw = fitLogLog(wall);
    lines.push(`| ${k} | ${pts.map((p) => p[0]).join(', ')} | ${fs ? fs.exponent.toFixed(2) : '—'} | ${fw ? fw.exponent.toFixed(2) : '—'} |`);
    const sorted = pts;
    // The plot: the flows at their defaults and the best fixed step, measured at two sizes or more.
    if (sorted.length >= 2 && !k.includes('earlier')) series.push({ name: `${k}${fs ? `: steps ∝ N^${fs.exponent.toFixed(2)}` : ''}${rs.some((r) => !r.converged) ? ' (extrapolated)' : ''}`, x: sorted.map((p) => p[0]), y: sorted.map((p) => p[1]), marks: true });
  }
  writeFileSync('studies/results/scaling.md', lines.join('\n') + '\n');
  const fig = lineChart({
    title: 'Steps to converge against N (Fokker–Planck, d = 2)',
    subtitle: 'log–log; extrapolated values for runs stopped at their cap; exponents from least squares',
    panels: [{ title: 'steps to the criterion', xLabel: 'N (particles)', yLabel: 'steps', logX: true, logY: true, series }],
    panelWidth: 700, panelHeight: 420,
  });
  writeFileSync('studies/results/scaling.svg', figureSvg(fig));
  writeFileSync('studies/results/scaling.png', figurePng(fig));
  console.log(lines.join('\n'));
}

const { positionals, flags } = parseFlags(process.argv.slice(2), {
  n: { type: 'string' }, flows: { type: 'string' }, h: { type: 'string' }, gamma: { type: 'string' },
  results: { type: 'string' }, fire: { type: 'string' }, chatter: { type: 'string' }, fraction: { type: 'string' }, cap: { type: 'string' }, every: { type: 'string' }, tag: { type: 'string' },
}, 'scaling');
const command = positionals[0] ?? 'report';
if (command === 'run') await run(flags);
else if (command === 'report') report();
else throw new Error(`wgflow: scaling: unknown command '${command}' (run, report)`);
process.exit(0);
