// Run configurations (app/config.ts): the zod schema rejects unknown fields, wrong types and
// values out of range with messages naming the field and the allowed values; every preset is a
// valid config, printed by `wgflow config <preset>`, and running that file gives exactly the
// preset's run (GPU, tiny N).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main, applyRunFlags } from '../app/cli.js';
import { buildEnergy, parseConfig, termWeightAt, type RunConfig } from '../app/config.js';
import { PRESETS } from '../app/presets.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgflow-cli-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const base = (): Record<string, unknown> => ({
  name: 'q', dim: 2, n: 100, init: { kind: 'uniform' },
  energy: [{ term: 'quadratic' }, { term: 'entropy', k: 2 }],
  runs: [{ label: 'g', method: 'gradient', h: 0.01 }], steps: 10, every: 2,
});

const err = (value: unknown) => {
  try {
    parseConfig(value, 'c.json');
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

describe('config schema errors', () => {
  it('an unknown field is an error naming it and the allowed fields, at any depth', () => {
    expect(err({ ...base(), colour: 'red' })).toBe("wgflow: c.json: invalid config: (top level): unknown field 'colour' (allowed fields: name, description, job, dim, n, init, energy, runs, steps, every, snapshots, fMin, converge); see `wgflow config <preset>` for a valid example");
    expect(err({ ...base(), energy: [{ term: 'entropy', kk: 1 }] })).toContain("energy[0]: unknown field 'kk' (allowed fields: term, weight, label, anneal, k, epsilon)");
    expect(err({ ...base(), runs: [{ label: 'g', method: 'gradient', h: 0.1, dt: 1 }] })).toContain("runs[0]: unknown field 'dt' (allowed fields: label, method, h, gamma, temperature, seed, restart, maxDisplacement)");
  });

  it('a wrong type is an error naming the field, the expected type and the value', () => {
    expect(err({ ...base(), n: '100' })).toContain('n: must be a number (got "100")');
    expect(err({ ...base(), steps: 2.5 })).toContain('steps: must be an integer (got 2.5)');
    expect(err({ ...base(), runs: [{ label: 'g', method: 'gradient', h: 'big' }] })).toContain("runs[0].h: must be a number > 0 or 'auto'");
    expect(err({ ...base(), energy: 'quadratic' })).toContain('energy: must be an array (got "quadratic")');
    expect(err({ ...base(), runs: [{ label: 'g', method: 'gradient', h: 0.1, restart: 'yes' }] })).toContain('runs[0].restart: must be a boolean (got "yes")');
    expect(err({ ...base(), name: undefined })).toContain('name: is required (string)');
  });

  it('a value out of range or not among the allowed ones is an error listing them', () => {
    expect(err({ ...base(), n: 1 })).toContain('n: must be ≥ 2 (got 1)');
    expect(err({ ...base(), dim: 4 })).toContain('dim: must be 1, 2 or 3');
    expect(err({ ...base(), runs: [{ label: 'g', method: 'newton', h: 0.1 }] })).toContain('runs[0].method: must be "gradient", "accelerated", "steering", "langevin", "fire" (got "newton")');
    expect(err({ ...base(), energy: [{ term: 'magic' }] })).toContain('energy[0].term: must be one of "quadratic", "doubleWell", "gaussianMixture", "entropy", "interaction" (got "magic")');
    expect(err({ ...base(), energy: [{ term: 'entropy', k: 9 }] })).toContain('energy[0].k: must be ≤ 8 (got 9)');
    expect(err({ ...base(), runs: [{ label: 'g', method: 'gradient', h: -1 }] })).toContain('runs[0].h: must be > 0 (got -1)');
    expect(err({ ...base(), runs: [{ label: 'g', method: 'accelerated', h: 0.1, gamma: -2 }] })).toContain('runs[0].gamma: must be ≥ 0 (got -2)');
    expect(err({ ...base(), runs: [{ label: 'g', method: 'accelerated', h: 0.1, gamma: 'high' }] })).toContain("runs[0].gamma: must be a number ≥ 0, 'auto' or 'paper'");
    expect(err({ ...base(), runs: [] })).toContain('runs: needs at least 1 entry');
    expect(err({ ...base(), init: { kind: 'two-quadrants' }, dim: 3 })).toContain("init.kind: 'two-quadrants' is for dim 2 (dim is 3; use 'uniform' or 'gaussian')");
    expect(err({ ...base(), runs: [{ label: 'l', method: 'langevin', h: 'auto' }] })).toContain("runs[0].h: 'auto' is not for langevin (give a number > 0)");
    expect(err({ ...base(), runs: [{ label: 'g', method: 'gradient', h: 0.1 }, { label: 'g', method: 'fire', h: 0.1 }] })).toContain("runs[1].label: duplicate label 'g' (labels must differ)");
    expect(err({ ...base(), n: 2, energy: [{ term: 'entropy', k: 2 }] })).toContain('energy[0].k: must be < n (2)');
    expect(err({ ...base(), job: 'converge' })).toContain("converge: is required when job is 'converge'");
  });

  it('several problems are all listed', () => {
    const m = err({ ...base(), n: 0, every: 0, extra: 1 });
    expect(m).toContain('n: must be ≥ 2 (got 0)');
    expect(m).toContain('every: must be ≥ 1 (got 0)');
    expect(m).toContain("unknown field 'extra'");
  });

  it('a file that is not JSON or not a valid config fails before any GPU work, naming the file', async () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{ "name": ');
    await expect(main(['run', bad])).rejects.toThrow(/wgflow: .*bad\.json: not valid JSON/);
    writeFileSync(bad, JSON.stringify({ ...base(), steps: 0 }));
    await expect(main(['run', bad])).rejects.toThrow(/wgflow: .*bad\.json: invalid config: steps: must be ≥ 1 \(got 0\)/);
  });
});

describe('presets are configs', () => {
  it('every runnable preset has a valid config that parses to itself, and the config builds the same problem', () => {
    for (const [key, p] of Object.entries(PRESETS)) {
      if (key === 'picture') {
        expect(p.config).toBeUndefined();
        continue;
      }
      const c = p.config!;
      expect(parseConfig(JSON.parse(JSON.stringify(c)), key), key).toEqual(c);
      expect(p.positions(50)).toEqual(p.positions(50));
      expect(p.runs.map((r) => r.label)).toEqual(c.runs.map((r) => r.label));
      expect(p.energy().map((t) => t.label)).toEqual(buildEnergy(c.energy).map((t) => t.label));
    }
    expect(PRESETS.main!.config!.job).toBe('converge');
  });

  it('the quadratic preset starts where it always did: uniform in [−1, 1]³, seed 1', async () => {
    const { uniformBox } = await import('../src/index.js');
    expect(PRESETS.quadratic!.positions(100)).toEqual(uniformBox(100, 3, { low: -1, high: 1, seed: 1 }));
  });

  it('the run flags edit the config, and the result is validated again', () => {
    const c = PRESETS['fokker-planck']!.config!;
    const e = applyRunFlags(c, { n: '300', steps: '40', method: 'accelerated,langevin', h: '0.001', gamma: '1.5', seed: '7' }, 'fp');
    expect([e.n, e.steps]).toEqual([300, 40]);
    expect(e.runs).toEqual([
      { label: 'accelerated', method: 'accelerated', h: 0.001, gamma: 1.5, seed: 7 },
      { label: 'langevin', method: 'langevin', h: 0.001, gamma: 1.5, seed: 7 },
    ]);
    expect(c.n).toBe(1000); // the preset itself is untouched
  });

  it('annealed weights are a function of the step: linear to `to` over `steps`, held between recorded steps', () => {
    const t = parseConfig({ ...base(), energy: [{ term: 'entropy', weight: 2, anneal: { to: 1, steps: 10 } }] }, 't').energy[0]!;
    expect([0, 1, 4, 5, 9, 10, 11, 100].map((s) => termWeightAt(t, s, 5))).toEqual([2, 2, 2, 1.5, 1.5, 1, 1, 1]);
  });
});

describe('wgflow config <preset> and wgflow run <file> (GPU)', () => {
  it('prints the preset as JSON; running the printed file gives the same rows bit for bit as running the preset', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let text = '';
    try {
      await main(['config', 'quadratic']);
      text = write.mock.calls.map((c) => String(c[0])).join('');
    } finally {
      write.mockRestore();
    }
    const config = JSON.parse(text) as RunConfig;
    expect(config).toEqual(PRESETS.quadratic!.config);
    const file = join(tmp, 'q.json');
    writeFileSync(file, text);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await main(['run', 'quadratic', '--n', '32', '--steps', '6', '--every', '2', '--out', join(tmp, 'a')]);
      await main(['run', file, '--n', '32', '--steps', '6', '--every', '2', '--out', join(tmp, 'b')]);
    } finally {
      log.mockRestore();
    }
    for (const f of ['energy.csv', 'energy.json']) expect(readFileSync(join(tmp, 'b', f), 'utf8'), f).toBe(readFileSync(join(tmp, 'a', f), 'utf8'));
  });
});
