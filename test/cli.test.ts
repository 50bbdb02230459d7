// The `wgflow` command line (app/cli.ts main, app/args.ts on node:util parseArgs): flags in any
// order, typed flags, unknown flags and commands rejected with the valid ones listed, malformed
// numbers rejected naming the flag; all before any GPU work; the help of every command and
// option. Small runs on the GPU check that flags given before the command are honoured and
// what `wgflow run` writes. Config files: test/cli-config.test.ts; checkpoints and resume:
// test/cli-checkpoint.test.ts; Ctrl-C on a spawned child: test/cli-signal.test.ts.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { PNG } from 'pngjs';
import { COMPARE_FLAGS, CONVERGE_FLAGS, main, RESUME_FLAGS, RUN_FLAGS } from '../app/cli.js';
import { parseFlags } from '../app/args.js';
import { PRESETS } from '../app/presets.js';
import { PICTURE_FLAGS, pictureCommand, picturePreset } from '../app/emblem.js';
import { entropyReference } from '../src/energies/entropy.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgflow-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('wgflow command line errors', () => {
  it('rejects an unknown command, listing the commands and presets', async () => {
    await expect(main(['nope'])).rejects.toThrow("wgflow: unknown command 'nope'; commands: run, resume, presets, config, compare, picture, converge, help (list = presets), or a preset to run: quadratic, fokker-planck, paper-fp, paper-quadratic, quadratic-tuned, main");
    await expect(main(['--n', '10', 'nope'])).rejects.toThrow(/unknown command 'nope'/);
  });

  it('rejects an unknown flag, wherever it is, listing the flags of the command', async () => {
    await expect(main(['picture', '--bogus', '1'])).rejects.toThrow('wgflow: picture: unknown flag --bogus; valid flags: --n, --m, --steps, --anneal, --image, --out, --help');
    await expect(main(['--bogus', 'quadratic'])).rejects.toThrow('wgflow: quadratic: unknown flag --bogus; valid flags: --method, --steps, --n, --h, --gamma, --seed, --every, --out, --checkpoint-every, --paper, --help');
    await expect(main(['run', 'quadratic', '--max-steps', '5'])).rejects.toThrow('wgflow: quadratic: unknown flag --max-steps; valid flags: --method, --steps');
    // A flag of another command is unknown to this one.
    await expect(main(['picture', '--criterion', 'plateau'])).rejects.toThrow(/picture: unknown flag --criterion; valid flags: --n, --m/);
    await expect(main(['compare', 'quadratic', '--image', 'x.png'])).rejects.toThrow(/compare: unknown flag --image; valid flags: --n, --steps, --every, --out, --max-steps, --criterion/);
  });

  it('rejects a malformed or out-of-range value, naming the flag', async () => {
    await expect(main(['run', 'quadratic', '--paper', 'on'])).rejects.toThrow('wgflow: run: quadratic: --paper is for the main job (wgflow run main, npm start)');
    await expect(main(['run', 'main', '--paper', 'maybe'])).rejects.toThrow(/--paper must be one of on, off|--paper.*on.*off/);
    await expect(main(['quadratic', '--n', 'abc'])).rejects.toThrow('wgflow: --n must be a positive integer (got abc)');
    await expect(main(['--steps', '2.5', 'picture'])).rejects.toThrow('wgflow: --steps must be a positive integer (got 2.5)');
    await expect(main(['compare', 'quadratic', '--tol=0'])).rejects.toThrow('wgflow: --tol must be a positive number (got 0)');
    await expect(main(['compare', 'quadratic', '--criterion', 'best'])).rejects.toThrow('wgflow: --criterion must be threshold or plateau (got best)');
    await expect(main(['quadratic', '--out'])).rejects.toThrow(/quadratic: Option '--out <value>' argument missing/);
    await expect(main(['run', 'quadratic', '--h=-1'])).rejects.toThrow('wgflow: --h must be a positive number (got -1)');
    await expect(main(['run', 'quadratic', '--gamma', 'lots'])).rejects.toThrow('wgflow: --gamma must be a number ≥ 0, auto or paper (got lots)');
    await expect(main(['run', 'quadratic', '--seed', '1.5'])).rejects.toThrow('wgflow: --seed must be an integer in 0..4294967295 (got 1.5)');
    await expect(main(['run', 'quadratic', '--method', 'newton'])).rejects.toThrow('wgflow: --method must be gradient, accelerated, steering, langevin, fire or a comma list of them (got newton)');
    await expect(main(['run', 'quadratic', '--checkpoint-every', '2.5'])).rejects.toThrow('wgflow: --checkpoint-every must be an integer ≥ 0 (got 2.5)');
    // The schema checks the flags' values too (h: 'auto' needs an entropy term).
    await expect(main(['run', 'quadratic', '--h', 'auto'])).rejects.toThrow("wgflow: quadratic with the flags given: invalid config: runs[0].h: 'auto' needs an entropy term in energy (give a number > 0)");
    await expect(main(['run', 'fokker-planck', '--method', 'langevin'])).rejects.toThrow('wgflow: fokker-planck: --method langevin needs a fixed step (the config\'s h is auto): add --h H');
  });

  it('rejects a missing or unknown preset of compare, run and config, and stray arguments', async () => {
    await expect(main(['compare'])).rejects.toThrow('wgflow: compare: missing preset; presets: quadratic, fokker-planck, picture, paper-fp, paper-quadratic, quadratic-tuned, main');
    await expect(main(['compare', 'nope'])).rejects.toThrow("wgflow: compare: unknown preset 'nope'");
    await expect(main(['quadratic', 'extra'])).rejects.toThrow("wgflow: quadratic: unexpected argument 'extra'");
    await expect(main(['run'])).rejects.toThrow('wgflow: run: missing preset or config file; presets: quadratic, fokker-planck, paper-fp, paper-quadratic, quadratic-tuned, main');
    await expect(main(['run', 'nope'])).rejects.toThrow("wgflow: run: unknown preset 'nope' and no such file; presets: quadratic,");
    await expect(main(['run', join(tmp, 'missing.json')])).rejects.toThrow(/wgflow: run: cannot read config file .*missing\.json/);
    await expect(main(['run', 'picture'])).rejects.toThrow("wgflow: run: 'picture' is its own command (wgflow picture)");
    await expect(main(['config', 'picture'])).rejects.toThrow("wgflow: config: 'picture' is its own command (wgflow picture), not a run configuration");
    await expect(main(['config'])).rejects.toThrow('wgflow: config: missing preset');
    await expect(main(['resume'])).rejects.toThrow('wgflow: resume: missing checkpoint path');
    await expect(main(['presets', 'x'])).rejects.toThrow("wgflow: presets: unexpected argument 'x'");
    await expect(main(['run', 'main', '--checkpoint-every', '5'])).rejects.toThrow("wgflow: run: fokker-planck: --checkpoint-every is for run jobs; the converge job (job: 'converge') writes no checkpoints");
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
      expect(String(log.mock.calls[0]![0])).toContain('usage: wgflow run <preset | config.json> [--method M] [--steps S] [--n N] [--h H] [--gamma G] [--seed K] [--every K] [--out DIR] [--checkpoint-every K]');
      const text = String(log.mock.calls[1]![0]);
      expect(text).toContain('wgflow picture [--n N] [--m M] [--steps S] [--anneal A] [--image PATH] [--out DIR]');
      for (const name of ['quadratic', 'fokker-planck', 'picture', 'main']) expect(text).toMatch(new RegExp(`\\n  ${name} +\\S`));
      expect(String(log.mock.calls[2]![0])).toMatch(/^presets \(wgflow run <preset>/);
    } finally {
      log.mockRestore();
    }
    await expect(main(['quadratic', '--help=yes'])).rejects.toThrow(/does not take an argument/);
  });

  it('wgflow --help and wgflow <command> --help document every command, option and exit code', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const texts: string[] = [];
    try {
      for (const argv of [['--help'], ['run', '--help'], ['resume', '--help'], ['compare', '--help'], ['converge', '--help'], ['picture', '--help'], ['config', '--help'], ['presets', '--help'], ['help']]) {
        log.mockClear();
        await main(argv);
        texts.push(String(log.mock.calls[0]![0]));
      }
    } finally {
      log.mockRestore();
    }
    const [all, run, resume, compare, converge, picture] = texts;
    for (const c of ['run', 'resume', 'presets', 'config', 'compare', 'picture', 'converge']) expect(all).toContain(`wgflow ${c}`);
    for (const code of ['0 done', '1 bad input', '3 blow-up', '4 GPU device lost', '130 stopped by SIGINT', '143 by SIGTERM']) expect(all).toContain(code);
    expect(all).toContain('npm start is `wgflow run main`');
    // Every flag of run, resume, compare and converge has a help line with a text.
    for (const [text, flags] of [[run, RUN_FLAGS], [resume, RESUME_FLAGS], [compare, COMPARE_FLAGS], [converge, CONVERGE_FLAGS], [picture, PICTURE_FLAGS]] as const) {
      for (const name of Object.keys(flags)) expect(text, name).toMatch(new RegExp(`\\n  --${name}[^\\n]*\\s{2,}\\S`));
    }
    expect(texts[8]).toBe(all);
  });

  it('parseFlags takes flags in any order, with = or a separate value', () => {
    const specs = { n: { type: 'string' }, out: { type: 'string' }, vrel: { type: 'boolean' } } as const;
    expect(parseFlags(['--out', 'x', 'picture', '--vrel', 'more', '--n=7'], specs, 'test')).toEqual({ positionals: ['picture', 'more'], flags: { out: 'x', vrel: true, n: '7' } });
  });
});

describe('wgflow runs with flags before the command (GPU)', () => {
  it('wgflow --out DIR --steps 4 quadratic --n 16 --every 3 writes energy CSV/JSON, SVG plots, snapshots with axes, summary.json', async () => {
    const out = join(tmp, 'quadratic');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await main(['--out', out, '--steps', '4', 'quadratic', '--n', '16', '--every', '3']);
    } finally {
      log.mockRestore();
    }
    const csv = readFileSync(join(out, 'energy.csv'), 'utf8').trim().split('\n');
    // Every `every` steps and the last step.
    expect(csv.map((l) => l.split(',')[0])).toEqual(['step', '0', '3', '4']);
    expect(csv[0]!.split(',').slice(0, 6)).toEqual(['step', 'energy_gradient', 'residual_gradient', 'kinetic_gradient', 'h_gradient', 'quadratic_gradient']);
    const json = JSON.parse(readFileSync(join(out, 'energy.json'), 'utf8')) as { flows: { label: string; rows: { step: number; energy: number }[] }[] };
    expect(json.flows.map((f) => f.label)).toEqual(['gradient', 'accelerated', 'steering']);
    // The CSV and the JSON hold the same numbers.
    expect(json.flows[0]!.rows.map((r) => r.energy)).toEqual(csv.slice(1).map((l) => Number(l.split(',')[1])));
    // The gradient flow contracts the quadratic energy by (1 − 2h)² = 0.81 a step (h = 0.05).
    const e = json.flows[0]!.rows.map((r) => r.energy);
    expect(e[2]! / e[1]!).toBeCloseTo(0.81, 5);
    for (const f of ['energy.svg', 'residual.svg', 'snapshots.svg']) expect(readFileSync(join(out, f), 'utf8')).toMatch(/^<svg/);
    const png = PNG.sync.read(readFileSync(join(out, 'snapshots.png')));
    expect(png.width).toBeGreaterThan(400);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      adapter: { summary: string }; parameters: { steps: number; config: { n: number } }; timings: { flows: { flow: string; stepMs: number }[] };
      final: Record<string, { step: number; energy: number }>;
    };
    expect(summary.adapter.summary.length).toBeGreaterThan(0);
    expect([summary.parameters.steps, summary.parameters.config.n]).toEqual([4, 16]);
    expect(summary.timings.flows.map((f) => f.flow)).toEqual(['gradient', 'accelerated', 'steering']);
    expect(Object.entries(summary.final).map(([k, v]) => [k, v.step])).toEqual([['gradient', 4], ['accelerated', 4], ['steering', 4]]);
    expect(summary.final.gradient!.energy).toBe(json.flows[0]!.rows.at(-1)!.energy);
  });

  it('snapshots.png has axes: a frame line and tick labels beside every panel', () => {
    const png = PNG.sync.read(readFileSync(join(tmp, 'quadratic', 'snapshots.png')));
    const dark = (x: number, y: number) => png.data[4 * (y * png.width + x)]! < 160;
    // The first column of panels (one row per flow: 3 rows of 200 px): its y axis is a dark
    // vertical line at x = 62 (app/figure.ts snapshotGrid's left margin).
    let axis = 0;
    for (let y = 0; y < png.height; y++) if (dark(62, y)) axis++;
    expect(axis).toBeGreaterThan(3 * 190);
    // Tick labels left of the y axis (x in 20..58) in every row of panels.
    for (let r = 0; r < 3; r++) {
      let ink = 0;
      for (let y = 96 + r * 284; y < 300 + r * 284; y++) for (let x = 20; x < 58; x++) if (dark(x, y)) ink++;
      expect(ink, `row ${r}`).toBeGreaterThan(50);
    }
  });

  it('wgflow run main (npm start) is the main job: --n and --steps (the step cap) reach it, outputs fokker-planck-*', async () => {
    const out = join(tmp, 'main');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await main(['run', 'main', '--n', '64', '--steps', '10', '--every', '5', '--method', 'gradient,fire', '--out', out]);
    } finally {
      log.mockRestore();
    }
    const rep = JSON.parse(readFileSync(join(out, 'fokker-planck-report.json'), 'utf8')) as { n: number; maxSteps: number; every: number; runs: { label: string }[] };
    expect([rep.n, rep.maxSteps, rep.every]).toEqual([64, 10, 5]);
    expect(rep.runs.map((r) => r.label)).toEqual(['gradient', 'fire']);
    expect(JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')).scripts.start).toBe('npm run build --silent && node dist/app/cli.js run main');
  }, 120_000);

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
    expect(Object.keys(PRESETS)).toEqual(['quadratic', 'fokker-planck', 'picture', 'paper-fp', 'paper-quadratic', 'quadratic-tuned', 'main']);
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
