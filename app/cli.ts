#!/usr/bin/env node
/**
 * The `wgflow` command: runs a preset comparison of the flows headless, with a progress
 * display (app/progress.ts), and writes CSV, an SVG plot of energy against iteration and PNGs
 * of the final particles to the output folder.
 *
 *   wgflow [preset] [--n N] [--steps S] [--every K] [--out DIR]
 *   wgflow compare <preset> [--n N] [--steps S] [--every K] [--out DIR] [--max-steps M]
 *                  [--criterion threshold|plateau] [--tol T] [--fire on|off] [--fire-cap X] [--fire-hmax H]
 *   wgflow picture [--n N] [--m M] [--steps S] [--anneal A] [--image PATH] [--out DIR]
 *   wgflow converge [preset] [--n N] [--max-steps M] [--every K] [--out DIR] [--var-tol V] [--energy-tol E] [--flows a,b]
 *   wgflow list | help | --help
 *
 * Flags may come in any order, before or after the command (node:util parseArgs, app/args.ts);
 * a flag the command does not take, an unknown command and a malformed number are errors.
 * `compare` runs the preset's flows plus FIRE from the same start and reports the steps and
 * the GPU stepping time each needs to converge (app/compare.ts), writing <preset>-compare.json,
 * -compare.md and -compare.svg. `picture` is app/emblem.ts. `converge` is the main job
 * (`npm start`, app/main-job.ts): each flow of a Fokker–Planck preset (default fokker-planck)
 * run to convergence, with the snapshot and convergence figures, CSV, JSON and the table.
 */
import { realpathSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getDevice } from '../src/index.js';
import { PRESETS, runPreset, type Preset, type RunHistory } from './presets.js';
import { lineChartSvg, scatterPng, writeCsv } from './plot.js';
import { compareMethods, compareTable, defaultCriterion, writeCompareOutputs, type CriterionSpec } from './compare.js';
import { PICTURE_FLAGS, runPictureCommand } from './emblem.js';
import { choiceFlag, flagNames, flagUsage, intFlag, nonNegativeFlag, numFlag, parseFlags, scanArgs, textFlag, type FlagSpecs, type Flags } from './args.js';
import { createProgress } from './progress.js';
import { runMainJob } from './main-job.js';

const HELP: FlagSpecs = { help: { type: 'boolean', short: 'h' } };

/** Flags of `wgflow [preset]`. */
export const RUN_FLAGS: FlagSpecs = {
  n: { type: 'string', value: 'N' },
  steps: { type: 'string', value: 'S' },
  every: { type: 'string', value: 'K' },
  out: { type: 'string', value: 'DIR' },
  ...HELP,
};

/** Flags of `wgflow compare <preset>`. */
export const COMPARE_FLAGS: FlagSpecs = {
  n: { type: 'string', value: 'N' },
  steps: { type: 'string', value: 'S' },
  every: { type: 'string', value: 'K' },
  out: { type: 'string', value: 'DIR' },
  'max-steps': { type: 'string', value: 'M' },
  criterion: { type: 'string', value: 'threshold|plateau' },
  tol: { type: 'string', value: 'T' },
  fire: { type: 'string', value: 'on|off' },
  'fire-cap': { type: 'string', value: 'X' },
  'fire-hmax': { type: 'string', value: 'H' },
  ...HELP,
};

/** Flags of `wgflow converge [preset]` (the main job). */
export const CONVERGE_FLAGS: FlagSpecs = {
  n: { type: 'string', value: 'N' },
  'max-steps': { type: 'string', value: 'M' },
  every: { type: 'string', value: 'K' },
  out: { type: 'string', value: 'DIR' },
  'var-tol': { type: 'string', value: 'V' },
  'energy-tol': { type: 'string', value: 'E' },
  flows: { type: 'string', value: 'a,b' },
  ...HELP,
};

type Command = 'run' | 'compare' | 'picture' | 'list' | 'converge';

const COMMAND_FLAGS: Record<Command, FlagSpecs> = { run: RUN_FLAGS, compare: COMPARE_FLAGS, picture: PICTURE_FLAGS, list: HELP, converge: CONVERGE_FLAGS };
const ALL_FLAGS: FlagSpecs = { ...RUN_FLAGS, ...COMPARE_FLAGS, ...PICTURE_FLAGS, ...CONVERGE_FLAGS };

/** The presets `wgflow <preset>` runs (`wgflow picture` is the picture command). */
function runnablePresets(): string[] {
  return Object.keys(PRESETS).filter((p) => p !== 'picture');
}

/** The usage text and the preset list (`wgflow list`, `wgflow --help`). */
export function usage(): string {
  const strip = (s: FlagSpecs) => Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'help'));
  return [
    `usage: wgflow [preset] ${flagUsage(strip(RUN_FLAGS))}`,
    `       wgflow compare <preset> ${flagUsage(strip(COMPARE_FLAGS))}`,
    `       wgflow picture ${flagUsage(strip(PICTURE_FLAGS))}   (snapshots, KL curve; docs/picture.md)`,
    `       wgflow converge [preset] ${flagUsage(strip(CONVERGE_FLAGS))}   (the main job, npm start: each flow to convergence; docs/convergence.md)`,
    '       wgflow list | help | --help',
    'Flags may come before or after the command. With no command, wgflow runs fokker-planck.',
    'presets:',
    ...Object.values(PRESETS).map((p) => `  ${p.name.padEnd(14)} ${p.description}`),
  ].join('\n');
}

function commandOf(word: string | undefined): Command | undefined {
  if (word === undefined) return 'run';
  if (word === 'compare') return 'compare';
  if (word === 'picture') return 'picture';
  if (word === 'converge') return 'converge';
  if (word === 'list' || word === 'help') return 'list';
  return runnablePresets().includes(word) ? 'run' : undefined;
}

function unknownCommand(word: string): Error {
  return new Error(`wgflow: unknown command '${word}'; commands: compare <preset>, picture, converge [preset], list, help, or a preset to run: ${runnablePresets().join(', ')}`);
}

function presetOf(name: string | undefined, context: string): Preset {
  if (!name) throw new Error(`wgflow: ${context}: missing preset; presets: ${Object.keys(PRESETS).join(', ')}`);
  const preset = PRESETS[name];
  if (!preset) throw new Error(`wgflow: ${context}: unknown preset '${name}'; presets: ${Object.keys(PRESETS).join(', ')}`);
  return preset;
}

function noMoreArguments(positionals: string[], from: number, context: string): void {
  if (positionals.length > from) throw new Error(`wgflow: ${context}: unexpected argument '${positionals[from]}'`);
}

/**
 * Runs the `wgflow` command line `argv` (the arguments after the script). Throws on a bad
 * command line before any GPU work; see the module header.
 *
 * @example await main(['--out', 'out', 'quadratic', '--n', '200']);
 */
export async function main(argv: readonly string[]): Promise<void> {
  const scan = scanArgs(argv, ALL_FLAGS);
  const word = scan.positionals[0];
  const command = commandOf(word);
  const context: string = command === 'run' ? word ?? 'fokker-planck' : command ?? word ?? '';
  if (scan.unknown.length) {
    const where = command ? `${context}: ` : '';
    throw new Error(`wgflow: ${where}unknown flag ${scan.unknown[0]}; valid flags: ${flagNames(command ? COMMAND_FLAGS[command] : ALL_FLAGS)}`);
  }
  if (!command) throw unknownCommand(word!);
  const { positionals, flags } = parseFlags(argv, COMMAND_FLAGS[command], context);
  if (flags.help || command === 'list') {
    noMoreArguments(positionals, command === 'run' ? 1 : command === 'compare' || command === 'converge' ? 2 : 1, context);
    console.log(usage());
    return;
  }
  if (command === 'compare') {
    const preset = presetOf(positionals[1], 'compare');
    noMoreArguments(positionals, 2, 'compare');
    return compare(preset, flags);
  }
  if (command === 'converge') {
    const preset = presetOf(positionals[1] ?? 'fokker-planck', 'converge');
    noMoreArguments(positionals, 2, 'converge');
    return converge(preset, flags);
  }
  noMoreArguments(positionals, 1, context);
  if (command === 'picture') return runPictureCommand(flags);
  return run(presetOf(word ?? 'fokker-planck', 'run'), flags);
}

/** `wgflow compare <preset>`: steps and time to convergence of each flow (app/compare.ts). */
async function compare(preset: Preset, flags: Flags): Promise<void> {
  let criterion: CriterionSpec = defaultCriterion(preset);
  const kind = choiceFlag(flags, 'criterion', ['threshold', 'plateau'] as const);
  if (kind === 'threshold' && criterion.kind !== 'threshold') criterion = { kind: 'threshold', fMin: preset.fMin ?? 0, tol: 1e-3 };
  if (kind === 'plateau' && criterion.kind !== 'plateau') criterion = { kind: 'plateau', rtol: 1e-3, window: 0.1 };
  const tol = numFlag(flags, 'tol');
  if (tol !== undefined) criterion = criterion.kind === 'threshold' ? { ...criterion, tol } : { ...criterion, rtol: tol };
  const fireCap = nonNegativeFlag(flags, 'fire-cap');
  const fireHMax = numFlag(flags, 'fire-hmax');
  const fire = choiceFlag(flags, 'fire', ['on', 'off'] as const) === 'off' ? false : {
    ...(fireCap !== undefined ? { maxDisplacement: fireCap } : {}),
    ...(fireHMax !== undefined ? { hMax: fireHMax } : {}),
  };
  const options = { n: intFlag(flags, 'n'), steps: intFlag(flags, 'steps'), maxSteps: intFlag(flags, 'max-steps'), every: intFlag(flags, 'every') };
  const out = textFlag(flags, 'out') ?? 'out';
  const { device, summary } = await getDevice();
  console.log(`[wgflow] adapter: ${summary}`);
  console.log(`[wgflow] compare ${preset.name}: ${preset.description}`);
  const progress = createProgress();
  const report = await compareMethods(device, preset, {
    ...options,
    criterion,
    fire,
    adapter: summary,
    onProgress: (run, step, total, energy) => progress.update(run.label, step, total, `energy ${energy.toPrecision(6)}`),
  });
  progress.end();
  const paths = await writeCompareOutputs(report, out);
  console.log(compareTable(report));
  console.log(`[wgflow] wrote ${paths.join(', ')}`);
  device.destroy();
}

/** `wgflow converge [preset]`: the main job (app/main-job.ts). */
async function converge(preset: Preset, flags: Flags): Promise<void> {
  if (!preset.converge) throw new Error(`wgflow: converge: preset '${preset.name}' has no convergence criterion; presets for converge: ${Object.values(PRESETS).filter((p) => p.converge).map((p) => p.name).join(', ')}`);
  const varianceTol = numFlag(flags, 'var-tol');
  const energyTol = numFlag(flags, 'energy-tol');
  const flows = textFlag(flags, 'flows')?.split(',').map((s) => s.trim()).filter(Boolean);
  const known = preset.runs.map((r) => r.label);
  for (const f of flows ?? []) if (!known.includes(f)) throw new Error(`wgflow: converge: unknown flow '${f}'; flows of ${preset.name}: ${known.join(', ')}`);
  const options = { n: intFlag(flags, 'n'), maxSteps: intFlag(flags, 'max-steps'), every: intFlag(flags, 'every') };
  const out = textFlag(flags, 'out') ?? 'out';
  const { device, summary, fallback } = await getDevice();
  console.log(`[wgflow] adapter: ${summary}`);
  try {
    const rep = await runMainJob(device, preset, {
      ...options, fallback, adapter: summary, out, only: flows,
      criterion: { ...(varianceTol !== undefined ? { varianceTol } : {}), ...(energyTol !== undefined ? { energyTol } : {}) },
    });
    console.log(`[wgflow] wrote ${rep.files.join(', ')} (${(rep.wallMs / 1000).toFixed(1)} s in all)`);
  } finally {
    device.destroy();
  }
}

/** `wgflow [preset]`: every flow of the preset from the same start; CSV, SVG, PNGs, summary. */
async function run(preset: Preset, flags: Flags): Promise<void> {
  const options = { n: intFlag(flags, 'n'), steps: intFlag(flags, 'steps'), every: intFlag(flags, 'every') };
  const out = textFlag(flags, 'out') ?? 'out';
  await mkdir(out, { recursive: true });
  const { device, summary } = await getDevice();
  console.log(`[wgflow] adapter: ${summary}`);
  console.log(`[wgflow] preset ${preset.name}: ${preset.description}`);
  const progress = createProgress();
  const histories: RunHistory[] = await runPreset(device, preset, {
    ...options,
    onProgress: (r, step, total, s) => progress.update(r.label, step, total, `energy ${s.energy.toPrecision(6)}  residual ${s.residual.toExponential(2)}`),
  });
  progress.end();
  // CSV: one row per recorded step, energy of each flow.
  const header = ['step', ...histories.flatMap((h) => [`energy_${h.label}`, `residual_${h.label}`, `kinetic_${h.label}`])];
  const rows = histories[0]!.steps.map((step, r) => [step, ...histories.flatMap((h) => [h.energy[r]!, h.residual[r]!, h.kinetic[r]!])]);
  await writeCsv(join(out, `${preset.name}-energy.csv`), header, rows);
  const fMin = preset.fMin;
  const svg = lineChartSvg({
    title: `${preset.name}: energy against iteration`,
    xLabel: 'iteration',
    yLabel: fMin !== undefined ? `energy − ${fMin}` : 'energy',
    logY: fMin !== undefined,
    series: histories.map((h) => ({ name: h.label, x: h.steps, y: h.energy.map((e) => (fMin !== undefined ? e - fMin : e)) })),
  });
  await writeFile(join(out, `${preset.name}-energy.svg`), svg);
  for (const h of histories) {
    await writeFile(join(out, `${preset.name}-${h.label}-final.png`), scatterPng(h.final, preset.dim, { width: 480, height: 480 }));
  }
  const summaryRows = histories.map((h) => ({
    flow: h.label, steps: h.steps.at(-1), energy: h.energy.at(-1), residual: h.residual.at(-1),
    varX: h.finalStats.covariance[0], h: h.finalStats.h, stepMs: Math.round(h.stepMs),
    ...(preset.finalCheck ? preset.finalCheck(h.final) : {}),
  }));
  await writeFile(join(out, `${preset.name}-summary.json`), JSON.stringify({ preset: preset.name, adapter: summary, runs: summaryRows }, null, 2));
  console.table(summaryRows);
  console.log(`[wgflow] wrote ${out}/${preset.name}-energy.csv, -energy.svg, -<flow>-final.png, -summary.json`);
  device.destroy();
}

/** Whether this module is the program (node dist/app/cli.js, or the `wgflow` bin link to it). */
function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).then(() => process.exit(0), (e: Error) => {
    console.error(`[wgflow] error: ${e.message.replace(/^wgflow: /, '')}`);
    process.exit(1);
  });
}
