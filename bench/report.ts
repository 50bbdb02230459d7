/**
 * The outputs of the benchmark harness: the Markdown tables (rows, peers with their ratios,
 * skipped rows with their reasons) and the log–log chart of time per step against N (one line
 * per workload at its primary method, and one per peer), through app/plot.ts's lineChartSvg.
 */
import { lineChartSvg, type LineSeries } from '../app/plot.js';
import type { PeerResult } from './peers/run.js';
import { STAGES, WORKLOADS, type RowResult, type Stage } from './workloads.js';

/** One runtime's results, as written to <date>-<runtime>-<adapter>.json. */
export interface RuntimeReport {
  date: string;
  runtime: 'node' | 'browser';
  /** Short adapter name (file names, table cells). */
  adapter: string;
  /** getDevice()'s one-line summary. */
  adapterSummary: string;
  adapterInfo: unknown;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; platform: string; loadAverage: number[] };
  config: { sizes: number[]; workloads: string[]; methods?: string[]; steps?: number; runs: number; budgetS: number; stages: boolean };
  workloads: Record<string, string>;
  method: string;
  rows: RowResult[];
  peers: PeerResult[];
  /** peer ms per step / wgflow ms per step, per peer and size. */
  ratios: { peer: string; n: number; workload: string; method: string; peerMs: number; wgflowMs: number; ratio: number }[];
  /** Why a whole runtime produced nothing (e.g. no Chromium). */
  error?: string;
}

/** A short decimal for tables: 3 significant digits, no exponent between 1e-3 and 1e6. */
export function fmt(v: number | null | undefined): string {
  if (v === undefined) return '';
  if (v === null) return '≤0*';
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return a >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

/** N as 10^k when it is a power of ten, else the number. */
export function fmtN(n: number): string {
  const k = Math.log10(n);
  return Number.isInteger(k) && k >= 3 ? `10^${k}` : String(n);
}

/** The ratio of each peer to the wgflow row it is compared with (same workload, method and N). */
export function peerRatios(rows: RowResult[], peers: PeerResult[]): RuntimeReport['ratios'] {
  const out: RuntimeReport['ratios'] = [];
  for (const p of peers) {
    if (p.status !== 'ok') continue;
    const r = rows.find((x) => x.status === 'ok' && x.workload === p.workload && x.method === p.method && x.n === p.n);
    if (r) out.push({ peer: p.peer, n: p.n, workload: p.workload, method: p.method, peerMs: p.msPerStep!, wgflowMs: r.msPerStep!, ratio: p.msPerStep! / r.msPerStep! });
  }
  return out;
}

const STAGE_TITLE: Record<Stage, string> = {
  grid: 'grid', search: 'search', reverse: 'reverse', forces: 'forces', reductions: 'reductions', integration: 'integration',
};

/** The Markdown report of one runtime. */
export function markdownReport(r: RuntimeReport): string {
  const L: string[] = [];
  L.push(`# wgflow benchmark, ${r.date}: ${r.runtime} on ${r.adapter}`, '');
  L.push(`- Runtime: **${r.runtime}**; adapter: **${r.adapterSummary}**`);
  L.push(`- Machine: ${r.machine.cpus} CPU cores (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB, ${r.machine.platform}; load average at start ${r.machine.loadAverage.map((v) => v.toFixed(1)).join(', ')}`);
  L.push(`- Sizes ${r.config.sizes.map(fmtN).join(', ')}; ${r.config.runs} timed passes per pipeline (median), ${r.config.steps ?? 'auto'} steps per pass; budget ${r.config.budgetS} s per size`);
  if (r.error) L.push('', `**This runtime did not run:** ${r.error}`);
  L.push('', '## wgflow: ms per step (median after a warm-up)', '');
  L.push(`Stages in ms per step; forces exclude grid, search and reverse lists. \`≤0*\`: the difference that gives the stage was ≤ 0 (below the timing resolution). ${r.method}`, '');
  L.push(`| workload | method | N | runtime / adapter | ms/step | ns/particle-step | ${STAGES.map((s) => STAGE_TITLE[s]).join(' | ')} | timing |`);
  L.push(`|---|---|---:|---|---:|---:|${STAGES.map(() => '---:').join('|')}|---|`);
  for (const row of r.rows) {
    if (row.status !== 'ok') continue;
    const st = row.stages ?? {};
    L.push(`| ${row.workload} | ${row.method} | ${fmtN(row.n)} | ${row.runtime} / ${row.adapter} | ${fmt(row.msPerStep)} | ${fmt(row.nsPerParticleStep)} | ${STAGES.map((s) => fmt(st[s])).join(' | ')} | ${row.timing}, ${row.runs}×${row.stepsPerPass} |`);
  }
  if (r.peers.length) {
    L.push('', '## Peers (CPU) and ratios', '');
    L.push('Peer time / wgflow time for the same workload, method and N (> 1: wgflow is faster).', '');
    L.push(`| peer | N | ms/step | ns/particle-step | compared with | wgflow ms/step (${r.runtime} / ${r.adapter}) | peer / wgflow |`);
    L.push('|---|---:|---:|---:|---|---:|---:|');
    for (const p of r.peers) {
      if (p.status !== 'ok') continue;
      const q = r.ratios.find((x) => x.peer === p.peer && x.n === p.n);
      L.push(`| ${p.peer} | ${fmtN(p.n)} | ${fmt(p.msPerStep)} | ${fmt(p.nsPerParticleStep)} | ${p.workload}/${p.method} | ${q ? fmt(q.wgflowMs) : ''} | ${q ? fmt(q.ratio) : ''} |`);
    }
    L.push('', ...r.peers.filter((p) => p.status === 'ok').map((p) => p.peer).filter((v, i, a) => a.indexOf(v) === i)
      .map((name) => `- ${name}: ${r.peers.find((p) => p.peer === name)!.title}`));
  }
  const skipped = [...r.rows.filter((x) => x.status !== 'ok').map((x) => `- ${x.status === 'error' ? '**error**' : 'skipped'}: ${x.workload}/${x.method} N = ${fmtN(x.n)}: ${x.reason}`),
    ...r.peers.filter((p) => p.status !== 'ok').map((p) => `- ${p.status === 'error' ? '**error**' : 'skipped'}: peer ${p.peer} N = ${fmtN(p.n)}: ${p.reason}`)];
  if (skipped.length) L.push('', '## Skipped', '', ...skipped);
  const notes = r.rows.filter((x) => x.status === 'ok' && x.notes.length).map((x) => `- ${x.workload}/${x.method} N = ${fmtN(x.n)}: ${x.notes.join('; ')}`);
  if (notes.length) L.push('', '## Notes', '', ...notes);
  L.push('', '## Workloads', '', ...Object.entries(r.workloads).map(([k, v]) => `- ${k}: ${v}`), '');
  return L.join('\n');
}

/** The log–log chart of ms per step against N: each workload at its primary method, and the peers. */
export function chartSvg(r: RuntimeReport): string {
  const series: LineSeries[] = [];
  const line = (name: string, pts: { n: number; ms: number }[]) => {
    pts.sort((a, b) => a.n - b.n);
    if (pts.length) series.push({ name, x: pts.map((p) => Math.log10(p.n)), y: pts.map((p) => p.ms) });
  };
  for (const w of r.config.workloads) {
    const primary = WORKLOADS[w as keyof typeof WORKLOADS]?.primary;
    line(`wgflow ${w} (${primary})`, r.rows.filter((x) => x.status === 'ok' && x.workload === w && x.method === primary).map((x) => ({ n: x.n, ms: x.msPerStep! })));
  }
  for (const name of [...new Set(r.peers.map((p) => p.peer))]) {
    line(`peer ${name}`, r.peers.filter((p) => p.status === 'ok' && p.peer === name).map((p) => ({ n: p.n, ms: p.msPerStep! })));
  }
  return lineChartSvg({
    title: `ms per step against N: ${r.runtime} on ${r.adapter} (${r.date})`,
    xLabel: 'log10 N',
    yLabel: 'ms per step (log scale)',
    logY: true,
    width: 820,
    height: 520,
    series,
  });
}

/** Every number of a report that is a timing figure (for checks): row, stage and peer figures and ratios. */
export function figures(r: RuntimeReport): { what: string; value: number | null }[] {
  const out: { what: string; value: number | null }[] = [];
  for (const row of r.rows) {
    if (row.status !== 'ok') continue;
    const id = `${row.workload}/${row.method}/${row.n}`;
    out.push({ what: `${id} msPerStep`, value: row.msPerStep! }, { what: `${id} nsPerParticleStep`, value: row.nsPerParticleStep! }, { what: `${id} wallMsPerStep`, value: row.wallMsPerStep! });
    for (const [s, v] of Object.entries(row.stages ?? {})) out.push({ what: `${id} stage ${s}`, value: v ?? null });
  }
  for (const p of r.peers) if (p.status === 'ok') out.push({ what: `peer ${p.peer}/${p.n} msPerStep`, value: p.msPerStep! }, { what: `peer ${p.peer}/${p.n} nsPerParticleStep`, value: p.nsPerParticleStep! });
  for (const q of r.ratios) out.push({ what: `ratio ${q.peer}/${q.n}`, value: q.ratio });
  return out;
}
