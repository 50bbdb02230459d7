/**
 * Profile (not a test): the Fokker–Planck steering step (quadratic() + entropy(), k = 1, d = 2)
 * split by stage, on the current adapter, with the NumPy + scipy cKDTree peer
 * (/work/shared/bench/peer_fp_step.py, or --peer PATH) timed in the same run so that the
 * ratio survives the machine's load.
 *
 * Times are queue drains (no timestamp queries on llvmpipe): each piece is recorded `reps`
 * times into one pass, submitted and drained, and the median over `runs` of ms per repetition
 * is taken. The grid rebuild is split by stage (differences of prefixes of its stages); the
 * per-step pieces (grid update without a rebuild, search, reverse lists, the whole entropy
 * term; the gradient pass is the term minus the others) are timed alone on fixed positions;
 * the whole step and the flow without the entropy term (flow_only_ms) move the particles by
 * h = 1e-5 per step.
 *
 * With `--baseline DIR` (another built checkout of wgflow, e.g. the commit before a change:
 * `git archive <commit> | tar -x -C DIR`, link node_modules, `npm run build`), the same step of
 * that build is timed on the same device, alternating with this one, run by run.
 *
 *   npx tsc -p tsconfig.json && WGFLOW_ADAPTER=llvmpipe node dist/bench/profile-fp.js [--sizes 1000,10000,100000] [--runs 5] [--no-peer] [--no-stages] [--baseline DIR] [--json out.json]
 */
import { execFileSync } from 'node:child_process';
import { drainMs, medianDrainMs } from './timing.js';
import { writeFileSync } from 'node:fs';
import { getDevice } from '../src/gpu/device.js';
import { createBuffer } from '../src/gpu/resources.js';
import { createFlow } from '../src/flow.js';
import { quadratic } from '../src/energies/potential.js';
import { entropy } from '../src/energies/entropy.js';
import { createKnn, createReverseNeighbors } from '../src/neighbors.js';
import { gaussian } from '../src/init.js';

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

type Enc = (pass: GPUComputePassEncoder) => void;

/** Counts the dispatches `encode` records (a proxy pass that forwards nothing). */
function countDispatches(encode: Enc): number {
  let n = 0;
  const fake = new Proxy({}, {
    get: (_t, key) => {
      if (key === 'dispatchWorkgroups' || key === 'dispatchWorkgroupsIndirect') return () => { n++; };
      return () => undefined;
    },
  }) as unknown as GPUComputePassEncoder;
  encode(fake);
  return n;
}

const drain = drainMs;
const timeIt = medianDrainMs;

/** Medians of several encoders timed in alternation (run r of each, then run r + 1 of each). */
async function timeAlternating(device: GPUDevice, encoders: Enc[], reps: number, runs: number): Promise<number[]> {
  for (const e of encoders) await drain(device, e, 1);
  const t: number[][] = encoders.map(() => []);
  for (let r = 0; r < runs; r++) for (const [i, e] of encoders.entries()) t[i]!.push(await drain(device, e, reps));
  return t.map(median);
}

type FlowModule = { createFlow: typeof createFlow };
type TermModule = { quadratic: typeof quadratic; entropy: typeof entropy };

function peer(path: string, n: number, steps: number): number {
  const out = execFileSync('python3', [path, String(n), String(steps)], { encoding: 'utf8' });
  return Number(out.trim().split('\n').pop());
}

async function main(): Promise<void> {
  const sizes = (arg('--sizes') ?? '1000,10000,100000').split(',').map(Number);
  const runs = Number(arg('--runs') ?? 5);
  const peerPath = arg('--peer') ?? new URL('../../bench/peers/peer_fp_step.py', import.meta.url).pathname;
  const withPeer = !process.argv.includes('--no-peer');
  const withStages = !process.argv.includes('--no-stages');
  const baselineDir = arg('--baseline');
  const { device, summary } = await getDevice();
  console.log(`adapter: ${summary}`);
  let base: (FlowModule & TermModule) | undefined;
  if (baselineDir) {
    const root = new URL(`file://${baselineDir.replace(/\/$/, '')}/dist/src/`);
    const [f, p, e] = await Promise.all([import(new URL('flow.js', root).href), import(new URL('energies/potential.js', root).href), import(new URL('energies/entropy.js', root).href)]);
    base = { createFlow: f.createFlow, quadratic: p.quadratic, entropy: e.entropy };
    console.log(`baseline: ${baselineDir}`);
  }
  const rows: Record<string, unknown>[] = [];
  for (const n of sizes) {
    const reps = Math.max(1, Math.min(50, Math.round(2e5 / n)));
    const x0 = gaussian(n, 2, { std: Math.SQRT1_2, seed: 11 });
    const row: Record<string, unknown> = { N: n, reps };
    const peerSteps = n >= 1e6 ? 3 : 5;
    if (withPeer) row.peer_before_ms = peer(peerPath, n, peerSteps);

    const flow = await createFlow(device, { dim: 2, positions: x0, energy: [quadratic(), entropy()], method: 'steering', h: 1e-5, gamma: 0.5 });
    const stepEnc: Enc = (p) => flow.encodeSteps(p, 1);
    row.step_dispatches = countDispatches(stepEnc);
    if (base) {
      const old = await base.createFlow(device, { dim: 2, positions: x0, energy: [base.quadratic(), base.entropy()], method: 'steering', h: 1e-5, gamma: 0.5 });
      const oldEnc: Enc = (p) => old.encodeSteps(p, 1);
      row.baseline_step_dispatches = countDispatches(oldEnc);
      const [tNew, tOld] = await timeAlternating(device, [stepEnc, oldEnc], reps, runs);
      row.step_ms = tNew;
      row.baseline_step_ms = +tOld!.toFixed(3);
      row.baseline_over_new = +(tOld! / tNew!).toFixed(2);
      old.destroy();
    } else {
      row.step_ms = await timeIt(device, stepEnc, reps, runs);
    }
    flow.destroy();
    // The same flow without the entropy term: what the flow's own passes cost (potential,
    // reductions, integration); the entropy term costs the difference.
    const bare = await createFlow(device, { dim: 2, positions: x0, energy: [quadratic()], method: 'steering', h: 1e-5, gamma: 0.5 });
    row.flow_only_ms = +(await timeIt(device, (p) => bare.encodeSteps(p, 1), reps, runs)).toFixed(3);
    bare.destroy();

    if (withStages) {
      const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
      const pos = createBuffer(device, 'bench.positions', x0.byteLength, S, x0);
      const grad = createBuffer(device, 'bench.grad', x0.byteLength, S);
      const energy = createBuffer(device, 'bench.energy', n * 4, S);
      const knn = await createKnn(device, { points: pos, count: n, dim: 2, k: 1, label: 'bench.knn' });
      const rev = await createReverseNeighbors(device, { index: knn.index, count: n, k: 1, label: 'bench.rev' });
      const term = await entropy().create({ device, n, dim: 2, positions: pos, grad, energy, slot: 0, label: 'bench' });
      const st = knn.grid.stages;
      const stages: Record<string, number> = {};
      const dispatches: Record<string, number> = {};
      // A full rebuild, stage by stage (differences of prefixes).
      let prev = 0;
      for (let s = 0; s < st.length; s++) {
        const e: Enc = (p) => { for (let j = 0; j <= s; j++) st[j]!.encode(p); };
        const t = await timeIt(device, e, reps, runs);
        stages[`rebuild.${st[s]!.name}`] = +(t - prev).toFixed(3);
        dispatches[`rebuild.${st[s]!.name}`] = countDispatches((p) => st[s]!.encode(p));
        prev = t;
      }
      // The per-step parts, each alone (the positions do not move: no rebuild).
      const parts: [string, Enc][] = [
        ['update (no rebuild)', (p) => knn.grid.encodeUpdate(p)],
        ['search', (p) => knn.search.encode(p)],
        ['reverse', (p) => rev.encode(p)],
        ['entropy term', (p) => term.encode(p)],
      ];
      for (const [name, e] of parts) {
        stages[name] = +(await timeIt(device, e, reps, runs)).toFixed(3);
        dispatches[name] = countDispatches(e);
      }
      stages['entropy gradient'] = +(stages['entropy term']! - stages['update (no rebuild)']! - stages['search']! - stages['reverse']!).toFixed(3);
      stages['flow: potential+reduce+integrate'] = row.flow_only_ms as number;
      dispatches['flow: potential+reduce+integrate'] = (row.step_dispatches as number) - dispatches['entropy term']!;
      row.stages_ms = stages;
      row.stage_dispatches = dispatches;
      const d = await knn.diagnostics();
      row.mean_candidates = +d.search.meanCandidates.toFixed(2);
      row.mean_work = +d.search.meanWork.toFixed(2);
      row.fallback = d.search.fallback;
      row.escalated = d.search.escalated;
      term.destroy();
      rev.destroy();
      knn.destroy();
      pos.destroy();
      grad.destroy();
      energy.destroy();
    }
    if (withPeer) row.peer_after_ms = peer(peerPath, n, peerSteps);
    const step = row.step_ms as number;
    row.step_ms = +step.toFixed(3);
    row.ns_per_particle_step = +((step * 1e6) / n).toFixed(1);
    row.entropy_term_ms = +(step - (row.flow_only_ms as number)).toFixed(3);
    if (withPeer) {
      const pm = Math.min(row.peer_before_ms as number, row.peer_after_ms as number);
      row.peer_over_wgflow = +(pm / step).toFixed(2);
    }
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  const r5 = rows.find((r) => r.N === 1e5), r6 = rows.find((r) => r.N === 1e6);
  if (r5 && r6) console.log(`time(1e6)/time(1e5) = ${((r6.step_ms as number) / (r5.step_ms as number)).toFixed(2)}`);
  const out = arg('--json');
  if (out) writeFileSync(out, JSON.stringify({ adapter: summary, rows }, null, 2) + '\n');
  device.destroy();
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
