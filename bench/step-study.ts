/**
 * Step-control study (issue 3, item 5): how large a time step the gradient, accelerated and
 * steering flows of the Fokker–Planck energy F = ∫|x|²ρ + ∫ρ log ρ (d = 2, two-quadrant start)
 * can take, and how `h: 'auto'` compares with the best fixed step. Write-up:
 * docs/step-control.md; results: bench/results/step-study.json.
 *
 * Most runs need 10^4–10^5 steps, far too many for SwiftShader (~30 ms per entropy step at
 * N = 1000), so the study runs a float64 CPU twin of the GPU step: the same energy (Kozachenko–
 * Leonenko, k = 1, ε = 1e-9, reverse neighbours included: src/reference/entropy.ts), the same
 * update order as shaders/integrate.wgsl and the same automatic-step rule as its `auto_step`
 * kernel (l_i = nearest-neighbour distance, R6 = max |g_i|/l_i, R7 = max |v_i|/l_i), with an
 * exact 1-NN search on a uniform grid (checked against the k-d tree of src/reference/knn.ts).
 * The `gpu` stage checks the twin against createFlow on the current adapter (float32).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/step-study.js <stage> [--n 1000] [--methods gradient,steering]
 *
 * Stages (each merges its part into bench/results/step-study.json):
 *   check     the grid 1-NN against the k-d tree, the twin's gradient against src/reference
 *   fixed     largest stable fixed h per flow from the two-quadrant start (full horizon)
 *   local     largest stable fixed h from a relaxed state (cheap protocol for large N)
 *   auto      h: 'auto' (fractions 0.1, 0.25, 0.5, 1) against the best fixed h: steps and time to plateau
 *   gpu       createFlow on the current adapter against the twin (short runs)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { kdTreeKnn } from '../src/reference/knn.js';
import { entropyConstant, entropyReference } from '../src/reference/entropy.js';
import { twoQuadrants, gaussian } from '../src/init.js';

export type StudyMethod = 'gradient' | 'accelerated' | 'steering';

const DIM = 2;
const EPS2 = Math.fround(1e-9 * 1e-9);

/**
 * Exact 1-NN of every point among the others (float64), on a uniform grid with about two
 * points per cell, searched ring by ring until no unvisited cell can hold a closer point.
 * Ties go to the lower index. Writes nb[i] and r2[i] (squared distance).
 */
export class GridNN {
  private cellOf: Int32Array;
  private start: Int32Array = new Int32Array(1);
  private order: Int32Array;
  constructor(readonly n: number) {
    this.cellOf = new Int32Array(n);
    this.order = new Int32Array(n);
  }

  run(x: Float64Array, nb: Int32Array, r2: Float64Array): void {
    const n = this.n;
    // Box: the bounding box, cut to mean ± 6σ per axis so that a few far outliers do not
    // empty the grid; points outside are clamped into the edge cells, which keeps the ring
    // lower bound valid (a clamped point lies farther out than its cell).
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    let sa = 0, sb = 0, qa = 0, qb = 0;
    for (let i = 0; i < n; i++) {
      const a = x[2 * i]!, b = x[2 * i + 1]!;
      if (a < x0) x0 = a;
      if (a > x1) x1 = a;
      if (b < y0) y0 = b;
      if (b > y1) y1 = b;
      sa += a; sb += b; qa += a * a; qb += b * b;
    }
    const ma = sa / n, mb = sb / n;
    const da = 6 * Math.sqrt(Math.max(0, qa / n - ma * ma)), db = 6 * Math.sqrt(Math.max(0, qb / n - mb * mb));
    x0 = Math.max(x0, ma - da); x1 = Math.min(x1, ma + da);
    y0 = Math.max(y0, mb - db); y1 = Math.min(y1, mb + db);
    const w = Math.max(x1 - x0, 1e-12), hgt = Math.max(y1 - y0, 1e-12);
    // About 2 points per cell over the bounding box, at most 4N cells.
    let cs = Math.sqrt((2 * w * hgt) / n);
    let gx = Math.max(1, Math.ceil(w / cs)), gy = Math.max(1, Math.ceil(hgt / cs));
    while (gx * gy > 4 * n + 16) {
      cs *= 1.5;
      gx = Math.max(1, Math.ceil(w / cs));
      gy = Math.max(1, Math.ceil(hgt / cs));
    }
    const nc = gx * gy;
    if (this.start.length < nc + 1) this.start = new Int32Array(nc + 1);
    const start = this.start;
    start.fill(0, 0, nc + 1);
    const cellOf = this.cellOf, order = this.order;
    const inv = 1 / cs;
    for (let i = 0; i < n; i++) {
      const cx = Math.max(0, Math.min(gx - 1, Math.floor((x[2 * i]! - x0) * inv)));
      const cy = Math.max(0, Math.min(gy - 1, Math.floor((x[2 * i + 1]! - y0) * inv)));
      const c = cy * gx + cx;
      cellOf[i] = c;
      start[c + 1]!++;
    }
    for (let c = 0; c < nc; c++) start[c + 1]! += start[c]!;
    const fill = new Int32Array(nc); // offsets within cells (small: reuse is not worth it)
    for (let i = 0; i < n; i++) {
      const c = cellOf[i]!;
      order[start[c]! + fill[c]!++] = i;
    }
    for (let i = 0; i < n; i++) {
      const px = x[2 * i]!, py = x[2 * i + 1]!;
      const c = cellOf[i]!;
      const cx = c % gx, cy = (c - cx) / gx;
      let best = Infinity, bi = -1;
      const maxRing = Math.max(gx, gy);
      for (let ring = 0; ring <= maxRing; ring++) {
        // Every point outside rings 0..ring-1 is at least (ring - 1)·cs + (distance to the own cell's edge) away; use (ring - 1)·cs.
        const lb = (ring - 1) * cs;
        if (ring > 0 && lb > 0 && lb * lb > best) break;
        const ylo = cy - ring, yhi = cy + ring, xlo = cx - ring, xhi = cx + ring;
        for (let yy = Math.max(0, ylo); yy <= Math.min(gy - 1, yhi); yy++) {
          const edgeRow = yy === ylo || yy === yhi;
          const step = edgeRow ? 1 : xhi - xlo;
          for (let xx = xlo; xx <= xhi; xx += step) {
            if (xx < 0 || xx >= gx) { if (step === 0) break; continue; }
            const cc = yy * gx + xx;
            for (let p = start[cc]!; p < start[cc + 1]!; p++) {
              const j = order[p]!;
              if (j === i) continue;
              const dx = x[2 * j]! - px, dy = x[2 * j + 1]! - py;
              const d2 = dx * dx + dy * dy;
              if (d2 < best || (d2 === best && j < bi)) { best = d2; bi = j; }
            }
            if (step === 0) break;
          }
        }
      }
      nb[i] = bi;
      r2[i] = best;
    }
  }
}

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
  const nb = new Int32Array(n);
  const r2 = new Float64Array(n);
  const nn = new GridNN(n);
  const C = entropyConstant(n, 1, DIM);
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
    nn.run(x, nb, r2);
    // Potential: U = |x|², g = 2x. Entropy: e_i = -(d/2) log(r_i² + ε²), forward and reverse terms.
    let eU = 0, eH = 0, m0 = 0, m1 = 0, q = 0;
    for (let k = 0; k < n * DIM; k++) {
      const xk = x[k]!;
      g[k] = 2 * xk;
      eU += xk * xk;
    }
    for (let i = 0; i < n; i++) {
      const den = r2[i]! + EPS2;
      eH += -0.5 * DIM * Math.log(den);
      const j = nb[i]!;
      const c = (-DIM / den);
      const dx = x[2 * i]! - x[2 * j]!, dy = x[2 * i + 1]! - x[2 * j + 1]!;
      g[2 * i]! += c * dx;
      g[2 * i + 1]! += c * dy;
      g[2 * j]! -= c * dx;
      g[2 * j + 1]! -= c * dy;
      m0 += x[2 * i]!;
      m1 += x[2 * i + 1]!;
    }
    for (let k = 0; k < n * DIM; k++) q += x[k]! * x[k]!;
    m0 /= n; m1 /= n;
    const variance = (q / n - m0 * m0 - m1 * m1) / DIM;
    const energy = eU / n + eH / n + C;
    // MODE-0 sums: |v|², |g|², max |g_i|/l_i, max |v_i|/l_i.
    let vv = 0, gg = 0, lg = 0, lv = 0;
    for (let i = 0; i < n; i++) {
      const gi = g[2 * i]! * g[2 * i]! + g[2 * i + 1]! * g[2 * i + 1]!;
      const vi = v[2 * i]! * v[2 * i]! + v[2 * i + 1]! * v[2 * i + 1]!;
      gg += gi;
      vv += vi;
      const l = Math.sqrt(r2[i]!);
      if (l > 0 && Number.isFinite(l)) {
        const a = Math.sqrt(gi) / l, b = Math.sqrt(vi) / l;
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

/** Median of an array. */
export function median(a: number[]): number {
  const b = [...a].sort((p, q) => p - q);
  const m = b.length >> 1;
  return b.length % 2 ? b[m]! : 0.5 * (b[m - 1]! + b[m]!);
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

const RESULTS = 'bench/results/step-study.json';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function merge(part: string, value: unknown): void {
  mkdirSync('bench/results', { recursive: true });
  // Re-read right before writing: stages may run in parallel processes.
  const cur = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, unknown> : {};
  cur[part] = value;
  writeFileSync(RESULTS, JSON.stringify(cur, null, 2) + '\n');
}

function stageCheck(): void {
  for (const n of [1000, 5000]) {
    const x = Float64Array.from(twoQuadrants(n, { seed: 1 }));
    x[0] = 40; x[3] = -25; // outliers, clamped into the edge cells
    const nb = new Int32Array(n), r2 = new Float64Array(n);
    new GridNN(n).run(x, nb, r2);
    const ref = kdTreeKnn(x, 2, 1);
    let bad = 0;
    for (let i = 0; i < n; i++) if (Math.abs(Math.sqrt(r2[i]!) - ref.distance[i]!) > 0) bad++;
    console.log(`grid 1-NN vs k-d tree, N=${n}: ${bad} distance mismatches`);
  }
  const n = 400;
  const x = Float64Array.from(gaussian(n, 2, { seed: 5 }));
  const ref = entropyReference(x, n, 2, { k: 1 });
  const run = runTwin(x, { method: 'gradient', h: 1e-30, maxSteps: 1 });
  let eU = 0;
  for (let k = 0; k < x.length; k++) eU += x[k]! * x[k]!;
  console.log(`twin energy ${run.energy[0]} vs reference ${eU / n + ref.value}`);
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
  return (arg('--methods') ?? 'gradient,accelerated,steering').split(',') as StudyMethod[];
}

/** Full protocol: every grid h from the two-quadrant start to the method's horizon. */
function stageFixed(): void {
  const n = Number(arg('--n') ?? 1000);
  const x0 = twoQuadrants(n, { seed: 1 });
  for (const method of methodsArg()) {
    const hs = arg('--h') ? arg('--h')!.split(',').map(Number) : GRID[method];
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

async function main(): Promise<void> {
  const stage = process.argv[2] ?? 'check';
  if (stage === 'check') return stageCheck();
  if (stage === 'fixed') return stageFixed();
  throw new Error(`unknown stage ${stage}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
}
