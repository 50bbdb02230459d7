/**
 * createFlow(): owns the particle buffers, wires the kernels (potential, kernel terms,
 * reductions, integrator), encodes many steps per submission and reads diagnostics back on
 * demand. Data flows one way: spec → device resources → step loop on the GPU → on-demand
 * readback. Options and their defaults: ./flow/options.ts; stats decoding: ./flow/stats.ts.
 */
import { createBuffer, readBuffer, withErrorScopes, writeView } from './gpu/resources.js';
import { fieldOffset, PARAMS_FIELDS, STATE_FIELDS, STATE_SIZE, unpackStruct } from './gpu/layout.js';
import type { EnergyTerm, TermKernel } from './energies/types.js';
import { createPotentialKernel, type PlacedPotential, type PotentialKernel } from './kernels/potential.js';
import { createFlowReduce, type FlowReduce } from './kernels/reduce.js';
import { ALL_FINITE, createIntegrator, stepColumnsFor, type Integrator } from './kernels/integrate.js';
import { resolveFlowOptions, type FlowOptions, type Method, type ResolvedFlowOptions } from './flow/options.js';
import { initialState, packParams } from './flow/params.js';
import { decodeStats, type FlowDiagnostics, type FlowStats } from './flow/stats.js';

export type { Method, FireOptions, InverseDamping, Damping, FlowOptions } from './flow/options.js';
export type { FlowStats, FlowDiagnostics } from './flow/stats.js';

/** Options of {@link Flow.step}. */
export interface StepOptions {
  /** Called after each submission completes with the number of steps done in this call. */
  onProgress?: (done: number, total: number) => void;
}

/** A bit-exact snapshot of the whole flow state (positions, velocities, integrator state). */
export interface FlowCheckpoint {
  dim: number;
  n: number;
  method: Method;
  positions: Float32Array;
  velocities: Float32Array;
  /** Raw bytes of the GPU State struct (step, h, α, RNG counter, ...). */
  state: Uint8Array;
  /**
   * Contents of the kernel terms' persistent buffers (TermKernel.stateBuffers: the lazy
   * neighbour grids of entropy and KL terms), energy terms then monitors, in order. restore()
   * writes them back when present (absent: the kernels keep their state, and later diagnostics
   * such as the grid's cell size may differ from the uninterrupted flow's; positions do not).
   */
  kernels?: Uint8Array[];
}

/** A particle flow on the GPU. */
export interface Flow {
  readonly device: GPUDevice;
  readonly n: number;
  readonly dim: number;
  readonly method: Method;
  /** GPU buffers, for rendering (positions can be bound as a vertex buffer: float32x{dim}). */
  readonly buffers: { positions: GPUBuffer; velocities: GPUBuffer; gradient: GPUBuffer; state: GPUBuffer };
  /** Labels of the energy terms, in order. */
  readonly termLabels: string[];
  /** Advances n steps (all on the GPU, no readback inside); resolves when they are done. Throws if a position became non-finite. */
  step(n?: number, options?: StepOptions): Promise<void>;
  /** Records `count` steps into a caller's compute pass (for render loops); the caller submits. Damping functions are not supported here. A divergence in these steps is reported by the next stats() or step(). */
  encodeSteps(pass: GPUComputePassEncoder, count?: number): void;
  /** Diagnostics at the current positions (one small readback). Throws if the positions became non-finite (also under encodeSteps) or a term evaluates to NaN, naming it. */
  stats(): Promise<FlowStats>;
  /**
   * What the kernels report at the current positions: evaluates the energy and monitor terms
   * once (like stats()), then returns, per kernel term and per monitor (by label), that
   * kernel's `diagnostics()` (e.g. entropy: grid cell size, occupied buckets, largest bucket,
   * brute-force fallback and escalated queries; {} for a term that reports none), with the
   * flow's own step and first non-finite step (null if none). Never throws on a divergence:
   * it reports it. Not for the hot loop.
   */
  diagnostics(): Promise<FlowDiagnostics>;
  /** Current positions, N·dim float32. */
  positions(): Promise<Float32Array>;
  /** Current velocities, N·dim float32. */
  velocities(): Promise<Float32Array>;
  /** The current gradient g at the current positions, N·dim float32. */
  gradient(): Promise<Float32Array>;
  /** Snapshot for exact resume: positions, velocities, the State struct and the kernels' persistent buffers (the lazy neighbour grids). */
  checkpoint(): Promise<FlowCheckpoint>;
  /** Restores a snapshot of a flow with the same n, dim, method and energy; later steps (and diagnostics) repeat bit for bit. */
  restore(cp: FlowCheckpoint): void;
  /** Changes the weight of a term (by label or index) for later steps, e.g. a temperature. */
  setWeight(term: string | number, weight: number): void;
  /** Frees every GPU resource the flow created (never the device). Idempotent. */
  destroy(): void;
}

function fail(msg: string): never {
  throw new Error(`wgflow: ${msg}`);
}

function uniqueLabels(terms: EnergyTerm[]): string[] {
  const seen = new Map<string, number>();
  return terms.map((t) => {
    const c = (seen.get(t.label) ?? 0) + 1;
    seen.set(t.label, c);
    return c === 1 ? t.label : `${t.label}#${c}`;
  });
}

/** The flow's own buffers (the kernels allocate and free theirs). */
interface FlowBuffers {
  positions: GPUBuffer;
  velocities: GPUBuffer;
  gradient: GPUBuffer;
  /** Energy densities, slot-major: energy terms, then monitors. */
  energy: GPUBuffer;
  /** The Params uniform. */
  params: GPUBuffer;
  state: GPUBuffer;
  /** [0]: first non-finite step (ALL_FINITE: none). */
  flags: GPUBuffer;
  /** Damping values of one submission (damping functions). */
  gammaTable: GPUBuffer;
  /** Term weights of the step sums. */
  weights: GPUBuffer;
  /** Where monitors add their (unused) gradients. */
  monitorGradient?: GPUBuffer;
}

/** Everything a flow's methods use, created once. */
interface FlowParts {
  device: GPUDevice;
  o: ResolvedFlowOptions;
  buffers: FlowBuffers;
  /** Unique labels of the energy terms, then the monitors. */
  labels: string[];
  potential: PotentialKernel;
  /** Energy slot → GPU side of a kernel term. */
  termKernels: Map<number, TermKernel>;
  monitorKernels: TermKernel[];
  reduce: FlowReduce;
  integrator: Integrator;
  /** Current term weights (host mirror). */
  weights: number[];
  /** Host mirror of State.step. */
  stepCount: number;
  /** Set by destroy() and by a device loss (the reason). */
  status: { destroyed: boolean; lost?: string };
}

const FLAGS_INIT = new Uint32Array([ALL_FINITE, 0, 0, 0]);

/** What a flow creates, destroyed together (kernels first, then buffers). */
function createOwner(device: GPUDevice, label: string) {
  const buffers: GPUBuffer[] = [];
  const kernels: { destroy(): void }[] = [];
  return {
    buffer(purpose: string, size: number, usage: GPUBufferUsageFlags, data?: ArrayBufferView) {
      const b = createBuffer(device, `${label}.${purpose}`, size, usage, data);
      buffers.push(b);
      return b;
    },
    adopt<K extends { destroy(): void }>(k: K): K {
      kernels.push(k);
      return k;
    },
    destroy() {
      for (const k of kernels) k.destroy();
      for (const b of buffers) b.destroy();
    },
  };
}
type Owner = ReturnType<typeof createOwner>;

function allocateBuffers(o: ResolvedFlowOptions, own: Owner): FlowBuffers {
  const S = GPUBufferUsage.STORAGE, CS = GPUBufferUsage.COPY_SRC, CD = GPUBufferUsage.COPY_DST;
  const { n, dim, terms } = o;
  const slots = terms.length + o.monitors.length;
  return {
    positions: own.buffer('positions', n * dim * 4, S | CS | CD | GPUBufferUsage.VERTEX, o.positions),
    velocities: own.buffer('velocities', n * dim * 4, S | CS | CD | GPUBufferUsage.VERTEX, o.velocities),
    gradient: own.buffer('gradient', n * dim * 4, S | CS),
    energy: own.buffer('energy', Math.max(1, slots) * n * 4, S | CS),
    params: own.buffer('params', 4 * PARAMS_FIELDS.length, GPUBufferUsage.UNIFORM | CD),
    state: own.buffer('state', STATE_SIZE, S | CS | CD, new Uint8Array(initialState(o))),
    flags: own.buffer('flags', 16, S | CS | CD, FLAGS_INIT),
    gammaTable: own.buffer('gammaTable', o.stepsPerSubmit * 4, S | CD),
    weights: own.buffer('weights', Math.max(1, terms.length) * 4, S | CD, new Float32Array(terms.length ? terms.map((t) => t.weight) : [0])),
    monitorGradient: o.monitors.length ? own.buffer('monitorGradient', n * dim * 4, S | CD) : undefined,
  };
}

/** The GPU sides of the kernel terms (adding to G) and of the monitors (adding to a scratch gradient). */
async function createTermKernels(device: GPUDevice, o: ResolvedFlowOptions, b: FlowBuffers, own: Owner) {
  const { n, dim, label } = o;
  const termKernels = new Map<number, TermKernel>();
  for (const [slot, t] of o.terms.entries()) {
    if (t.kind !== 'kernel') continue;
    const k = own.adopt(await t.create({ device, n, dim, positions: b.positions, grad: b.gradient, energy: b.energy, slot, label: `${label}.term${slot}` }));
    termKernels.set(slot, k);
  }
  const monitorKernels: TermKernel[] = [];
  for (const [j, t] of o.monitors.entries()) {
    const slot = o.terms.length + j;
    monitorKernels.push(own.adopt(await t.create({ device, n, dim, positions: b.positions, grad: b.monitorGradient!, energy: b.energy, slot, label: `${label}.monitor${j}` })));
  }
  return { termKernels, monitorKernels };
}

/** Builds every kernel of a flow over its buffers, in dependency order. */
async function buildParts(device: GPUDevice, o: ResolvedFlowOptions, own: Owner, status: FlowParts['status']): Promise<FlowParts> {
  const { n, dim, label } = o;
  const b = allocateBuffers(o, own);
  const pots: PlacedPotential[] = [];
  o.terms.forEach((term, slot) => { if (term.kind === 'potential') pots.push({ term, slot }); });
  const potential = own.adopt(await createPotentialKernel(device, { n, dim, terms: pots, buffers: b, label }));
  const { termKernels, monitorKernels } = await createTermKernels(device, o, b, own);
  const lengthSlot = [...termKernels.entries()].find(([, k]) => k.lengthScale)?.[0];
  const lengthScale = lengthSlot === undefined ? undefined : termKernels.get(lengthSlot)!.lengthScale;
  if (o.autoStep && !lengthScale) fail(`h: 'auto' needs a term with a length scale (entropy() or klToSamples()); give a fixed h for this energy`);
  device.queue.writeBuffer(b.params, 0, packParams(o, lengthScale?.stride, lengthScale?.offset ?? 0));
  const reduce = own.adopt(await createFlowReduce(device, {
    n, dim, stepSlots: o.terms.length, statsSlots: o.terms.length + o.monitors.length, lengthSlot,
    serial: o.reduction === 'serial', stepColumns: stepColumnsFor(o), buffers: { ...b, lengthScale: lengthScale?.buffer }, label,
  }));
  const integrator = own.adopt(await createIntegrator(device, { method: o.method, n, dim, autoStep: o.autoStep, restart: o.restart, reduce, buffers: b, label }));
  return {
    device, o, buffers: b, labels: uniqueLabels([...o.terms, ...o.monitors]),
    potential, termKernels, monitorKernels, reduce, integrator,
    weights: o.terms.map((t) => t.weight), stepCount: 0, status,
  };
}

/** The force: the potential kernel writes G, then each kernel term adds to it. */
function encodeForce(c: FlowParts, pass: GPUComputePassEncoder): void {
  c.potential.encode(pass);
  for (const k of c.termKernels.values()) k.encode(pass);
}

/** Submits one evaluation of the energy and the monitors at the current positions (and the stats sums). */
function submitEvaluation(c: FlowParts, what: string, withSums: boolean): void {
  const enc = c.device.createCommandEncoder({ label: `${c.o.label}.${what}` });
  if (c.buffers.monitorGradient) enc.clearBuffer(c.buffers.monitorGradient);
  const pass = enc.beginComputePass({ label: `${c.o.label}.${what}` });
  encodeForce(c, pass);
  for (const k of c.monitorKernels) k.encode(pass);
  if (withSums) c.reduce.encode(pass, 'stats');
  pass.end();
  c.device.queue.submit([enc.finish()]);
}

function alive(c: FlowParts): void {
  if (c.status.lost) fail(c.status.lost);
  if (c.status.destroyed) fail('this flow has been destroyed');
}

async function readState(c: FlowParts) {
  return unpackStruct(STATE_FIELDS, await readBuffer(c.device, c.buffers.state, STATE_SIZE));
}

/** The first non-finite step, or null. */
async function nonFiniteStep(c: FlowParts): Promise<number | null> {
  const f = new Uint32Array(await readBuffer(c.device, c.buffers.flags, 16));
  return f[0] === ALL_FINITE ? null : f[0]!;
}

async function checkFinite(c: FlowParts): Promise<void> {
  const step = await nonFiniteStep(c);
  if (step !== null) {
    fail(`the flow produced a non-finite position or velocity at step ${step} (method ${c.o.method}, h = ${c.o.hOption}); ` +
      'the step is probably too large for this energy. The state is kept for inspection; restore a checkpoint to continue.');
  }
}

/** Writes the damping function's values for the next `m` steps. */
function tabulateDamping(c: FlowParts, gamma: (step: number) => number, m: number): void {
  const table = new Float32Array(m);
  for (let k = 0; k < m; k++) {
    const gv = gamma(c.stepCount + k);
    if (!Number.isFinite(gv) || gv < 0) fail(`gamma(${c.stepCount + k}) = ${gv}: damping must be finite and ≥ 0`);
    table[k] = gv;
  }
  c.device.queue.writeBuffer(c.buffers.gammaTable, 0, table);
  c.device.queue.writeBuffer(c.buffers.params, fieldOffset(PARAMS_FIELDS, 'table_base'), new Uint32Array([c.stepCount]));
}

/** flow.step: submissions of stepsPerSubmit steps, each waited for while the next one runs. */
async function runSteps(c: FlowParts, count: number, opts: StepOptions): Promise<void> {
  alive(c);
  if (!Number.isInteger(count) || count < 0) fail(`step count must be a non-negative integer (got ${count})`);
  const { device, o } = c;
  await withErrorScopes(device, 'flow.step', async () => {
    let done = 0;
    let pending: Promise<void> | undefined;
    let pendingDone = 0;
    while (done < count) {
      const m = Math.min(o.stepsPerSubmit, count - done);
      if (typeof o.gamma === 'function') tabulateDamping(c, o.gamma, m);
      const enc = device.createCommandEncoder({ label: `${o.label}.steps` });
      const pass = enc.beginComputePass({ label: `${o.label}.steps` });
      for (let k = 0; k < m; k++) encodeStep(c, pass);
      pass.end();
      device.queue.submit([enc.finish()]);
      done += m;
      c.stepCount += m;
      if (pending) {
        await pending;
        opts.onProgress?.(pendingDone, count);
      }
      pending = device.queue.onSubmittedWorkDone();
      pendingDone = done;
    }
    if (pending) {
      await pending;
      opts.onProgress?.(pendingDone, count);
    }
  });
  alive(c);
  await checkFinite(c);
}

function encodeStep(c: FlowParts, pass: GPUComputePassEncoder): void {
  encodeForce(c, pass);
  c.integrator.encode(pass);
}

async function readStats(c: FlowParts): Promise<FlowStats> {
  alive(c);
  const { device, o } = c;
  return withErrorScopes(device, 'flow.stats', async () => {
    submitEvaluation(c, 'stats', true);
    // Steps recorded with encodeSteps() are never checked by step(): a divergence they caused
    // is reported here too (the flag is cleared by restore()).
    const [sums, state, shift] = await Promise.all([
      readBuffer(device, c.reduce.stats, c.reduce.statsBytes),
      readState(c),
      readBuffer(device, c.buffers.positions, o.dim * 4),
      checkFinite(c),
    ]);
    const T = o.terms.length;
    return decodeStats({
      n: o.n, dim: o.dim, sums: new Float32Array(sums), state, shift: new Float32Array(shift),
      terms: o.terms.map((_, slot) => ({ label: c.labels[slot]!, weight: c.weights[slot]!, constant: c.termKernels.get(slot)?.constant() ?? 0 })),
      monitors: o.monitors.map((t, j) => ({ label: c.labels[T + j]!, weight: t.weight, constant: c.monitorKernels[j]!.constant() })),
    });
  });
}

async function readDiagnostics(c: FlowParts): Promise<FlowDiagnostics> {
  alive(c);
  const { device, o } = c;
  return withErrorScopes(device, 'flow.diagnostics', async () => {
    submitEvaluation(c, 'diagnostics', false);
    const of = async (k: TermKernel) => (k.diagnostics ? k.diagnostics() : {});
    const slots = [...c.termKernels.keys()];
    const [state, nonFinite, termDiags, monitorDiags] = await Promise.all([
      readState(c),
      nonFiniteStep(c),
      Promise.all(slots.map((slot) => of(c.termKernels.get(slot)!))),
      Promise.all(c.monitorKernels.map(of)),
    ]);
    const T = o.terms.length;
    return {
      step: state.step,
      nonFiniteStep: nonFinite,
      terms: Object.fromEntries(slots.map((slot, j) => [c.labels[slot]!, termDiags[j]!])),
      monitors: Object.fromEntries(monitorDiags.map((d, j) => [c.labels[T + j]!, d])),
    };
  });
}

/** The kernel terms' persistent buffers (TermKernel.stateBuffers), energy terms then monitors. */
function kernelStateBuffers(c: FlowParts): GPUBuffer[] {
  return [...c.termKernels.values(), ...c.monitorKernels].flatMap((k) => [...(k.stateBuffers ?? [])]);
}

function restoreCheckpoint(c: FlowParts, cp: FlowCheckpoint): void {
  alive(c);
  const { device, o: { n, dim, method }, buffers: b } = c;
  if (cp.n !== n || cp.dim !== dim || cp.method !== method) fail(`checkpoint is for n=${cp.n}, dim=${cp.dim}, ${cp.method}; this flow is n=${n}, dim=${dim}, ${method}`);
  if (cp.positions.length !== n * dim || cp.velocities.length !== n * dim || cp.state.byteLength !== STATE_SIZE) fail('checkpoint arrays have the wrong sizes');
  const kb = kernelStateBuffers(c);
  if (cp.kernels && (cp.kernels.length !== kb.length || cp.kernels.some((k, j) => k.byteLength !== kb[j]!.size))) {
    fail(`checkpoint kernel state has ${cp.kernels.length} buffers (${cp.kernels.map((k) => k.byteLength).join(', ')} bytes); this flow's kernels have ${kb.length} (${kb.map((x) => x.size).join(', ')} bytes): a checkpoint of another energy or wgflow version`);
  }
  writeView(device, b.positions, 0, cp.positions);
  writeView(device, b.velocities, 0, cp.velocities);
  writeView(device, b.state, 0, cp.state);
  cp.kernels?.forEach((k, j) => writeView(device, kb[j]!, 0, k));
  device.queue.writeBuffer(b.flags, 0, FLAGS_INIT);
  c.stepCount = new DataView(cp.state.buffer, cp.state.byteOffset).getUint32(0, true);
}

function setTermWeight(c: FlowParts, which: string | number, w: number): void {
  alive(c);
  const labels = c.labels.slice(0, c.o.terms.length);
  const slot = typeof which === 'number' ? which : labels.indexOf(which);
  if (slot < 0 || slot >= labels.length) fail(`no energy term '${which}' (terms: ${labels.join(', ')})`);
  if (!Number.isFinite(w)) fail(`weight must be finite (got ${w})`);
  const kernel = c.termKernels.get(slot);
  if (kernel) {
    if (!kernel.setWeight) fail(`term '${labels[slot]}' does not support changing its weight`);
    kernel.setWeight(w);
  } else {
    c.potential.setWeight(slot, w);
  }
  c.device.queue.writeBuffer(c.buffers.weights, slot * 4, new Float32Array([w]));
  c.weights[slot] = w;
}

/** The Flow object over its parts; `destroy` frees what `own` holds. */
function flowObject(c: FlowParts, destroy: () => void): Flow {
  const { device, o: { n, dim, method }, buffers: b } = c;
  const read = async (buffer: GPUBuffer) => {
    alive(c);
    return new Float32Array(await readBuffer(device, buffer, n * dim * 4));
  };
  return {
    device, n, dim, method,
    buffers: { positions: b.positions, velocities: b.velocities, gradient: b.gradient, state: b.state },
    termLabels: c.labels.slice(0, c.o.terms.length),
    step: (count = 1, opts = {}) => runSteps(c, count, opts),
    encodeSteps(pass, count = 1) {
      alive(c);
      if (typeof c.o.gamma === 'function') fail('encodeSteps does not support a damping function; use a number or a schedule object');
      for (let k = 0; k < count; k++) encodeStep(c, pass);
      c.stepCount += count;
    },
    stats: () => readStats(c),
    diagnostics: () => readDiagnostics(c),
    positions: () => read(b.positions),
    velocities: () => read(b.velocities),
    async gradient() {
      alive(c);
      const enc = device.createCommandEncoder({ label: `${c.o.label}.gradient` });
      const pass = enc.beginComputePass();
      encodeForce(c, pass);
      pass.end();
      device.queue.submit([enc.finish()]);
      return new Float32Array(await readBuffer(device, b.gradient, n * dim * 4));
    },
    async checkpoint() {
      alive(c);
      const kb = kernelStateBuffers(c);
      const [p, v, s, ...k] = await Promise.all([
        readBuffer(device, b.positions, n * dim * 4),
        readBuffer(device, b.velocities, n * dim * 4),
        readBuffer(device, b.state, STATE_SIZE),
        ...kb.map((x) => readBuffer(device, x, x.size)),
      ]);
      return { dim, n, method, positions: new Float32Array(p), velocities: new Float32Array(v), state: new Uint8Array(s), kernels: k.map((x) => new Uint8Array(x)) };
    },
    restore: (cp) => restoreCheckpoint(c, cp),
    setWeight: (which, w) => setTermWeight(c, which, w),
    destroy,
  };
}

/**
 * Creates a particle flow on `device`: the Wasserstein-2 gradient flow of the energy
 * F = Σ_t w_t F_t (the `energy` terms), or one of its accelerated or stochastic variants
 * (docs/math.md gives the equations, their discretisation and the references).
 *
 * Every step runs the potential kernel (which writes the gradient G), then each kernel term
 * (which adds to G), then, where the method needs them, a two-stage reduction of the step
 * sums (Σ|v|², Σ|g|², Σ g·v, the energy), then the integrator of `method`:
 *
 * - gradient:    `x ← x − h g`
 * - accelerated: `v ← v − h (γ v + g)`, `x ← x + h v`
 * - steering:    `s = sqrt(mean|v|² / mean|g|²)` (0 if the denominator is 0),
 *                `v ← v − h (γ v + (1 + γ s) g)`, `x ← x + h v`  (the seed paper's eq. 12)
 * - langevin:    `x ← x − h g + sqrt(2 h T) ξ`, ξ ~ N(0, I) from Philox 4x32-10 keyed by `seed`
 * - fire:        FIRE 2.0 with global norms: power P = Σ f·v decides growth or a reset, then
 *                kick, mixing `v ← (1 − α) v + α |v| f/|f|` and move (optional displacement cap)
 *
 * Many steps are encoded into one command buffer and the loop never reads back; adaptive
 * decisions (steering ratio, FIRE, the automatic step, adaptive restart) happen on the GPU.
 * Bad input throws before any GPU object is created. Defaults: FLOW_DEFAULTS of
 * ./flow/options.ts (listed in README.md).
 *
 * @example
 * import { getDevice, createFlow, quadratic } from 'wgflow';
 * const { device } = await getDevice();
 * const flow = await createFlow(device, { dim: 3, positions, energy: [quadratic()], method: 'steering', h: 0.05, gamma: 0.5 });
 * await flow.step(500);
 * const s = await flow.stats();
 * flow.destroy();
 */
export async function createFlow(device: GPUDevice, options: FlowOptions): Promise<Flow> {
  const o = resolveFlowOptions(device, options);
  const own = createOwner(device, o.label);
  const status: FlowParts['status'] = { destroyed: false };
  const destroy = () => {
    if (status.destroyed) return;
    status.destroyed = true;
    own.destroy();
  };
  void device.lost.then((info) => {
    if (!status.destroyed) status.lost = `GPU device lost (${info.reason}): ${info.message}`;
  });
  try {
    return await withErrorScopes(device, 'createFlow', async () => flowObject(await buildParts(device, o, own, status), destroy));
  } catch (e) {
    destroy();
    throw e;
  }
}
