/**
 * Command-line parsing for the `wgflow` command, the benchmarks and the studies, on
 * `node:util` parseArgs: flags in any order (before or after the command and the other
 * positionals), `--key value` or `--key=value`, typed (a boolean flag takes no value, so it
 * never swallows the next argument) and strict (an unknown flag throws, listing the valid ones).
 *
 * @example
 * const { positionals, flags } = parseFlags(['--out', 'x', 'picture', '--n=1000'], { n: { type: 'string' }, out: { type: 'string' } }, 'wgflow');
 * // positionals ['picture'], flags { out: 'x', n: '1000' }
 */
import { parseArgs } from 'node:util';

/** One flag: `'string'` takes a value, `'boolean'` takes none. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  /** One-letter alias (`-h`). */
  short?: string;
  /** Name of the value in usage lines, e.g. `'N'` for `--n N`. Default `'X'`. */
  value?: string;
  /** One line for the help text (`wgflow <command> --help`). */
  help?: string;
}

/** The flags a command accepts, by name (without the dashes). */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** Parsed flag values: strings for string flags, `true` for boolean flags given. */
export type Flags = Record<string, string | boolean | undefined>;

/** Result of {@link parseFlags}. */
export interface ParsedArgs {
  positionals: string[];
  flags: Flags;
}

/**
 * The flags of a spec as a usage fragment: `[--n N] [--out DIR] [--help]`.
 *
 * @example flagUsage({ n: { type: 'string', value: 'N' } }); // '[--n N]'
 */
export function flagUsage(specs: FlagSpecs): string {
  return Object.entries(specs).map(([name, s]) => `[--${name}${s.type === 'string' ? ` ${s.value ?? 'X'}` : ''}]`).join(' ');
}

/**
 * The flags of a spec as help lines, one per flag: `  --n N             particles ...`.
 *
 * @example flagHelp({ n: { type: 'string', value: 'N', help: 'particles' } }); // '  --n N                  particles'
 */
export function flagHelp(specs: FlagSpecs): string {
  return Object.entries(specs).map(([name, s]) => {
    const left = `  --${name}${s.type === 'string' ? ` ${s.value ?? 'X'}` : ''}${s.short ? `, -${s.short}` : ''}`;
    return `${left.padEnd(25)}${s.help ?? ''}`.trimEnd();
  }).join('\n');
}

/** The flag names of a spec: `--n, --out, --help`. */
export function flagNames(specs: FlagSpecs): string {
  return Object.keys(specs).map((k) => `--${k}`).join(', ');
}

function nodeOptions(specs: FlagSpecs): NonNullable<Parameters<typeof parseArgs>[0]>['options'] {
  return Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, s.short ? { type: s.type, short: s.short } : { type: s.type }]));
}

/**
 * Parses `argv` (the arguments after the script) against `specs`, strictly: an unknown flag,
 * a string flag without a value or a boolean flag given a value throws
 * `wgflow: <context>: ...`; an unknown flag's message lists the valid ones.
 *
 * @example parseFlags(['--steps', '10', 'quadratic'], { steps: { type: 'string' } }, 'wgflow');
 */
export function parseFlags(argv: readonly string[], specs: FlagSpecs, context: string): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: nodeOptions(specs), strict: true, allowPositionals: true });
    return { positionals, flags: values as Flags };
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const name = /'([^']+)'/.exec(err.message)?.[1] ?? err.message;
      throw new Error(`wgflow: ${context}: unknown flag ${name}; valid flags: ${flagNames(specs)}`);
    }
    if (err.code?.startsWith('ERR_PARSE_ARGS_')) throw new Error(`wgflow: ${context}: ${err.message}`);
    throw err;
  }
}

/**
 * A lenient first pass over `argv`: the positionals, taking the string flags of `specs` with
 * their values, and the names of the flags `specs` does not know. Used to find the command
 * before the command's own strict {@link parseFlags}.
 */
export function scanArgs(argv: readonly string[], specs: FlagSpecs): { positionals: string[]; unknown: string[] } {
  const { positionals, tokens } = parseArgs({ args: [...argv], options: nodeOptions(specs), strict: false, allowPositionals: true, tokens: true });
  const unknown = tokens.filter((t) => t.kind === 'option' && !(t.name in specs)).map((t) => (t.kind === 'option' ? t.rawName : ''));
  return { positionals, unknown };
}

function stringValue(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new Error(`wgflow: --${name} needs a value`);
  return v;
}

/** A flag that must be a positive integer, or undefined when absent; throws naming the flag. */
export function intFlag(flags: Flags, name: string): number | undefined {
  const s = stringValue(flags, name);
  if (s === undefined) return undefined;
  const v = Number(s);
  if (s.trim() === '' || !Number.isInteger(v) || v <= 0) throw new Error(`wgflow: --${name} must be a positive integer (got ${s})`);
  return v;
}

/** A flag that must be a positive finite number, or undefined when absent. */
export function numFlag(flags: Flags, name: string): number | undefined {
  const s = stringValue(flags, name);
  if (s === undefined) return undefined;
  const v = Number(s);
  if (s.trim() === '' || !(Number.isFinite(v) && v > 0)) throw new Error(`wgflow: --${name} must be a positive number (got ${s})`);
  return v;
}

/** A flag that must be a finite number ≥ 0, or undefined when absent. */
export function nonNegativeFlag(flags: Flags, name: string): number | undefined {
  const s = stringValue(flags, name);
  if (s === undefined) return undefined;
  const v = Number(s);
  if (s.trim() === '' || !(Number.isFinite(v) && v >= 0)) throw new Error(`wgflow: --${name} must be a number ≥ 0 (got ${s})`);
  return v;
}

/** A flag that must be one of `choices`, or undefined when absent. */
export function choiceFlag<T extends string>(flags: Flags, name: string, choices: readonly T[]): T | undefined {
  const s = stringValue(flags, name);
  if (s === undefined) return undefined;
  if (!(choices as readonly string[]).includes(s)) throw new Error(`wgflow: --${name} must be ${choices.join(' or ')} (got ${s})`);
  return s as T;
}

/** A string flag, or undefined when absent. */
export function textFlag(flags: Flags, name: string): string | undefined {
  return stringValue(flags, name);
}

/** A comma-separated list of finite numbers (`--sizes 10000,100000`), or undefined when absent. */
export function numberListFlag(flags: Flags, name: string): number[] | undefined {
  const s = stringValue(flags, name);
  if (s === undefined) return undefined;
  const parts = s.split(',').filter((p) => p.trim() !== '');
  const v = parts.map(Number);
  if (parts.length === 0 || v.some((x) => !Number.isFinite(x))) throw new Error(`wgflow: --${name} must be a comma-separated list of numbers (got ${s})`);
  return v;
}
