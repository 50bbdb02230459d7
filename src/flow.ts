/**
 * createFlow(): owns the particle buffers, encodes many steps per submission, reads
 * diagnostics back on demand. Data flows one way: spec → device resources → step loop on
 * the GPU → on-demand readback.
 */
import { commonWgsl, integrateWgsl, potentialWgsl, randomWgsl, reduceWgsl } from './shaders.gen.js';
import { seedWords, type Seed } from './reference/random.js';
import { createBuffer, dispatchFor, maxBindingBytes, readBuffer, withErrorScopes, writeView, WORKGROUP_SIZE } from './gpu/resources.js';
import { bindGroup, bindingLayout, pipeline, type BindingKind, type SourceSpan } from './gpu/pipelines.js';
import { METHOD_CODES, PARAMS_FIELDS, fieldOffset, STATE_FIELDS, STATE_SIZE, packStruct, unpackStruct, type ParamsName } from './gpu/layout.js';
import type { EnergyTerm, KernelTerm, PotentialTerm, TermKernel } from './energies/types.js';
import { generatePositions, type InitSpec } from './init.js';
import { deviceProfile } from './gpu/device.js';

/** The flows of MATH.md implemented by the integrator. */
export type Method = 'gradient' | 'accelerated' | 'steering' | 'langevin' | 'fire';

/** FIRE 2.0 constants (Bitzek et al. 2006; Guénolé et al. 2020). */
export interface FireOptions {
  /** Steps with P > 0 before the step may grow (N_delay / N_min). Default 5. */
  nDelay?: number;
  /** Step growth. Default 1.1. */
  fInc?: number;
  /** Step shrink. Default 0.5. */
  fDec?: number;
  /** Mixing coefficient after a reset. Default 0.1. */
  alphaStart?: number;
  /** Mixing decay. Default 0.99. */
  fAlpha?: number;
  /** Largest step. Default 10 h. */
  hMax?: number;
  /** Smallest step. Default 0.02 h. */
  hMin?: number;
}

/** A damping schedule evaluated on the GPU: `γ(t) = max(floor, c / (t + t0))` at step t. */
export interface InverseDamping {
  schedule: 'inverse';
  c: number;
  /** Offset t0 > 0. Default 1. */
  t0?: number;
  /** Lower bound. Default 0. */
  floor?: number;
}

/** Damping γ ≥ 0: a constant, a function of the step (tabulated on the host per submission), or a GPU schedule. */
export type Damping = number | ((step: number) => number) | InverseDamping;

/** Options of {@link createFlow}. */
export interface FlowOptions {
  /** Spatial dimension: 1, 2 or 3. */
  dim: number;
  /** Initial positions (N·dim float32, row-major) or a built-in generator spec. */
  positions: Float32Array | InitSpec;
  /** Initial velocities (N·dim). Default zeros. */
  velocities?: Float32Array;
  /** The energy: a weighted sum of terms. Default [] (F = 0). */
  energy?: EnergyTerm[];
  /**
   * Kernel terms evaluated only by `stats()` (never in the step loop), reported in
   * `stats().monitors` and not added to the energy: e.g. the KL estimate to target samples
   * while the flow follows another energy. Default [].
   */
  monitor?: KernelTerm[];
  /** The flow. Default 'gradient'. */
  method?: Method;
  /**
   * Time step h > 0 (MATH.md's convention: g carries the factor N, so h does not depend on N),
   * or 'auto': a global step computed on the GPU every step from the current state so that no
   * particle moves more than `autoStep.fraction` of its nearest-neighbour distance (see
   * `autoStep`; needs a term with a length scale: entropy or KL to samples; methods gradient,
   * accelerated, steering).
   */
  h: number | 'auto';
  /**
   * The automatic step (h: 'auto'). With l_i the nearest-neighbour distance and f = fraction:
   * gradient h = f / max_i(|g_i|/l_i); accelerated and steering
   * h = min( sqrt(f / (c max_i |g_i|/l_i)), f / max_i(|v_i|/l_i) ), c = 1 + γ s; then clamped
   * to [hMin, hMax]. Defaults: fraction 0.1 (gradient) or 0.01 (accelerated, steering), hMax
   * 0.05, hMin 1e-9. The plateau of the estimated Fokker–Planck energy rises with the step
   * (about 0.25 above the minimum at fraction 0.1 for the damped flows, 0.005 at 0.01; the
   * error depends on the fraction, not on N): see docs/step-control.md.
   */
  autoStep?: { fraction?: number; hMax?: number; hMin?: number };
  /** Damping γ ≥ 0 of the accelerated and steering flows. Default 0.5. */
  gamma?: Damping;
  /** Langevin temperature 1/β: `x ← x − h ∇U + sqrt(2h/β) ξ`. Default 1. */
  temperature?: number;
  /** Seed of the Langevin noise (Philox 4x32-10 key). Same seed, same trajectory on the same adapter. Default 1. */
  seed?: Seed;
  /** FIRE constants (method 'fire'). */
  fire?: FireOptions;
  /** Largest displacement of one particle in one FIRE step (0 or absent: no cap). */
  maxDisplacement?: number;
  /**
   * Adaptive restart for 'accelerated' and 'steering': zero the velocities before a step
   * whenever the energy rose since the previous step (O'Donoghue and Candès, function scheme).
   * Default false.
   */
  restart?: boolean;
  /**
   * How GPU reductions combine partial sums: 'tree' (shared-memory trees, for GPUs) or
   * 'serial' (barrier-free per-thread partials folded by one thread, for CPU fallback adapters
   * where a workgroup barrier is very expensive). Default: 'serial' on fallback adapters, else 'tree'
   * ('tree' also on llvmpipe once N is too large for its loop cap; 'serial' then throws).
   */
  reduction?: 'tree' | 'serial';
  /** Steps encoded per command buffer. Default 64. */
  stepsPerSubmit?: number;
  /** Prefix of GPU object labels. Default 'wgflow.flow'. */
  label?: string;
}

/** Diagnostics (MATH.md), computed by GPU reductions at the current positions. */
export interface FlowStats {
  /** Steps taken. */
  step: number;
  /** Total energy Σ_t F_t. */
  energy: number;
  /** Energy of each term by label. */
  terms: Record<string, number>;
  /** Values of the monitor terms by label (not part of `energy`). */
  monitors: Record<string, number>;
  /** Kinetic energy ½ mean |v|². */
  kinetic: number;
  /** Residual mean |g|². */
  residual: number;
  /** Mean of the particles (length dim). */
  mean: number[];
  /** Covariance (dim × dim, row-major, population normalisation 1/N). */
  covariance: number[];
  /** Current step size h (changes under adaptive schemes). */
  h: number;
  /** Damping used by the last step. */
  gamma: number;
  /** Steering ratio s of the last step (steering flow). */
  s: number;
  /** FIRE mixing coefficient α. */
  alpha: number;
  /** FIRE power P = Σ f·v of the last step. */
  power: number;
  /** Velocity resets so far (FIRE, adaptive restart). */
  restarts: number;
}

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
  /** Current positions, N·dim float32. */
  positions(): Promise<Float32Array>;
  /** Current velocities, N·dim float32. */
  velocities(): Promise<Float32Array>;
  /** The current gradient g at the current positions, N·dim float32. */
  gradient(): Promise<Float32Array>;
  /** Snapshot for exact resume. */
  checkpoint(): Promise<FlowCheckpoint>;
  /** Restores a snapshot of a flow with the same n, dim and method; later steps repeat bit for bit. */
  restore(cp: FlowCheckpoint): void;
  /** Changes the weight of a term (by label or index) for later steps, e.g. a temperature. */
  setWeight(term: string | number, weight: number): void;
  /** Frees every GPU resource the flow created (never the device). Idempotent. */
  destroy(): void;
}

const DEFAULT_GAMMA = 0.5;
const MAX_TERMS = 8;

function fail(msg: string): never {
  throw new Error(`wgflow: ${msg}`);
}

/** Validates and normalises options before any GPU object exists (nothing half-built). */
function validate(device: GPUDevice, o: FlowOptions): { x: Float32Array; n: number; method: Method; terms: EnergyTerm[]; monitors: KernelTerm[] } {
  if (!o || typeof o !== 'object') fail('createFlow needs an options object');
  const dim = o.dim;
  if (![1, 2, 3].includes(dim)) fail(`dim must be 1, 2 or 3 (got ${dim})`);
  const limit = maxBindingBytes(device);
  const terms = o.energy ?? [];
  if (!Array.isArray(terms)) fail('energy must be an array of terms');
  const monitors = o.monitor ?? [];
  if (!Array.isArray(monitors) || monitors.some((t) => !t || t.kind !== 'kernel')) fail('monitor must be an array of kernel terms (entropy(), klToSamples(), interaction())');
  const slots = terms.length + monitors.length;
  const checkLimit = (n: number) => {
    // The largest per-particle buffer is the positions (N·dim f32) or the energy densities (T·N f32).
    const need = Math.max(n * dim * 4, Math.max(1, slots) * n * 4);
    if (need > limit) {
      fail(`N = ${n} needs a ${need}-byte buffer but this device allows ${limit} bytes per storage binding ` +
        `(min of maxStorageBufferBindingSize ${device.limits.maxStorageBufferBindingSize} and maxBufferSize ${device.limits.maxBufferSize}); ` +
        `the largest N for dim = ${dim} with ${slots} terms is ${Math.floor(limit / (4 * Math.max(dim, slots, 1)))}`);
    }
  };
  if (!(o.positions instanceof Float32Array) && o.positions && typeof o.positions === 'object' && Number.isInteger(o.positions.n)) checkLimit(o.positions.n);
  const x = o.positions instanceof Float32Array ? o.positions : o.positions && typeof o.positions === 'object' ? generatePositions(o.positions, dim) : fail('positions must be a Float32Array or an init spec');
  if (x.length % dim !== 0) fail(`positions length ${x.length} is not a multiple of dim ${dim}`);
  const n = x.length / dim;
  if (n === 0) fail('N = 0: a flow needs at least one particle');
  for (let k = 0; k < x.length; k++) {
    if (!Number.isFinite(x[k]!)) fail(`positions[${k}] (particle ${Math.floor(k / dim)}) is ${x[k]}: positions must be finite`);
  }
  if (o.velocities) {
    if (o.velocities.length !== x.length) fail(`velocities length ${o.velocities.length} differs from positions length ${x.length}`);
    for (let k = 0; k < o.velocities.length; k++) if (!Number.isFinite(o.velocities[k]!)) fail(`velocities[${k}] is not finite`);
  }
  const method = o.method ?? 'gradient';
  if (!['gradient', 'accelerated', 'steering', 'langevin', 'fire'].includes(method)) fail(`unknown method '${method}' (use 'gradient', 'accelerated', 'steering', 'langevin' or 'fire')`);
  if (o.temperature !== undefined && !(Number.isFinite(o.temperature) && o.temperature >= 0)) fail(`temperature must be finite and ≥ 0 (got ${o.temperature})`);
  if (o.maxDisplacement !== undefined && !(Number.isFinite(o.maxDisplacement) && o.maxDisplacement >= 0)) fail(`maxDisplacement must be finite and ≥ 0 (got ${o.maxDisplacement})`);
  const fo = o.fire ?? {};
  for (const [k, v] of Object.entries(fo)) if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`fire.${k} must be a finite number ≥ 0 (got ${v})`);
  if (fo.fInc !== undefined && fo.fInc < 1) fail('fire.fInc must be ≥ 1');
  if (fo.fDec !== undefined && !(fo.fDec > 0 && fo.fDec <= 1)) fail('fire.fDec must be in (0, 1]');
  if (fo.alphaStart !== undefined && fo.alphaStart > 1) fail('fire.alphaStart must be in [0, 1]');
  if (fo.nDelay !== undefined && !Number.isInteger(fo.nDelay)) fail('fire.nDelay must be an integer');
  if (o.h === 'auto') {
    if (!['gradient', 'accelerated', 'steering'].includes(method)) fail(`h: 'auto' is for the gradient, accelerated and steering flows (FIRE adapts its own step; Langevin needs a fixed h)`);
    const a = o.autoStep ?? {};
    for (const [k, v] of Object.entries(a)) if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`autoStep.${k} must be a finite number > 0 (got ${v})`);
  } else if (typeof o.h !== 'number' || !Number.isFinite(o.h) || o.h <= 0) fail(`h must be a finite number > 0 or 'auto' (got ${o.h})`);
  const g = o.gamma ?? DEFAULT_GAMMA;
  if (typeof g === 'number') {
    if (!Number.isFinite(g) || g < 0) fail(`gamma must be finite and ≥ 0 (got ${g})`);
  } else if (typeof g === 'object') {
    if (g.schedule !== 'inverse' || !(g.c >= 0) || !Number.isFinite(g.c) || !((g.t0 ?? 1) > 0) || !((g.floor ?? 0) >= 0)) fail('gamma schedule must be { schedule: "inverse", c ≥ 0, t0 > 0, floor ≥ 0 }');
  } else if (typeof g !== 'function') fail('gamma must be a number, a function of the step or a schedule object');
  if (slots > MAX_TERMS) fail(`at most ${MAX_TERMS} energy and monitor terms (got ${slots})`);
  for (const t of terms) if (!t || (t.kind !== 'potential' && t.kind !== 'kernel')) fail('energy terms must come from wgflow term factories (quadratic(), entropy(), ...)');
  if (o.reduction !== undefined && o.reduction !== 'tree' && o.reduction !== 'serial') fail(`reduction must be 'tree' or 'serial' (got ${o.reduction})`);
  const spsOk = o.stepsPerSubmit === undefined || (Number.isInteger(o.stepsPerSubmit) && o.stepsPerSubmit >= 1);
  if (!spsOk) fail('stepsPerSubmit must be a positive integer');
  checkLimit(n);
  return { x, n, method, terms, monitors };
}

function uniqueLabels(terms: EnergyTerm[]): string[] {
  const seen = new Map<string, number>();
  return terms.map((t) => {
    const c = (seen.get(t.label) ?? 0) + 1;
    seen.set(t.label, c);
    return c === 1 ? t.label : `${t.label}#${c}`;
  });
}

/** Generates the potential kernel for the potential terms (weights and parameters live in P). */
function potentialSource(terms: { term: PotentialTerm; slot: number; base: number }[]): { code: string; spans: SourceSpan[]; params: number[] } {
  let fns = '';
  let calls = '';
  const params: number[] = [];
  const spansRel: { name: string; offset: number; lines: number }[] = [];
  for (const { term, slot, base } of terms) {
    const id = `t${slot}`;
    params.push(term.weight, ...term.params);
    fns += `fn prm_${id}(j: u32) -> f32 { return P[${base + 1}u + j]; }\n`;
    const piece = term.wgsl(id);
    if (term.userCode) {
      const before = (fns.match(/\n/g) ?? []).length;
      // The first line of a user piece is the param_ wrapper; user code follows it.
      spansRel.push({ name: `the WGSL of term '${term.label}'`, offset: before + 1, lines: piece.split('\n').length });
    }
    fns += piece + '\n';
    calls += `  { E[${slot}u * n + i] = U_${id}(x); g += P[${base}u] * dU_${id}(x); }\n`;
  }
  const head = commonWgsl + '\n';
  const [pre, post] = potentialWgsl.split('//#TERMS');
  const code = head + pre + fns + post!.replace('//#CALLS', calls);
  const firstFnLine = (head + pre).split('\n').length; // 1-based line of the first spliced line
  const spans = spansRel.map((s) => ({ name: s.name, firstLine: firstFnLine + s.offset, lineCount: s.lines - 1 }));
  return { code, spans, params: params.length ? params : [0] };
}

/**
 * Creates a particle flow on `device`.
 *
 * The energy is the weighted sum of `energy` terms; every step runs the potential kernel
 * (which writes the gradient G), then each kernel term (which adds to G), then, for the
 * steering flow, a two-stage reduction of mean |v|² and mean |g|², then the integrator:
 *
 * - gradient:    `x ← x − h g`
 * - accelerated: `v ← v − h (γ v + g)`, `x ← x + h v`
 * - steering:    `s = sqrt(mean|v|² / mean|g|²)` (0 if the denominator is 0),
 *                `v ← v − h (γ v + (1 + γ s) g)`, `x ← x + h v`  (the seed paper's eq. 12)
 *
 * Many steps are encoded into one command buffer and the loop never reads back. Bad input
 * throws before any GPU object is created.
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
  const { x: x0, n, method, terms, monitors } = validate(device, options);
  const dim = options.dim;
  const label = options.label ?? 'wgflow.flow';
  const stepsPerSubmit = options.stepsPerSubmit ?? 64;
  const auto = options.h === 'auto';
  const h0 = auto ? options.autoStep?.hMax ?? 0.05 : (options.h as number);
  const gammaOpt = options.gamma ?? DEFAULT_GAMMA;
  const created: GPUBuffer[] = [];
  const kernels: TermKernel[] = [];
  let destroyed = false;
  let lost: string | undefined;
  void device.lost.then((info) => {
    if (!destroyed) lost = `GPU device lost (${info.reason}): ${info.message}`;
  });
  const destroyAll = () => {
    if (destroyed) return;
    destroyed = true;
    for (const k of kernels) k.destroy();
    for (const b of created) b.destroy();
  };
  const buf = (purpose: string, size: number, usage: GPUBufferUsageFlags, data?: ArrayBufferView) => {
    const b = createBuffer(device, `${label}.${purpose}`, size, usage, data);
    created.push(b);
    return b;
  };

  try {
    return await withErrorScopes(device, 'createFlow', async () => {
      const S = GPUBufferUsage.STORAGE, CS = GPUBufferUsage.COPY_SRC, CD = GPUBufferUsage.COPY_DST;
      const T = terms.length;
      const positions = buf('positions', n * dim * 4, S | CS | CD | GPUBufferUsage.VERTEX, x0);
      const velocities = buf('velocities', n * dim * 4, S | CS | CD | GPUBufferUsage.VERTEX, options.velocities ?? new Float32Array(n * dim));
      const grad = buf('gradient', n * dim * 4, S | CS);
      const TA = T + monitors.length;
      const energyBuf = buf('energy', Math.max(1, TA) * n * 4, S | CS);
      const allLabels = uniqueLabels([...terms, ...monitors]);
      const labels = allLabels.slice(0, T);

      // Potential terms share one generated kernel.
      const pots: { term: PotentialTerm; slot: number; base: number }[] = [];
      let base = 0;
      terms.forEach((t, slot) => {
        if (t.kind === 'potential') {
          pots.push({ term: t, slot, base });
          base += 1 + t.params.length;
        }
      });
      const src = potentialSource(pots);
      const paramsBuf = buf('termParams', src.params.length * 4, S | CD, new Float32Array(src.params));

      const seed = seedWords(options.seed ?? 1);
      const gammaMode = typeof gammaOpt === 'function' ? 1 : typeof gammaOpt === 'object' ? 2 : 0;
      const params: Partial<Record<ParamsName, number>> = {
        n, method: METHOD_CODES[method], gamma_mode: gammaMode, table_base: 0,
        gamma: typeof gammaOpt === 'number' ? gammaOpt : typeof gammaOpt === 'object' ? gammaOpt.c : 0,
        gamma_floor: typeof gammaOpt === 'object' ? gammaOpt.floor ?? 0 : 0,
        gamma_t0: typeof gammaOpt === 'object' ? gammaOpt.t0 ?? 1 : 1,
        inv_n: 1 / n, h0,
        h_max: auto ? h0 : options.fire?.hMax ?? 10 * h0,
        h_min: auto ? options.autoStep?.hMin ?? 1e-9 : options.fire?.hMin ?? 0.02 * h0,
        auto_frac: options.autoStep?.fraction ?? (method === 'gradient' ? 0.1 : 0.01),
        temperature: options.temperature ?? 1,
        f_inc: options.fire?.fInc ?? 1.1, f_dec: options.fire?.fDec ?? 0.5,
        alpha_start: options.fire?.alphaStart ?? 0.1, f_alpha: options.fire?.fAlpha ?? 0.99,
        n_delay: options.fire?.nDelay ?? 5,
        seed_lo: seed[0], seed_hi: seed[1],
        flags: (options.restart ? 1 : 0) | (auto ? 2 : 0), // bit 2 (length scale) is set below once the terms exist
        max_disp: options.maxDisplacement ?? 0,
      };
      const uniform = buf('params', 4 * PARAMS_FIELDS.length, GPUBufferUsage.UNIFORM | CD, new Uint8Array(packStruct(PARAMS_FIELDS, params)));
      const initialState = packStruct(STATE_FIELDS, { step: 0, h: h0, alpha: params.alpha_start, gamma: 0, last_energy: 3.4e38 });
      const stateBuf = buf('state', STATE_SIZE, S | CS | CD, new Uint8Array(initialState));
      const flagsInit = new Uint32Array([0xffffffff, 0, 0, 0]);
      const flags = buf('flags', 16, S | CS | CD, flagsInit);
      const gammaTable = buf('gammaTable', stepsPerSubmit * 4, S | CD);

      const wg = WORKGROUP_SIZE;
      const [wx, wy] = dispatchFor(n, wg);
      const rows = wx * wy;
      const constants = { D: dim, WG: wg };

      // Potential kernel.
      const potKinds: BindingKind[] = ['read', 'storage', 'storage', 'read', 'uniform'];
      const potLayout = bindingLayout(device, potKinds);
      const potPipe = await pipeline(device, { label: `${label}.potential`, code: src.code, entry: 'main', constants: constants, layout: [potKinds], spans: src.spans });
      const potBind = bindGroup(device, `${label}.potential`, potLayout, [positions, grad, energyBuf, paramsBuf, uniform]);

      // Kernel terms.
      const kernelOf = new Map<number, TermKernel>(); // slot → GPU side of a kernel term
      for (const [slot, t] of terms.entries()) {
        if (t.kind !== 'kernel') continue;
        const k = await t.create({ device, n, dim, positions, grad, energy: energyBuf, slot, label: `${label}.term${slot}` });
        kernels.push(k);
        kernelOf.set(slot, k);
      }
      // Monitors write their own slots and add their gradients to a scratch buffer.
      const scratchGrad = monitors.length ? buf('monitorGradient', n * dim * 4, S | CD) : undefined;
      const monitorKernels: TermKernel[] = [];
      for (const [j, t] of monitors.entries()) {
        const k = await t.create({ device, n, dim, positions, grad: scratchGrad!, energy: energyBuf, slot: T + j, label: `${label}.monitor${j}` });
        monitorKernels.push(k);
        kernels.push(k); // destroyed with the flow
      }
      const stepKernels = kernels.slice(0, kernels.length - monitorKernels.length);

      // Reductions: MODE 0 (in the loop) and MODE 1 (diagnostics).
      const redCode = commonWgsl + reduceWgsl;
      const redKinds: BindingKind[] = ['read', 'read', 'read', 'read', 'storage', 'uniform', 'read', 'read'];
      const finKinds: BindingKind[] = ['read', 'storage', 'uniform'];
      const redLayout = bindingLayout(device, redKinds);
      const finLayout = bindingLayout(device, finKinds);
      const emptyLayout = bindingLayout(device, []);
      const emptyBind = device.createBindGroup({ label: `${label}.empty`, layout: emptyLayout, entries: [] });
      const K0 = 8, K1 = 14 + TA;
      const lengthScale = stepKernels.find((k) => k.lengthScale)?.lengthScale;
      const lengthBuf = lengthScale?.buffer ?? buf('noLengthScale', 16, S);
      if (auto && !lengthScale) fail(`h: 'auto' needs a term with a length scale (entropy() or klToSamples()); give a fixed h for this energy`);
      if (lengthScale) {
        params.flags = (params.flags ?? 0) | 4;
        device.queue.writeBuffer(uniform, fieldOffset(PARAMS_FIELDS, 'flags'), new Uint32Array([params.flags]));
        device.queue.writeBuffer(uniform, fieldOffset(PARAMS_FIELDS, 'length_stride'), new Uint32Array([lengthScale.stride]));
      }
      const weightsBuf = buf('weights', Math.max(1, T) * 4, S | CD, new Float32Array(terms.length ? terms.map((t) => t.weight) : [0]));
      // Stage-1 workgroups of the reductions: many with shared-memory trees on GPUs; on CPU
      // fallbacks (SwiftShader pays ~1 ms per workgroup barrier) two barrier-free workgroups
      // whose 512 threads each write a partial row, folded by one thread (SERIAL = 1).
      // A serial stage-1 thread folds ceil(n / 512) particles of at most 1 + K1 + TA + 4·dim
      // loop iterations each (its stage 2, 512 rows of 1 + K1, always fits): past the device's
      // loop cap (llvmpipe stops an invocation's loops, silently, after 65535) it would drop
      // particles, so the trees are used there.
      const profile = deviceProfile(device);
      const serialFits = Math.ceil(n / (2 * wg)) * (1 + K1 + TA + 4 * dim) <= profile.maxLoopIterations;
      if (options.reduction === 'serial' && !serialFits) fail(`reduction 'serial' cannot fold n = ${n} particles within this device's ${profile.maxLoopIterations} loop iterations per invocation (llvmpipe); use 'tree'`);
      const serial = (options.reduction ?? (profile.fallback && serialFits ? 'serial' : 'tree')) === 'serial' ? 1 : 0;
      const redWgs = serial ? 2 : Math.min(rows, 512);
      const redRows = serial ? redWgs * wg : redWgs;
      const partials = buf('partials', redRows * Math.max(K0, K1) * 4, S);
      const sums0 = buf('sums0', K0 * 4, S | CS);
      const sums0b = buf('sums0b', K0 * 4, S | CS);
      const sums1 = buf('sums1', K1 * 4, S | CS);
      const rowsBuf = buf('reduceRows', 16, GPUBufferUsage.UNIFORM | CD, new Uint32Array([redRows, 0, 0, 0]));
      const red0 = await pipeline(device, { label: `${label}.reduce0`, code: redCode, entry: 'main', constants: { ...constants, MODE: 0, K: K0, KSUM: 4, T, SERIAL: serial }, layout: [redKinds] });
      const fin0 = await pipeline(device, { label: `${label}.reduce0.finish`, code: redCode, entry: 'finish', constants: { ...constants, MODE: 0, K: K0, KSUM: 4, T, SERIAL: serial }, layout: [[], finKinds] });
      const red1 = await pipeline(device, { label: `${label}.reduce1`, code: redCode, entry: 'main', constants: { ...constants, MODE: 1, K: K1, KSUM: 12 + TA, T: TA, SERIAL: serial }, layout: [redKinds] });
      const fin1 = await pipeline(device, { label: `${label}.reduce1.finish`, code: redCode, entry: 'finish', constants: { ...constants, MODE: 1, K: K1, KSUM: 12 + TA, T: TA, SERIAL: serial }, layout: [[], finKinds] });
      const redBind = bindGroup(device, `${label}.reduce`, redLayout, [positions, velocities, grad, energyBuf, partials, uniform, weightsBuf, lengthBuf]);
      const fin0Bind = bindGroup(device, `${label}.reduce0.finish`, finLayout, [partials, sums0, rowsBuf]);
      const fin0bBind = bindGroup(device, `${label}.reduce0b.finish`, finLayout, [partials, sums0b, rowsBuf]);
      const fin1Bind = bindGroup(device, `${label}.reduce1.finish`, finLayout, [partials, sums1, rowsBuf]);

      // Integrator.
      const intCode = commonWgsl + randomWgsl + integrateWgsl;
      const intKinds: BindingKind[] = ['storage', 'storage', 'read', 'read', 'storage', 'uniform', 'read', 'storage', 'read'];
      const intLayout = bindingLayout(device, intKinds);
      const intConst = { ...constants, METHOD: METHOD_CODES[method] };
      const intPipe = await pipeline(device, { label: `${label}.integrate`, code: intCode, entry: 'main', constants: intConst, layout: [intKinds] });
      const advPipe = await pipeline(device, { label: `${label}.advance`, code: intCode, entry: 'advance', constants: intConst, layout: [intKinds] });
      const fire = method === 'fire'
        ? {
            decide: await pipeline(device, { label: `${label}.fireDecide`, code: intCode, entry: 'fire_decide', constants: intConst, layout: [intKinds] }),
            kick: await pipeline(device, { label: `${label}.fireKick`, code: intCode, entry: 'fire_kick', constants: intConst, layout: [intKinds] }),
            move: await pipeline(device, { label: `${label}.fireMove`, code: intCode, entry: 'fire_move', constants: intConst, layout: [intKinds] }),
          }
        : undefined;
      const intBind = bindGroup(device, `${label}.integrate`, intLayout, [positions, velocities, grad, sums0, stateBuf, uniform, gammaTable, flags, sums0b]);
      const autoPipe = auto ? await pipeline(device, { label: `${label}.autoStep`, code: intCode, entry: 'auto_step', constants: intConst, layout: [intKinds] }) : undefined;
      const needsReduce = auto || method === 'steering' || method === 'fire' || (options.restart === true && method === 'accelerated');

      let stepCount = 0; // host mirror of State.step
      const weights = terms.map((t) => t.weight);

      const encodeForce = (pass: GPUComputePassEncoder) => {
        pass.setPipeline(potPipe);
        pass.setBindGroup(0, potBind);
        pass.dispatchWorkgroups(wx, wy);
        for (const k of stepKernels) k.encode(pass);
      };
      const encodeReduce = (pass: GPUComputePassEncoder, mode: 0 | 1, second = false) => {
        pass.setPipeline(mode === 0 ? red0 : red1);
        pass.setBindGroup(0, redBind);
        pass.dispatchWorkgroups(redWgs);
        pass.setPipeline(mode === 0 ? fin0 : fin1);
        pass.setBindGroup(0, emptyBind);
        pass.setBindGroup(1, mode === 0 ? (second ? fin0bBind : fin0Bind) : fin1Bind);
        pass.dispatchWorkgroups(1);
      };
      const encodeOne = (pass: GPUComputePassEncoder) => {
        encodeForce(pass);
        if (needsReduce) encodeReduce(pass, 0);
        if (autoPipe) {
          pass.setPipeline(autoPipe);
          pass.setBindGroup(0, intBind);
          pass.dispatchWorkgroups(1);
        }
        if (fire) {
          pass.setBindGroup(0, intBind);
          pass.setPipeline(fire.decide);
          pass.dispatchWorkgroups(1);
          pass.setPipeline(fire.kick);
          pass.dispatchWorkgroups(wx, wy);
          encodeReduce(pass, 0, true);
          pass.setBindGroup(0, intBind);
          pass.setPipeline(fire.move);
          pass.dispatchWorkgroups(wx, wy);
        } else {
          pass.setPipeline(intPipe);
          pass.setBindGroup(0, intBind);
          pass.dispatchWorkgroups(wx, wy);
        }
        pass.setPipeline(advPipe);
        pass.dispatchWorkgroups(1);
      };
      const alive = () => {
        if (lost) fail(lost);
        if (destroyed) fail('this flow has been destroyed');
      };
      const readState = async () => {
        const bytes = await readBuffer(device, stateBuf, STATE_SIZE);
        return unpackStruct(STATE_FIELDS, bytes);
      };
      const checkFinite = async () => {
        const f = new Uint32Array(await readBuffer(device, flags, 16));
        if (f[0] !== 0xffffffff) {
          fail(`the flow produced a non-finite position or velocity at step ${f[0]} (method ${method}, h = ${options.h}); ` +
            'the step is probably too large for this energy. The state is kept for inspection; restore a checkpoint to continue.');
        }
      };

      const flow: Flow = {
        device, n, dim, method,
        buffers: { positions, velocities, gradient: grad, state: stateBuf },
        termLabels: labels,
        async step(count = 1, opts = {}) {
          alive();
          if (!Number.isInteger(count) || count < 0) fail(`step count must be a non-negative integer (got ${count})`);
          await withErrorScopes(device, 'flow.step', async () => {
            let done = 0;
            let pending: Promise<void> | undefined;
            let pendingDone = 0;
            while (done < count) {
              const m = Math.min(stepsPerSubmit, count - done);
              if (typeof gammaOpt === 'function') {
                const table = new Float32Array(m);
                for (let k = 0; k < m; k++) {
                  const gv = gammaOpt(stepCount + k);
                  if (!Number.isFinite(gv) || gv < 0) fail(`gamma(${stepCount + k}) = ${gv}: damping must be finite and ≥ 0`);
                  table[k] = gv;
                }
                device.queue.writeBuffer(gammaTable, 0, table);
                device.queue.writeBuffer(uniform, fieldOffset(PARAMS_FIELDS, 'table_base'), new Uint32Array([stepCount]));
              }
              const enc = device.createCommandEncoder({ label: `${label}.steps` });
              const pass = enc.beginComputePass({ label: `${label}.steps` });
              for (let k = 0; k < m; k++) encodeOne(pass);
              pass.end();
              device.queue.submit([enc.finish()]);
              done += m;
              stepCount += m;
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
          alive();
          await checkFinite();
        },
        encodeSteps(pass, count = 1) {
          alive();
          if (typeof gammaOpt === 'function') fail('encodeSteps does not support a damping function; use a number or a schedule object');
          for (let k = 0; k < count; k++) encodeOne(pass);
          stepCount += count;
        },
        async stats() {
          alive();
          return withErrorScopes(device, 'flow.stats', async () => {
            const enc = device.createCommandEncoder({ label: `${label}.stats` });
            if (scratchGrad) enc.clearBuffer(scratchGrad);
            const pass = enc.beginComputePass({ label: `${label}.stats` });
            encodeForce(pass);
            for (const k of monitorKernels) k.encode(pass);
            encodeReduce(pass, 1);
            pass.end();
            device.queue.submit([enc.finish()]);
            // Steps recorded with encodeSteps() are never checked by step(): a divergence
            // they caused is reported here too (the flag is cleared by restore()).
            const [sumsBytes, st, x0b] = await Promise.all([
              readBuffer(device, sums1, K1 * 4),
              readState(),
              readBuffer(device, positions, dim * 4),
              checkFinite(),
            ]);
            const r = Array.from(new Float32Array(sumsBytes), (v) => v);
            const shift = Array.from(new Float32Array(x0b));
            const termsOut: Record<string, number> = {};
            let total = 0;
            terms.forEach((t, slot) => {
              const c = kernelOf.get(slot)?.constant() ?? 0;
              const v = weights[slot]! * (r[12 + slot]! / n + c);
              termsOut[labels[slot]!] = v;
              total += v;
            });
            const monitorsOut: Record<string, number> = {};
            monitors.forEach((t, j) => {
              monitorsOut[allLabels[T + j]!] = t.weight * (r[12 + T + j]! / n + monitorKernels[j]!.constant());
            });
            // No silent NaN: a term whose value is NaN (a user potential returning NaN, or
            // positions that made a term undefined) is named, not averaged into the total.
            const bad = Object.entries({ ...termsOut, ...monitorsOut }).filter(([, v]) => Number.isNaN(v));
            if (bad.length) {
              fail(`stats at step ${st.step}: the energy term${bad.length > 1 ? 's' : ''} ${bad.map(([k]) => `'${k}'`).join(', ')} evaluated to NaN ` +
                '(a custom potential returning NaN, or positions outside the range where the term is defined)');
            }
            const m = [0, 1, 2].slice(0, dim).map((c) => r[3 + c]! / n);
            const idx = (a: number, b: number) => { const [p, q] = a <= b ? [a, b] : [b, a]; return 6 + [0, 1, 2, 3, 4, 5][p === 0 ? q : p === 1 ? 2 + q : 5]!; };
            const cov: number[] = [];
            for (let a = 0; a < dim; a++) for (let b = 0; b < dim; b++) cov.push(r[idx(a, b)]! / n - m[a]! * m[b]!);
            return {
              step: st.step, energy: total, terms: termsOut, monitors: monitorsOut,
              kinetic: 0.5 * r[0]! / n, residual: r[1]! / n,
              mean: m.map((v, c) => v + shift[c]!), covariance: cov,
              h: st.h, gamma: st.gamma, s: st.s, alpha: st.alpha, power: st.power, restarts: st.restarts,
            } satisfies FlowStats;
          });
        },
        async positions() {
          alive();
          return new Float32Array(await readBuffer(device, positions, n * dim * 4));
        },
        async velocities() {
          alive();
          return new Float32Array(await readBuffer(device, velocities, n * dim * 4));
        },
        async gradient() {
          alive();
          const enc = device.createCommandEncoder({ label: `${label}.gradient` });
          const pass = enc.beginComputePass();
          encodeForce(pass);
          pass.end();
          device.queue.submit([enc.finish()]);
          return new Float32Array(await readBuffer(device, grad, n * dim * 4));
        },
        async checkpoint() {
          alive();
          const [p, v, s] = await Promise.all([
            readBuffer(device, positions, n * dim * 4),
            readBuffer(device, velocities, n * dim * 4),
            readBuffer(device, stateBuf, STATE_SIZE),
          ]);
          return { dim, n, method, positions: new Float32Array(p), velocities: new Float32Array(v), state: new Uint8Array(s) };
        },
        restore(cp) {
          alive();
          if (cp.n !== n || cp.dim !== dim || cp.method !== method) fail(`checkpoint is for n=${cp.n}, dim=${cp.dim}, ${cp.method}; this flow is n=${n}, dim=${dim}, ${method}`);
          if (cp.positions.length !== n * dim || cp.velocities.length !== n * dim || cp.state.byteLength !== STATE_SIZE) fail('checkpoint arrays have the wrong sizes');
          writeView(device, positions, 0, cp.positions);
          writeView(device, velocities, 0, cp.velocities);
          writeView(device, stateBuf, 0, cp.state);
          device.queue.writeBuffer(flags, 0, flagsInit);
          stepCount = new DataView(cp.state.buffer, cp.state.byteOffset).getUint32(0, true);
        },
        setWeight(which, w) {
          alive();
          const slot = typeof which === 'number' ? which : labels.indexOf(which);
          if (slot < 0 || slot >= terms.length) fail(`no energy term '${which}' (terms: ${labels.join(', ')})`);
          if (!Number.isFinite(w)) fail(`weight must be finite (got ${w})`);
          const kernel = kernelOf.get(slot);
          if (kernel) {
            if (!kernel.setWeight) fail(`term '${labels[slot]}' does not support changing its weight`);
            kernel.setWeight(w);
          } else {
            const p = pots.find((q) => q.slot === slot)!;
            device.queue.writeBuffer(paramsBuf, p.base * 4, new Float32Array([w]));
          }
          device.queue.writeBuffer(weightsBuf, slot * 4, new Float32Array([w]));
          weights[slot] = w;
        },
        destroy: destroyAll,
      };
      return flow;
    });
  } catch (e) {
    destroyAll();
    throw e;
  }
}

/** Float64 value of a potential term at every particle, averaged: (1/N) Σ U(x_i) · weight. */
export function potentialReference(term: PotentialTerm, x: Float64Array, n: number, dim: number): { value: number; grad: Float64Array } {
  let value = 0;
  const grad = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    const xi = x.subarray(i * dim, (i + 1) * dim);
    value += term.value(xi);
    const g = term.gradient(xi);
    for (let c = 0; c < dim; c++) grad[i * dim + c] = term.weight * g[c]!;
  }
  return { value: (term.weight * value) / n, grad };
}
