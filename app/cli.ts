#!/usr/bin/env node
/**
 * The `wgflow` command (README "The wgflow command"):
 *
 *   wgflow run <preset | config.json> [--method M[,M]] [--steps S] [--n N] [--h H|auto]
 *              [--gamma G|auto|paper] [--seed K] [--every K] [--out DIR] [--checkpoint-every K]
 *   wgflow resume <checkpoint> [--steps S] [--out DIR] [--checkpoint-every K]
 *   wgflow presets | config <preset>
 *   wgflow compare <preset> [...]   wgflow picture [...]   wgflow converge [preset] [...]
 *   wgflow <preset> [...]           (= wgflow run <preset>)
 *   wgflow help | --help | <command> --help
 *
 * `run` (app/run.ts) runs every flow of a preset or a config file (app/config.ts, validated by
 * its zod schema) headless with a progress display, checkpoints (app/checkpoint.ts) and the
 * outputs of app/run.ts; a config with `job: 'converge'` (the preset `main`, `npm start`) is the
 * main job (app/main-job.ts). `resume` continues a checkpoint to step S bit for bit. Flags may
 * come in any order, before or after the command (node:util parseArgs, app/args.ts); a flag the
 * command does not take, an unknown command and a malformed number are errors listing the valid
 * ones. Exit codes: 0 done, 1 bad input or another error, 3 blow-up (non-finite energy or
 * position), 4 GPU device lost, 130 stopped by SIGINT, 143 by SIGTERM (a checkpoint written).
 */
import { existsSync, realpathSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getDevice, type DeviceResult } from '../src/index.js';
import { PRESETS, presetFromConfig, type Preset } from './presets.js';
import { compareMethods, compareTable, defaultCriterion, writeCompareOutputs, type CriterionSpec } from './compare.js';
import { PICTURE_FLAGS, runPictureCommand } from './emblem.js';
import { choiceFlag, flagHelp, flagNames, flagUsage, intFlag, nonNegativeFlag, numFlag, parseFlags, scanArgs, textFlag, type FlagSpecs, type Flags } from './args.js';
import { createProgress } from './progress.js';
import { besideTable, runMainJob } from './main-job.js';
import { configText, METHODS, parseConfig, type RunConfig } from './config.js';
import { readCheckpoint } from './checkpoint.js';
import { EXIT_BLOWUP, EXIT_DEVICE_LOST, EXIT_SIGINT, EXIT_SIGTERM, runConfig, RunStop } from './run.js';

const HELP: FlagSpecs = { help: { type: 'boolean', short: 'h', help: 'this help' } };

/** Flags of `wgflow run <preset | config.json>`. */
export const RUN_FLAGS: FlagSpecs = {
  method: { type: 'string', value: 'M', help: `only the flows of method M (a comma list; ${METHODS.join(', ')}); a method the config lacks is added, from its first flow` },
  steps: { type: 'string', value: 'S', help: 'steps of every flow (a converge job: the step cap)' },
  n: { type: 'string', value: 'N', help: 'particles (the start is the config\'s generator with N points)' },
  h: { type: 'string', value: 'H', help: "time step of every flow: a number > 0, or auto (needs an entropy term; not for langevin)" },
  gamma: { type: 'string', value: 'G', help: 'damping of every flow: a number ≥ 0, auto (critical, 2√λ_min) or paper (0.5)' },
  seed: { type: 'string', value: 'K', help: 'seed of the Langevin noise of every flow (integer ≥ 0)' },
  every: { type: 'string', value: 'K', help: 'record energy, residual, kinetic energy and h every K steps' },
  out: { type: 'string', value: 'DIR', help: 'output folder (default out/<name>; a converge job: out)' },
  'checkpoint-every': { type: 'string', value: 'K', help: 'write DIR/checkpoint.wgflow every K steps of a flow (0: only on Ctrl-C; default about 10 per flow)' },
  paper: { type: 'string', value: 'on|off', help: "the main job (preset main, npm start): also run the paper's setting (paper-fp: N = 1000, h = 5e-4, γ = 0.5, 5000 iterations) and report it beside the tuned run (default on)" },
  ...HELP,
};

/** Flags of `wgflow resume <checkpoint>`: the run's flags (which must agree with the checkpoint) and a new total. */
export const RESUME_FLAGS: FlagSpecs = {
  ...RUN_FLAGS,
  steps: { type: 'string', value: 'S', help: 'continue every flow to step S, the run\'s total (default the checkpoint\'s)' },
  out: { type: 'string', value: 'DIR', help: 'output folder (default the checkpoint\'s)' },
  'checkpoint-every': { type: 'string', value: 'K', help: 'checkpoint interval (default the checkpoint\'s)' },
};

/** Flags of `wgflow compare <preset>`. */
export const COMPARE_FLAGS: FlagSpecs = {
  n: { type: 'string', value: 'N', help: 'particles' },
  steps: { type: 'string', value: 'S', help: 'steps of the first pass' },
  every: { type: 'string', value: 'K', help: 'check interval' },
  out: { type: 'string', value: 'DIR', help: 'output folder (default out)' },
  'max-steps': { type: 'string', value: 'M', help: 'step cap per flow' },
  criterion: { type: 'string', value: 'threshold|plateau', help: 'convergence test: |F − F_min| < tol, or the energy plateau' },
  tol: { type: 'string', value: 'T', help: 'tolerance of the criterion' },
  fire: { type: 'string', value: 'on|off', help: 'add FIRE to the flows compared' },
  'fire-cap': { type: 'string', value: 'X', help: 'FIRE displacement cap' },
  'fire-hmax': { type: 'string', value: 'H', help: 'FIRE largest step' },
  ...HELP,
};

/** Flags of `wgflow converge [preset]` (the main job). */
export const CONVERGE_FLAGS: FlagSpecs = {
  n: { type: 'string', value: 'N', help: 'particles (default 10⁴ on a GPU, 10³ on a CPU fallback adapter)' },
  'max-steps': { type: 'string', value: 'M', help: 'step cap per flow' },
  every: { type: 'string', value: 'K', help: 'check interval' },
  out: { type: 'string', value: 'DIR', help: 'output folder (default out)' },
  'var-tol': { type: 'string', value: 'V', help: 'tolerance of the per-axis variance' },
  'energy-tol': { type: 'string', value: 'E', help: 'tolerance of the energy plateau' },
  flows: { type: 'string', value: 'a,b', help: 'only these flows (labels)' },
  ...HELP,
};

type Command = 'run' | 'resume' | 'presets' | 'config' | 'compare' | 'picture' | 'converge' | 'help';

const COMMANDS: readonly Command[] = ['run', 'resume', 'presets', 'config', 'compare', 'picture', 'converge', 'help'];
const COMMAND_FLAGS: Record<Command, FlagSpecs> = {
  run: RUN_FLAGS, resume: RESUME_FLAGS, presets: HELP, config: HELP, compare: COMPARE_FLAGS, picture: PICTURE_FLAGS, converge: CONVERGE_FLAGS, help: HELP,
};
const ALL_FLAGS: FlagSpecs = { ...RUN_FLAGS, ...COMPARE_FLAGS, ...PICTURE_FLAGS, ...CONVERGE_FLAGS };

/**
 * The presets `wgflow run` takes (those with a run configuration: all but picture).
 *
 * @example
 * runnablePresets(); // ['quadratic', 'fokker-planck', 'paper-fp', 'paper-quadratic', 'quadratic-tuned', 'main']
 */
export function runnablePresets(): string[] {
  return Object.keys(PRESETS).filter((p) => PRESETS[p]!.config);
}

const strip = (s: FlagSpecs) => Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'help'));

/**
 * The usage text (`wgflow --help`): every command, its flags, the exit codes and the presets.
 *
 * @example
 * console.log(usage());
 */
export function usage(): string {
  return [
    `usage: wgflow run <preset | config.json> ${flagUsage(strip(RUN_FLAGS))}`,
    `       wgflow resume <checkpoint> [--steps S] [--out DIR] [--checkpoint-every K]`,
    '       wgflow presets                 (the presets, with what each shows)',
    '       wgflow config <preset>         (print the preset as a config file: copy, edit, wgflow run it)',
    `       wgflow compare <preset> ${flagUsage(strip(COMPARE_FLAGS))}`,
    `       wgflow picture ${flagUsage(strip(PICTURE_FLAGS))}   (snapshots, KL curve; docs/picture.md)`,
    `       wgflow converge [preset] ${flagUsage(strip(CONVERGE_FLAGS))}   (the main job: each flow to convergence; docs/convergence.md)`,
    '       wgflow <preset> [run flags]     (= wgflow run <preset>)',
    '       wgflow help | --help | <command> --help',
    'npm start is `wgflow run main` (the main job). Flags may come before or after the command.',
    'Exit codes: 0 done; 1 bad input or error; 3 blow-up (non-finite energy or position);',
    `  4 GPU device lost; ${EXIT_SIGINT} stopped by SIGINT (Ctrl-C), ${EXIT_SIGTERM} by SIGTERM, after writing a checkpoint.`,
    'run flags:',
    flagHelp(RUN_FLAGS),
    'presets:',
    ...presetLines(),
  ].join('\n');
}

function presetLines(): string[] {
  return Object.values(PRESETS).map((p) => `  ${Object.keys(PRESETS).find((k) => PRESETS[k] === p)!.padEnd(16)} ${p.description}`);
}

/**
 * The help of one command (`wgflow <command> --help`).
 *
 * @example
 * console.log(commandHelp('run'));
 */
export function commandHelp(command: Command): string {
  switch (command) {
    case 'run': return [
      `usage: wgflow run <preset | config.json> ${flagUsage(strip(RUN_FLAGS))}`,
      'Runs every flow of a preset or a config file (wgflow config <preset> prints one) for S steps from the same start,',
      'with a progress display, and writes to DIR: energy.csv, energy.json (every K steps), energy.svg, residual.svg,',
      'snapshots.png/.svg (particles with axes), summary.json (adapter, parameters, timings, final diagnostics) and',
      'checkpoint.wgflow. Ctrl-C writes a checkpoint and exits with 130 (SIGTERM: 143); wgflow resume continues it.',
      'A config with "job": "converge" (the preset main) runs the main job instead (app/main-job.ts).',
      flagHelp(RUN_FLAGS),
      `presets: ${runnablePresets().join(', ')}`,
    ].join('\n');
    case 'resume': return [
      'usage: wgflow resume <checkpoint> [--steps S] [--out DIR] [--checkpoint-every K]',
      'Continues the run of a checkpoint to step S of every flow (its total by default), bit for bit like the',
      'uninterrupted run on the same adapter. The other run flags may be given only if they agree with the checkpoint.',
      flagHelp(RESUME_FLAGS),
    ].join('\n');
    case 'presets': return 'usage: wgflow presets\nLists the presets (wgflow run <preset>; wgflow config <preset> prints one as a config file).';
    case 'config': return `usage: wgflow config <preset>\nPrints the preset's run configuration (JSON); save it, edit it, and wgflow run it.\npresets: ${runnablePresets().join(', ')}`;
    case 'compare': return `usage: wgflow compare <preset> ${flagUsage(strip(COMPARE_FLAGS))}\n${flagHelp(COMPARE_FLAGS)}`;
    case 'converge': return `usage: wgflow converge [preset] ${flagUsage(strip(CONVERGE_FLAGS))}\n${flagHelp(CONVERGE_FLAGS)}`;
    case 'picture': {
      const help: Record<string, string> = {
        n: 'particles (default 10⁴)', m: 'target samples drawn from the image', steps: 'steps of the annealed flow',
        anneal: 'steps over which the target is sharpened (default 0.8 S)', image: 'the target image, PNG or JPEG (default assets/emblem.png)', out: 'output folder (default out)',
      };
      const specs = Object.fromEntries(Object.entries(PICTURE_FLAGS).map(([k, v]) => [k, { ...v, help: v.help ?? help[k] ?? (k === 'help' ? 'this help' : '') }]));
      return `usage: wgflow picture ${flagUsage(strip(PICTURE_FLAGS))}\nFlows N particles onto M samples of an image (docs/picture.md); writes out/picture-<step>.png, picture-kl.svg/.csv, picture-summary.json.\n${flagHelp(specs)}`;
    }
    default: return usage();
  }
}

function commandOf(word: string | undefined): Command | undefined {
  if (word === undefined) return 'help';
  if (word === 'list') return 'presets';
  if ((COMMANDS as readonly string[]).includes(word)) return word as Command;
  return runnablePresets().includes(word) ? 'run' : undefined;
}

function unknownCommand(word: string): Error {
  return new Error(`wgflow: unknown command '${word}'; commands: ${COMMANDS.join(', ')} (list = presets), or a preset to run: ${runnablePresets().join(', ')}`);
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
 * command line before any GPU work; see the module header. A run stopped by a signal, a
 * blow-up or a device loss throws a {@link RunStop} carrying the exit code.
 *
 * @example await main(['run', 'quadratic', '--n', '200', '--out', 'out/q']);
 */
export async function main(argv: readonly string[]): Promise<void> {
  const scan = scanArgs(argv, ALL_FLAGS);
  let word = scan.positionals[0];
  const command = commandOf(word);
  // `wgflow <preset>` is `wgflow run <preset>`: the preset is then the first positional.
  const bare = command === 'run' && word !== 'run';
  const context: string = command === 'run' ? (bare ? word! : scan.positionals[1] ?? 'run') : command ?? word ?? '';
  if (scan.unknown.length) {
    const where = command ? `${context}: ` : '';
    throw new Error(`wgflow: ${where}unknown flag ${scan.unknown[0]}; valid flags: ${flagNames(command ? COMMAND_FLAGS[command] : ALL_FLAGS)}`);
  }
  if (!command) throw unknownCommand(word!);
  const { positionals, flags } = parseFlags(argv, COMMAND_FLAGS[command], context);
  const args = bare ? positionals : positionals.slice(1);
  if (command === 'help' || flags.help) {
    console.log(command === 'help' ? usage() : commandHelp(command));
    return;
  }
  switch (command) {
    case 'presets':
      noMoreArguments(args, 0, 'presets');
      console.log(['presets (wgflow run <preset>; wgflow config <preset> prints its config):', ...presetLines()].join('\n'));
      return;
    case 'config': {
      noMoreArguments(args, 1, 'config');
      const preset = presetOf(args[0], 'config');
      if (!preset.config) throw new Error(`wgflow: config: '${args[0]}' is its own command (wgflow ${args[0]}), not a run configuration; presets with a config: ${runnablePresets().join(', ')}`);
      process.stdout.write(configText(preset.config));
      return;
    }
    case 'compare': {
      const preset = presetOf(args[0], 'compare');
      noMoreArguments(args, 1, 'compare');
      return compare(preset, flags);
    }
    case 'converge': {
      const preset = presetOf(args[0] ?? 'fokker-planck', 'converge');
      noMoreArguments(args, 1, 'converge');
      return converge(preset, flags);
    }
    case 'picture':
      noMoreArguments(args, 0, 'picture');
      return runPictureCommand(flags);
    case 'resume':
      if (!args[0]) throw new Error('wgflow: resume: missing checkpoint path; give the file `wgflow run` wrote (DIR/checkpoint.wgflow)');
      noMoreArguments(args, 1, 'resume');
      return resume(args[0], flags);
    case 'run': {
      word = args[0];
      if (!word) throw new Error(`wgflow: run: missing preset or config file; presets: ${runnablePresets().join(', ')}`);
      noMoreArguments(args, 1, context);
      const { config, preset } = await loadConfig(word);
      return runCommand(config, preset, flags, context);
    }
  }
}

/** A preset name or a config file path, as a validated config (and the preset, for its float64 check). */
async function loadConfig(word: string): Promise<{ config: RunConfig; preset?: Preset }> {
  const preset = PRESETS[word];
  if (preset) {
    if (!preset.config) throw new Error(`wgflow: run: '${word}' is its own command (wgflow ${word}); presets for run: ${runnablePresets().join(', ')}`);
    return { config: preset.config, preset };
  }
  if (!word.endsWith('.json') && !existsSync(word)) throw new Error(`wgflow: run: unknown preset '${word}' and no such file; presets: ${runnablePresets().join(', ')}, or a config file (.json)`);
  let text: string;
  try {
    text = await readFile(word, 'utf8');
  } catch (e) {
    throw new Error(`wgflow: run: cannot read config file ${word} (${(e as Error).message}); presets: ${runnablePresets().join(', ')}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`wgflow: ${word}: not valid JSON (${(e as Error).message}); see \`wgflow config <preset>\` for an example`);
  }
  return { config: parseConfig(value, word) };
}

/** Flag values as config values; throws naming the flag. */
function flagValues(flags: Flags) {
  const h = textFlag(flags, 'h');
  const gamma = textFlag(flags, 'gamma');
  const seed = textFlag(flags, 'seed');
  const methods = textFlag(flags, 'method')?.split(',').map((m) => m.trim()).filter(Boolean);
  for (const m of methods ?? []) if (!(METHODS as readonly string[]).includes(m)) throw new Error(`wgflow: --method must be ${METHODS.join(', ')} or a comma list of them (got ${m})`);
  if (methods && !methods.length) throw new Error(`wgflow: --method needs a value: ${METHODS.join(', ')}`);
  const seedValue = seed === undefined ? undefined : Number(seed);
  if (seed !== undefined && !(seed.trim() !== '' && Number.isInteger(seedValue) && seedValue! >= 0 && seedValue! < 2 ** 32)) throw new Error(`wgflow: --seed must be an integer in 0..4294967295 (got ${seed})`);
  const gammaValue: number | 'auto' | 'paper' | undefined = gamma === undefined ? undefined : gamma === 'auto' || gamma === 'paper' ? gamma : Number(gamma);
  if (typeof gammaValue === 'number' && !(gamma!.trim() !== '' && Number.isFinite(gammaValue) && gammaValue >= 0)) throw new Error(`wgflow: --gamma must be a number ≥ 0, auto or paper (got ${gamma})`);
  return {
    n: intFlag(flags, 'n'), steps: intFlag(flags, 'steps'), every: intFlag(flags, 'every'),
    h: h === undefined ? undefined : h === 'auto' ? ('auto' as const) : numFlag(flags, 'h'),
    gamma: gammaValue, seed: seedValue, methods,
  };
}

/**
 * The config with the run flags applied (--n, --steps, --every, --method, --h, --gamma, --seed), validated again.
 *
 * @example
 * applyRunFlags(PRESETS.quadratic.config!, { n: '200', method: 'fire', h: '0.01' }, 'quadratic').runs; // [{ label: 'fire', method: 'fire', h: 0.01 }]
 */
export function applyRunFlags(config: RunConfig, flags: Flags, source: string): RunConfig {
  const v = flagValues(flags);
  const c: RunConfig = structuredClone(config);
  if (v.n !== undefined) c.n = v.n;
  if (v.steps !== undefined) c.steps = v.steps;
  if (v.every !== undefined) c.every = v.every;
  if (v.methods) {
    const first = c.runs[0]!;
    c.runs = v.methods.flatMap((m) => {
      const have = c.runs.filter((r) => r.method === m);
      if (have.length) return have;
      if (m === 'langevin' && first.h === 'auto' && v.h === undefined) throw new Error(`wgflow: ${source}: --method langevin needs a fixed step (the config's h is auto): add --h H`);
      const { gamma: _g, ...rest } = first;
      return [{ ...rest, ...(m === 'accelerated' || m === 'steering' ? (first.gamma !== undefined ? { gamma: first.gamma } : {}) : {}), label: m, method: m as RunConfig['runs'][number]['method'] }];
    });
  }
  for (const r of c.runs) {
    if (v.h !== undefined) r.h = v.h;
    if (v.gamma !== undefined) r.gamma = v.gamma;
    if (v.seed !== undefined) r.seed = v.seed;
  }
  return parseConfig(c, `${source} with the flags given`);
}

function checkpointEveryOf(flags: Flags, total: number, every: number): number {
  const k = nonNegativeFlag(flags, 'checkpoint-every');
  if (k !== undefined && !Number.isInteger(k)) throw new Error(`wgflow: --checkpoint-every must be an integer ≥ 0 (got ${flags['checkpoint-every']})`);
  return k ?? Math.max(every, Math.ceil(total / 10 / every) * every);
}

async function device(): Promise<DeviceResult> {
  const d = await getDevice();
  console.log(`[wgflow] adapter: ${d.summary}`);
  return d;
}

function adapterOf(d: DeviceResult): { summary: string; info: Record<string, string> } {
  const info = Object.fromEntries(Object.entries(d.adapterInfo).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  return { summary: d.summary, info };
}

function testHook(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const k = Number(v);
  if (!Number.isInteger(k) || k < 0) throw new Error(`wgflow: ${name} must be an integer ≥ 0 (got ${v})`);
  return k;
}

/** `wgflow run <preset | config.json>`. */
async function runCommand(base: RunConfig, preset: Preset | undefined, flags: Flags, context: string): Promise<void> {
  if (flags.paper !== undefined && preset !== PRESETS.main) {
    throw new Error(`wgflow: run: ${base.name}: --paper is for the main job (wgflow run main, npm start)`);
  }
  if ((base.job ?? 'run') === 'converge') {
    // --n, --steps (the step cap) and --every go to the main job's options, as for wgflow converge.
    const { n: _n, steps: _s, every: _e, paper: _p, ...rest } = flags;
    return convergeJob(applyRunFlags(base, rest, context), preset, flags);
  }
  const config = applyRunFlags(base, flags, context);
  const checkpointEvery = checkpointEveryOf(flags, config.steps, config.every);
  const out = textFlag(flags, 'out') ?? join('out', config.name);
  const d = await device();
  console.log(`[wgflow] run ${config.name}: ${config.description ?? ''}`.trimEnd());
  console.log(`[wgflow] N = ${config.n}, ${config.steps} steps per flow, flows ${config.runs.map((r) => r.label).join(', ')}; output in ${out}`);
  try {
    await runConfig(config, {
      device: d.device, adapter: adapterOf(d), out, checkpointEvery, signals: true,
      finalCheck: preset?.finalCheck, loseDeviceAt: testHook('WGFLOW_TEST_LOSE_DEVICE_AT'),
    });
  } finally {
    d.device.destroy();
  }
}

/** `wgflow resume <checkpoint>`. */
async function resume(path: string, flags: Flags): Promise<void> {
  const cp = await readCheckpoint(path);
  // Flags other than --steps, --out and --checkpoint-every must agree with the checkpoint's config.
  for (const name of ['n', 'every', 'method', 'h', 'gamma', 'seed']) {
    if (flags[name] === undefined) continue;
    const changed = applyRunFlags(cp.config, { [name]: flags[name] }, 'resume');
    if (JSON.stringify(changed) !== JSON.stringify(cp.config)) {
      throw new Error(`wgflow: resume: ${path}: mismatched: --${name} ${String(flags[name])} disagrees with the checkpoint's config (${name === 'method' ? `flows ${cp.config.runs.map((r) => r.method).join(', ')}` : name === 'n' || name === 'every' ? `${name} = ${cp.config[name]}` : `${name} of the flows: ${cp.config.runs.map((r) => String((r as Record<string, unknown>)[name] ?? 'default')).join(', ')}`}); drop the flag to resume this run, or start a new run`);
    }
  }
  const total = intFlag(flags, 'steps') ?? cp.total;
  const doneSteps = cp.current?.flow.stateFields.step ?? 0;
  if (total < doneSteps) throw new Error(`wgflow: resume: ${path}: --steps ${total} is before the checkpoint's step ${doneSteps}; give --steps ≥ ${doneSteps}`);
  const checkpointEvery = flags['checkpoint-every'] !== undefined ? checkpointEveryOf(flags, total, cp.config.every) : cp.checkpointEvery;
  const out = textFlag(flags, 'out') ?? cp.out;
  const d = await device();
  const adapter = adapterOf(d);
  if (adapter.summary !== cp.adapter.summary || JSON.stringify(adapter.info) !== JSON.stringify(cp.adapter.info)) {
    console.log(`[wgflow] warning: the checkpoint was written on another adapter (${cp.adapter.summary}); the run continues, but not bit for bit like the uninterrupted one`);
  }
  const flow = cp.current ? `flow ${cp.current.record.label} at step ${doneSteps}` : `flow ${cp.runIndex + 1} of ${cp.config.runs.length}`;
  console.log(`[wgflow] resume ${cp.config.name} (${cp.reason} checkpoint of ${cp.createdAt}): ${flow}, to step ${total}; output in ${out}`);
  try {
    await runConfig(cp.config, {
      device: d.device, adapter, out, total, checkpointEvery, resume: cp, signals: true,
      finalCheck: PRESETS[cp.config.name]?.config && JSON.stringify(PRESETS[cp.config.name]!.config!.energy) === JSON.stringify(cp.config.energy) ? PRESETS[cp.config.name]!.finalCheck : undefined,
      checkpointPath: join(out, 'checkpoint.wgflow'),
      loseDeviceAt: testHook('WGFLOW_TEST_LOSE_DEVICE_AT'),
    });
  } finally {
    d.device.destroy();
  }
}

/** A config with job 'converge' (the preset main, npm start): the main job of app/main-job.ts. */
async function convergeJob(config: RunConfig, preset: Preset | undefined, flags: Flags): Promise<void> {
  if (flags['checkpoint-every'] !== undefined) throw new Error(`wgflow: run: ${config.name}: --checkpoint-every is for run jobs; the converge job (job: 'converge') writes no checkpoints`);
  const paper = choiceFlag(flags, 'paper', ['on', 'off'] as const) ?? 'on';
  const p = presetFromConfig(config, preset?.finalCheck ? { finalCheck: preset.finalCheck } : {});
  const out = textFlag(flags, 'out') ?? 'out';
  const d = await device();
  try {
    const rep = await runMainJob(d.device, p, {
      n: intFlag(flags, 'n'), maxSteps: intFlag(flags, 'steps'), every: intFlag(flags, 'every'),
      fallback: d.fallback, adapter: d.summary, out,
    });
    console.log(`[wgflow] wrote ${rep.files.join(', ')} (${(rep.wallMs / 1000).toFixed(1)} s in all)`);
    if (preset === PRESETS.main && paper === 'on') {
      console.log(`[wgflow] beside it, the paper's own setting (preset paper-fp): ${PRESETS['paper-fp']!.description}`);
      const paperRep = await runMainJob(d.device, PRESETS['paper-fp']!, { fallback: d.fallback, adapter: d.summary, out });
      const side = besideTable(rep, paperRep);
      await writeFile(join(out, 'fokker-planck-vs-paper.md'), side + '\n');
      console.log(side);
      console.log(`[wgflow] wrote ${[...paperRep.files, join(out, 'fokker-planck-vs-paper.md')].join(', ')} (${(paperRep.wallMs / 1000).toFixed(1)} s in all)`);
    }
  } finally {
    d.device.destroy();
  }
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
    process.exit(e instanceof RunStop ? e.exitCode : 1);
  });
}

export { EXIT_BLOWUP, EXIT_DEVICE_LOST, EXIT_SIGINT, EXIT_SIGTERM };
