/**
 * The CPU peers of the benchmark harness, run in Node after the wgflow rows (so that they do
 * not compete for the CPU with a software adapter): the NumPy + scipy cKDTree steps of
 * Fokker–Planck and of KL to samples (python3, bench/peers/peer_*_step.py), the
 * single-threaded TypeScript k-d tree Fokker–Planck step and the plain TypeScript loop of the
 * quadratic steering step (bench/peers/cpu.ts). Each is timed per size as ms per step (the
 * median of `runs` steps after a warm-up step) within the size's time budget.
 */
import { execFile, execFileSync } from 'node:child_process';
import { gaussian } from '../../src/index.js';
import { median } from '../timing.js';
import type { WorkloadName } from '../workloads.js';
import type { Method } from '../../src/index.js';
import { fokkerPlanckSteeringStep, quadraticSteeringStep } from './cpu.js';

/** Peer names. */
export const PEER_NAMES = ['numpy-ckdtree-fp', 'numpy-ckdtree-kl', 'ts-kdtree-fp', 'ts-loop-quadratic'] as const;
export type PeerName = (typeof PEER_NAMES)[number];

/** The hint printed when numpy or scipy do not import. */
export const PYTHON_HINT = 'apt-get install python3-numpy python3-scipy';

/** One peer at one size. */
export interface PeerResult {
  peer: PeerName;
  title: string;
  /** The wgflow row it is compared with. */
  workload: WorkloadName;
  method: Method;
  n: number;
  status: 'ok' | 'skipped' | 'error';
  reason?: string;
  msPerStep?: number;
  nsPerParticleStep?: number;
  /** Timed steps (the median is reported). */
  steps?: number;
}

interface PeerDef {
  name: PeerName;
  title: string;
  workload: WorkloadName;
  method: Method;
  /** A python3 script in bench/peers/, or a TypeScript step. */
  script?: string;
}

const PEERS: readonly PeerDef[] = [
  { name: 'numpy-ckdtree-fp', title: 'NumPy + scipy cKDTree, Fokker–Planck steering step in R² (tree built and queried every step, exact entropy gradient with the reverse-neighbour sum; bench/peers/peer_fp_step.py)', workload: 'fokker-planck', method: 'steering', script: 'peer_fp_step.py' },
  { name: 'numpy-ckdtree-kl', title: 'NumPy + scipy cKDTree, KL-to-samples steering step in R², M = N (ν from a tree on the samples, r from a tree on the particles rebuilt every step, exact gradient with the reverse-neighbour sum; bench/peers/peer_kl_step.py)', workload: 'kl', method: 'steering', script: 'peer_kl_step.py' },
  { name: 'ts-kdtree-fp', title: 'TypeScript, single thread, float64: k-d tree (src/reference/knn.ts) built and self-queried every step, the Fokker–Planck steering step in R² (bench/peers/cpu.ts)', workload: 'fokker-planck', method: 'steering' },
  { name: 'ts-loop-quadratic', title: 'TypeScript, single thread, float32: a plain loop of the quadratic steering step in R³ (bench/peers/cpu.ts)', workload: 'quadratic', method: 'steering' },
];

/** Options of {@link runPeers}. */
export interface PeerOptions {
  sizes: number[];
  /** Only the peers of these workloads run. */
  workloads: WorkloadName[];
  /** Seconds per size for all peers together. */
  budgetS: number;
  /** Timed steps per peer and size (fewer when the budget says so). */
  runs: number;
  /** Path of a python script of bench/peers/. */
  script: (name: string) => string;
  log: (line: string) => void;
}

/** True when python3 imports numpy and scipy. */
export function pythonPeersAvailable(): boolean {
  try {
    execFileSync('python3', ['-c', 'import numpy, scipy.spatial'], { stdio: 'pipe', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

function runPython(path: string, n: number, steps: number, timeoutMs: number): Promise<number> {
  return new Promise((ok, no) => {
    execFile('python3', [path, String(n), String(steps)], { timeout: Math.max(1000, Math.round(timeoutMs)), maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err?.killed) return no(new Error(`stopped at the budget: ${(timeoutMs / 1000).toFixed(1)} s were left and ${steps} + 1 steps did not finish`));
      if (err) return no(new Error(`failed: ${String(stderr).trim().split('\n').pop() || err.message}`));
      const ms = Number(String(stdout).trim().split('\n').pop());
      if (!(Number.isFinite(ms) && ms > 0)) return no(new Error(`printed '${String(stdout).trim()}' instead of ms per step`));
      ok(ms);
    });
  });
}

/** Times `step` (a warm-up first); at most `runs` timed steps within `leftMs`. */
function timeTs(step: () => void, runs: number, leftMs: () => number): { ms: number; steps: number } | { skip: string } {
  const t0 = performance.now();
  step();
  const first = performance.now() - t0;
  const k = Math.min(runs, Math.floor(leftMs() / Math.max(first, 1e-3)));
  if (k < 1) return { skip: `too slow for the budget: the warm-up step took ${(first / 1000).toFixed(1)} s` };
  const ts: number[] = [];
  for (let r = 0; r < k; r++) {
    const t = performance.now();
    step();
    ts.push(performance.now() - t);
  }
  return { ms: median(ts), steps: k };
}

/** The TypeScript k-d tree Fokker–Planck step at size n, as bench/fokker-planck.ts runs it. */
function timeKdTree(n: number, runs: number, leftMs: () => number): { ms: number; steps: number } | { skip: string } {
  const x = Float64Array.from(gaussian(n, 2, { std: Math.SQRT1_2, seed: 11 })), v = new Float64Array(n * 2), g = new Float64Array(n * 2);
  const eps2 = Math.fround(1e-9 * 1e-9);
  return timeTs(() => fokkerPlanckSteeringStep(x, v, g, 1e-5, 0.5, eps2), runs, leftMs);
}

/** The quadratic loop is too fast to time one step: each sample runs `reps` steps (≥ 2·10^7 values). */
function timeLoop(n: number, runs: number, leftMs: () => number): { ms: number; steps: number } | { skip: string } {
  const dim = 3, h = 0.01, gamma = 0.5;
  const x = gaussian(n, dim, { seed: 3 }), v = new Float32Array(n * dim), g = new Float32Array(n * dim);
  const reps = Math.max(1, Math.round(2e7 / (n * dim)));
  const r = timeTs(() => { for (let k = 0; k < reps; k++) quadraticSteeringStep(x, v, g, h, gamma); }, runs, leftMs);
  return 'skip' in r ? r : { ms: r.ms / reps, steps: r.steps * reps };
}

/** Runs the peers of the selected workloads at every size (see the module header). */
export async function runPeers(o: PeerOptions): Promise<PeerResult[]> {
  const defs = PEERS.filter((p) => o.workloads.includes(p.workload));
  const out: PeerResult[] = [];
  if (!defs.length) return out;
  const python = defs.some((p) => p.script) ? pythonPeersAvailable() : false;
  if (defs.some((p) => p.script) && !python) o.log(`peers: python3 with numpy and scipy not found: ${PYTHON_HINT}`);
  const last = new Map<PeerName, { n: number; ms: number }>();
  for (const n of o.sizes) {
    const t0 = performance.now();
    const leftMs = () => o.budgetS * 1000 - (performance.now() - t0);
    // Cheapest first (by their time at the previous size), so that a slow peer cannot starve the others.
    const order = [...defs].sort((a, b) => (last.get(a.name)?.ms ?? 0) - (last.get(b.name)?.ms ?? 0));
    for (const [i, p] of order.entries()) {
      const base: PeerResult = { peer: p.name, title: p.title, workload: p.workload, method: p.method, n, status: 'skipped' };
      const done = (r: PeerResult) => {
        out.push(r);
        o.log(`peer ${p.name} N=${n}: ${r.status === 'ok' ? `${r.msPerStep!.toPrecision(4)} ms/step` : `${r.status}: ${r.reason}`}`);
      };
      if (p.script && !python) {
        done({ ...base, reason: `python3 cannot import numpy and scipy: ${PYTHON_HINT}` });
        continue;
      }
      // This peer's share of what is left at this size; the estimate scales its last time linearly.
      const share = Math.min(leftMs(), (2 * leftMs()) / (order.length - i));
      if (leftMs() <= 0) {
        done({ ...base, reason: `the ${o.budgetS} s budget of this size is spent` });
        continue;
      }
      const prev = last.get(p.name);
      const est = prev ? (prev.ms * n) / prev.n : 0;
      if (prev && 2 * est > share) {
        done({ ...base, reason: `too slow for the budget: a step is estimated at ${(est / 1000).toFixed(1)} s from N = ${prev.n} (${prev.ms.toFixed(1)} ms × N/${prev.n}); ${(leftMs() / 1000).toFixed(1)} s of the ${o.budgetS} s budget of this size are left` });
        continue;
      }
      try {
        let ms: number, steps: number;
        if (p.script) {
          // Steps that fit the share even if the step grows twice as fast as N (tree builds are N log N, caches run out).
          steps = prev ? Math.max(1, Math.min(o.runs, Math.floor(share / Math.max(2 * est, 1e-3)) - 1)) : o.runs;
          ms = await runPython(o.script(p.script), n, steps, leftMs());
        } else {
          const tp = performance.now();
          const rowLeft = () => share - (performance.now() - tp);
          const r = p.name === 'ts-kdtree-fp' ? timeKdTree(n, o.runs, rowLeft) : timeLoop(n, o.runs, rowLeft);
          if ('skip' in r) {
            done({ ...base, reason: r.skip });
            continue;
          }
          ({ ms, steps } = r);
        }
        last.set(p.name, { n, ms });
        done({ ...base, status: 'ok', msPerStep: ms, nsPerParticleStep: (ms * 1e6) / n, steps });
      } catch (e) {
        const message = (e as Error).message;
        done({ ...base, status: message.startsWith('stopped at the budget') ? 'skipped' : 'error', reason: message });
      }
    }
  }
  return out;
}
