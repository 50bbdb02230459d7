/**
 * The flow's integrator (shaders/integrate.wgsl): one time step of the chosen method from the
 * gradient G that the energy terms wrote, with every adaptive decision on the GPU.
 *
 * One step records, in order: the step sums (when the method needs them: steering, FIRE,
 * adaptive restart, the automatic step), the automatic step (FIRE: inside its decision), the
 * update (FIRE: decide, kick, the sums after the kick, move), then `advance`, which moves the
 * State on by one step.
 */
import { commonWgsl, integrateWgsl, randomWgsl, reduceWgsl } from '../shaders.gen.js';
import { dispatchFor, WORKGROUP_SIZE } from '../gpu/resources.js';
import { bindGroup, bindingLayout, pipeline, type BindingKind } from '../gpu/pipelines.js';
import { composeWgsl, wgslLibrary } from '../gpu/wgsl.js';
import { METHOD_CODES } from '../gpu/layout.js';
import { stepColumnMask, type FlowReduce, type STEP_COLUMNS } from './reduce.js';

/**
 * Bits of `Params.flags`. Mirrored by the `FLAG_*` constants of shaders/integrate.wgsl
 * (checked by test/flow-kernels.test.ts).
 */
export const PARAMS_FLAGS = {
  /** Adaptive restart of the accelerated and steering flows. */
  restart: 1,
  /** Automatic step (h: 'auto'). */
  autoStep: 2,
  /** A term provides a per-particle length scale (read by the step sums). */
  lengthScale: 4,
} as const;

/** Values of `Params.gamma_mode`. Mirrored by the `GAMMA_*` constants of shaders/integrate.wgsl. */
export const GAMMA_MODES = {
  /** `Params.gamma`. */
  constant: 0,
  /** A host-written table, one value per step from `Params.table_base`. */
  table: 1,
  /** `max(gamma_floor, gamma / (step + gamma_t0))` on the GPU. */
  schedule: 2,
} as const;

/**
 * Rules of the automatic step (the `AUTO_RULE` override). Mirrored by the `AUTO_*` constants of
 * shaders/integrate.wgsl.
 */
export const AUTO_RULES = {
  /** Moves bounded by a fraction of the nearest-neighbour distance. */
  displacement: 0,
  /** From the mean frequency of the length-scale term's pair modes. */
  curvature: 1,
} as const;

/**
 * The damped flows' chatter bound (`autoStep.chatter`) acts from flow time CHATTER_ONSET/γ on.
 * Mirrored by `CHATTER_ONSET` of shaders/integrate.wgsl.
 */
export const CHATTER_ONSET = 2;

/** Value of the non-finite flag (the first word of the flags buffer) while every step stayed finite. */
export const ALL_FINITE = 0xffffffff;

/** A method of {@link METHOD_CODES}. */
export type MethodName = keyof typeof METHOD_CODES;

/** Options of {@link createIntegrator}. */
export interface IntegratorOptions {
  method: MethodName;
  n: number;
  dim: number;
  /** h: 'auto' and its rule (`auto_step` runs before each update; FIRE caps its step in `fire_decide`), or false. */
  autoStep: false | keyof typeof AUTO_RULES;
  /** Adaptive restart (accelerated, steering). */
  restart: boolean;
  /** The flow's reductions: the step sums are bound, and recorded when the method needs them. */
  reduce: FlowReduce;
  /** The flow's buffers (never destroyed here). */
  buffers: {
    positions: GPUBuffer;
    velocities: GPUBuffer;
    gradient: GPUBuffer;
    /** `struct State`, read and written by the GPU. */
    state: GPUBuffer;
    /** The Params uniform. */
    params: GPUBuffer;
    /** Damping table (GAMMA_MODES.table). */
    gammaTable: GPUBuffer;
    /** 4 u32: [0] the first step with a non-finite position or velocity ({@link ALL_FINITE}: none). */
    flags: GPUBuffer;
  };
  /** Label prefix. */
  label: string;
}

/** The integrator of a flow; see {@link createIntegrator}. */
export interface Integrator {
  /** True when a step records the step sums before its update. */
  readonly usesStepSums: boolean;
  /** Records one whole step after the force (sums, auto step, update, advance). Never submits. */
  encode(pass: GPUComputePassEncoder): void;
  /** Marks the integrator unusable (it owns no buffer). Idempotent. */
  destroy(): void;
}

/** Whether a method reads the step sums before its update. */
function needsStepSums(o: Pick<IntegratorOptions, 'method' | 'autoStep' | 'restart'>): boolean {
  return stepColumnsFor(o) !== 0;
}

/**
 * The step-sum columns a method reads (a bit mask for the reduction's `stepColumns`), so that
 * the in-loop reduction computes nothing else: steering's ratio Σ|v|²/Σ|g|², FIRE's power
 * Σ g·v with Σ|v|² and Σ|g|² (its mixing, after the kick), adaptive restart's energy, and the
 * automatic step's frequency (curvature rule) or max |g_i|/l_i and max |v_i|/l_i
 * (displacement rule). 0 when the method reads none.
 *
 * @example stepColumnsFor({ method: 'steering', autoStep: false, restart: false }); // vv | gg
 */
export function stepColumnsFor(o: Pick<IntegratorOptions, 'method' | 'autoStep' | 'restart'>): number {
  const cols: (keyof typeof STEP_COLUMNS)[] = [];
  if (o.method === 'steering') cols.push('vv', 'gg');
  if (o.method === 'fire') cols.push('vv', 'gg', 'gv');
  if (o.restart && (o.method === 'accelerated' || o.method === 'steering')) cols.push('energy');
  if (o.autoStep === 'curvature' || (o.autoStep && o.method === 'fire')) cols.push('frequency');
  else if (o.autoStep === 'displacement') cols.push('maxGOverL', 'maxVOverL');
  return stepColumnMask(cols);
}

/**
 * Creates the integrator of one method: its pipelines (one module, several entry points, one
 * shared bind group) and bind group, built once.
 *
 * @example
 * const integrator = await createIntegrator(device, { method: 'steering', n, dim: 2, autoStep: false, restart: false, reduce, buffers, label: 'wgflow.flow' });
 * // each step, after the potential and kernel terms wrote G:
 * integrator.encode(pass);
 */
export async function createIntegrator(device: GPUDevice, o: IntegratorOptions): Promise<Integrator> {
  const { label, buffers: b } = o;
  const code = composeWgsl(commonWgsl, randomWgsl, wgslLibrary(reduceWgsl), integrateWgsl);
  const kinds: BindingKind[] = ['storage', 'storage', 'read', 'read', 'storage', 'uniform', 'read', 'storage', 'read'];
  const constants = { D: o.dim, WG: WORKGROUP_SIZE, METHOD: METHOD_CODES[o.method], AUTO_RULE: AUTO_RULES[o.autoStep || 'curvature'] };
  const make = (name: string, entry: string) => pipeline(device, { label: `${label}.${name}`, code, entry, constants, layout: [kinds] });
  const fire = o.method === 'fire';
  const [update, advance, decide, kick, move, auto] = await Promise.all([
    fire ? undefined : make('integrate', 'main'),
    make('advance', 'advance'),
    fire ? make('fireDecide', 'fire_decide') : undefined,
    fire ? make('fireKick', 'fire_kick') : undefined,
    fire ? make('fireMove', 'fire_move') : undefined,
    o.autoStep && !fire ? make('autoStep', 'auto_step') : undefined,
  ]);
  const bind = bindGroup(device, `${label}.integrate`, bindingLayout(device, kinds), [
    b.positions, b.velocities, b.gradient, o.reduce.step, b.state, b.params, b.gammaTable, b.flags, o.reduce.afterKick,
  ]);
  const [wx, wy] = dispatchFor(o.n, WORKGROUP_SIZE);
  const usesStepSums = needsStepSums(o);
  const one = (pass: GPUComputePassEncoder, p: GPUComputePipeline) => {
    pass.setPipeline(p);
    pass.dispatchWorkgroups(1);
  };
  const all = (pass: GPUComputePassEncoder, p: GPUComputePipeline) => {
    pass.setPipeline(p);
    pass.dispatchWorkgroups(wx, wy);
  };
  let destroyed = false;
  return {
    usesStepSums,
    encode(pass) {
      if (destroyed) throw new Error(`wgflow: ${label}.integrate used after destroy()`);
      if (usesStepSums) o.reduce.encode(pass, 'step');
      pass.setBindGroup(0, bind);
      if (auto) one(pass, auto);
      if (decide && kick && move) {
        one(pass, decide);
        all(pass, kick);
        o.reduce.encode(pass, 'afterKick');
        pass.setBindGroup(0, bind);
        all(pass, move);
      } else {
        all(pass, update!);
      }
      one(pass, advance);
    },
    destroy() {
      destroyed = true;
    },
  };
}
