// README.md's createFlow options table lists exactly the options of FlowOptions and the
// defaults of FLOW_DEFAULTS (src/flow/options.ts), the one place the flow takes them from.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FLOW_DEFAULTS, FLOW_REQUIRED } from '../src/flow/options.js';

/** The rows `| \`option\` | meaning | default |` of the table after "Options of `createFlow`". */
function readmeOptionsTable(): Map<string, string> {
  const text = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const start = text.indexOf('Options of `createFlow`');
  if (start < 0) throw new Error('README.md has no "Options of `createFlow`" table');
  const lines = text.slice(start).split('\n').slice(1);
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows = new Map<string, string>();
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    expect(cells, line).toHaveLength(3);
    const name = cells[0]!.match(/^`(\w+)`$/)?.[1];
    if (!name) throw new Error(`README options row without a \`name\`: ${line}`);
    expect(rows.has(name), `${name} listed twice`).toBe(false);
    rows.set(name, cells[2]!);
  }
  return rows;
}

/** A default as JavaScript-like text: 'text', [..], { key: value }, 10h for a multiple of h. */
function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (v && typeof v === 'object') {
    if ('perH' in v) return `${(v as { perH: number }).perH}h`;
    return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${show(x)}`).join(', ')} }`;
  }
  return String(v);
}

/** The README cell of an option's default. */
function cell(name: string, v: unknown): string {
  if (name === 'velocities') {
    expect(v).toBe(0);
    return 'zeros';
  }
  if (name === 'reduction') {
    const r = v as { fallback: string; gpu: string };
    return `\`'${r.fallback}'\` on fallback adapters, else \`'${r.gpu}'\``;
  }
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : `\`${show(v)}\``;
}

describe('README.md options table = FLOW_DEFAULTS', () => {
  it('lists every option once, required ones as required, each default as FLOW_DEFAULTS has it', () => {
    const rows = readmeOptionsTable();
    const expected = new Map<string, string>(FLOW_REQUIRED.map((k) => [k, 'required']));
    for (const [k, v] of Object.entries(FLOW_DEFAULTS)) expected.set(k, cell(k, v));
    expect([...rows.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [k, want] of expected) expect(rows.get(k), `README default of ${k}`).toBe(want);
  });
  it('the table parser sees the rows (a smoke check of the table shape)', () => {
    const rows = readmeOptionsTable();
    expect(rows.get('method')).toBe("`'gradient'`");
    expect(rows.get('stepsPerSubmit')).toBe('64');
  });
});
