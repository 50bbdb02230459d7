// The `wgflow` command line (app/cli.ts main, app/args.ts on node:util parseArgs): flags in any
// order, typed flags, unknown flags and commands rejected with the valid ones listed, malformed
// numbers rejected naming the flag; all before any GPU work. Two small runs on the GPU check
// that flags given before the command are honoured.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../app/cli.js';
import { parseFlags } from '../app/args.js';
import { PRESETS } from '../app/presets.js';
import { pictureCommand, picturePreset } from '../app/emblem.js';
import { entropyReference } from '../src/energies/entropy.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgflow-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('wgflow command line errors', () => {
  it('rejects an unknown command, listing the commands and presets', async () => {
    await expect(main(['nope'])).rejects.toThrow("wgflow: unknown command 'nope'; commands: compare <preset>, picture, converge [preset], list, help, or a preset to run: quadratic, fokker-planck, paper-fp, paper-quadratic, quadratic-tuned");
    await expect(main(['--n', '10', 'nope'])).rejects.toThrow(/unknown command 'nope'/);
  });

  it('rejects an unknown flag, wherever it is, listing the flags of the command', async () => {
    await expect(main(['picture', '--bogus', '1'])).rejects.toThrow('wgflow: picture: unknown flag --bogus; valid flags: --n, --m, --steps, --anneal, --image, --out, --help');
    await expect(main(['--bogus', 'quadratic'])).rejects.toThrow('wgflow: quadratic: unknown flag --bogus; valid flags: --n, --steps, --every, --out, --help');
    // A flag of another command is unknown to this one.
    await expect(main(['picture', '--criterion', 'plateau'])).rejects.toThrow(/picture: unknown flag --criterion; valid flags: --n, --m/);
    await expect(main(['compare', 'quadratic', '--image', 'x.png'])).rejects.toThrow(/compare: unknown flag --image; valid flags: --n, --steps, --every, --out, --max-steps, --criterion/);
  });

  it('rejects a malformed or out-of-range value, naming the flag', async () => {
    await expect(main(['quadratic', '--n', 'abc'])).rejects.toThrow('wgflow: --n must be a positive integer (got abc)');
    await expect(main(['--steps', '2.5', 'picture'])).rejects.toThrow('wgflow: --steps must be a positive integer (got 2.5)');
    await expect(main(['compare', 'quadratic', '--tol=0'])).rejects.toThrow('wgflow: --tol must be a positive number (got 0)');
    await expect(main(['compare', 'quadratic', '--criterion', 'best'])).rejects.toThrow('wgflow: --criterion must be threshold or plateau (got best)');
    await expect(main(['quadratic', '--out'])).rejects.toThrow(/quadratic: Option '--out <value>' argument missing/);
  });

  it('rejects a missing or unknown preset of compare and stray arguments', async () => {
    await expect(main(['compare'])).rejects.toThrow('wgflow: compare: missing preset; presets: quadratic, fokker-planck, picture, paper-fp, paper-quadratic, quadratic-tuned');
    await expect(main(['compare', 'nope'])).rejects.toThrow("wgflow: compare: unknown preset 'nope'");
    await expect(main(['quadratic', 'extra'])).rejects.toThrow("wgflow: quadratic: unexpected argument 'extra'");
  });

  it('a boolean flag takes no value: --help before a preset does not swallow it, --help=x is an error', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await main(['--help', 'quadratic']);
      await main(['-h']);
      await main(['list']);
      await pictureCommand(['--help']);
      expect(log).toHaveBeenCalledTimes(4);
      expect(String(log.mock.calls[3]![0])).toBe('usage: wgflow picture [--n N] [--m M] [--steps S] [--anneal A] [--image PATH] [--out DIR] [--help]');
      const text = String(log.mock.calls[0]![0]);
      expect(text).toContain('usage: wgflow [preset] [--n N] [--steps S] [--every K] [--out DIR]');
      expect(text).toContain('wgflow picture [--n N] [--m M] [--steps S] [--anneal A] [--image PATH] [--out DIR]');
      for (const name of ['quadratic', 'fokker-planck', 'picture']) expect(text).toMatch(new RegExp(`\\n  ${name} +\\S`));
    } finally {
      log.mockRestore();
    }
    await expect(main(['quadratic', '--help=yes'])).rejects.toThrow(/does not take an argument/);
  });

  it('parseFlags takes flags in any order, with = or a separate value', () => {
    const specs = { n: { type: 'string' }, out: { type: 'string' }, vrel: { type: 'boolean' } } as const;
    expect(parseFlags(['--out', 'x', 'picture', '--vrel', 'more', '--n=7'], specs, 'test')).toEqual({ positionals: ['picture', 'more'], flags: { out: 'x', vrel: true, n: '7' } });
  });
});

describe('wgflow runs with flags before the command (GPU)', () => {
  it('wgflow --out DIR --steps 4 quadratic --n 16 --every 2 writes its outputs to DIR', async () => {
    const out = join(tmp, 'quadratic');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const table = vi.spyOn(console, 'table').mockImplementation(() => {});
    try {
      await main(['--out', out, '--steps', '4', 'quadratic', '--n', '16', '--every', '2']);
    } finally {
      log.mockRestore();
      table.mockRestore();
    }
    const csv = readFileSync(join(out, 'quadratic-energy.csv'), 'utf8').trim().split('\n');
    expect(csv.map((l) => l.split(',')[0])).toEqual(['step', '0', '2', '4']);
    for (const flow of ['gradient', 'accelerated', 'steering']) expect(existsSync(join(out, `quadratic-${flow}-final.png`))).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, 'quadratic-summary.json'), 'utf8')) as { runs: { flow: string; steps: number }[] };
    expect(summary.runs.map((r) => [r.flow, r.steps])).toEqual([['gradient', 4], ['accelerated', 4], ['steering', 4]]);
  });

  it('wgflow --out DIR picture --n 64 --m 256 --steps 20 writes its snapshots, KL curve and summary to DIR', async () => {
    const out = join(tmp, 'picture');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await main(['--out', out, 'picture', '--n', '64', '--m', '256', '--steps', '20']);
    } finally {
      log.mockRestore();
    }
    for (const f of ['picture-0.png', 'picture-20.png', 'picture-kl.svg', 'picture-kl.csv']) expect(existsSync(join(out, f)), f).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, 'picture-summary.json'), 'utf8')) as Record<string, number>;
    expect([summary.n, summary.m, summary.steps]).toEqual([64, 256, 20]);
  }, 120_000);
});

describe('presets (app/presets.ts)', () => {
  it('lists every preset explicitly, in the order wgflow list shows them', () => {
    expect(Object.keys(PRESETS)).toEqual(['quadratic', 'fokker-planck', 'picture', 'paper-fp', 'paper-quadratic', 'quadratic-tuned']);
    expect(PRESETS.picture).toBe(picturePreset);
    expect(Object.isFrozen(PRESETS)).toBe(true);
  });

  it('fokker-planck reports energyK4 = mean |x|² + the k = 4 Kozachenko–Leonenko entropy of the oracle', () => {
    const fp = PRESETS['fokker-planck']!;
    const x = fp.positions(300);
    let u = 0;
    for (const v of x) u += v * v;
    expect(fp.finalCheck!(x).energyK4).toBe(u / 300 + entropyReference(x, 300, 2, { k: 4 }).value);
  });
});
