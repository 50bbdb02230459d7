/**
 * `stats()` and `diagnostics()` of a flow, decoded from what the GPU wrote: the stats sums of
 * src/kernels/reduce.ts (by their named columns), the State struct and the first particle's
 * position (the shift of the moments).
 */
import { momentColumn, STATS_COLUMNS } from '../kernels/reduce.js';
import type { StateName } from '../gpu/layout.js';

/** Diagnostics (docs/math.md), computed by GPU reductions at the current positions. */
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
  /** Flow time: the sum of the steps h taken so far (accumulated in f32 on the GPU). */
  time: number;
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

/** What {@link Flow.diagnostics} reports. */
export interface FlowDiagnostics {
  /** Steps taken (State.step on the GPU). */
  step: number;
  /** The first step that produced a non-finite position or velocity, or null if none did. */
  nonFiniteStep: number | null;
  /** Each kernel term of the energy by label: its kernel's diagnostics ({} if it reports none). */
  terms: Record<string, Record<string, number>>;
  /** Each monitor by label: its kernel's diagnostics ({} if it reports none). */
  monitors: Record<string, Record<string, number>>;
}

/** A term's value from its slot of the stats sums: weight · (mean density + constant). */
export interface SlotValue {
  label: string;
  weight: number;
  /** The float64 constant of the value (0 for potential terms). */
  constant: number;
}

/** What {@link decodeStats} reads. */
export interface StatsInput {
  n: number;
  dim: number;
  /** The stats sums (statsLayout(slots).width f32). */
  sums: Float32Array;
  /** The State struct, unpacked. */
  state: Record<StateName, number>;
  /** Position of particle 0 (the shift c of the moment columns). */
  shift: Float32Array;
  /** The energy terms by slot, then the monitors. */
  terms: SlotValue[];
  monitors: SlotValue[];
}

/**
 * FlowStats from the stats sums. Throws, naming them, when terms evaluate to NaN (a custom
 * potential returning NaN, or positions outside a term's domain): no silent NaN.
 */
export function decodeStats(s: StatsInput): FlowStats {
  const { n, dim, sums: r, state: st } = s;
  const value = (t: SlotValue, slot: number) => t.weight * (r[STATS_COLUMNS.energy + slot]! / n + t.constant);
  const termsOut: Record<string, number> = {};
  let total = 0;
  s.terms.forEach((t, slot) => {
    const v = value(t, slot);
    termsOut[t.label] = v;
    total += v;
  });
  const monitorsOut: Record<string, number> = {};
  s.monitors.forEach((t, j) => {
    monitorsOut[t.label] = value(t, s.terms.length + j);
  });
  const bad = Object.entries({ ...termsOut, ...monitorsOut }).filter(([, v]) => Number.isNaN(v));
  if (bad.length) {
    throw new Error(`wgflow: stats at step ${st.step}: the energy term${bad.length > 1 ? 's' : ''} ${bad.map(([k]) => `'${k}'`).join(', ')} evaluated to NaN ` +
      '(a custom potential returning NaN, or positions outside the range where the term is defined)');
  }
  const m = Array.from({ length: dim }, (_, c) => r[STATS_COLUMNS.mean + c]! / n);
  const cov: number[] = [];
  for (let a = 0; a < dim; a++) for (let b = 0; b < dim; b++) cov.push(r[momentColumn(a, b)]! / n - m[a]! * m[b]!);
  return {
    step: st.step, energy: total, terms: termsOut, monitors: monitorsOut,
    kinetic: 0.5 * r[STATS_COLUMNS.vv]! / n, residual: r[STATS_COLUMNS.gg]! / n,
    mean: m.map((v, c) => v + s.shift[c]!), covariance: cov,
    h: st.h, time: st.time, gamma: st.gamma, s: st.s, alpha: st.alpha, power: st.power, restarts: st.restarts,
  };
}
