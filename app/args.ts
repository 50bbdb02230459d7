/**
 * Command-line parsing shared by `wgflow` and its subcommands: `--key value` or `--key=value`
 * flags, everything else positional.
 *
 * @example
 * parseArgs(['picture', '--n', '1000', '--out=out']);
 * // { positional: ['picture'], flags: { n: '1000', out: 'out' } }
 */
export function parseArgs(argv: string[]): { positional: string[]; flags: Record<string, string> } {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    if (a.startsWith('--')) {
      const [key, val] = a.slice(2).split('=');
      flags[key!] = val ?? argv[++k] ?? '';
    } else positional.push(a);
  }
  return { positional, flags };
}

/** A flag that must be a positive integer, or undefined when absent; throws naming the flag. */
export function intFlag(flags: Record<string, string>, name: string): number | undefined {
  if (flags[name] === undefined) return undefined;
  const v = Number(flags[name]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer (got ${flags[name]})`);
  return v;
}
