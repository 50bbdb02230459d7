/**
 * The options of createFlow in one place: their types, every default ({@link FLOW_DEFAULTS},
 * which README.md's options table lists; test/flow-options.test.ts checks the two agree), and
 * their validation, which runs before any GPU object exists (nothing half-built) and turns the
 * options into one resolved record ({@link ResolvedFlowOptions}).
 */
import { maxBindingBytes, WORKGROUP_SIZE } from '../gpu/resources.js';
import { statsLayout } from '../kernels/reduce.js';
import { deviceProfile } from '../gpu/device.js';
import { seedWords, type Seed } from '../math/random.js';
import type { EnergyTerm, KernelTerm } from '../energies/types.js';
import { generatePositions, type InitSpec } from '../init.js';

/** The flows of docs/math.md implemented by the integrator. */
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
  /**
   * Steps after a velocity reset during which P ≤ 0 resets nothing (n_pos is still zeroed, so
   * the step does not grow). Default 0: FIRE 2.0 as in docs/math.md. Not part of FIRE 2.0: on a
   * k-NN energy (entropy, KL) a reset from rest at the estimator's kinks makes the next P < 0
   * for any step size, and every later step then resets (docs/convergence.md, FIRE).
   */
  grace?: number;
  /**
   * The velocity in P = Σ f·v: 'half-step' (default, FIRE 2.0's semi-implicit Euler: the
   * velocity v(t − h/2) that moved the particles to x(t)) or 'centred' (v(t − h/2) + h f(t)/2,
   * the velocity at the time of f, as in the original FIRE's velocity Verlet). The half-step P
   * equals ΔK/h − (h/2)Σ|f|²: its bias −(h/2)Σ|f|² outweighs the descent where the force chatters.
   */
  power?: 'half-step' | 'centred';
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

/** A damping γ ≥ 0 as the integrator evaluates it: a constant, a function of the step (tabulated on the host per submission), or a GPU schedule. */
export type DampingValue = number | ((step: number) => number) | InverseDamping;

/**
 * The `gamma` option: a {@link DampingValue}, `'auto'` (critical damping of the slowest mode,
 * γ = 2√λ_min with λ_min = Σ_t w_t λ_t the energy's strong-convexity constant from the terms'
 * `lambdaMin`; an error when it cannot be derived) or `'paper'` (γ = 0.5, the seed paper's value).
 */
export type Damping = DampingValue | 'auto' | 'paper';

/** The seed paper's damping, `gamma: 'paper'`. */
export const PAPER_GAMMA = 0.5;

/**
 * How `h: 'auto'` computes the step (docs/math.md §8.9): `'curvature'` from the mean frequency
 * of the length-scale term's nearest-neighbour pairs, ω̄ = ⟨√(d·w)/l_i⟩ (a pair's stiffness is
 * d·w/l²), λ̂ = ω̄² (gradient h = f/λ̂; accelerated, steering and FIRE h = f/√(c λ̂)); `'displacement'` the earlier rule that bounds each particle's move by a
 * fraction of its nearest-neighbour distance (not for FIRE).
 */
export type AutoStepRule = 'curvature' | 'displacement';

/** Options of {@link createFlow}. Defaults: {@link FLOW_DEFAULTS}. */
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
   * Time step h > 0 (docs/math.md's convention: g carries the factor N, so h does not depend on N),
   * or 'auto': a global step computed on the GPU every step from the current state (see
   * `autoStep`; needs a term with a length scale: entropy or KL to samples; methods gradient,
   * accelerated, steering, and FIRE with the curvature rule, where it caps FIRE's own step).
   */
  h: number | 'auto';
  /**
   * The automatic step (h: 'auto'), docs/math.md §8.9. Rule 'curvature' (default): with l_i
   * the nearest-neighbour distance of the length-scale term (weight w), ω̄ = ⟨√(d·w)/l_i⟩ the
   * mean frequency of its pair modes (stiffness d·w/l²) and λ̂ = ω̄², gradient h = f/λ̂, accelerated, steering and FIRE
   * h = f/√(c λ̂) (c = 1 + γ s for steering, else 1); then clamped to [hMin, hMax]. The chatter
   * of the explicit step at the kinks of the k-NN energy biases the plateau, and f sets that
   * bias: docs/convergence.md. Rule 'displacement' (the earlier rule, studies/step-control.md):
   * gradient h = f / max_i(|g_i|/l_i); damped h = min( sqrt(f / (c max_i |g_i|/l_i)), f / max_i(|v_i|/l_i) ).
   * Fractions default per rule and method (FLOW_DEFAULTS.autoStep.fraction). `chatter` (curvature
   * rule, accelerated and steering only): a second bound h ≤ chatter·γ/λ̂ on the damped step, from
   * flow time 2/γ on (`stats().time`). The chatter heats the velocities to a kinetic temperature
   * ∝ h·λ̂/γ, which raises the plateau's variance; this bound keeps that bias the same at every N
   * (where the first bound, ∝ 1/√λ̂, lets it grow like √N). It is off before 2/γ because heat
   * from then decays at rate 2γ and no plateau is reached sooner, while λ̂ is largest at the
   * start, where the bound would cost the most steps. Default 0.4 (bias ≈ 0.01 per axis on the
   * Fokker–Planck flow); 0 turns it off.
   */
  autoStep?: { rule?: AutoStepRule; fraction?: number; chatter?: number; hMax?: number; hMin?: number };
  /**
   * Damping γ ≥ 0 of the accelerated and steering flows: a value, 'auto' (γ = 2√λ_min, critical
   * damping of the slowest mode; an error if the energy's terms do not give λ_min > 0) or
   * 'paper' (0.5). Default: 'auto' where it can be derived, else 'paper'.
   */
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

/**
 * Fractions of the curvature rule (docs/convergence.md): the damped flows' h·√λ̂ and the
 * gradient flow's h·λ̂, chosen so that the chatter bias of the per-axis variance of the
 * Fokker–Planck flow stays near 0.01 (measured at N = 10³ and 10⁴).
 */
const FRACTION_DAMPED = 0.027;
const FRACTION_GRADIENT = 0.015;
/**
 * The damped flows' chatter bound h ≤ b·γ/λ̂ (docs/convergence.md §2): the per-axis variance
 * excess of the Fokker–Planck plateau measured as ≈ 0.026·h·λ̂/γ (N = 10³ and 10⁴, fixed h),
 * so b = 0.4 puts it near 0.01 at every N.
 */
const CHATTER_DAMPED = 0.4;
/**
 * FIRE's fraction: where FIRE's power test fails at every step (the chatter of a k-NN energy),
 * each step is a gradient step of h²/2, so √(2·FRACTION_GRADIENT) makes it the gradient flow's
 * step; on a smooth energy it is a stable symplectic step (h·√λ ≈ 0.17).
 */
const FRACTION_FIRE = 0.17;

/** A default proportional to the time step: `perH · h`. */
export interface PerStep {
  readonly perH: number;
}

/**
 * Every default of {@link FlowOptions}, the single source the flow resolves options from and
 * README.md's options table lists. `velocities: 0` fills every component with 0;
 * `autoStep.fraction` is per method; `fire.hMax` and `fire.hMin` are multiples of h;
 * `reduction` depends on the adapter (CPU fallback adapters or GPUs).
 */
export const FLOW_DEFAULTS = {
  velocities: 0,
  energy: [],
  monitor: [],
  method: 'gradient',
  autoStep: {
    rule: 'curvature',
    fraction: {
      curvature: { gradient: FRACTION_GRADIENT, accelerated: FRACTION_DAMPED, steering: FRACTION_DAMPED, fire: FRACTION_FIRE },
      displacement: { gradient: 0.1, accelerated: 0.01, steering: 0.01 },
    },
    chatter: { curvature: { accelerated: CHATTER_DAMPED, steering: CHATTER_DAMPED } },
    hMax: 0.05,
    hMin: 1e-9,
  },
  gamma: ['auto', 'paper'],
  restart: false,
  temperature: 1,
  seed: 1,
  fire: { nDelay: 5, fInc: 1.1, fDec: 0.5, alphaStart: 0.1, fAlpha: 0.99, hMax: { perH: 10 }, hMin: { perH: 0.02 }, grace: 0, power: 'half-step' },
  maxDisplacement: 0,
  reduction: { fallback: 'serial', gpu: 'tree' },
  stepsPerSubmit: 64,
  label: 'wgflow.flow',
} as const satisfies { readonly [K in keyof FlowOptions]?: unknown };

/** The options without a default. */
export const FLOW_REQUIRED = ['dim', 'positions', 'h'] as const satisfies readonly (keyof FlowOptions)[];

/** Every option of {@link FlowOptions} has a default or is required, and nothing else is listed. */
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const optionsCovered: Exactly<keyof FlowOptions, keyof typeof FLOW_DEFAULTS | (typeof FLOW_REQUIRED)[number]> = true;
void optionsCovered;

/** Most energy and monitor terms of one flow (slots of the reductions). */
export const MAX_TERMS = 8;

const METHODS: readonly Method[] = ['gradient', 'accelerated', 'steering', 'langevin', 'fire'];
const AUTO_METHODS: Record<AutoStepRule, readonly Method[]> = { curvature: ['gradient', 'accelerated', 'steering', 'fire'], displacement: ['gradient', 'accelerated', 'steering'] };
const AUTO_RULES: readonly AutoStepRule[] = ['curvature', 'displacement'];

/** The strong-convexity constant of an energy, or why it cannot be given. */
export type StrongConvexity = { lambda: number } | { reason: string };

/**
 * λ_min of the energy Σ_t w_t F_t from its terms' `lambdaMin` (λ-convexity along Wasserstein
 * geodesics adds up with non-negative weights): `{ lambda }` when every term with a non-zero
 * weight reports one, its weight is ≥ 0 and the sum is > 0; otherwise `{ reason }`.
 *
 * @example strongConvexity([quadratic(), entropy()]); // { lambda: 2 }
 */
export function strongConvexity(terms: readonly EnergyTerm[]): StrongConvexity {
  if (!terms.length) return { reason: 'the energy is empty' };
  let lambda = 0;
  for (const t of terms) {
    if (t.weight === 0) continue;
    if (t.lambdaMin === undefined) return { reason: `term '${t.label}' reports no strong-convexity constant (lambdaMin)` };
    if (t.weight < 0 && t.lambdaMin !== 0) return { reason: `term '${t.label}' has a negative weight` };
    lambda += t.weight * t.lambdaMin;
  }
  if (!(lambda > 0)) return { reason: `the energy is not strongly convex (Σ w·λ_min = ${lambda})` };
  return { lambda };
}

/**
 * Critical damping of the slowest mode of an energy, γ = 2√λ_min ({@link strongConvexity}),
 * or why it cannot be derived.
 *
 * @example criticalDamping([quadratic(), entropy()]); // { gamma: 2.828…, lambda: 2 }
 */
export function criticalDamping(terms: readonly EnergyTerm[]): { gamma: number; lambda: number } | { reason: string } {
  const c = strongConvexity(terms);
  return 'lambda' in c ? { gamma: 2 * Math.sqrt(c.lambda), lambda: c.lambda } : c;
}

/** The damping of a flow from the `gamma` option (see {@link FlowOptions.gamma}). */
function resolveDamping(o: FlowOptions, terms: EnergyTerm[], method: Method): DampingValue {
  const g = o.gamma;
  if (g === 'paper') return PAPER_GAMMA;
  if (g !== undefined && g !== 'auto') return g;
  const c = criticalDamping(terms);
  if ('gamma' in c) return c.gamma;
  if (g === 'auto' && (method === 'accelerated' || method === 'steering')) {
    fail(`gamma: 'auto' (critical damping 2√λ_min) cannot be derived: ${c.reason}; set gamma to a number ` +
      `(2√λ for the energy's smallest curvature λ), or 'paper' (${PAPER_GAMMA})`);
  }
  return PAPER_GAMMA;
}

/** createFlow's options after validation, with every default applied. */
export interface ResolvedFlowOptions {
  dim: number;
  n: number;
  positions: Float32Array;
  /** Initial velocities, N·dim. */
  velocities: Float32Array;
  terms: EnergyTerm[];
  monitors: KernelTerm[];
  method: Method;
  /** The `h` option as given (for messages). */
  hOption: number | 'auto';
  /** h: 'auto' and its rule, or false for a fixed step. */
  autoStep: false | AutoStepRule;
  /** Initial (or fixed) step. */
  h0: number;
  /** Step bounds: the automatic step's, or FIRE's. */
  hMax: number;
  hMin: number;
  /** Automatic step: its fraction f (the rule's; see FlowOptions.autoStep). */
  autoFraction: number;
  /** Automatic step, curvature rule, damped flows: the chatter bound b of h ≤ b·γ/λ̂ (0: none). */
  autoChatter: number;
  gamma: DampingValue;
  temperature: number;
  seed: [number, number];
  fire: { nDelay: number; fInc: number; fDec: number; alphaStart: number; fAlpha: number; grace: number; power: 'half-step' | 'centred' };
  maxDisplacement: number;
  restart: boolean;
  reduction: 'tree' | 'serial';
  stepsPerSubmit: number;
  label: string;
}

function fail(msg: string): never {
  throw new Error(`wgflow: ${msg}`);
}

/** dim, terms, positions and velocities, and the storage limit (in the order messages are checked). */
function validateParticles(device: GPUDevice, o: FlowOptions) {
  if (!o || typeof o !== 'object') fail('createFlow needs an options object');
  const dim = o.dim;
  if (![1, 2, 3].includes(dim)) fail(`dim must be 1, 2 or 3 (got ${dim})`);
  const limit = maxBindingBytes(device);
  const terms = o.energy ?? [...FLOW_DEFAULTS.energy];
  if (!Array.isArray(terms)) fail('energy must be an array of terms');
  const monitors = o.monitor ?? [...FLOW_DEFAULTS.monitor];
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
  return { dim, x, n, terms, monitors, slots, checkLimit };
}

/** method, temperature, displacement cap, FIRE constants, h and the automatic step, damping. */
function validateIntegration(o: FlowOptions): Method {
  const method = o.method ?? FLOW_DEFAULTS.method;
  if (!METHODS.includes(method)) fail(`unknown method '${method}' (use 'gradient', 'accelerated', 'steering', 'langevin' or 'fire')`);
  if (o.temperature !== undefined && !(Number.isFinite(o.temperature) && o.temperature >= 0)) fail(`temperature must be finite and ≥ 0 (got ${o.temperature})`);
  if (o.maxDisplacement !== undefined && !(Number.isFinite(o.maxDisplacement) && o.maxDisplacement >= 0)) fail(`maxDisplacement must be finite and ≥ 0 (got ${o.maxDisplacement})`);
  const fo = o.fire ?? {};
  if (fo.power !== undefined && fo.power !== 'half-step' && fo.power !== 'centred') fail(`fire.power must be 'half-step' or 'centred' (got ${String(fo.power)})`);
  for (const [k, v] of Object.entries(fo)) if (k !== 'power' && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) fail(`fire.${k} must be a finite number ≥ 0 (got ${v})`);
  if (fo.fInc !== undefined && fo.fInc < 1) fail('fire.fInc must be ≥ 1');
  if (fo.fDec !== undefined && !(fo.fDec > 0 && fo.fDec <= 1)) fail('fire.fDec must be in (0, 1]');
  if (fo.alphaStart !== undefined && fo.alphaStart > 1) fail('fire.alphaStart must be in [0, 1]');
  if (fo.nDelay !== undefined && !Number.isInteger(fo.nDelay)) fail('fire.nDelay must be an integer');
  if (fo.grace !== undefined && !(Number.isInteger(fo.grace) && fo.grace <= 1e6)) fail(`fire.grace must be an integer in [0, 1e6] (got ${fo.grace})`);
  if (o.h === 'auto') {
    const a = o.autoStep ?? {};
    const rule = a.rule ?? FLOW_DEFAULTS.autoStep.rule;
    if (!AUTO_RULES.includes(rule)) fail(`autoStep.rule must be 'curvature' or 'displacement' (got ${String(rule)})`);
    if (!AUTO_METHODS[rule].includes(method)) {
      fail(rule === 'curvature' ? `h: 'auto' is for the gradient, accelerated, steering and FIRE flows (Langevin needs a fixed h)`
        : `h: 'auto' with rule 'displacement' is for the gradient, accelerated and steering flows (FIRE: use rule 'curvature'; Langevin needs a fixed h)`);
    }
    for (const [k, v] of Object.entries(a)) {
      if (k === 'rule') continue;
      if (k === 'chatter') {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`autoStep.chatter must be a finite number ≥ 0 (0: no chatter bound; got ${v})`);
        if (v > 0 && (rule !== 'curvature' || (method !== 'accelerated' && method !== 'steering'))) {
          fail(`autoStep.chatter bounds the damped step of the curvature rule (methods 'accelerated' and 'steering'); remove it for method '${method}' with rule '${rule}'`);
        }
      } else if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`autoStep.${k} must be a finite number > 0 (got ${v})`);
    }
    if (a.hMin !== undefined && a.hMax !== undefined && a.hMin > a.hMax) fail(`autoStep.hMin (${a.hMin}) exceeds autoStep.hMax (${a.hMax})`);
  } else if (typeof o.h !== 'number' || !Number.isFinite(o.h) || o.h <= 0) fail(`h must be a finite number > 0 or 'auto' (got ${o.h})`);
  const g = o.gamma;
  if (g === undefined || g === 'auto' || g === 'paper') {
    // resolved with the energy (resolveDamping)
  } else if (typeof g === 'string') {
    fail(`gamma must be a number, 'auto', 'paper', a function of the step or a schedule object (got '${g}')`);
  } else if (typeof g === 'number') {
    if (!Number.isFinite(g) || g < 0) fail(`gamma must be finite and ≥ 0 (got ${g})`);
  } else if (typeof g === 'object') {
    if (g.schedule !== 'inverse' || !(g.c >= 0) || !Number.isFinite(g.c) || !((g.t0 ?? 1) > 0) || !((g.floor ?? 0) >= 0)) fail('gamma schedule must be { schedule: "inverse", c ≥ 0, t0 > 0, floor ≥ 0 }');
  } else if (typeof g !== 'function') fail('gamma must be a number, a function of the step or a schedule object');
  return method;
}

/** The step size and its bounds: the automatic step's, or (fixed h) FIRE's. */
function resolveStep(o: FlowOptions, method: Method): Pick<ResolvedFlowOptions, 'autoStep' | 'h0' | 'hMax' | 'hMin' | 'autoFraction' | 'autoChatter'> {
  const A = FLOW_DEFAULTS.autoStep, F = FLOW_DEFAULTS.fire;
  if (o.h !== 'auto') {
    const h0 = o.h as number;
    return { autoStep: false, h0, hMax: o.fire?.hMax ?? F.hMax.perH * h0, hMin: o.fire?.hMin ?? F.hMin.perH * h0, autoFraction: 0, autoChatter: 0 };
  }
  const rule = o.autoStep?.rule ?? A.rule;
  const fractions: Partial<Record<Method, number>> = A.fraction[rule];
  // FIRE: the automatic step replaces FIRE's own step control (its mixing and restarts stay).
  const hMax = o.autoStep?.hMax ?? A.hMax;
  return {
    autoStep: rule,
    h0: hMax,
    hMax,
    hMin: o.autoStep?.hMin ?? A.hMin,
    autoFraction: o.autoStep?.fraction ?? fractions[method]!,
    autoChatter: o.autoStep?.chatter ?? (rule === 'curvature' ? (A.chatter.curvature as Partial<Record<Method, number>>)[method] ?? 0 : 0),
  };
}

/**
 * Validates createFlow's options and applies every default of {@link FLOW_DEFAULTS}. Throws
 * `Error('wgflow: ...')` naming the first bad option; creates no GPU object.
 *
 * @example
 * const o = resolveFlowOptions(device, { dim: 2, positions, h: 0.05 }); // o.method === 'gradient'
 */
export function resolveFlowOptions(device: GPUDevice, o: FlowOptions): ResolvedFlowOptions {
  const { dim, x, n, terms, monitors, slots, checkLimit } = validateParticles(device, o);
  const method = validateIntegration(o);
  if (slots > MAX_TERMS) fail(`at most ${MAX_TERMS} energy and monitor terms (got ${slots})`);
  for (const t of terms) if (!t || (t.kind !== 'potential' && t.kind !== 'kernel')) fail('energy terms must come from wgflow term factories (quadratic(), entropy(), ...)');
  if (o.reduction !== undefined && o.reduction !== 'tree' && o.reduction !== 'serial') fail(`reduction must be 'tree' or 'serial' (got ${o.reduction})`);
  const spsOk = o.stepsPerSubmit === undefined || (Number.isInteger(o.stepsPerSubmit) && o.stepsPerSubmit >= 1);
  if (!spsOk) fail('stepsPerSubmit must be a positive integer');
  checkLimit(n);
  const D = FLOW_DEFAULTS, fire = o.fire ?? {};
  return {
    dim, n, positions: x, terms, monitors, method,
    velocities: o.velocities ?? new Float32Array(n * dim).fill(D.velocities),
    hOption: o.h,
    ...resolveStep(o, method),
    gamma: resolveDamping(o, terms, method),
    temperature: o.temperature ?? D.temperature,
    seed: seedWords(o.seed ?? D.seed),
    fire: {
      nDelay: fire.nDelay ?? D.fire.nDelay, fInc: fire.fInc ?? D.fire.fInc, fDec: fire.fDec ?? D.fire.fDec,
      alphaStart: fire.alphaStart ?? D.fire.alphaStart, fAlpha: fire.fAlpha ?? D.fire.fAlpha,
      grace: fire.grace ?? D.fire.grace, power: fire.power ?? D.fire.power,
    },
    maxDisplacement: o.maxDisplacement ?? D.maxDisplacement,
    restart: Boolean(o.restart ?? D.restart),
    reduction: chooseReduction(device, o.reduction, n, dim, terms.length + monitors.length),
    stepsPerSubmit: o.stepsPerSubmit ?? D.stepsPerSubmit,
    label: o.label ?? D.label,
  };
}

/**
 * The reduction of a flow: the option, else 'serial' on CPU fallback adapters and 'tree' on GPUs.
 * A serial stage-1 thread folds ceil(n / 512) particles of at most 1 + K + T + 4·dim loop
 * iterations each; past the device's loop cap (llvmpipe stops an invocation's loops, silently,
 * after 65535 iterations in total) it would drop particles, so the trees are used there and an
 * explicit 'serial' throws.
 */
function chooseReduction(device: GPUDevice, asked: 'tree' | 'serial' | undefined, n: number, dim: number, slots: number): 'tree' | 'serial' {
  const profile = deviceProfile(device);
  const serialFits = Math.ceil(n / (2 * WORKGROUP_SIZE)) * (1 + statsLayout(slots).width + slots + 4 * dim) <= profile.maxLoopIterations;
  if (asked === 'serial' && !serialFits) {
    fail(`reduction 'serial' cannot fold n = ${n} particles within this device's ${profile.maxLoopIterations} loop iterations per invocation (llvmpipe); use 'tree'`);
  }
  return asked ?? (profile.fallback && serialFits ? FLOW_DEFAULTS.reduction.fallback : FLOW_DEFAULTS.reduction.gpu);
}
