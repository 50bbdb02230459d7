/**
 * The flow's two-stage column reductions over particles (shaders/reduce.wgsl), exact for any N:
 * stage 1 folds each particle's columns into partial rows, stage 2 folds the rows into sums.
 *
 * - **Step sums** (MODE 0, in the step loop): Σ|v|², Σ|g|², Σ g·v, the weighted energy, the
 *   pair frequency and the maxima the automatic step needs ({@link STEP_COLUMNS}). Read by the integrator on
 *   the GPU, never by the host.
 * - **Stats sums** (MODE 1, diagnostics): the same sums, the shifted first and second moments
 *   of the positions and every energy slot ({@link STATS_COLUMNS}), read back by `stats()`.
 *
 * Partial sums combine in shared-memory trees ('tree', for GPUs) or, on CPU fallback adapters
 * where a workgroup barrier costs ~1 ms, in barrier-free per-thread rows folded by one thread
 * ('serial'; see {@link stageRows}). The step sums compute only the columns of
 * {@link FlowReduceOptions.stepColumns}, with scalar accumulators.
 */
import { commonWgsl, integrateWgsl, reduceWgsl } from '../shaders.gen.js';
import { createBuffer, dispatchFor, WORKGROUP_SIZE } from '../gpu/resources.js';
import { bindGroup, bindingLayout, pipeline, type BindingKind } from '../gpu/pipelines.js';
import { composeWgsl, wgslLibrary } from '../gpu/wgsl.js';

/**
 * Columns of the step sums (MODE 0): offsets into the reduction's output. Mirrored by the
 * `STEP_*` constants of shaders/reduce.wgsl (checked by test/flow-kernels.test.ts).
 */
export const STEP_COLUMNS = {
  /** Σ |v_i|² */
  vv: 0,
  /** Σ |g_i|² */
  gg: 1,
  /** Σ g_i·v_i */
  gv: 2,
  /** Σ_i Σ_t w_t e_t[i]: N times the energy, up to the terms' constants. */
  energy: 3,
  /** Σ_i √(d·w)/l_i (l_i, w: the length-scale term's length and weight; 0 without one): N times the mean pair frequency ω̄ of the automatic step. */
  frequency: 4,
  /** max |v_i|² */
  maxVV: 5,
  /** max |g_i|² */
  maxGG: 6,
  /** max |g_i| / l_i (l_i: a term's length scale; 0 without one). */
  maxGOverL: 7,
  /** max |v_i| / l_i */
  maxVOverL: 8,
} as const;

/** Columns of the step sums that are sums (the rest are maxima). */
export const STEP_SUMMED = STEP_COLUMNS.maxVV;
/** Number of columns of the step sums. */
export const STEP_WIDTH = Object.keys(STEP_COLUMNS).length;

/** Bit mask of every step-sum column. */
export const ALL_STEP_COLUMNS = (1 << STEP_WIDTH) - 1;

/**
 * Bit mask (bit k: column k) of the named step-sum columns, for {@link FlowReduceOptions.stepColumns}.
 *
 * @example stepColumnMask(['vv', 'gg']); // 0b11: what the steering ratio reads
 */
export function stepColumnMask(names: readonly (keyof typeof STEP_COLUMNS)[]): number {
  return names.reduce((m, k) => m | (1 << STEP_COLUMNS[k]), 0);
}

/**
 * Columns of the stats sums (MODE 1) that do not depend on the number of energy slots T.
 * Mirrored by the `STATS_*` constants of shaders/reduce.wgsl. After `energy` come T columns
 * Σ_i e_t[i], then max |v|² and max |g|² (see {@link statsLayout}).
 */
export const STATS_COLUMNS = {
  /** Σ |v_i|² */
  vv: 0,
  /** Σ |g_i|² */
  gg: 1,
  /** Σ g_i·v_i */
  gv: 2,
  /** 3 columns: Σ (x_i − c), c = x_0 (the shift keeps the covariance free of cancellation). */
  mean: 3,
  /** 6 columns: Σ (x_i − c)(x_i − c)ᵀ, upper triangle in the order of {@link MOMENT_PAIRS}. */
  moments: 6,
  /** T columns: Σ_i e_t[i] of slot t. */
  energy: 12,
} as const;

/** The (a, b), a ≤ b, of the second-moment columns, in column order. */
export const MOMENT_PAIRS: readonly (readonly [number, number])[] = [[0, 0], [0, 1], [0, 2], [1, 1], [1, 2], [2, 2]];

/** Column of the second moment Σ z_a z_b (either order) in the stats sums. */
export function momentColumn(a: number, b: number): number {
  const [p, q] = a <= b ? [a, b] : [b, a];
  return STATS_COLUMNS.moments + MOMENT_PAIRS.findIndex(([x, y]) => x === p && y === q);
}

/** Layout of the stats sums for `slots` energy slots: the maxima, the summed columns and the width. */
export function statsLayout(slots: number): { maxVV: number; maxGG: number; summed: number; width: number } {
  const summed = STATS_COLUMNS.energy + slots;
  return { maxVV: summed, maxGG: summed + 1, summed, width: summed + 2 };
}

/** Options of {@link createFlowReduce}. */
export interface FlowReduceOptions {
  n: number;
  dim: number;
  /** Energy slots summed (weighted) by the step sums: the energy terms. */
  stepSlots: number;
  /** Energy slot of the term that gives the length scale (its weight scales the frequency column). Default 0. */
  lengthSlot?: number;
  /** Energy slots reported by the stats sums: energy terms, then monitors. */
  statsSlots: number;
  /** Barrier-free partial rows folded by one thread (CPU fallback adapters) instead of trees. */
  serial: boolean;
  /**
   * Step-sum columns computed (bit k: column k of {@link STEP_COLUMNS}; see
   * {@link stepColumnMask}); the others read 0. Default: all of them.
   */
  stepColumns?: number;
  /** The flow's buffers read by the reductions (never destroyed here). */
  buffers: {
    positions: GPUBuffer;
    velocities: GPUBuffer;
    gradient: GPUBuffer;
    /** Energy densities, slot-major (slot t at f32 index t·N). */
    energy: GPUBuffer;
    /** The Params uniform (n, flags, length_stride). */
    params: GPUBuffer;
    /** Term weights, one f32 per step slot. */
    weights: GPUBuffer;
    /** Per-particle length scale (read when Params.flags has FLAG_LENGTH_SCALE). */
    lengthScale?: GPUBuffer;
  };
  /** Label prefix. */
  label: string;
}

/** Where a reduction writes. */
export type ReduceTarget = 'step' | 'afterKick' | 'stats';

/** The reductions of a flow; see {@link createFlowReduce}. */
export interface FlowReduce {
  /** {@link STEP_WIDTH} f32: step sums of the current step (before the update). */
  readonly step: GPUBuffer;
  /** {@link STEP_WIDTH} f32: step sums after FIRE's kick. */
  readonly afterKick: GPUBuffer;
  /** statsLayout(statsSlots).width f32: the stats sums. */
  readonly stats: GPUBuffer;
  /** Bytes of `stats`' content. */
  readonly statsBytes: number;
  /** Records both stages of one reduction into `pass`, writing `target`. Never submits. */
  encode(pass: GPUComputePassEncoder, target: ReduceTarget): void;
  /** Frees what the reductions created (not the flow's buffers). Idempotent. */
  destroy(): void;
}

/**
 * Stage-1 shape. Trees (GPUs): up to 512 workgroups in a grid-stride loop, one row each.
 * Serial (CPU adapters): at most 4 barrier-free workgroups (1024 rows: the one-thread finish
 * folds ≤ 1024 × (K + 1) loop trips, inside llvmpipe's 65535-trip cap for any K ≤ 22), one
 * contiguous chunk of particles per thread (≤ ⌈N/512⌉ from N = 3·2^14 on, the bound that
 * `reduction: 'serial'` is checked against in src/flow/options.ts; ≤ 64 below).
 */
export function stageRows(n: number, serial: boolean): { workgroups: number; rows: number; chunk: number } {
  if (serial) {
    const workgroups = Math.max(1, Math.min(4, Math.ceil(n / (64 * WORKGROUP_SIZE))));
    const chunk = Math.max(1, Math.ceil(n / (workgroups * WORKGROUP_SIZE)));
    return { workgroups, rows: workgroups * WORKGROUP_SIZE, chunk };
  }
  const [wx, wy] = dispatchFor(n, WORKGROUP_SIZE);
  const workgroups = Math.min(wx * wy, 512);
  return { workgroups, rows: workgroups, chunk: 0 };
}

/**
 * Creates the flow's reductions: pipelines built once per device, bind groups and the partial
 * and sum buffers allocated once for N.
 *
 * @example
 * const reduce = await createFlowReduce(device, { n, dim: 2, stepSlots: 1, statsSlots: 1, serial: false, buffers, label: 'wgflow.flow' });
 * reduce.encode(pass, 'step');   // reduce.step now holds STEP_COLUMNS for the integrator
 */
export async function createFlowReduce(device: GPUDevice, o: FlowReduceOptions): Promise<FlowReduce> {
  const { label, buffers: b } = o;
  const owned: GPUBuffer[] = [];
  const buf = (purpose: string, size: number, usage: GPUBufferUsageFlags, data?: ArrayBufferView) => {
    const made = createBuffer(device, `${label}.${purpose}`, size, usage, data);
    owned.push(made);
    return made;
  };
  const S = GPUBufferUsage.STORAGE, CS = GPUBufferUsage.COPY_SRC;
  const stats = statsLayout(o.statsSlots);
  const { workgroups, rows, chunk } = stageRows(o.n, o.serial);
  const lengthScale = b.lengthScale ?? buf('noLengthScale', 16, S);
  const partials = buf('partials', rows * Math.max(STEP_WIDTH, stats.width) * 4, S);
  const out = { step: buf('sums0', STEP_WIDTH * 4, S | CS), afterKick: buf('sums0b', STEP_WIDTH * 4, S | CS), stats: buf('sums1', stats.width * 4, S | CS) };
  const rowsBuf = buf('reduceRows', 16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, new Uint32Array([rows, 0, 0, 0]));

  const code = composeWgsl(commonWgsl, wgslLibrary(integrateWgsl), reduceWgsl);
  const redKinds: BindingKind[] = ['read', 'read', 'read', 'read', 'storage', 'uniform', 'read', 'read'];
  const finKinds: BindingKind[] = ['read', 'storage', 'uniform'];
  const base = { D: o.dim, WG: WORKGROUP_SIZE, SERIAL: o.serial ? 1 : 0, ...(o.serial ? { CHUNK: chunk } : {}) };
  const need = o.stepColumns ?? ALL_STEP_COLUMNS;
  if (!Number.isInteger(need) || need < 0 || need > ALL_STEP_COLUMNS) throw new Error(`wgflow: createFlowReduce: stepColumns must be a bit mask of the ${STEP_WIDTH} step columns (0..${ALL_STEP_COLUMNS}), got ${need}; use stepColumnMask()`);
  const c0 = { ...base, MODE: 0, K: STEP_WIDTH, KSUM: STEP_SUMMED, T: o.stepSlots, LSLOT: o.lengthSlot ?? 0, NEED: need };
  const c1 = { ...base, MODE: 1, K: stats.width, KSUM: stats.summed, T: o.statsSlots };
  let pipes: GPUComputePipeline[];
  try {
    pipes = await Promise.all([
      pipeline(device, { label: `${label}.reduce0`, code, entry: 'step_main', constants: c0, layout: [redKinds] }),
      pipeline(device, { label: `${label}.reduce0.finish`, code, entry: 'step_finish', constants: c0, layout: [[], finKinds] }),
      pipeline(device, { label: `${label}.reduce1`, code, entry: 'main', constants: c1, layout: [redKinds] }),
      pipeline(device, { label: `${label}.reduce1.finish`, code, entry: 'finish', constants: c1, layout: [[], finKinds] }),
    ]);
  } catch (e) {
    for (const x of owned) x.destroy();
    throw e;
  }
  const [red0, fin0, red1, fin1] = pipes as [GPUComputePipeline, GPUComputePipeline, GPUComputePipeline, GPUComputePipeline];
  const finLayout = bindingLayout(device, finKinds);
  const emptyBind = device.createBindGroup({ label: `${label}.empty`, layout: bindingLayout(device, []), entries: [] });
  const redBind = bindGroup(device, `${label}.reduce`, bindingLayout(device, redKinds), [b.positions, b.velocities, b.gradient, b.energy, partials, b.params, b.weights, lengthScale]);
  const finish = {
    step: bindGroup(device, `${label}.reduce0.finish`, finLayout, [partials, out.step, rowsBuf]),
    afterKick: bindGroup(device, `${label}.reduce0b.finish`, finLayout, [partials, out.afterKick, rowsBuf]),
    stats: bindGroup(device, `${label}.reduce1.finish`, finLayout, [partials, out.stats, rowsBuf]),
  };
  let destroyed = false;
  return {
    ...out,
    statsBytes: stats.width * 4,
    encode(pass, target) {
      if (destroyed) throw new Error(`wgflow: ${label}.reduce used after destroy()`);
      const isStats = target === 'stats';
      pass.setPipeline(isStats ? red1 : red0);
      pass.setBindGroup(0, redBind);
      pass.dispatchWorkgroups(workgroups);
      pass.setPipeline(isStats ? fin1 : fin0);
      pass.setBindGroup(0, emptyBind);
      pass.setBindGroup(1, finish[target]);
      pass.dispatchWorkgroups(1);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const x of owned) x.destroy();
    },
  };
}
