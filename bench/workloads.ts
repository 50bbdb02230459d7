/**
 * The workloads of the benchmark harness (bench/harness.ts) and the code that times them, on
 * the public API only (`../src/index.js`) and browser-safe: Node runs it on the device of
 * getDevice(), headless Chromium imports the same compiled module (dist/bench/workloads.js)
 * and runs it through navigator.gpu.
 *
 * **What one row measures** (a workload, a method, a size N): the full step, recorded with
 * flow.encodeSteps into one compute pass, `steps` steps per pass, a warm-up pass first, then
 * the median of `runs` passes. Timestamp queries around the pass when the device offers them
 * (and every span is positive), else the wall time of submit → 16-byte readback (a queue
 * drain). The stages come from partial pipelines timed the same way, interleaved with the
 * full step:
 *
 * - grid build, neighbour search, reverse lists: the library's kernel objects (createKnn's
 *   grid and search, createReverseNeighbors, and for KL the search of the particles in a
 *   static grid of the samples), each recorded alone on the flow's own position buffer;
 * - integration: the step of a flow with no energy (F = 0) and the same method (for steering
 *   and FIRE, the accelerated update, whose memory traffic is the same); it includes the
 *   potential kernel's write of g = 0;
 * - reductions (steering, FIRE): the F = 0 step of the method minus the accelerated one;
 * - forces: the full step minus the F = 0 step of the method minus the three neighbour stages.
 *
 * A difference that comes out ≤ 0 (below the timing resolution) is reported as null with a
 * note, never clamped. Sizes that do not fit the device (its buffer limits, its memory) are
 * skipped with the library's error message; a per-size time budget skips rows whose first
 * step (or the first step at the previous size, scaled) says they cannot be timed in time.
 */
import {
  createFlow, createGrid, createKnn, createNeighborSearch, createReverseNeighbors, doubleWell, entropy, gaussian,
  interaction, klToSamples, quadratic, uniformBox, type AdapterInfo, type EnergyTerm, type Flow, type FlowOptions, type Method,
} from '../src/index.js';
import { createPassTimer, median, type PassTime, type PassTimer } from './timing.js';

/** Workload names, in the order the harness runs them. */
export const WORKLOAD_NAMES = ['quadratic', 'fokker-planck', 'kl', 'langevin', 'interaction'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

/** Every method of the integrator. */
export const ALL_METHODS: readonly Method[] = ['gradient', 'accelerated', 'steering', 'langevin', 'fire'];

/** The interaction term is all pairs, O(N²): larger sizes are skipped. */
export const INTERACTION_MAX_N = 30_000;

/** The stages of a step, in the order of the tables. */
export const STAGES = ['grid', 'search', 'reverse', 'forces', 'reductions', 'integration'] as const;
export type Stage = (typeof STAGES)[number];

/** Sizes the harness runs by default (10^7 where the device's limits, memory and the budget allow). */
export const DEFAULT_SIZES = [1e3, 1e4, 1e5, 1e6, 1e7];

/** Wall time one timed pass aims at when `steps` is not given (steps per pass = this / first step). */
const TARGET_PASS_MS = 25;
/** Most steps per timed pass when chosen automatically. */
const MAX_AUTO_STEPS = 64;

/** A neighbour stage recorded alone: what it encodes. */
interface StagePipeline {
  stage: 'grid' | 'search' | 'reverse';
  encode(pass: GPUComputePassEncoder): void;
}

/** The isolated neighbour kernels of a row, on the flow's position buffer. */
interface NeighbourStages {
  /** Records what the isolated stages read (a grid before its search, a search before its reverse lists). */
  prime(pass: GPUComputePassEncoder): void;
  pipelines: StagePipeline[];
  destroy(): void;
}

/** A workload: its energy, start, step and which neighbour kernels its step runs. */
export interface Workload {
  name: WorkloadName;
  /** One line for tables and the JSON. */
  title: string;
  dim: 1 | 2 | 3;
  methods: readonly Method[];
  /** The method of the workload's line in the chart and of the peers' ratios. */
  primary: Method;
  /** Largest N (all-pairs terms), with the reason. */
  maxN?: { n: number; reason: string };
  /** Cost ∝ N^costExponent, to estimate a size from the previous one. */
  costExponent: number;
  h: number;
  /** Extra flow options (damping, temperature). */
  options?: Partial<FlowOptions>;
  /** Positions, the energy and (KL) the samples at size n. Deterministic (seeded). */
  setup(n: number): { positions: Float32Array; energy: EnergyTerm[]; samples?: Float32Array };
  /** The neighbour kernels the step runs, built alone on `positions` (absent: no neighbour stage). */
  neighbours?(device: GPUDevice, positions: GPUBuffer, n: number, samples?: Float32Array): Promise<NeighbourStages>;
}

/** Runs `fn` inside validation and out-of-memory error scopes and throws what they caught. */
async function scoped<T>(device: GPUDevice, what: string, fn: () => Promise<T>): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let out: T | undefined;
  let thrown: unknown;
  try {
    out = await fn();
  } catch (e) {
    thrown = e;
  }
  const v = await device.popErrorScope();
  const m = await device.popErrorScope();
  if (thrown !== undefined) throw thrown;
  if (v) throw new Error(`wgflow: bench: WebGPU validation error in ${what}: ${v.message}`);
  if (m) throw new Error(`wgflow: bench: out of GPU memory in ${what}: ${m.message}`);
  return out as T;
}

/** Self k-NN (k = 1) and its reverse lists on `positions`, as the entropy and KL terms run them. */
async function selfNeighbours(device: GPUDevice, positions: GPUBuffer, n: number, dim: number, label: string) {
  const knn = await createKnn(device, { points: positions, count: n, dim, k: 1, label: `${label}.knn` });
  try {
    const rev = await createReverseNeighbors(device, { index: knn.index, count: n, k: 1, label: `${label}.reverse` });
    return { knn, rev };
  } catch (e) {
    knn.destroy();
    throw e;
  }
}

const entropyNeighbours = async (device: GPUDevice, positions: GPUBuffer, n: number): Promise<NeighbourStages> => {
  const { knn, rev } = await scoped(device, 'the neighbour stages', () => selfNeighbours(device, positions, n, 2, 'Bench.entropy'));
  return {
    prime(pass) {
      knn.encode(pass);
    },
    pipelines: [
      { stage: 'grid', encode: (p) => knn.grid.encode(p) },
      { stage: 'search', encode: (p) => knn.search.encode(p) },
      { stage: 'reverse', encode: (p) => rev.encode(p) },
    ],
    destroy() {
      rev.destroy();
      knn.destroy();
    },
  };
};

const klNeighbours = async (device: GPUDevice, positions: GPUBuffer, n: number, samples?: Float32Array): Promise<NeighbourStages> => {
  if (!samples) throw new Error('wgflow: bench: the KL workload needs its samples');
  const m = samples.length / 2;
  return scoped(device, 'the neighbour stages', async () => {
    const sampleBuf = device.createBuffer({ label: 'Bench.kl.samples', size: samples.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(sampleBuf, 0, samples.buffer as ArrayBuffer, samples.byteOffset, samples.byteLength);
    const owned: { destroy(): void }[] = [sampleBuf];
    try {
      const grid = await createGrid(device, { points: sampleBuf, count: m, dim: 2, k: 1, label: 'Bench.kl.sampleGrid' });
      owned.push(grid);
      const toSamples = await createNeighborSearch(device, { grid, k: 1, queries: positions, queryCount: n, label: 'Bench.kl.toSamples' });
      owned.push(toSamples);
      const { knn, rev } = await selfNeighbours(device, positions, n, 2, 'Bench.kl');
      owned.push(knn, rev);
      return {
        prime(pass) {
          grid.encode(pass); // static: built once, as the KL term does at create()
          knn.encode(pass);
        },
        pipelines: [
          { stage: 'grid', encode: (p) => knn.grid.encode(p) },
          // The two searches of a KL step: the particles in the samples' grid, and among themselves.
          { stage: 'search', encode: (p) => { toSamples.encode(p); knn.search.encode(p); } },
          { stage: 'reverse', encode: (p) => rev.encode(p) },
        ],
        destroy() {
          for (const o of owned.reverse()) o.destroy();
        },
      };
    } catch (e) {
      for (const o of owned.reverse()) o.destroy();
      throw e;
    }
  });
};

/** The workloads by name. */
export const WORKLOADS: Readonly<Record<WorkloadName, Workload>> = {
  quadratic: {
    name: 'quadratic',
    title: 'quadratic potential U = |x|² in R³, particles from N(0, I), h = 0.01, γ = 0.5',
    dim: 3,
    methods: ALL_METHODS,
    primary: 'steering',
    costExponent: 1,
    h: 0.01,
    options: { gamma: 0.5 },
    setup: (n) => ({ positions: gaussian(n, 3, { seed: 3 }), energy: [quadratic()] }),
  },
  'fokker-planck': {
    name: 'fokker-planck',
    title: 'Fokker–Planck quadratic() + entropy() (k = 1) in R², particles from N(0, ½ I), h = 1e-5, γ = 0.5',
    dim: 2,
    methods: ALL_METHODS,
    primary: 'steering',
    costExponent: 1,
    h: 1e-5,
    options: { gamma: 0.5 },
    setup: (n) => ({ positions: gaussian(n, 2, { std: Math.SQRT1_2, seed: 11 }), energy: [quadratic(), entropy()] }),
    neighbours: entropyNeighbours,
  },
  kl: {
    name: 'kl',
    title: 'KL to samples klToSamples (k = 1), M = N, particles and samples uniform in [-1, 1]², steering, h = 1e-7, γ = 0.5',
    dim: 2,
    methods: ['steering'],
    primary: 'steering',
    costExponent: 1,
    h: 1e-7,
    options: { gamma: 0.5 },
    setup: (n) => {
      const samples = uniformBox(n, 2, { low: -1, high: 1, seed: 4 });
      return { positions: uniformBox(n, 2, { low: -1, high: 1, seed: 3 }), energy: [klToSamples(samples, { label: 'kl' })], samples };
    },
    neighbours: klNeighbours,
  },
  langevin: {
    name: 'langevin',
    title: 'Langevin sampling of doubleWell() in R² at temperature 1, particles from N(0, I), h = 1e-3',
    dim: 2,
    methods: ['langevin'],
    primary: 'langevin',
    costExponent: 1,
    h: 1e-3,
    options: { temperature: 1, seed: 7 },
    setup: (n) => ({ positions: gaussian(n, 2, { seed: 5 }), energy: [doubleWell()] }),
  },
  interaction: {
    name: 'interaction',
    title: 'interaction, power kernel a = 2, b = 0 (|z|²/2 − log|z|, all pairs) in R², particles from N(0, I), gradient, h = 1e-3',
    dim: 2,
    methods: ['gradient'],
    primary: 'gradient',
    maxN: { n: INTERACTION_MAX_N, reason: `all pairs, O(N²) per step: capped at N = ${INTERACTION_MAX_N}` },
    costExponent: 2,
    h: 1e-3,
    setup: (n) => ({ positions: gaussian(n, 2, { seed: 6 }), energy: [interaction({ kernel: { type: 'power', a: 2, b: 0 } })] }),
  },
};

/** What the harness asks of one size. */
export interface SizeConfig {
  workloads: WorkloadName[];
  /** Restrict the methods of every workload (absent: each workload's own list). */
  methods?: Method[];
  /** Steps per timed pass (absent: chosen from the first step, about 25 ms per pass, at most 64). */
  steps?: number;
  /** Timed passes per pipeline (the median is reported). */
  runs: number;
  /** Seconds for this size (all its rows, stages included). */
  budgetS: number;
  /** Measure the stages (default true). */
  stages?: boolean;
}

/** Runtime and adapter of the figures (beside every one of them). */
export interface RunContext {
  runtime: 'node' | 'browser';
  /** Short adapter name (see {@link adapterName}). */
  adapter: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** One row of results: a workload, a method and a size, on one runtime and adapter. */
export interface RowResult {
  workload: WorkloadName;
  method: Method;
  n: number;
  dim: number;
  runtime: 'node' | 'browser';
  adapter: string;
  status: 'ok' | 'skipped' | 'error';
  /** Why the row was skipped or failed. */
  reason?: string;
  /** Median ms per step of the full step. */
  msPerStep?: number;
  /** msPerStep · 10^6 / N. */
  nsPerParticleStep?: number;
  /** Median wall-clock (queue drain) ms per step, whatever `timing` says. */
  wallMsPerStep?: number;
  timing?: 'timestamp-query' | 'queue-drain';
  stepsPerPass?: number;
  runs?: number;
  /** Wall ms of the warm-up pass (one step), which the budget estimates from. */
  firstStepMs?: number;
  /** Wall ms of createFlow. */
  createMs?: number;
  /** ms per step of each stage; null: a difference ≤ 0 (below the timing resolution); absent: no such stage. */
  stages?: Partial<Record<Stage, number | null>>;
  /** Total energy after the timed steps (flow.stats()). */
  energy?: number;
  notes: string[];
}

/** The result of {@link runSize}: its rows, and the first-step times the next size estimates from. */
export interface SizeResult {
  rows: RowResult[];
  firstStepMs: Record<string, { n: number; ms: number }>;
}

/**
 * A short file-name-safe adapter name: 'swiftshader', 'llvmpipe', or the adapter's
 * description/vendor/architecture in lower case with dashes (e.g. 'nvidia-h200').
 *
 * @example adapterName({ description: 'SwiftShader driver 5.0.0', vendor: 'google', architecture: 'swiftshader', device: '', runtime: 'dawn-node' }); // 'swiftshader'
 */
export function adapterName(info: Pick<AdapterInfo, 'vendor' | 'architecture' | 'device' | 'description'>): string {
  const text = `${info.description} ${info.vendor} ${info.architecture} ${info.device}`.toLowerCase();
  for (const known of ['swiftshader', 'llvmpipe', 'lavapipe', 'warp']) if (text.includes(known)) return known;
  const name = (info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ')).toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  return name || 'unknown-adapter';
}

/** The rows of a size, primary methods first (so that a budget keeps the lines of the chart). */
export function rowOrder(config: Pick<SizeConfig, 'workloads' | 'methods'>): { workload: WorkloadName; method: Method }[] {
  const all = config.workloads.flatMap((w) => WORKLOADS[w].methods.filter((m) => !config.methods || config.methods.includes(m)).map((method) => ({ workload: w, method })));
  const primary = all.filter((r) => WORKLOADS[r.workload].primary === r.method);
  return [...primary, ...all.filter((r) => !primary.includes(r))];
}

const rowKey = (w: string, m: string) => `${w}/${m}`;

/** ms as '12 ms' or '3.4 s'. */
const seconds = (ms: number) => (Math.abs(ms) < 1000 ? `${ms.toPrecision(3)} ms` : `${(ms / 1000).toFixed(1)} s`);

/** A limit or memory failure (the size does not fit this device) rather than a bug. */
function doesNotFit(message: string): boolean {
  return /limit|out of (gpu )?memory|allocation|too large|larger than the maximum|exceed|maxStorageBuffer|maxBufferSize|binding size|buffer size|allows \d+ bytes/i.test(message);
}

interface Sampled {
  samples: PassTime[];
  steps: number;
}

/** ms per step of a pipeline's passes, by timestamps (`gpu`) or wall clock. */
function perStep(s: Sampled, gpu: boolean): number {
  return median(s.samples.map((t) => (gpu ? t.gpuMs! : t.wallMs) / s.steps));
}

/**
 * A warm-up pass (its wall ms: `first`, which may include lazy shader compilation) and a probe
 * pass of one step (or one stage), from which the steps per timed pass and the budget's plan
 * are chosen; a probe of a one-step pipeline is its first timed pass.
 */
async function warmAndProbe(timer: PassTimer, encode: (pass: GPUComputePassEncoder) => void): Promise<{ first: number; probe: PassTime }> {
  const first = (await timer.time(encode)).wallMs;
  const probe = await timer.time(encode);
  return { first, probe };
}

/** The F = 0 flows of a size (per dim and method), each timed by the first row that needs it and shared by the rows of the same dim. */
class UpdateCache {
  private flows = new Map<string, { flow: Flow; probe: PassTime; sampled?: Sampled }>();
  constructor(private device: GPUDevice, private n: number) {}

  /** The F = 0 flow of (dim, method), created, warmed up and probed (one step each) on first use. */
  async get(timer: PassTimer, dim: number, method: Method): Promise<{ flow: Flow; probe: PassTime; sampled?: Sampled }> {
    const key = `${dim}/${method}`;
    let e = this.flows.get(key);
    if (!e) {
      const flow = await scoped(this.device, 'createFlow (F = 0)', () =>
        createFlow(this.device, { dim, positions: gaussian(this.n, dim, { seed: 9 }), energy: [], method, h: 1e-6, gamma: 0.5, label: 'Bench.update' }));
      const { probe } = await warmAndProbe(timer, (p) => flow.encodeSteps(p, 1));
      e = { flow, probe };
      this.flows.set(key, e);
    }
    return e;
  }

  destroy(): void {
    for (const e of this.flows.values()) e.flow.destroy();
    this.flows.clear();
  }
}

/** The F = 0 updates a method's stages need: its own, and the accelerated one for steering and FIRE. */
function updateMethods(method: Method): Method[] {
  return method === 'steering' || method === 'fire' ? [method, 'accelerated'] : [method];
}

/**
 * Times every row of one size on `device` (see the module header) within `config.budgetS`
 * seconds. `previous` holds the first-step times of the previous size, from which a row that
 * cannot fit the budget is skipped before it is created.
 */
export async function runSize(device: GPUDevice, n: number, config: SizeConfig, ctx: RunContext, previous: SizeResult['firstStepMs'] = {}): Promise<SizeResult> {
  const log = ctx.log ?? (() => undefined);
  const t0 = performance.now();
  const budgetMs = config.budgetS * 1000;
  const left = () => budgetMs - (performance.now() - t0);
  const order = rowOrder(config);
  const rows: RowResult[] = [];
  const firstStepMs: SizeResult['firstStepMs'] = {};
  const timer = createPassTimer(device);
  const updates = new UpdateCache(device, n);
  try {
    for (const [i, { workload, method }] of order.entries()) {
      const w = WORKLOADS[workload];
      const base: RowResult = { workload, method, n, dim: w.dim, runtime: ctx.runtime, adapter: ctx.adapter, status: 'skipped', notes: [] };
      const skip = (reason: string) => {
        rows.push({ ...base, reason });
        log(`${ctx.runtime} ${workload}/${method} N=${n}: skipped: ${reason}`);
      };
      if (w.maxN && n > w.maxN.n) {
        skip(w.maxN.reason);
        continue;
      }
      if (left() <= 0) {
        skip(`the ${config.budgetS} s budget of this size is spent`);
        continue;
      }
      // The share of what is left that this row may plan for: the rows to come weigh 1 if primary
      // (they come first), ½ otherwise, and a row may plan for the part of weight 1 (cheap rows
      // leave more to later ones; a slow last primary row cannot starve the other methods).
      const rest = order.slice(i).filter((r) => !(WORKLOADS[r.workload].maxN && n > WORKLOADS[r.workload].maxN!.n));
      const primariesLeft = rest.filter((r) => WORKLOADS[r.workload].primary === r.method).length;
      const weight = primariesLeft + 0.5 * (rest.length - primariesLeft);
      const share = Math.min(left(), left() / weight);
      const prev = previous[rowKey(workload, method)];
      if (prev) {
        const est = prev.ms * Math.pow(n / prev.n, w.costExponent);
        // The least a row costs: its warm-up step and one timed step.
        if (2 * est > left()) {
          skip(`too slow for the budget: a step is estimated at ${seconds(est)} from a step at N = ${prev.n} (${seconds(prev.ms)} × (N/${prev.n})^${w.costExponent}); ${seconds(left())} of the ${config.budgetS} s budget of this size are left`);
          continue;
        }
      }
      try {
        const row = await runRow(device, timer, updates, w, method, n, config, share, left, base, firstStepMs);
        rows.push(row);
        log(`${ctx.runtime} ${workload}/${method} N=${n}: ${row.status === 'ok' ? `${row.msPerStep!.toPrecision(4)} ms/step, ${row.nsPerParticleStep!.toPrecision(4)} ns/particle-step (${row.timing})` : `${row.status}: ${row.reason}`}`);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        const fit = doesNotFit(message);
        rows.push({ ...base, status: fit ? 'skipped' : 'error', reason: fit ? `does not fit this device: ${message}` : message });
        log(`${ctx.runtime} ${workload}/${method} N=${n}: ${fit ? 'skipped (does not fit)' : 'ERROR'}: ${message}`);
      }
    }
  } finally {
    updates.destroy();
    timer.destroy();
  }
  return { rows, firstStepMs };
}

interface Pipe {
  name: string;
  stage?: StagePipeline['stage'];
  encode: (pass: GPUComputePassEncoder, steps: number) => void;
  /** Wall ms of its probe pass (one step or one stage), which plans the timed passes. */
  first: number;
  sampled: Sampled;
}

async function runRow(
  device: GPUDevice, timer: PassTimer, updates: UpdateCache, w: Workload, method: Method, n: number, config: SizeConfig,
  share: number, left: () => number, base: RowResult, firstStepMs: SizeResult['firstStepMs'],
): Promise<RowResult> {
  const notes: string[] = [];
  const rowStart = performance.now();
  const { positions, energy, samples } = w.setup(n);
  const tc = performance.now();
  const flow = await scoped(device, 'createFlow', () => createFlow(device, { dim: w.dim, positions, energy, method, h: w.h, ...w.options, label: `Bench.${w.name}` }));
  const createMs = performance.now() - tc;
  let neighbours: NeighbourStages | undefined;
  try {
    // Warm-up and probe: one step each; the budget plans from the probe (the next size from the median).
    const { first, probe } = await warmAndProbe(timer, (p) => flow.encodeSteps(p, 1));
    firstStepMs[rowKey(w.name, method)] = { n, ms: probe.wallMs };
    const stepsFor = (ms: number) => config.steps ?? Math.max(1, Math.min(MAX_AUTO_STEPS, Math.round(TARGET_PASS_MS / Math.max(ms, 1e-3))));
    /** A pipeline whose probe pass counts as its first timed pass when it takes one step per pass. */
    const pipe = (name: string, encode: Pipe['encode'], pr: PassTime, stage?: Pipe['stage']): Pipe => {
      const steps = stepsFor(pr.wallMs);
      return { name, stage, encode, first: pr.wallMs, sampled: { samples: steps === 1 ? [pr] : [], steps } };
    };
    const full = pipe('full', (p, k) => flow.encodeSteps(p, k), probe);
    // The stage pipelines: the neighbour kernels alone, and the F = 0 updates not timed yet at this size.
    const stagePipes: Pipe[] = [];
    const updatePipes: Pipe[] = [];
    const wantStages = config.stages ?? true;
    const own = updateMethods(method);
    const updateEntries: { sampled?: Sampled }[] = [];
    // Fit the plan into this row's share of the budget: fewer runs, then no stages, then fewer
    // steps per pass. Before the stage pipelines exist, their cost is estimated from the probe:
    // a warm-up and a probe of each (the neighbour stages add up to at most a step, and so does
    // an F = 0 update), then per run about two steps.
    const plan = (list: Pipe[], r: number) => list.reduce((t, p) => t + Math.max(0, r - p.sampled.samples.length) * p.sampled.steps * p.first, 0);
    const stagesEstimate = (r: number) => (4 + 2 * r) * probe.wallMs;
    const room = () => Math.min(share - (performance.now() - rowStart), left());
    const fitRuns = (cost: (r: number) => number) => {
      let r = config.runs;
      while (r > 1 && cost(r) > room()) r--;
      return r;
    };
    let stagesTimed = wantStages;
    let runs = fitRuns((r) => plan([full], r) + (wantStages ? stagesEstimate(r) : 0));
    if (wantStages && plan([full], runs) + stagesEstimate(runs) > room()) {
      notes.push(`stages not measured: the ${config.budgetS} s budget of this size leaves no room for them`);
      stagesTimed = false;
      runs = fitRuns((r) => plan([full], r));
    }
    if (stagesTimed) {
      if (w.neighbours) {
        const nb = (neighbours = await w.neighbours(device, flow.buffers.positions, n, samples));
        await timer.time((p) => nb.prime(p));
        for (const sp of nb.pipelines) {
          const { probe: pr } = await warmAndProbe(timer, (p) => sp.encode(p));
          stagePipes.push(pipe(sp.stage, (p, k) => { for (let j = 0; j < k; j++) sp.encode(p); }, pr, sp.stage));
        }
      }
      for (const m of own) {
        const e = await updates.get(timer, w.dim, m);
        updateEntries.push(e);
        if (e.sampled) continue;
        updatePipes.push(pipe(`update:${m}`, (p, k) => e.flow.encodeSteps(p, k), e.probe));
      }
      // Now with the stages' own probes.
      if (plan([full, ...stagePipes, ...updatePipes], runs) > room()) {
        runs = fitRuns((r) => plan([full, ...stagePipes, ...updatePipes], r));
        if (plan([full, ...stagePipes, ...updatePipes], runs) > room()) {
          notes.push(`stages not measured: the ${config.budgetS} s budget of this size leaves no room for them`);
          stagesTimed = false;
          stagePipes.length = 0;
          updatePipes.length = 0;
          runs = fitRuns((r) => plan([full], r));
        }
      }
    }
    const pipes = [full, ...stagePipes, ...updatePipes];
    while (full.sampled.steps > 1 && plan([full], runs) > left()) full.sampled.steps = Math.max(1, Math.floor(full.sampled.steps / 2));
    if (full.sampled.steps === 1 && !full.sampled.samples.length) full.sampled.samples.push(probe);
    if (runs < config.runs) notes.push(`${runs} timed pass${runs > 1 ? 'es' : ''} instead of ${config.runs} (budget)`);
    for (let r = 0; r < runs; r++) {
      for (const p of pipes) if (p.sampled.samples.length <= r) p.sampled.samples.push(await timer.time((pass) => p.encode(pass, p.sampled.steps)));
    }
    // The updates timed here are shared with the later rows of this size and dim.
    for (const p of updatePipes) updateEntries[own.indexOf(p.name.slice('update:'.length) as Method)]!.sampled = p.sampled;
    const st = await flow.stats();

    const updatesTimed = stagesTimed && updateEntries.length === own.length && updateEntries.every((e) => e.sampled && e.sampled.samples.length > 0);
    const neighboursTimed = stagesTimed && (!w.neighbours || stagePipes.length > 0);
    const used = [full, ...stagePipes].map((p) => p.sampled).concat(updatesTimed ? updateEntries.map((e) => e.sampled!) : []);
    // One kind of time for the whole row: timestamps only if every pass it uses has one.
    const gpu = timer.timestamps && used.every((s) => s.samples.every((t) => t.gpuMs !== undefined));
    if (timer.timestamps && !gpu) notes.push('timestamp queries gave no positive span: wall-clock times (queue drain)');
    const msFull = perStep(full.sampled, gpu);
    firstStepMs[rowKey(w.name, method)] = { n, ms: perStep(full.sampled, false) };
    const row: RowResult = {
      ...base, status: 'ok', msPerStep: msFull, nsPerParticleStep: (msFull * 1e6) / n, wallMsPerStep: perStep(full.sampled, false),
      timing: gpu ? 'timestamp-query' : 'queue-drain', stepsPerPass: full.sampled.steps, runs, firstStepMs: first, createMs, energy: st.energy, notes,
    };
    if (updatesTimed || (neighboursTimed && stagePipes.length)) {
      const out: Partial<Record<Stage, number | null>> = {};
      const positive = (stage: Stage, v: number, what: string) => {
        out[stage] = v > 0 ? v : null;
        if (!(v > 0)) notes.push(`${stage}: ${what} = ${v.toPrecision(3)} ms ≤ 0, below the timing resolution`);
      };
      let neighbourMs = 0;
      for (const p of stagePipes) {
        const v = perStep(p.sampled, gpu);
        out[p.stage!] = v;
        neighbourMs += v;
      }
      if (updatesTimed) {
        const upd = (k: number) => perStep(updateEntries[k]!.sampled!, gpu);
        if (neighboursTimed) positive('forces', msFull - upd(0) - neighbourMs, `full step − F = 0 step${w.neighbours ? ' − grid − search − reverse' : ''}`);
        if (own.length === 2) {
          positive('reductions', upd(0) - upd(1), `F = 0 ${method} step − F = 0 accelerated step`);
          out.integration = upd(1);
        } else {
          out.integration = upd(0);
        }
      }
      row.stages = out;
    }
    return row;
  } finally {
    neighbours?.destroy();
    flow.destroy();
  }
}
