/**
 * Step-control study (issue 3, item 5): how large a time step the gradient, accelerated and
 * steering flows of the Fokker–Planck energy F = ∫|x|²ρ + ∫ρ log ρ (d = 2, two-quadrant start)
 * can take, and how `h: 'auto'` compares with the best fixed step. Write-up:
 * studies/step-control.md; results: studies/results/step-study.json.
 *
 * Most runs need 10^4–10^5 steps, far too many for SwiftShader (~30 ms per entropy step at
 * N = 1000), so the study runs a float64 CPU twin of the GPU step: the entropy's value,
 * exact gradient and nearest-neighbour distances come from the float64 oracle
 * (entropyReference of src/energies/entropy.ts: Kozachenko–Leonenko, k = 1, ε = 1e-9,
 * reverse neighbours included), the potential is U = |x|² (g = 2x), and the update order and
 * the automatic-step rule are those of shaders/integrate.wgsl and its `auto_step` kernel
 * (l_i = nearest-neighbour distance, R6 = max |g_i|/l_i, R7 = max |v_i|/l_i). The `check`
 * stage checks the twin against the oracle flow (referenceFlow), the `gpu` stage against
 * createFlow on the current adapter (float32).
 *
 * The results in studies/results/step-study.json were measured with an earlier twin that
 * had its own copy of the estimator on an exact uniform-grid 1-NN search (same neighbours,
 * same formula). That twin was about 8× faster at N = 1000 (2.9 against 24 ms a step on a
 * loaded 2-core machine) because the oracle searches neighbours by brute force, O(N²).
 *
 *   npx tsc -p tsconfig.json && node dist/studies/step-study.js <stage> [--n 1000] [--methods gradient,steering]
 *
 * Stages (each merges its part into studies/results/step-study.json, except check and report):
 *   check     the twin against the float64 oracle flow (referenceFlow) over a few fixed steps
 *   fixed     largest stable fixed h per flow from the two-quadrant start (full horizon)
 *   local     largest stable fixed h from a relaxed state (cheap protocol for large N)
 *   auto      h: 'auto' (fractions 0.1, 0.25, 0.5, 1) against the best fixed h: steps and time to plateau
 *   gpu       createFlow on the current adapter against the twin (short runs)
 *   report    Markdown tables from the JSON (no runs)
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { createFlow, entropy, gaussian, getDevice, quadratic, twoQuadrants } from '../src/index.js';
import { entropyReference } from '../src/energies/entropy.js';
import { referenceEnergy, referenceFlow } from '../src/reference/flows.js';
import { benchFlags, intFlag, median, numberListFlag, numFlag, runMain, textFlag, type Flags } from '../bench/util.js';

export { median };

export type StudyMethod = 'gradient' | 'accelerated' | 'steering';

const DIM = 2;

/** Options of one float64 run of the twin. */
export interface TwinOptions {
  method: StudyMethod;
  /** Fixed step, or 'auto' with the rule of shaders/integrate.wgsl auto_step. */
  h: number | 'auto';
  fraction?: number;
  hMax?: number;
  hMin?: number;
  gamma?: number;
  /** Stop after this many steps... */
  maxSteps: number;
  /** ...or once the flow time reaches tEnd. */
  tEnd?: number;
  /** Record the energy every `every` steps (default 1). */
  every?: number;
  /** Stop early once the variance exceeds this (blow-up). Default 1e3. */
  varLimit?: number;
  v0?: Float64Array;
  /**
   * Variant of the rule (not in integrate.wgsl): bound the velocity relative to the nearest
   * neighbour, max_i |v_i − v_{n(i)}|/l_i, instead of max_i |v_i|/l_i, so that coherent motion
   * (the whole cloud oscillating) does not shrink the step.
   */
  vRel?: boolean;
}

/** A recorded run: energy F(x_t) at recorded steps (evaluated inside the step, before the update). */
export interface TwinRun {
  steps: number;
  time: number;
  wallMs: number;
  /** Recorded step indices, energies, flow times, per-axis mean variance, step sizes. */
  step: number[];
  energy: number[];
  t: number[];
  variance: number[];
  h: number[];
  blewUp: boolean;
  x: Float64Array;
  v: Float64Array;
}

/**
 * Runs the float64 twin of one GPU flow of F = mean|x|² + KL-entropy (k = 1) in d = 2.
 * Per step, as on the GPU: gradient (potential + entropy), MODE-0 reductions, auto_step,
 * integrate, advance.
 */
export function runTwin(x0: ArrayLike<number>, o: TwinOptions): TwinRun {
  const n = x0.length / DIM;
  const x = Float64Array.from(x0);
  const v = o.v0 ? Float64Array.from(o.v0) : new Float64Array(n * DIM);
  const g = new Float64Array(n * DIM);
  const gamma = o.gamma ?? 0.5;
  const frac = o.fraction ?? 0.1, hMax = o.hMax ?? 0.05, hMin = o.hMin ?? 1e-9;
  const every = o.every ?? 1;
  const varLimit = o.varLimit ?? 1e3;
  const out: TwinRun = { steps: 0, time: 0, wallMs: 0, step: [], energy: [], t: [], variance: [], h: [], blewUp: false, x, v };
  const t0 = performance.now();
  let time = 0;
  let s = 0;
  for (s = 0; s < o.maxSteps; s++) {
    if (o.tEnd !== undefined && time >= o.tEnd * (1 - 1e-12)) break;
    // Entropy (oracle): value, exact gradient, nearest neighbours n(i) and distances r_i = l_i.
    const ent = entropyReference(x, n, DIM, { k: 1 });
    const nb = ent.neighbor, r = ent.r;
    // Potential: U = |x|², g = 2x.
    let eU = 0, m0 = 0, m1 = 0;
    for (let k = 0; k < n * DIM; k++) {
      const xk = x[k]!;
      g[k] = 2 * xk + ent.grad[k]!;
      eU += xk * xk;
    }
    for (let i = 0; i < n; i++) {
      m0 += x[2 * i]!;
      m1 += x[2 * i + 1]!;
    }
    m0 /= n; m1 /= n;
    const variance = (eU / n - m0 * m0 - m1 * m1) / DIM;
    const energy = eU / n + ent.value;
    // MODE-0 sums: |v|², |g|², max |g_i|/l_i, max |v_i|/l_i.
    let vv = 0, gg = 0, lg = 0, lv = 0;
    for (let i = 0; i < n; i++) {
      const gi = g[2 * i]! * g[2 * i]! + g[2 * i + 1]! * g[2 * i + 1]!;
      const vi = v[2 * i]! * v[2 * i]! + v[2 * i + 1]! * v[2 * i + 1]!;
      gg += gi;
      vv += vi;
      const l = r[i]!;
      if (l > 0 && Number.isFinite(l)) {
        let vr = vi;
        if (o.vRel) {
          const j = nb[i]!;
          const dx = v[2 * i]! - v[2 * j]!, dy = v[2 * i + 1]! - v[2 * j + 1]!;
          vr = dx * dx + dy * dy;
        }
        const a = Math.sqrt(gi) / l, b = Math.sqrt(vr) / l;
        if (a > lg) lg = a;
        if (b > lv) lv = b;
      }
    }
    const sr = gg > 0 ? Math.sqrt(vv / gg) : 0;
    const coef = o.method === 'steering' ? 1 + gamma * sr : 1;
    let h: number;
    if (o.h === 'auto') {
      h = hMax;
      if (o.method === 'gradient') {
        if (lg > 0) h = Math.min(h, frac / lg);
      } else {
        if (lg > 0) h = Math.min(h, Math.sqrt(frac / (coef * lg)));
        if (lv > 0) h = Math.min(h, frac / lv);
      }
      h = Math.max(h, hMin);
    } else h = o.h;
    if (s % every === 0) {
      out.step.push(s);
      out.energy.push(energy);
      out.t.push(time);
      out.variance.push(variance);
      out.h.push(h);
    }
    if (!Number.isFinite(energy) || !(variance < varLimit)) {
      out.blewUp = true;
      break;
    }
    if (o.method === 'gradient') {
      for (let k = 0; k < n * DIM; k++) x[k]! -= h * g[k]!;
    } else {
      for (let k = 0; k < n * DIM; k++) {
        const vk = v[k]! - h * (gamma * v[k]! + coef * g[k]!);
        v[k] = vk;
        x[k]! += h * vk;
      }
    }
    time += h;
  }
  out.steps = s;
  out.time = time;
  out.wallMs = performance.now() - t0;
  return out;
}

/** Plateau of a run: median of the last 10% of the recorded energies. */
export function plateauOf(run: TwinRun): number {
  const k = Math.max(1, Math.floor(run.energy.length / 10));
  return median(run.energy.slice(run.energy.length - k));
}

/**
 * First recorded step after which the energy stays within tol of `ref` to the end of the run
 * (-1 if the last value is outside). Returns the step and the flow time.
 */
export function settle(run: TwinRun, ref: number, tol: number): { step: number; t: number } {
  let k = run.energy.length;
  while (k > 0 && Math.abs(run.energy[k - 1]! - ref) <= tol) k--;
  if (k === run.energy.length) return { step: -1, t: -1 };
  return { step: run.step[k]!, t: run.t[k]! };
}

// ---------------------------------------------------------------- CLI ----------------------

const RESULTS = 'studies/results/step-study.json';

const METHODS: readonly StudyMethod[] = ['gradient', 'accelerated', 'steering'];

/** The flags of every stage (an unknown flag is an error that lists them). */
const FLAGS = {
  n: { type: 'string' }, methods: { type: 'string' }, h: { type: 'string' }, fractions: { type: 'string' },
  hmax: { type: 'string' }, t: { type: 'string' }, tag: { type: 'string' }, vrel: { type: 'boolean' },
  steps: { type: 'string' }, hpre: { type: 'string' }, pre: { type: 'string' }, 'cost-sizes': { type: 'string' },
  ...Object.fromEntries(METHODS.flatMap((m) => [[`fixed-${m}`, { type: 'string' }], [`h-${m}`, { type: 'string' }]])),
} as const;

/** The parsed command line (set by main). */
let flags: Flags = {};

function merge(part: string, value: unknown): void {
  mkdirSync('studies/results', { recursive: true });
  // Stages may run in parallel processes: read-modify-write under a lock file.
  const lock = `${RESULTS}.lock`;
  for (let tries = 0; ; tries++) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch {
      if (tries > 200) throw new Error(`${lock} is held; remove it if no study is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
  try {
    const cur = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, unknown> : {};
    cur[part] = value;
    writeFileSync(RESULTS, JSON.stringify(cur, null, 2) + '\n');
  } finally {
    unlinkSync(lock);
  }
}

/**
 * The twin against the float64 oracle flow (src/reference/flows.ts referenceFlow, gradient of
 * [quadratic(), entropy()] by referenceEnergy): 20 fixed steps of each method from a Gaussian
 * start, N = 400; and the twin's energy at the start against referenceEnergy.
 */
function stageCheck(): void {
  const n = 400, steps = 20;
  const x0 = Float64Array.from(gaussian(n, DIM, { seed: 5 }));
  const terms = [quadratic(), entropy()];
  const energy0 = referenceEnergy(terms, x0, n, DIM).value;
  const first = runTwin(x0, { method: 'gradient', h: 1e-30, maxSteps: 1 });
  console.log(`twin energy ${first.energy[0]} vs referenceEnergy ${energy0}`);
  for (const [method, h] of [['gradient', 1e-4], ['accelerated', 1e-3], ['steering', 1e-3]] as const) {
    const twin = runTwin(x0, { method, h, gamma: 0.5, maxSteps: steps });
    const ref = referenceFlow(x0, undefined, { dim: DIM, method, h, gamma: 0.5, steps, gradient: (y) => referenceEnergy(terms, y, n, DIM).grad });
    let dx = 0;
    for (let k = 0; k < x0.length; k++) dx = Math.max(dx, Math.abs(twin.x[k]! - ref.x[k]!));
    console.log(`${method}, h = ${h}, ${steps} steps: max |x_twin − x_referenceFlow| = ${dx.toExponential(2)}`);
  }
}

/** Horizon (flow time) per method: the gradient flow relaxes at rate ~4, the γ = 0.5 flows at ~γ. */
export const HORIZON: Record<StudyMethod, number> = { gradient: 3, accelerated: 30, steering: 30 };

/** Summary of one run: final window = last 10% of the horizon. */
export function summarize(run: TwinRun): Record<string, number | boolean> {
  const m = run.energy.length;
  const k0 = Math.floor(m * 0.9);
  const w = run.energy.slice(k0).sort((a, b) => a - b);
  const q = (p: number) => w[Math.min(w.length - 1, Math.floor(p * (w.length - 1)))]!;
  return {
    steps: run.steps,
    time: +run.time.toFixed(4),
    blewUp: run.blewUp,
    finalMedian: +q(0.5).toFixed(5),
    finalMin: +w[0]!.toFixed(5),
    finalMax: +w[w.length - 1]!.toFixed(5),
    finalP05: +q(0.05).toFixed(5),
    finalP95: +q(0.95).toFixed(5),
    maxVariance: +run.variance.reduce((a, b) => Math.max(a, b), 0).toFixed(4),
    finalVariance: +run.variance[m - 1]!.toFixed(4),
    wallMs: +run.wallMs.toFixed(0),
    msPerStep: +(run.wallMs / Math.max(1, run.steps)).toFixed(4),
  };
}

/**
 * Plateau of a run and when it is reached. Plateau P: the median of the raw energies over the
 * last 10% of the recorded steps; tol = 1e-3·max(1, |P|). The energy chatters step to step
 * (the 1-NN estimator is only piecewise smooth and its minimisers sit on the kinks, where a
 * fixed explicit step oscillates with an O(h) amplitude), so the test runs on a trailing mean
 * over W = max(10, steps/200) steps: the plateau step is the first step after which the
 * smoothed energy stays within tol of P to the end. Also returns the smoothed trace (about
 * 400 points, linear in step) for targets set after the fact.
 */
export function plateauStats(run: TwinRun): { plateau: number; tol: number; plateauStep: number; plateauTime: number; plateauWallMs: number; window: number; smooth: { step: number[]; t: number[]; energy: number[] } } {
  const e = run.energy, m = e.length;
  const P = plateauOf(run);
  const tol = 1e-3 * Math.max(1, Math.abs(P));
  const W = Math.max(10, Math.round(m / 200));
  const sm = new Float64Array(m);
  let acc = 0;
  for (let k = 0; k < m; k++) {
    acc += e[k]!;
    if (k >= W) acc -= e[k - W]!;
    sm[k] = acc / Math.min(k + 1, W);
  }
  let k = m;
  while (k > 0 && Math.abs(sm[k - 1]! - P) <= tol) k--;
  const stepAt = k < m ? run.step[k]! : -1;
  const every = Math.max(1, Math.floor(m / 400));
  const smooth = { step: [] as number[], t: [] as number[], energy: [] as number[] };
  for (let j = 0; j < m; j += every) {
    smooth.step.push(run.step[j]!);
    smooth.t.push(+run.t[j]!.toPrecision(5));
    smooth.energy.push(+sm[j]!.toPrecision(6));
  }
  return {
    plateau: +P.toFixed(5), tol: +tol.toExponential(2), plateauStep: stepAt,
    plateauTime: k < m ? +run.t[k]!.toPrecision(4) : -1,
    plateauWallMs: k < m ? +((run.wallMs * stepAt) / Math.max(1, run.steps)).toFixed(0) : -1,
    window: W, smooth,
  };
}

/** About `points` samples of a run's trace, log-spaced in step. */
export function thin(run: TwinRun, points = 120): { step: number[]; t: number[]; energy: number[]; variance: number[]; h: number[] } {
  const idx = new Set<number>();
  const m = run.energy.length;
  for (let j = 0; j < points; j++) idx.add(Math.min(m - 1, Math.round(Math.exp((Math.log(m) * j) / (points - 1))) - 1));
  const ks = [...idx].filter((k) => k >= 0).sort((a, b) => a - b);
  const r = (a: number[], d: number) => ks.map((k) => +a[k]!.toPrecision(d));
  return { step: ks.map((k) => run.step[k]!), t: r(run.t, 5), energy: r(run.energy, 6), variance: r(run.variance, 4), h: r(run.h, 4) };
}

const GRID: Record<StudyMethod, number[]> = {
  gradient: [2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 1e-2],
  accelerated: [5e-4, 1e-3, 2e-3, 5e-3, 1e-2],
  steering: [5e-4, 1e-3, 2e-3, 5e-3, 1e-2],
};

function methodsArg(): StudyMethod[] {
  const list = (textFlag(flags, 'methods') ?? METHODS.join(',')).split(',');
  for (const m of list) if (!(METHODS as readonly string[]).includes(m)) throw new Error(`wgflow: studies/step-study: --methods: unknown method '${m}' (methods: ${METHODS.join(', ')})`);
  return list as StudyMethod[];
}

/** Full protocol: every grid h from the two-quadrant start to the method's horizon. */
function stageFixed(): void {
  const n = intFlag(flags, 'n') ?? 1000;
  const x0 = twoQuadrants(n, { seed: 1 });
  for (const method of methodsArg()) {
    const hs = numberListFlag(flags, 'h') ?? GRID[method];
    const rows: unknown[] = [];
    for (const h of hs) {
      const run = runTwin(x0, { method, h, tEnd: HORIZON[method], maxSteps: Math.ceil(HORIZON[method] / h) + 1, varLimit: 5 });
      const sum = summarize(run);
      console.log(JSON.stringify({ n, method, h, ...sum }));
      rows.push({ h, ...sum, trace: thin(run) });
    }
    merge(`fixed_${method}_N${n}`, { n, method, horizon: HORIZON[method], start: 'twoQuadrants seed 1', rows });
  }
}

/** One run with its summary, plateau statistics and thinned traces. */
function studyRun(x0: ArrayLike<number>, o: TwinOptions, tag: Record<string, unknown>): Record<string, unknown> {
  const run = runTwin(x0, o);
  const sum = summarize(run);
  const { smooth, ...pl } = plateauStats(run);
  const hs = run.h;
  const hStats = o.h === 'auto'
    ? { hMedian: +median(hs).toPrecision(3), hMinRun: +hs.reduce((a, b) => Math.min(a, b), Infinity).toPrecision(3), hFinal: +median(hs.slice(Math.floor(hs.length * 0.9))).toPrecision(3) }
    : {};
  console.log(JSON.stringify({ ...tag, ...sum, ...pl, ...hStats }));
  return { ...tag, ...sum, ...pl, ...hStats, smooth, trace: thin(run) };
}

/** h: 'auto' for each fraction against fixed steps, from the two-quadrant start. */
function stageAuto(): void {
  const n = intFlag(flags, 'n') ?? 1000;
  const x0 = twoQuadrants(n, { seed: 1 });
  const fractions = numberListFlag(flags, 'fractions') ?? [0.1, 0.25, 0.5, 1];
  const hMax = numFlag(flags, 'hmax') ?? 0.05;
  const tag = textFlag(flags, 'tag') ?? '';
  for (const method of methodsArg()) {
    const T = numFlag(flags, 't') ?? HORIZON[method];
    const fixed = numberListFlag(flags, `fixed-${method}`) ?? [];
    const rows: unknown[] = [];
    for (const h of fixed) {
      rows.push(studyRun(x0, { method, h, tEnd: T, maxSteps: Math.ceil(T / h) + 1, varLimit: 5 }, { n, method, h }));
      merge(`auto_${method}_N${n}${tag}`, { n, method, horizon: T, hMax, rows });
    }
    for (const fraction of fractions) {
      const vRel = flags.vrel === true;
      rows.push(studyRun(x0, { method, h: 'auto', fraction, hMax, vRel, tEnd: T, maxSteps: 2e6, varLimit: 5 }, { n, method, h: 'auto', fraction, hMax, ...(vRel ? { rule: 'relative velocity' } : {}) }));
      merge(`auto_${method}_N${n}${tag}`, { n, method, horizon: T, hMax, rows });
    }
  }
}

/**
 * A relaxed state for the local protocol: N(0, ½ I) samples (already at the global equilibrium)
 * after `steps` gradient steps of size h, so that the local arrangement relaxes too.
 */
function relaxedState(n: number, h: number, steps: number): { x: Float64Array; energy: number; wallMs: number } {
  // Cached between processes (stages for different methods run in parallel).
  const cache = `/tmp/wgflow-step-study/relaxed_${n}_${h}_${steps}.json`;
  if (existsSync(cache)) {
    const c = JSON.parse(readFileSync(cache, 'utf8')) as { x: number[]; energy: number; wallMs: number };
    return { x: Float64Array.from(c.x), energy: c.energy, wallMs: c.wallMs };
  }
  const x0 = gaussian(n, DIM, { std: Math.SQRT1_2, seed: 3 });
  const run = runTwin(x0, { method: 'gradient', h, maxSteps: steps, every: Math.max(1, Math.floor(steps / 50)) });
  console.log(`relaxed N=${n}: ${steps} gradient steps of ${h}: F ${run.energy[0]!.toFixed(4)} -> ${run.energy[run.energy.length - 1]!.toFixed(4)} (${(run.wallMs / 1000).toFixed(1)} s)`);
  const res = { x: run.x, energy: run.energy[run.energy.length - 1]!, wallMs: run.wallMs };
  mkdirSync('/tmp/wgflow-step-study', { recursive: true });
  writeFileSync(cache, JSON.stringify({ x: Array.from(res.x), energy: res.energy, wallMs: res.wallMs }));
  return res;
}

/**
 * Local protocol (cheap, for large N): every h runs M steps from a relaxed state with v = 0;
 * an unstable step shows as the energy leaving the relaxed level and chattering widely.
 */
function stageLocal(): void {
  const n = intFlag(flags, 'n') ?? 1000;
  const M = intFlag(flags, 'steps') ?? 2000;
  const hPre = numFlag(flags, 'hpre') ?? 2e-5 * (1000 / n);
  const pre = intFlag(flags, 'pre') ?? 5000;
  const { x, energy: e0, wallMs } = relaxedState(n, hPre, pre);
  for (const method of methodsArg()) {
    const hs: (number | string)[] = [...(numberListFlag(flags, `h-${method}`) ?? GRID[method])];
    // Automatic steps: 'auto:<fraction>'.
    for (const f of numberListFlag(flags, 'fractions') ?? []) hs.push(`auto:${f}`);
    const rows: unknown[] = [];
    for (const hh of hs) {
      const auto = typeof hh === 'string';
      const fraction = auto ? Number(hh.slice(5)) : undefined;
      const h = auto ? 'auto' as const : hh;
      const run = runTwin(x, { method, h, fraction, maxSteps: M, varLimit: 5 });
      const half = run.energy.slice(Math.floor(run.energy.length / 2)).sort((a, b) => a - b);
      const q = (p: number) => half[Math.min(half.length - 1, Math.floor(p * (half.length - 1)))]!;
      const row = {
        n, method, h, ...(auto ? { fraction, hMedian: +median(run.h.slice(Math.floor(run.h.length / 2))).toPrecision(3) } : {}), steps: run.steps, blewUp: run.blewUp,
        halfMedian: +q(0.5).toFixed(5), halfP05: +q(0.05).toFixed(5), halfP95: +q(0.95).toFixed(5),
        rise: +(q(0.5) - e0).toFixed(5),
        maxVariance: +run.variance.reduce((a, b) => Math.max(a, b), 0).toFixed(4),
        msPerStep: +(run.wallMs / Math.max(1, run.steps)).toFixed(3),
      };
      console.log(JSON.stringify(row));
      rows.push({ ...row, trace: thin(run, 60) });
    }
    merge(`local_${method}_N${n}${textFlag(flags, 'tag') ?? ''}`, { n, method, steps: M, relaxed: { start: 'gaussian std √½ seed 3', hPre, pre, energy: +e0.toFixed(5), wallMs: +wallMs.toFixed(0) }, rows });
  }
}

/**
 * createFlow on the current adapter (float32) against the twin, N = 1000 unless --n:
 * (a) agreement over the first steps from the two-quadrant start (fixed and auto h);
 * (b) GPU ms per step, fixed against auto, per method;
 * (c) the stability threshold in float32: from a relaxed state, M steps at the largest stable
 *     grid h and the next one up, energy read every M/6 steps.
 */
async function stageGpu(): Promise<void> {
  const n = intFlag(flags, 'n') ?? 1000;
  const M = intFlag(flags, 'steps') ?? 600;
  if (M % 6) throw new Error(`wgflow: studies/step-study: gpu: --steps must be a multiple of 6 (got ${M})`);
  const { device, summary } = await getDevice();
  console.log(`adapter: ${summary}`);
  const out: Record<string, unknown> = { adapter: summary, n };
  const x0 = twoQuadrants(n, { seed: 1 });
  const make = (method: StudyMethod, h: number | 'auto', fraction: number | undefined, positions: Float32Array) =>
    createFlow(device, { dim: 2, positions, energy: [quadratic(), entropy()], method, h, gamma: 0.5, autoStep: { rule: 'displacement', ...(fraction ? { fraction } : {}) } });
  // (a) agreement.
  const agree: unknown[] = [];
  const cases: [StudyMethod, number | 'auto', number | undefined][] = [
    ['gradient', 1e-4, undefined], ['steering', 1e-3, undefined], ['gradient', 'auto', 0.25], ['accelerated', 'auto', 0.25], ['steering', 'auto', 0.25],
  ];
  for (const [method, h, fraction] of cases) {
    const flow = await make(method, h, fraction, x0);
    const twin = runTwin(x0, { method, h, fraction, maxSteps: 101 });
    const rows: unknown[] = [];
    let done = 0;
    for (const at of [1, 10, 50, 100]) {
      await flow.step(at - done);
      done = at;
      const st = await flow.stats();
      rows.push({ step: at, gpuEnergy: +st.energy.toFixed(5), twinEnergy: +twin.energy[at]!.toFixed(5), gpuH: +st.h.toPrecision(4), twinH: +twin.h[at - 1]!.toPrecision(4) });
    }
    flow.destroy();
    console.log(method, h, fraction ?? '', JSON.stringify(rows));
    agree.push({ method, h, fraction, rows });
  }
  out.agreement = agree;
  // (b) GPU cost per step.
  const cost: unknown[] = [];
  for (const nn of numberListFlag(flags, 'cost-sizes') ?? [n, 10000]) {
    const xs = gaussian(nn, 2, { std: Math.SQRT1_2, seed: 3 });
    for (const method of ['gradient', 'accelerated', 'steering'] as StudyMethod[]) {
      for (const h of [method === 'gradient' ? 1e-6 : 1e-5, 'auto'] as (number | 'auto')[]) {
        const flow = await make(method, h, h === 'auto' ? 0.5 : undefined, xs);
        const k = nn >= 1e4 ? 4 : 40;
        await flow.step(2);
        const ts: number[] = [];
        for (let r = 0; r < 3; r++) {
          const t0 = performance.now();
          await flow.step(k);
          ts.push((performance.now() - t0) / k);
        }
        flow.destroy();
        const row = { n: nn, method, h: h === 'auto' ? 'auto' : 'fixed', msPerStep: +median(ts).toFixed(2) };
        console.log(JSON.stringify(row));
        cost.push(row);
      }
    }
  }
  out.cost = cost;
  // (c) float32 threshold from a relaxed state.
  const { x: xr, energy: er } = relaxedState(n, 2e-5 * (1000 / n), intFlag(flags, 'pre') ?? 5000);
  const xr32 = Float32Array.from(xr);
  const thr: unknown[] = [];
  const pairs: [StudyMethod, number][] = [['gradient', 2e-4], ['gradient', 5e-4], ['accelerated', 2e-3], ['accelerated', 5e-3], ['steering', 2e-3], ['steering', 5e-3]];
  for (const [method, h] of pairs) {
    const flow = await make(method, h, undefined, xr32);
    const twin = runTwin(xr32, { method, h, maxSteps: M + 1, varLimit: 1e9 });
    const rows: unknown[] = [];
    let err = '';
    for (let at = M / 6; at <= M; at += M / 6) {
      try {
        await flow.step(M / 6);
      } catch (e) {
        err = String(e).slice(0, 120);
        break;
      }
      const st = await flow.stats();
      rows.push({ step: at, gpuEnergy: +st.energy.toFixed(4), gpuVar: +((st.covariance[0]! + st.covariance[3]!) / 2).toFixed(3), twinEnergy: +(twin.energy[at] ?? NaN).toFixed(4), twinVar: +(twin.variance[at] ?? NaN).toFixed(3) });
    }
    flow.destroy();
    console.log(method, h, err, JSON.stringify(rows));
    thr.push({ method, h, error: err || undefined, rows });
  }
  out.threshold = { relaxedEnergy: +er.toFixed(5), steps: M, runs: thr };
  merge(`gpu_N${n}`, out);
  device.destroy();
}

/** First smoothed-trace point after which |E − P| ≤ tol to the end ({ step: -1 } if none). */
function settleSmooth(sm: { step: number[]; t: number[]; energy: number[] }, P: number, tol: number): { step: number; t: number } {
  let k = sm.energy.length;
  while (k > 0 && Math.abs(sm.energy[k - 1]! - P) <= tol) k--;
  return k < sm.energy.length ? { step: sm.step[k]!, t: sm.t[k]! } : { step: -1, t: -1 };
}

type Row = Record<string, unknown> & { smooth?: { step: number[]; t: number[]; energy: number[] } };

/** Markdown tables from studies/results/step-study.json (no runs). */
function stageReport(): void {
  const j = JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, { n: number; method: string; rows: Row[] }>;
  const fmt = (v: unknown) => (typeof v === 'number' ? (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(1) : String(+v.toPrecision(4))) : String(v));
  // Lowest plateau seen per N (any method, any protocol): the reference F*.
  const best = new Map<number, number>();
  for (const [key, d] of Object.entries(j)) {
    if (!/^(fixed|auto)_/.test(key)) continue;
    for (const r of d.rows) {
      const p = (r.plateau ?? r.finalMedian) as number;
      if (!r.blewUp && typeof p === 'number') best.set(d.n, Math.min(best.get(d.n) ?? Infinity, p));
    }
  }
  console.log('F* (lowest plateau) per N:', JSON.stringify(Object.fromEntries(best)));
  for (const [key, d] of Object.entries(j)) {
    if (key.startsWith('fixed_')) {
      console.log(`\n### ${key} (two-quadrant start, horizon ${(d as unknown as { horizon: number }).horizon})`);
      console.log('| h | blew up | final median F | excess over F* | p05–p95 spread | final var |');
      console.log('|---|---|---|---|---|---|');
      for (const r of d.rows) {
        const fs = best.get(d.n)!;
        console.log(`| ${fmt(r.h)} | ${r.blewUp ? 'yes' : 'no'} | ${fmt(r.finalMedian)} | ${r.blewUp ? '—' : fmt((r.finalMedian as number) - fs)} | ${fmt((r.finalP95 as number) - (r.finalP05 as number))} | ${fmt(r.finalVariance)} |`);
      }
    } else if (key.startsWith('auto_')) {
      console.log(`\n### ${key}`);
      console.log('| step | median h | steps | plateau F | excess over F* | p05–p95 | steps to plateau (1e-3) | (1e-2) | time to plateau (1e-2) | twin wall ms (1e-2) |');
      console.log('|---|---|---|---|---|---|---|---|---|---|');
      for (const r of d.rows) {
        const P = r.plateau as number;
        const a = r.smooth ? settleSmooth(r.smooth, P, 1e-3 * Math.max(1, Math.abs(P))) : { step: -1, t: -1 };
        const b = r.smooth ? settleSmooth(r.smooth, P, 1e-2 * Math.max(1, Math.abs(P))) : { step: -1, t: -1 };
        const label = r.h === 'auto' ? `auto f=${r.fraction}` : fmt(r.h);
        const hm = r.h === 'auto' ? fmt(r.hMedian) : fmt(r.h);
        const wall = b.step >= 0 ? ((r.wallMs as number) * b.step) / (r.steps as number) : -1;
        console.log(`| ${label} | ${hm} | ${r.steps} | ${fmt(P)} | ${fmt(P - best.get(d.n)!)} | ${fmt((r.finalP95 as number) - (r.finalP05 as number))} | ${a.step} | ${b.step} | ${fmt(b.t)} | ${fmt(Math.round(wall))} |`);
      }
    } else if (key.startsWith('local_')) {
      const dd = d as unknown as { relaxed: { energy: number }; steps: number };
      console.log(`\n### ${key} (relaxed start F = ${dd.relaxed.energy}, ${dd.steps} steps)`);
      console.log('| step | blew up | median F (2nd half) | rise | p05–p95 | max var |');
      console.log('|---|---|---|---|---|---|');
      for (const r of d.rows) {
        const label = r.h === 'auto' ? `auto f=${r.fraction} (h≈${fmt(r.hMedian)})` : fmt(r.h);
        console.log(`| ${label} | ${r.blewUp ? 'yes' : 'no'} | ${fmt(r.halfMedian)} | ${fmt(r.rise)} | ${fmt((r.halfP95 as number) - (r.halfP05 as number))} | ${fmt(r.maxVariance)} |`);
      }
    }
  }
}

async function main(): Promise<void> {
  const parsed = benchFlags(FLAGS, 'studies/step-study', process.argv.slice(2), 1);
  flags = parsed;
  const stage = parsed._[0] ?? 'check';
  if (stage === 'check') return stageCheck();
  if (stage === 'fixed') return stageFixed();
  if (stage === 'auto') return stageAuto();
  if (stage === 'local') return stageLocal();
  if (stage === 'gpu') return stageGpu();
  if (stage === 'report') return stageReport();
  throw new Error(`wgflow: studies/step-study: unknown stage '${stage}' (stages: check, fixed, local, auto, gpu, report)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runMain(main);
