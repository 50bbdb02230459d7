// Checkpoints and resume of `wgflow run` (app/run.ts, app/checkpoint.ts) on the real adapter:
// a run stopped (as by Ctrl-C) and resumed from its checkpoint file equals the uninterrupted run
// bit for bit, in the final positions and in every row of energy.csv / energy.json, for every
// method, with an entropy term whose weight is annealed; corrupt, truncated and mismatched
// checkpoints are clear errors; a blow-up stops the run naming the step and keeps the last
// finite checkpoint; a device loss stops the run and resuming from the last checkpoint works.
// The spawned child with SIGINT: test/cli-signal.test.ts.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFlow, entropy, gaussian, getDevice, klToSamples, quadratic, twoQuadrants, type DeviceResult } from '../src/index.js';
import { parseConfig, type RunConfig } from '../app/config.js';
import { checkpointBytes, readCheckpoint, type CheckpointPayload } from '../app/checkpoint.js';
import { EXIT_BLOWUP, EXIT_DEVICE_LOST, EXIT_SIGINT, runConfig, RunStop, type RunConfigOptions } from '../app/run.js';
import { createProgress } from '../app/progress.js';
import { main } from '../app/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgflow-cli-cp-'));
let d: DeviceResult;
beforeAll(async () => { d = await getDevice(); });
afterAll(() => { d?.device.destroy(); rmSync(tmp, { recursive: true, force: true }); });

const quiet = () => ({ progress: createProgress({ stream: { write: () => true } }), log: () => {} });
const adapter = () => ({ summary: d.summary, info: { device: d.adapterInfo.device ?? '' } });

function config(name: string, runs: unknown[], extra: Record<string, unknown> = {}): RunConfig {
  return parseConfig({
    name, dim: 2, n: 256, init: { kind: 'two-quadrants', seed: 3 },
    energy: [{ term: 'quadratic' }, { term: 'entropy', weight: 1.5, anneal: { to: 1, steps: 20 } }],
    runs, steps: 30, every: 4, snapshots: [0, 12], ...extra,
  }, name);
}

const RUNS: Record<string, unknown> = {
  gradient: { label: 'gradient', method: 'gradient', h: 'auto' },
  accelerated: { label: 'accelerated', method: 'accelerated', h: 'auto' },
  steering: { label: 'steering', method: 'steering', h: 'auto', gamma: 1 },
  langevin: { label: 'langevin', method: 'langevin', h: 2e-3, temperature: 0.5, seed: 9 },
  fire: { label: 'fire', method: 'fire', h: 'auto' },
};

async function run(c: RunConfig, out: string, o: Partial<RunConfigOptions> = {}) {
  return runConfig(c, { device: d.device, adapter: adapter(), out, checkpointEvery: 0, ...quiet(), ...o });
}

async function stopped(p: Promise<unknown>): Promise<RunStop> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RunStop) return e;
    throw e;
  }
  throw new Error('expected the run to stop');
}

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** The bitwise comparison: CSV and JSON text, and every final (and snapshot) position. */
async function expectSameRun(a: string, b: string, ra: Awaited<ReturnType<typeof run>>, rb: Awaited<ReturnType<typeof run>>) {
  for (const f of ['energy.csv', 'energy.json']) expect(readFileSync(join(b, f), 'utf8'), f).toBe(readFileSync(join(a, f), 'utf8'));
  expect(rb.records.map((r) => r.snapshots.map((s) => s.step))).toEqual(ra.records.map((r) => r.snapshots.map((s) => s.step)));
  ra.records.forEach((r, j) => r.snapshots.forEach((s, k) => {
    expect(bytes(rb.records[j]!.snapshots[k]!.positions).equals(bytes(s.positions)), `${r.label} positions at step ${s.step}`).toBe(true);
  }));
  // The final diagnostics of summary.json too: stats (energy, terms, moments, h, FIRE α,
  // restarts) and the kernels' (the lazy neighbour grid's cell size, buckets, search work),
  // which the checkpoint's kernel buffers make repeat.
  const final = (dir: string) => (JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { final: unknown }).final;
  expect(final(b)).toEqual(final(a));
  expect(rb.records.map((r) => r.final)).toEqual(ra.records.map((r) => r.final));
}

describe('resume equals the uninterrupted run bit for bit (GPU)', () => {
  for (const method of Object.keys(RUNS)) {
    it(`${method}, with an annealed entropy term: stopped at step 14, checkpoints every 6 steps`, async () => {
      const c = config(`resume-${method}`, [RUNS[method]]);
      const a = join(tmp, `${method}-a`), s = join(tmp, `${method}-s`), b = join(tmp, `${method}-b`);
      const ra = await run(c, a);
      const stop = await stopped(run(c, s, { checkpointEvery: 6, interruptAt: 14 }));
      expect(stop.exitCode).toBe(EXIT_SIGINT);
      expect(stop.message).toContain(`stopped by SIGINT at resume-${method} flow ${method} step 14; checkpoint written to ${join(s, 'checkpoint.wgflow')}`);
      const cp = await readCheckpoint(join(s, 'checkpoint.wgflow'));
      expect(cp.current!.flow.stateFields.step).toBe(14);
      // The checkpoint holds the annealing progress and the annealed weight of the entropy term.
      expect(cp.current!.flow.anneal).toEqual([{ term: 1, progress: 12 / 20 }]);
      expect(cp.current!.flow.weights).toEqual([1, 1.5 + (1 - 1.5) * (12 / 20)]);
      if (method === 'langevin') expect(cp.current!.flow.stateFields.rngCounter).toBeGreaterThan(0);
      const rb = await run(c, b, { resume: cp, checkpointEvery: 6 });
      await expectSameRun(a, b, ra, rb);
    });
  }

  it('two flows, stopped in the first, resumed and stopped in the second: the first flow\'s rows and final state come from the checkpoint', async () => {
    const c = config('resume-two', [RUNS.fire, RUNS.gradient]);
    const a = join(tmp, 'two-a'), s1 = join(tmp, 'two-s1'), s2 = join(tmp, 'two-s2'), b = join(tmp, 'two-b');
    const ra = await run(c, a);
    await stopped(run(c, s1, { interruptAt: 14 }));
    const cp1 = await readCheckpoint(join(s1, 'checkpoint.wgflow'));
    expect([cp1.runIndex, cp1.completed.length, cp1.current!.record.label]).toEqual([0, 0, 'fire']);
    // Resumed at step 14 of fire, the next stop at step 14 is in the second flow.
    await stopped(run(c, s2, { resume: cp1, interruptAt: 14 }));
    const cp2 = await readCheckpoint(join(s2, 'checkpoint.wgflow'));
    expect([cp2.runIndex, cp2.completed.length, cp2.current!.record.label, cp2.current!.flow.stateFields.step]).toEqual([1, 1, 'gradient', 14]);
    const rb = await run(c, b, { resume: cp2 });
    await expectSameRun(a, b, ra, rb);
  });

  it('the last periodic checkpoint of a finished run, resumed with a larger total, equals a run of that total', async () => {
    const c40 = config('resume-more', [RUNS.steering], { steps: 40 });
    const c30 = { ...c40, steps: 30 };
    const a = join(tmp, 'more-a'), s = join(tmp, 'more-s'), b = join(tmp, 'more-b');
    const ra = await run(c40, a);
    await run(c30, s, { checkpointEvery: 8 });
    const cp = await readCheckpoint(join(s, 'checkpoint.wgflow'));
    expect([cp.reason, cp.total, cp.current!.flow.stateFields.step]).toEqual(['interval', 30, 24]);
    const rb = await run(c30, b, { resume: cp, total: 40, checkpointEvery: 8 });
    await expectSameRun(a, b, ra, rb);
  });
});

describe('flow.checkpoint() / restore() carry the kernels\' lazy neighbour grids (GPU)', () => {
  it('an entropy term and a KL monitor: after restore, later diagnostics (grid cell size, buckets, search work) repeat exactly', async () => {
    const x0 = twoQuadrants(256, { seed: 5 });
    const samples = gaussian(300, 2, { std: 0.7, seed: 2 });
    const opts = { dim: 2, positions: x0, energy: [quadratic(), entropy()], monitor: [klToSamples(samples)], method: 'accelerated' as const, h: 'auto' as const };
    const a = await createFlow(d.device, opts);
    const b = await createFlow(d.device, opts);
    try {
      await a.step(14);
      const cp = await a.checkpoint();
      // The entropy's and the monitor's particle grids.
      expect(cp.kernels!.length).toBeGreaterThanOrEqual(2);
      await a.step(16);
      const [sa, da] = [await a.stats(), await a.diagnostics()];
      b.restore(cp);
      await b.step(16);
      const [sb, db] = [await b.stats(), await b.diagnostics()];
      expect(db).toEqual(da);
      expect(sb).toEqual(sa);
      expect(Buffer.from((await b.positions()).buffer).equals(Buffer.from((await a.positions()).buffer))).toBe(true);
      // Kernel state of another energy is refused.
      const c = await createFlow(d.device, { ...opts, monitor: [] });
      try {
        expect(() => c.restore(cp)).toThrow(/wgflow: checkpoint kernel state has \d+ buffers .*; this flow's kernels have \d+ .*a checkpoint of another energy or wgflow version/);
      } finally {
        c.destroy();
      }
    } finally {
      a.destroy();
      b.destroy();
    }
  });
});

describe('bad checkpoints are clear errors, never a fresh start', () => {
  let good: Buffer;
  let path: string;
  beforeAll(async () => {
    const c = config('bad-cp', [RUNS.gradient], { steps: 8 });
    const s = join(tmp, 'bad-s');
    await stopped(run(c, s, { interruptAt: 4 }));
    path = join(s, 'checkpoint.wgflow');
    good = readFileSync(path);
  });
  const resumeErr = async (content: Buffer | string, extra: string[] = []) => {
    const f = join(tmp, `x-${Math.random().toString(36).slice(2)}.wgflow`);
    writeFileSync(f, content);
    try {
      await main(['resume', f, '--out', join(tmp, 'never'), ...extra]);
    } catch (e) {
      expect(existsSync(join(tmp, 'never')), 'nothing ran').toBe(false);
      return (e as Error).message.replace(f, 'F');
    }
    throw new Error('expected an error');
  };

  it('corrupt: one byte of the payload changed fails the SHA-256 check', async () => {
    const bad = Buffer.from(good);
    bad[bad.length - 40] ^= 1;
    expect(await resumeErr(bad)).toMatch(/^wgflow: resume: F: corrupt: the SHA-256 checksum of the payload is [0-9a-f]{12}…, the header says [0-9a-f]{12}…; start the run again or resume from another checkpoint$/);
  });

  it('truncated: a file cut short says so', async () => {
    expect(await resumeErr(good.subarray(0, good.length - 100))).toMatch(/^wgflow: resume: F: truncated: \d+ of \d+ payload bytes;/);
    expect(await resumeErr(good.subarray(0, 25))).toMatch(/^wgflow: resume: F: truncated: the header line is incomplete/);
    expect(await resumeErr('')).toMatch(/not a wgflow checkpoint/);
  });

  it('another format version, or not a checkpoint at all', async () => {
    const text = good.toString('utf8');
    expect(await resumeErr(text.replace(/^wgflow-checkpoint 1/, 'wgflow-checkpoint 7'))).toBe('wgflow: resume: F: checkpoint format version 7; this wgflow reads version 1; resume it with the wgflow version that wrote it');
    expect(await resumeErr('{"name": "q"}')).toMatch(/not a wgflow checkpoint \(its first line is not 'wgflow-checkpoint <version>'\)/);
  });

  it('mismatched: arrays that do not fit the config\'s N or dim (with a valid checksum), a method that differs', async () => {
    const cp = await readCheckpoint(path);
    const otherN = checkpointBytes({ ...cp, config: { ...cp.config, n: 300 } });
    expect(await resumeErr(otherN)).toMatch(/^wgflow: resume: F: mismatched: the flow state is for dim = 2, N = 256, the config says dim = 2, N = 300;/);
    const otherArrays = checkpointBytes({ ...cp, config: { ...cp.config, n: 300 }, current: { ...cp.current!, flow: { ...cp.current!.flow, n: 300 } } });
    expect(await resumeErr(otherArrays)).toMatch(/^wgflow: resume: F: mismatched: gradient snapshot at step 0 has 2048 bytes, expected 2400 \(N = 300, dim = 2\)/);
    const otherDim = checkpointBytes({ ...cp, current: { ...cp.current!, flow: { ...cp.current!.flow, dim: 3 } } });
    expect(await resumeErr(otherDim)).toMatch(/mismatched: the flow state is for dim = 3, N = 256, the config says dim = 2, N = 256/);
    const otherMethod = checkpointBytes({ ...cp, config: { ...cp.config, runs: [{ label: 'gradient', method: 'fire', h: 'auto' }] } });
    expect(await resumeErr(otherMethod)).toMatch(/mismatched: the flow state is for method gradient, the config's flow gradient is fire/);
  });

  it('mismatched: a config that disagrees with the flags given to resume', async () => {
    expect(await resumeErr(good, ['--n', '999'])).toMatch(/^wgflow: resume: F: mismatched: --n 999 disagrees with the checkpoint's config \(n = 256\); drop the flag to resume this run, or start a new run$/);
    expect(await resumeErr(good, ['--method', 'fire'])).toMatch(/mismatched: --method fire disagrees with the checkpoint's config \(flows gradient\)/);
    expect(await resumeErr(good, ['--h', '0.5'])).toMatch(/mismatched: --h 0.5 disagrees with the checkpoint's config \(h of the flows: auto\)/);
    expect(await resumeErr(good, ['--steps', '2'])).toMatch(/--steps 2 is before the checkpoint's step 4; give --steps ≥ 4/);
    // Flags that agree are accepted: this one resumes (and finishes) the run.
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await main(['resume', path, '--n', '256', '--out', join(tmp, 'agree')]);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    expect(existsSync(join(tmp, 'agree', 'summary.json'))).toBe(true);
  });
});

describe('blow-up and device loss (GPU)', () => {
  it('a blow-up stops the run naming the step, keeps the last finite checkpoint and suggests a smaller h or h auto', async () => {
    const c = parseConfig({
      name: 'blow', dim: 2, n: 64, init: { kind: 'uniform' }, energy: [{ term: 'quadratic' }],
      runs: [{ label: 'gradient', method: 'gradient', h: 40 }], steps: 200, every: 1,
    }, 'blow');
    const s = join(tmp, 'blow');
    const stop = await stopped(run(c, s, { checkpointEvery: 4 }));
    expect(stop.exitCode).toBe(EXIT_BLOWUP);
    // x ← x − h·2x = −79 x: the energy ~ 79^(2k) overflows f32 near step 10.
    const m = /the flow blew up: (a non-finite position or velocity at step|the energy is \S+ at step) (\d+)/.exec(stop.message);
    expect(m, stop.message).not.toBeNull();
    const at = Number(m![2]);
    expect(at).toBeGreaterThan(4);
    expect(at).toBeLessThan(40);
    expect(stop.message).toContain('use a smaller step (e.g. --h 4) or the automatic step --h auto');
    expect(stop.message).toContain(`the last checkpoint is ${join(s, 'checkpoint.wgflow')}`);
    const cp = await readCheckpoint(join(s, 'checkpoint.wgflow'));
    const step = cp.current!.flow.stateFields.step!;
    expect(step).toBeLessThan(at);
    expect(step % 4).toBe(0);
    expect(cp.current!.flow.positions.every(Number.isFinite)).toBe(true);
    expect(cp.current!.record.rows.every((r) => Number.isFinite(r.energy))).toBe(true);
  });

  it('a device destroyed inside the run stops it with a clear error; resuming from the last checkpoint on a new device gives the uninterrupted run', async () => {
    const c = config('lost', [RUNS.accelerated], { steps: 24 });
    const a = join(tmp, 'lost-a'), s = join(tmp, 'lost-s'), b = join(tmp, 'lost-b');
    const ra = await run(c, a);
    const other = await getDevice();
    const stop = await stopped(runConfig(c, { device: other.device, adapter: adapter(), out: s, checkpointEvery: 8, loseDeviceAt: 13, ...quiet() }));
    expect(stop.exitCode).toBe(EXIT_DEVICE_LOST);
    expect(stop.message).toMatch(/^wgflow: run: lost flow accelerated: the GPU device was lost (during steps 13 to 16|at step 1[36]) \(destroyed: /);
    expect(stop.message).toContain(`the last checkpoint is ${join(s, 'checkpoint.wgflow')} (flow accelerated, step 8); resume with: wgflow resume ${join(s, 'checkpoint.wgflow')}`);
    const cp = await readCheckpoint(join(s, 'checkpoint.wgflow'));
    expect(cp.current!.flow.stateFields.step).toBe(8);
    const rb = await run(c, b, { resume: cp, checkpointEvery: 8 });
    await expectSameRun(a, b, ra, rb);
  });
});
