/**
 * What the measurement drivers of bench/ (and the studies of studies/) share: argument
 * parsing (node:util parseArgs through app/args.ts: typed, strict, flags in any order),
 * the median, wall-clock timing and JSON output.
 *
 * @example
 * const flags = benchFlags({ sizes: { type: 'string' }, 'no-cpu': { type: 'boolean' } }, 'bench/neighbors');
 * const sizes = numberListFlag(flags, 'sizes') ?? [1e4, 1e5];
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseFlags, type FlagSpecs, type Flags } from '../app/args.js';

export { choiceFlag, intFlag, nonNegativeFlag, numberListFlag, numFlag, textFlag, type FlagSpecs, type Flags } from '../app/args.js';

/**
 * The flags of a driver's command line (process.argv after the script by default), checked
 * against `specs` (an unknown flag throws, listing the valid ones). `positionals` says how
 * many positional arguments the driver takes (default 0: any is an error).
 */
export function benchFlags(specs: FlagSpecs, name: string, argv: readonly string[] = process.argv.slice(2), positionals = 0): Flags & { _: string[] } {
  const parsed = parseFlags(argv, specs, name);
  if (parsed.positionals.length > positionals) throw new Error(`wgflow: ${name}: unexpected argument '${parsed.positionals[positionals]}'`);
  return Object.assign(parsed.flags, { _: parsed.positionals });
}

/** The median (bench/timing.ts, browser-safe; the harness's page imports it from there). */
export { median } from './timing.js';

/**
 * Wall time of `fn` in ms (performance.now around it; for GPU work, `fn` must wait for the
 * queue, e.g. flow.step or onSubmittedWorkDone).
 *
 * @example const ms = await timeMs(() => flow.step(10));
 */
export async function timeMs(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Wall time of a synchronous `fn` in ms (CPU work). */
export function timeSyncMs(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** Writes `value` as indented JSON (and a final newline) to `path`, creating its folder. */
export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

/** Merges the top-level fields of `part` into the JSON object at `path` (created if absent). */
export function mergeJson(path: string, part: Record<string, unknown>): void {
  const old = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
  writeJson(path, { ...old, ...part });
}

/**
 * Runs a driver's async main: exit 0 when it resolves; when it throws, print the error (only
 * the message for a command-line error, `wgflow: ...`) and exit 1.
 */
export function runMain(main: () => Promise<void>): void {
  main().then(() => process.exit(0), (e) => {
    console.error(e instanceof Error && e.message.startsWith('wgflow: ') ? e.message : e);
    process.exit(1);
  });
}
