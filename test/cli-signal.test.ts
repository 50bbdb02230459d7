// Ctrl-C on a spawned `wgflow run` (the built command, node dist/app/cli.js, compiled here into
// a private folder): SIGINT writes a last checkpoint, names it and exits with 130 (SIGTERM: 143);
// `wgflow resume` of that checkpoint then equals, bit for bit, an uninterrupted run to the same
// total, in every row of energy.csv and energy.json and in the final diagnostics.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../app/checkpoint.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const tmp = mkdtempSync(join(tmpdir(), 'wgflow-cli-signal-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Compiles app/cli.ts's import graph with the project's tsconfig into `<out>/dist` (not racing other builds of dist/). */
function buildCli(out: string): void {
  execFileSync(process.execPath, [join(root, 'scripts/gen-shaders.mjs')], { stdio: 'pipe' });
  const cfg = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, root);
  // Emit only (noCheck): the type check is `npm run typecheck`'s; syntax errors still fail here.
  const options = { ...parsed.options, outDir: join(out, 'dist'), rootDir: root, declaration: false, sourceMap: false, noCheck: true };
  const program = ts.createProgram([join(root, 'app/cli.ts')], options);
  const emit = program.emit();
  const diags = [...program.getSyntacticDiagnostics(), ...emit.diagnostics].filter((x) => x.category === ts.DiagnosticCategory.Error);
  if (diags.length || emit.emitSkipped) {
    const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
    throw new Error(`cli-signal test: app/cli.ts does not compile:\n${ts.formatDiagnostics(diags, host)}`);
  }
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'), 'dir');
}

interface Child {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Spawns the command; `stopWith` is sent once the first progress line of a flow has appeared (plus `delayMs`). */
function wgflow(args: string[], stopWith?: NodeJS.Signals, delayMs = 1500, env: Record<string, string> = {}): Promise<Child> {
  return new Promise((ok, bad) => {
    const child = spawn(process.execPath, [join(tmp, 'dist/app/cli.js'), ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '', stderr = '', sent = false;
    child.stdout.on('data', (b: Buffer) => { stdout += b; });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b;
      if (stopWith && !sent && /step +0\//.test(stderr)) {
        sent = true;
        setTimeout(() => child.kill(stopWith), delayMs);
      }
    });
    const timer = setTimeout(() => { child.kill('SIGKILL'); bad(new Error(`wgflow ${args.join(' ')} timed out:\n${stdout}\n${stderr}`)); }, 240_000);
    child.on('close', (code, signal) => { clearTimeout(timer); ok({ code, signal, stdout, stderr }); });
  });
}

const config = {
  name: 'sig', dim: 2, n: 300, init: { kind: 'two-quadrants', seed: 4 },
  energy: [{ term: 'quadratic' }, { term: 'entropy' }],
  runs: [{ label: 'steering', method: 'steering', h: 'auto' }],
  steps: 1000000, every: 10,
};

beforeAll(() => {
  buildCli(tmp);
  writeFileSync(join(tmp, 'sig.json'), JSON.stringify(config));
}, 300_000);

describe('Ctrl-C on a spawned wgflow run (GPU)', () => {
  it('SIGINT writes a checkpoint, names it, exits with 130; resuming it equals the uninterrupted run bit for bit', async () => {
    const stopped = await wgflow(['run', 'sig.json', '--out', 'int', '--checkpoint-every', '0'], 'SIGINT');
    const all = stopped.stdout + stopped.stderr;
    expect(stopped.code, all).toBe(130);
    expect(all).toContain('SIGINT: stopping after the current steps and writing a checkpoint');
    const m = /stopped by SIGINT at sig flow steering step (\d+); checkpoint written to (\S+); resume with: wgflow resume \S+/.exec(all);
    expect(m, all).not.toBeNull();
    expect(m![2]).toBe(join('int', 'checkpoint.wgflow'));
    const at = Number(m![1]);
    expect(at % 10).toBe(0);
    const cp = await readCheckpoint(join(tmp, 'int', 'checkpoint.wgflow'));
    expect([cp.reason, cp.current!.flow.stateFields.step]).toEqual(['SIGINT', at]);
    // Resume to 20 steps past the stop; the uninterrupted run to the same total.
    const total = String(at + 20);
    const resumed = await wgflow(['resume', join('int', 'checkpoint.wgflow'), '--steps', total, '--out', 'res']);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    const base = await wgflow(['run', 'sig.json', '--steps', total, '--out', 'base']);
    expect(base.code, base.stdout + base.stderr).toBe(0);
    for (const f of ['energy.csv', 'energy.json']) expect(readFileSync(join(tmp, 'res', f), 'utf8'), f).toBe(readFileSync(join(tmp, 'base', f), 'utf8'));
    const final = (dir: string) => (JSON.parse(readFileSync(join(tmp, dir, 'summary.json'), 'utf8')) as { final: unknown }).final;
    expect(final('res')).toEqual(final('base'));
    expect(readFileSync(join(tmp, 'res', 'energy.csv'), 'utf8').trim().split('\n').at(-1)!.split(',')[0]).toBe(total);
  });

  it('SIGTERM writes a checkpoint and exits with 143', async () => {
    const stopped = await wgflow(['run', 'sig.json', '--out', 'term', '--checkpoint-every', '0'], 'SIGTERM', 300);
    const all = stopped.stdout + stopped.stderr;
    expect(stopped.code, all).toBe(143);
    expect(all).toMatch(/stopped by SIGTERM at sig flow steering step \d+; checkpoint written to term\/checkpoint\.wgflow/);
    expect((await readCheckpoint(join(tmp, 'term', 'checkpoint.wgflow'))).reason).toBe('SIGTERM');
  });

  it('a device lost inside the run (WGFLOW_TEST_LOSE_DEVICE_AT) exits with 4 naming the last checkpoint; resuming it gives the uninterrupted run', async () => {
    const lost = await wgflow(['run', 'sig.json', '--steps', '60', '--checkpoint-every', '20', '--out', 'lost'], undefined, 0, { WGFLOW_TEST_LOSE_DEVICE_AT: '25' });
    const all = lost.stdout + lost.stderr;
    expect(lost.code, all).toBe(4);
    expect(all).toMatch(/the GPU device was lost (during steps 25 to 30|at step 30) \(destroyed: [^)]*\); the last checkpoint is lost\/checkpoint\.wgflow \(flow steering, step 20\); resume with: wgflow resume lost\/checkpoint\.wgflow/);
    const resumed = await wgflow(['resume', join('lost', 'checkpoint.wgflow'), '--out', 'lost-res']);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    const base = await wgflow(['run', 'sig.json', '--steps', '60', '--out', 'lost-base']);
    expect(base.code).toBe(0);
    for (const f of ['energy.csv', 'energy.json']) expect(readFileSync(join(tmp, 'lost-res', f), 'utf8'), f).toBe(readFileSync(join(tmp, 'lost-base', f), 'utf8'));
  });
});
