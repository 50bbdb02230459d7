/**
 * Profile (not a test): one steering step whose energy is klToSamples (k = 1, d = 2) at N = M
 * (particles and samples uniform in [−1, 1]², as bench/kl.ts), on the current adapter, with
 * the NumPy + scipy cKDTree peer (bench/peers/peer_kl_step.py, samples' tree built once, like the
 * samples' grid) timed in the same run so that the ratio survives the machine's load. Also
 * the KL term alone (its kernel encoded on fixed positions) and the flow without it
 * (quadratic() only: the flow's own passes). Queue-drain timing, median of runs.
 *
 * With `--baseline DIR` (another built checkout, see bench/profile-fp.ts), that build's KL
 * step is timed too, alternating with this one.
 *
 *   npx tsc -p tsconfig.json && WGFLOW_ADAPTER=llvmpipe node dist/bench/profile-kl.js [--sizes 100000] [--runs 3] [--no-peer] [--baseline DIR] [--json out.json]
 */
import { execFileSync } from 'node:child_process';
import { drainMs, medianDrainMs } from './timing.js';
import { writeFileSync } from 'node:fs';
import { getDevice } from '../src/gpu/device.js';
import { createBuffer } from '../src/gpu/resources.js';
import { createFlow } from '../src/flow.js';
import { quadratic } from '../src/energies/potential.js';
import { klToSamples } from '../src/energies/kl.js';
import { uniformBox } from '../src/init.js';

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

type Enc = (pass: GPUComputePassEncoder) => void;

const drain = drainMs;
const timeIt = medianDrainMs;

function peer(n: number, steps: number): number {
  const path = new URL('../../bench/peers/peer_kl_step.py', import.meta.url).pathname;
  const out = execFileSync('python3', [path, String(n), String(steps)], { encoding: 'utf8' });
  return Number(out.trim().split('\n').pop());
}

async function main(): Promise<void> {
  const sizes = (arg('--sizes') ?? '100000').split(',').map(Number);
  const runs = Number(arg('--runs') ?? 3);
  const withPeer = !process.argv.includes('--no-peer');
  const baselineDir = arg('--baseline');
  const { device, summary } = await getDevice();
  console.log(`adapter: ${summary}`);
  let base: { createFlow: typeof createFlow; klToSamples: typeof klToSamples } | undefined;
  if (baselineDir) {
    const root = new URL(`file://${baselineDir.replace(/\/$/, '')}/dist/src/`);
    const [f, k] = await Promise.all([import(new URL('flow.js', root).href), import(new URL('energies/kl.js', root).href)]);
    base = { createFlow: f.createFlow, klToSamples: k.klToSamples };
    console.log(`baseline: ${baselineDir}`);
  }
  const rows: Record<string, unknown>[] = [];
  for (const n of sizes) {
    const reps = Math.max(1, Math.min(20, Math.round(2e5 / n)));
    const x0 = uniformBox(n, 2, { low: -1, high: 1, seed: 3 });
    const y = uniformBox(n, 2, { low: -1, high: 1, seed: 4 });
    const row: Record<string, unknown> = { N: n, M: n, reps };
    const peerSteps = n >= 1e6 ? 3 : 5;
    if (withPeer) row.peer_before_ms = peer(n, peerSteps);
    const flow = await createFlow(device, { dim: 2, positions: x0, energy: [klToSamples(y)], method: 'steering', h: 1e-7, gamma: 0.5 });
    if (base) {
      const old = await base.createFlow(device, { dim: 2, positions: x0, energy: [base.klToSamples(y)], method: 'steering', h: 1e-7, gamma: 0.5 });
      const encs: Enc[] = [(p) => flow.encodeSteps(p, 1), (p) => old.encodeSteps(p, 1)];
      for (const e of encs) await drain(device, e, 1);
      const t: number[][] = [[], []];
      for (let r = 0; r < runs; r++) for (const [i, e] of encs.entries()) t[i]!.push(await drain(device, e, reps));
      row.step_ms = +median(t[0]!).toFixed(3);
      row.baseline_step_ms = +median(t[1]!).toFixed(3);
      row.baseline_over_new = +(median(t[1]!) / median(t[0]!)).toFixed(2);
      old.destroy();
    } else {
      row.step_ms = +(await timeIt(device, (p) => flow.encodeSteps(p, 1), reps, runs)).toFixed(3);
    }
    flow.destroy();
    const bare = await createFlow(device, { dim: 2, positions: x0, energy: [quadratic()], method: 'steering', h: 1e-7, gamma: 0.5 });
    row.flow_only_ms = +(await timeIt(device, (p) => bare.encodeSteps(p, 1), reps, runs)).toFixed(3);
    bare.destroy();
    const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const pos = createBuffer(device, 'bench.positions', x0.byteLength, S, x0);
    const grad = createBuffer(device, 'bench.grad', x0.byteLength, S);
    const energy = createBuffer(device, 'bench.energy', n * 4, S);
    const term = await klToSamples(y).create({ device, n, dim: 2, positions: pos, grad, energy, slot: 0, label: 'bench' });
    row.kl_term_ms = +(await timeIt(device, (p) => term.encode(p), reps, runs)).toFixed(3);
    row.kl_diagnostics = await term.diagnostics!();
    term.destroy();
    pos.destroy();
    grad.destroy();
    energy.destroy();
    if (withPeer) row.peer_after_ms = peer(n, peerSteps);
    const step = row.step_ms as number;
    row.ns_per_particle_step = +((step * 1e6) / n).toFixed(1);
    if (withPeer) row.peer_over_wgflow = +(Math.min(row.peer_before_ms as number, row.peer_after_ms as number) / step).toFixed(2);
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  const out = arg('--json');
  if (out) writeFileSync(out, JSON.stringify({ adapter: summary, rows }, null, 2) + '\n');
  device.destroy();
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
