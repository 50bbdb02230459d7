// A smoke run of the benchmark harness (bench/harness.ts, `npm run bench`): built into a private
// folder, run at N = 10^3 for a few steps in both runtimes (Node and headless Chromium) with two
// workloads and the CPU peers, it must write the JSON, Markdown and SVG of each runtime, and
// every figure in them must be finite and positive. No timing threshold: these are smoke
// checks of the harness, not of the speed. Also: --help, and the errors for unknown names.
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Compiles the harness's import graph with the project's tsconfig into `out/dist` (fresh, not racing other builds of dist/). */
function buildHarness(out: string): void {
  execFileSync(process.execPath, [join(root, 'scripts/gen-shaders.mjs')], { stdio: 'pipe' });
  const cfg = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  if (cfg.error) throw new Error(ts.flattenDiagnosticMessageText(cfg.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, root);
  const options = { ...parsed.options, outDir: join(out, 'dist'), rootDir: root, declaration: false, sourceMap: false, noEmitOnError: true };
  const program = ts.createProgram([join(root, 'bench/harness.ts')], options);
  const emit = program.emit();
  const diags = [...ts.getPreEmitDiagnostics(program), ...emit.diagnostics].filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (diags.length || emit.emitSkipped) {
    const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
    throw new Error(`bench test: the harness does not compile:\n${ts.formatDiagnostics(diags, host)}`);
  }
  // What the harness finds next to its build folder: the static server and the python peers;
  // and the packages (webgpu, puppeteer-core, pngjs) for Node's resolution.
  cpSync(join(root, 'scripts/serve.mjs'), join(out, 'scripts/serve.mjs'));
  cpSync(join(root, 'bench/peers'), join(out, 'bench/peers'), { recursive: true, filter: (p) => !p.endsWith('.ts') });
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'), 'dir');
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function harness(dir: string, args: string[], timeout = 300_000): Promise<Run> {
  return new Promise((ok) => {
    execFile(process.execPath, [join(dir, 'dist/bench/harness.js'), ...args], { cwd: dir, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      ok({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

interface Row {
  workload: string; method: string; n: number; runtime: string; adapter: string; status: string; reason?: string;
  msPerStep?: number; nsPerParticleStep?: number; wallMsPerStep?: number; timing?: string; notes: string[];
  stages?: Record<string, number | null>; energy?: number;
}
interface Report {
  date: string; runtime: string; adapter: string; adapterSummary: string; error?: string;
  rows: Row[];
  peers: { peer: string; n: number; status: string; reason?: string; msPerStep?: number; nsPerParticleStep?: number }[];
  ratios: { peer: string; n: number; ratio: number; peerMs: number; wgflowMs: number }[];
}

const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;

describe('npm run bench (the harness), smoke run', () => {
  let dir = '';
  let built: Promise<void> | undefined;
  const build = () => (built ??= Promise.resolve().then(() => {
    dir = mkdtempSync(join(tmpdir(), 'wgflow-bench-test-'));
    buildHarness(dir);
  }));
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('--help lists the options, workloads, runtimes and adapters', async () => {
    await build();
    const r = await harness(dir, ['--help'], 60_000);
    expect(r.code).toBe(0);
    for (const word of ['--workloads', '--sizes', '--steps', '--runtime', '--budget', '--adapter', 'quadratic', 'fokker-planck', 'kl', 'langevin', 'interaction', 'node, browser, both', 'auto, gpu, llvmpipe, swiftshader']) {
      expect(r.stdout).toContain(word);
    }
  }, 300_000);

  it('an unknown runtime, workload, method or adapter is an error listing the valid ones', async () => {
    await build();
    const cases: [string[], RegExp][] = [
      [['--runtime', 'deno'], /unknown runtime 'deno' \(valid: node, browser, both\)/],
      [['--workloads', 'quadratic,nbody'], /unknown workload 'nbody' \(valid: quadratic, fokker-planck, kl, langevin, interaction\)/],
      [['--methods', 'leapfrog'], /unknown method 'leapfrog' \(valid: gradient, accelerated, steering, langevin, fire\)/],
      [['--adapter', 'metal'], /unknown adapter 'metal' \(--adapter; valid: auto, gpu, llvmpipe, swiftshader\)/],
      [['--sizes', '1000,abc'], /--sizes must be a comma-separated list of numbers/],
      [['--frobnicate'], /unknown flag --frobnicate; valid flags: --runtime, --workloads/],
    ];
    for (const [args, message] of cases) {
      const r = await harness(dir, args, 60_000);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stdout, args.join(' ')).not.toContain('wrote');
    }
  }, 300_000);

  it('N = 10^3, both runtimes, two workloads: JSON, Markdown and SVG with finite positive figures', async () => {
    await build();
    const out = join(dir, 'results');
    const args = ['--runtime', 'both', '--sizes', '1000', '--workloads', 'quadratic,fokker-planck', '--methods', 'steering,gradient', '--steps', '2', '--runs', '3', '--budget', '120', '--out', out];
    const r = await harness(dir, args, 600_000);
    if (r.code !== 0) console.log(r.stdout.slice(-4000), r.stderr.slice(-4000));
    expect(r.code).toBe(0);
    const files = readdirSync(out).sort();
    const stems = [...new Set(files.map((f) => f.replace(/\.(json|md|svg)$/, '')))];
    expect(stems.length).toBe(2);
    for (const stem of stems) {
      expect(stem).toMatch(/^\d{4}-\d{2}-\d{2}-(node|browser)-[a-z0-9-]+$/);
      for (const ext of ['json', 'md', 'svg']) expect(files).toContain(`${stem}.${ext}`);
    }
    const reports = stems.map((s) => JSON.parse(readFileSync(join(out, `${s}.json`), 'utf8')) as Report);
    expect(reports.map((x) => x.runtime).sort()).toEqual(['browser', 'node']);
    for (const rep of reports) {
      const stem = `${rep.date}-${rep.runtime}-${rep.adapter}`;
      expect(stems).toContain(stem);
      expect(rep.error).toBeUndefined();
      expect(rep.adapterSummary.length).toBeGreaterThan(0);
      // Every (workload, method) row ran, with the runtime and adapter beside its figures.
      expect(rep.rows.map((x) => `${x.workload}/${x.method}`).sort()).toEqual(['fokker-planck/gradient', 'fokker-planck/steering', 'quadratic/gradient', 'quadratic/steering']);
      for (const row of rep.rows) {
        const id = `${rep.runtime} ${row.workload}/${row.method}`;
        expect(row.status, `${id}: ${row.reason}`).toBe('ok');
        expect(row.n).toBe(1000);
        expect(row.runtime).toBe(rep.runtime);
        expect(row.adapter).toBe(rep.adapter);
        expect(['timestamp-query', 'queue-drain']).toContain(row.timing);
        for (const k of ['msPerStep', 'nsPerParticleStep', 'wallMsPerStep'] as const) expect(positive(row[k]), `${id} ${k} = ${row[k]}`).toBe(true);
        expect(Math.abs((row.nsPerParticleStep! * row.n) / (row.msPerStep! * 1e6) - 1)).toBeLessThan(1e-12);
        expect(Number.isFinite(row.energy)).toBe(true);
        // Stages: measured ones are positive; a derived one (a difference) is positive, or null with its note.
        const st = row.stages!;
        expect(st, id).toBeDefined();
        const measured = row.workload === 'fokker-planck' ? ['grid', 'search', 'reverse', 'integration'] : ['integration'];
        for (const s of measured) expect(positive(st[s]), `${id} stage ${s} = ${st[s]}`).toBe(true);
        const derived = row.method === 'steering' ? ['forces', 'reductions'] : ['forces'];
        expect(Object.keys(st).sort()).toEqual([...measured, ...derived].sort());
        for (const s of derived) {
          if (st[s] === null) expect(row.notes.some((nt) => nt.startsWith(`${s}:`)), `${id} null ${s} has a note`).toBe(true);
          else expect(positive(st[s]), `${id} stage ${s} = ${st[s]}`).toBe(true);
        }
      }
      // Peers: the four of these workloads, each timed (or skipped with the install hint when numpy/scipy are missing).
      expect(rep.peers.map((p) => p.peer).sort()).toEqual(['numpy-ckdtree-fp', 'ts-kdtree-fp', 'ts-loop-quadratic']);
      for (const p of rep.peers) {
        if (p.status === 'skipped' && p.peer.startsWith('numpy')) {
          expect(p.reason).toContain('apt-get install python3-numpy python3-scipy');
          continue;
        }
        expect(p.status, `${p.peer}: ${p.reason}`).toBe('ok');
        expect(positive(p.msPerStep) && positive(p.nsPerParticleStep), p.peer).toBe(true);
      }
      expect(rep.ratios.length).toBe(rep.peers.filter((p) => p.status === 'ok').length);
      for (const q of rep.ratios) {
        expect(positive(q.ratio) && positive(q.peerMs) && positive(q.wgflowMs), q.peer).toBe(true);
        expect(q.ratio).toBe(q.peerMs / q.wgflowMs);
      }
      // The Markdown table (also printed) and the chart.
      const md = readFileSync(join(out, `${stem}.md`), 'utf8');
      expect(md).toContain('| workload | method | N | runtime / adapter | ms/step | ns/particle-step |');
      for (const row of rep.rows) expect(md).toContain(`| ${row.workload} | ${row.method} | 10^3 | ${rep.runtime} / ${rep.adapter} |`);
      expect(md).toContain('peer / wgflow');
      expect(r.stdout).toContain(md.split('\n').find((l) => l.startsWith('| quadratic | steering'))!);
      const svg = readFileSync(join(out, `${stem}.svg`), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      for (const name of ['wgflow quadratic (steering)', 'wgflow fokker-planck (steering)', 'peer ts-kdtree-fp']) expect(svg).toContain(name);
      expect(svg).not.toContain('NaN');
    }
  }, 660_000);

});
