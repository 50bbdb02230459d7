/**
 * `npm run bench`: the benchmark harness. Times the workloads of bench/workloads.ts (quadratic
 * in R³ and Fokker–Planck in R² under every method, KL to samples, Langevin, interaction) at
 * N = 10^3 … 10^7 in Node (Dawn, the adapter getDevice() chooses or --adapter / WGFLOW_ADAPTER
 * forces) and in headless Chromium (navigator.gpu, bench/browser.ts), each on its own adapter;
 * then the CPU peers (bench/peers/). Per runtime it writes
 * `<out>/<date>-<runtime>-<adapter>.json`, `.md` (the tables, also printed) and `.svg` (ms per
 * step against N, log–log). Exit status 1 when a row failed with an error (not when a size is
 * skipped because it does not fit the device or the budget).
 *
 *   npm run bench -- [--runtime node|browser|both] [--workloads quadratic,kl] [--sizes 1000,10000]
 *                    [--steps S] [--runs R] [--budget SECONDS] [--adapter auto|gpu|llvmpipe|swiftshader]
 *   node dist/bench/harness.js --help
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, platform, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getDevice, type Method } from '../src/index.js';
import { flagUsage } from '../app/args.js';
import { runInBrowser } from './browser.js';
import { PEER_NAMES, runPeers, type PeerResult } from './peers/run.js';
import { chartSvg, markdownReport, peerRatios, type RuntimeReport } from './report.js';
import { benchFlags, intFlag, numberListFlag, numFlag, runMain, textFlag, type FlagSpecs } from './util.js';
import {
  adapterName, ALL_METHODS, DEFAULT_SIZES, INTERACTION_MAX_N, runSize, WORKLOAD_NAMES, WORKLOADS,
  type RowResult, type SizeConfig, type SizeResult, type WorkloadName,
} from './workloads.js';

/** Runtimes of --runtime. */
export const RUNTIMES = ['node', 'browser', 'both'] as const;
/** Adapters of --adapter (and WGFLOW_ADAPTER). */
export const ADAPTERS = ['auto', 'gpu', 'llvmpipe', 'swiftshader'] as const;
type AdapterChoice = (typeof ADAPTERS)[number];

const DEFAULT_RUNS = 5;
const DEFAULT_BUDGET_S = 60;

const SPECS: FlagSpecs = {
  runtime: { type: 'string', value: RUNTIMES.join('|') },
  workloads: { type: 'string', value: 'LIST' },
  methods: { type: 'string', value: 'LIST' },
  sizes: { type: 'string', value: 'N,N,...' },
  steps: { type: 'string', value: 'S' },
  runs: { type: 'string', value: 'R' },
  budget: { type: 'string', value: 'SECONDS' },
  adapter: { type: 'string', value: ADAPTERS.join('|') },
  out: { type: 'string', value: 'DIR' },
  'no-peers': { type: 'boolean' },
  'no-stages': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** The --help text. */
export function usage(): string {
  return [
    'usage: npm run bench -- [options]      (or: node dist/bench/harness.js [options] after npm run build)',
    `       ${flagUsage(SPECS)}`,
    '',
    'Times wgflow steps in Node (Dawn) and in headless Chromium (navigator.gpu), with CPU peers, and writes',
    '<out>/<date>-<runtime>-<adapter>.{json,md,svg}.',
    '',
    `  --runtime R      ${RUNTIMES.join(', ')} (default both)`,
    `  --workloads W,…  of ${WORKLOAD_NAMES.join(', ')} (default all)`,
    ...WORKLOAD_NAMES.map((w) => `                     ${w}: ${WORKLOADS[w].title}; methods ${WORKLOADS[w].methods.join(', ')}`),
    `  --methods M,…    restrict every workload to these methods, of ${ALL_METHODS.join(', ')} (default: each workload's own)`,
    `  --sizes N,…      particle counts (default ${DEFAULT_SIZES.join(',')}; interaction stops at ${INTERACTION_MAX_N}; a size that does not fit the device is skipped with its reason)`,
    '  --steps S        steps per timed pass (default: from the first step, about 25 ms per pass, at most 64)',
    `  --runs R         timed passes per pipeline, median reported (default ${DEFAULT_RUNS}; fewer when the budget says so)`,
    `  --budget S       seconds per size and runtime (and for the peers of a size); a row whose first step says it cannot be timed in time is skipped with a note (default ${DEFAULT_BUDGET_S})`,
    `  --adapter A      ${ADAPTERS.join(', ')}: Node's adapter (default WGFLOW_ADAPTER, else auto); in Chromium swiftshader forces SwiftShader, the others take what Chromium finds`,
    '  --out DIR        output folder (default bench/results)',
    `  --no-peers       skip the CPU peers (${PEER_NAMES.join(', ')})`,
    '  --no-stages      time the full step only (no grid / search / reverse / forces / reductions / integration)',
    '  --help, -h       this text',
  ].join('\n');
}

/** The parsed command line. */
export interface HarnessOptions {
  runtimes: ('node' | 'browser')[];
  workloads: WorkloadName[];
  methods?: Method[];
  sizes: number[];
  steps?: number;
  runs: number;
  budgetS: number;
  adapter: AdapterChoice;
  out: string;
  peers: boolean;
  stages: boolean;
}

function listOf<T extends string>(flag: string, text: string | undefined, valid: readonly T[], what: string): T[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new Error(`wgflow: bench: --${flag} needs a comma-separated list of ${what}s (valid: ${valid.join(', ')})`);
  for (const it of items) if (!(valid as readonly string[]).includes(it)) throw new Error(`wgflow: bench: unknown ${what} '${it}' (valid: ${valid.join(', ')})`);
  return [...new Set(items)] as T[];
}

/** Parses and checks the command line; throws `wgflow: bench: ...` listing the valid names. */
export function parseOptions(argv: readonly string[], env: Record<string, string | undefined> = process.env): HarnessOptions | 'help' {
  const flags = benchFlags(SPECS, 'bench', argv);
  if (flags.help) return 'help';
  const runtimeText = textFlag(flags, 'runtime');
  if (runtimeText !== undefined && !(RUNTIMES as readonly string[]).includes(runtimeText)) throw new Error(`wgflow: bench: unknown runtime '${runtimeText}' (valid: ${RUNTIMES.join(', ')})`);
  const runtime = (runtimeText ?? 'both') as (typeof RUNTIMES)[number];
  const adapterText = textFlag(flags, 'adapter') ?? env.WGFLOW_ADAPTER ?? 'auto';
  if (!(ADAPTERS as readonly string[]).includes(adapterText)) throw new Error(`wgflow: bench: unknown adapter '${adapterText}' (${textFlag(flags, 'adapter') !== undefined ? '--adapter' : 'WGFLOW_ADAPTER'}; valid: ${ADAPTERS.join(', ')})`);
  const workloads = listOf('workloads', textFlag(flags, 'workloads'), WORKLOAD_NAMES, 'workload') ?? [...WORKLOAD_NAMES];
  const methods = listOf('methods', textFlag(flags, 'methods'), ALL_METHODS, 'method');
  const sizes = numberListFlag(flags, 'sizes') ?? DEFAULT_SIZES;
  for (const n of sizes) if (!Number.isInteger(n) || n < 2) throw new Error(`wgflow: bench: --sizes must be integers ≥ 2 (got ${n})`);
  if (methods && !workloads.some((w) => WORKLOADS[w].methods.some((m) => methods.includes(m)))) {
    throw new Error(`wgflow: bench: no selected workload runs the methods ${methods.join(', ')}`);
  }
  return {
    runtimes: runtime === 'both' ? ['node', 'browser'] : [runtime],
    workloads,
    methods,
    sizes: [...new Set(sizes)].sort((a, b) => a - b),
    steps: intFlag(flags, 'steps'),
    runs: intFlag(flags, 'runs') ?? DEFAULT_RUNS,
    budgetS: numFlag(flags, 'budget') ?? DEFAULT_BUDGET_S,
    adapter: adapterText as AdapterChoice,
    out: textFlag(flags, 'out') ?? 'bench/results',
    peers: !flags['no-peers'],
    stages: !flags['no-stages'],
  };
}

/** The build folder (dist/) of this compiled file, and the repository root above it. */
const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = resolve(DIST, '..');

/** A repository file (scripts/serve.mjs, bench/peers/*.py): next to the build folder, else under the working directory. */
function repoFile(rel: string): string {
  const a = join(ROOT, rel);
  if (existsSync(a)) return a;
  const b = resolve(rel);
  if (existsSync(b)) return b;
  throw new Error(`wgflow: bench: ${rel} not found (looked in ${ROOT} and ${process.cwd()})`);
}

function machine(): RuntimeReport['machine'] {
  const c = cpus();
  return { cpus: c.length, cpuModel: c[0]?.model.trim() ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), platform: `${platform()} ${release()}`, loadAverage: loadavg() };
}

const STAGE_METHOD = 'Full step: flow.encodeSteps into one compute pass; stages: the kernel objects alone (createKnn grid and search, createReverseNeighbors; for KL also the search in the static sample grid) on the flow\'s position buffer, and flows with F = 0 (integration; for steering and FIRE the accelerated update; reductions = F = 0 step of the method − accelerated); forces = full − F = 0 step − grid − search − reverse. Timestamp queries around each pass when the adapter offers them, else wall clock around submit → readback.';

async function runNode(o: HarnessOptions, config: SizeConfig, log: (l: string) => void): Promise<{ adapter: string; adapterSummary: string; adapterInfo: unknown; rows: RowResult[] }> {
  const dev = await getDevice({ adapter: o.adapter });
  const adapter = adapterName(dev.adapterInfo);
  log(`node adapter: ${dev.summary}${dev.device.features.has('timestamp-query') ? '; timestamp queries' : ''}`);
  const rows: RowResult[] = [];
  let previous: SizeResult['firstStepMs'] = {};
  try {
    for (const n of o.sizes) {
      const res = await runSize(dev.device, n, config, { runtime: 'node', adapter, log }, previous);
      rows.push(...res.rows);
      previous = { ...previous, ...res.firstStepMs };
    }
  } finally {
    dev.device.destroy();
  }
  return { adapter, adapterSummary: dev.summary, adapterInfo: dev.adapterInfo, rows };
}

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === 'help') {
    console.log(usage());
    return;
  }
  const o = parsed;
  const log = (line: string) => console.log(line);
  const config: SizeConfig = { workloads: o.workloads, methods: o.methods, steps: o.steps, runs: o.runs, budgetS: o.budgetS, stages: o.stages };
  const date = new Date().toISOString().slice(0, 10);
  const m = machine();
  log(`wgflow bench ${date}: ${o.runtimes.join(' + ')}; workloads ${o.workloads.join(', ')}; sizes ${o.sizes.join(', ')}; budget ${o.budgetS} s per size; ${m.cpus} CPU cores, ${m.memoryGiB} GiB (${Math.round(freemem() / 2 ** 30)} free), load ${m.loadAverage.map((v) => v.toFixed(1)).join(' ')}`);
  const runs: (Omit<RuntimeReport, 'peers' | 'ratios'>)[] = [];
  for (const runtime of o.runtimes) {
    const t0 = performance.now();
    const base = { date, runtime, machine: m, workloads: Object.fromEntries(o.workloads.map((w) => [w, WORKLOADS[w].title])), method: STAGE_METHOD,
      config: { sizes: o.sizes, workloads: o.workloads, methods: o.methods, steps: o.steps, runs: o.runs, budgetS: o.budgetS, stages: o.stages } };
    try {
      const r = runtime === 'node'
        ? await runNode(o, config, log)
        : await runInBrowser({ distRoot: DIST, servePath: repoFile('scripts/serve.mjs'), sizes: o.sizes, config, adapter: o.adapter, log });
      runs.push({ ...base, ...r });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      log(`${runtime}: FAILED: ${message}`);
      runs.push({ ...base, adapter: 'none', adapterSummary: 'none', adapterInfo: null, rows: [], error: message });
    }
    log(`${runtime}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  let peers: PeerResult[] = [];
  if (o.peers) {
    const t0 = performance.now();
    peers = await runPeers({ sizes: o.sizes, workloads: o.workloads, budgetS: o.budgetS, runs: o.runs, script: (name) => repoFile(`bench/peers/${name}`), log });
    log(`peers: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  mkdirSync(o.out, { recursive: true });
  let failed = false;
  for (const r of runs) {
    const report: RuntimeReport = { ...r, peers, ratios: peerRatios(r.rows, peers) };
    const stem = join(o.out, `${date}-${r.runtime}-${r.adapter}`);
    const md = markdownReport(report);
    writeFileSync(`${stem}.json`, JSON.stringify(report, null, 2) + '\n');
    writeFileSync(`${stem}.md`, md);
    writeFileSync(`${stem}.svg`, chartSvg(report));
    console.log(`\n${md}`);
    log(`wrote ${stem}.json, .md, .svg`);
    if (r.error || r.rows.some((x) => x.status === 'error')) failed = true;
  }
  if (peers.some((p) => p.status === 'error')) failed = true;
  if (failed) throw new Error('wgflow: bench: some rows failed with an error (see the reports)');
}

// Run only as a program (the test imports parseOptions and usage).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) runMain(main);
