/**
 * The flow's GPU-side constants and initial integrator state: `struct Params` (uniform) and
 * `struct State` (storage) of shaders/common.wgsl, packed through the layouts of
 * src/gpu/layout.ts from the resolved options.
 */
import { METHOD_CODES, PARAMS_FIELDS, STATE_FIELDS, packStruct, type ParamsName } from '../gpu/layout.js';
import { GAMMA_MODES, PARAMS_FLAGS } from '../kernels/integrate.js';
import type { ResolvedFlowOptions } from './options.js';

/** `State.last_energy` before the first step: above any energy, so the first step never restarts. */
const NO_ENERGY_YET = 3.4e38;

/** The damping fields of Params for a constant, a host table (function of the step) or a GPU schedule. */
function dampingFields(gamma: ResolvedFlowOptions['gamma']): Partial<Record<ParamsName, number>> {
  if (typeof gamma === 'function') return { gamma_mode: GAMMA_MODES.table, gamma: 0, gamma_floor: 0, gamma_t0: 1 };
  if (typeof gamma === 'object') return { gamma_mode: GAMMA_MODES.schedule, gamma: gamma.c, gamma_floor: gamma.floor ?? 0, gamma_t0: gamma.t0 ?? 1 };
  return { gamma_mode: GAMMA_MODES.constant, gamma, gamma_floor: 0, gamma_t0: 1 };
}

/**
 * The bytes of `struct Params` for a flow. `lengthStride` is the row stride of the length-scale
 * buffer of a term that gives one (undefined: none; the step sums then skip it), `lengthOffset`
 * the column of that row the step sums read.
 */
export function packParams(o: ResolvedFlowOptions, lengthStride: number | undefined, lengthOffset = 0): ArrayBuffer {
  const flags = (o.restart ? PARAMS_FLAGS.restart : 0)
    | (o.autoStep ? PARAMS_FLAGS.autoStep : 0)
    | (lengthStride !== undefined ? PARAMS_FLAGS.lengthScale : 0);
  return packStruct(PARAMS_FIELDS, {
    n: o.n, method: METHOD_CODES[o.method], table_base: 0,
    ...dampingFields(o.gamma),
    inv_n: 1 / o.n, h0: o.h0, h_max: o.hMax, h_min: o.hMin, auto_frac: o.autoFraction, auto_chatter: o.autoChatter,
    temperature: o.temperature,
    f_inc: o.fire.fInc, f_dec: o.fire.fDec, alpha_start: o.fire.alphaStart, f_alpha: o.fire.fAlpha, n_delay: o.fire.nDelay, fire_grace: o.fire.grace, fire_power: o.fire.power === 'centred' ? 1 : 0,
    seed_lo: o.seed[0], seed_hi: o.seed[1],
    flags, max_disp: o.maxDisplacement, length_stride: lengthStride ?? 0, length_offset: lengthOffset,
  });
}

/** The bytes of `struct State` before the first step. */
export function initialState(o: ResolvedFlowOptions): ArrayBuffer {
  return packStruct(STATE_FIELDS, { step: 0, h: o.h0, alpha: o.fire.alphaStart, gamma: 0, last_energy: NO_ENERGY_YET });
}
