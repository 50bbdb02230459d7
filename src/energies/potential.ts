/**
 * Potential-energy terms (docs/math.md §2): F = ∫ U ρ ≈ (1/N) Σ_i U(x_i), with Wasserstein gradient
 * g_i = ∇U(x_i). Each term brings WGSL for U and ∇U (spliced into one generated kernel), its
 * parameters (in a GPU buffer, so weights can change without recompiling) and a float64 twin.
 */
import type { PotentialTerm, TermOptions } from './types.js';

function vec(x: Float64Array, c: number): number {
  return c < x.length ? x[c]! : 0;
}

/** Options of {@link quadratic}. */
export interface QuadraticOptions extends TermOptions {
  /** Centre c (length ≤ 3; missing components are 0). Default the origin. */
  center?: number[];
  /** Scale a in U(x) = a |x − c|². Default 1. */
  scale?: number;
}

/**
 * Quadratic potential `U(x) = scale · |x − c|²`, `∇U = 2 · scale · (x − c)`.
 * Its gradient flow contracts every particle towards c by (1 − 2·scale·h) per step.
 *
 * @example
 * const flow = await createFlow(device, { dim: 3, positions, energy: [quadratic({ scale: 1 })], method: 'gradient', h: 0.05 });
 */
export function quadratic(options: QuadraticOptions = {}): PotentialTerm {
  const c = options.center ?? [0, 0, 0];
  if (c.length > 3 || c.some((v) => !Number.isFinite(v))) throw new Error('wgflow: quadratic center must be ≤ 3 finite numbers');
  const scale = options.scale ?? 1;
  if (!Number.isFinite(scale)) throw new Error('wgflow: quadratic scale must be finite');
  const center = [c[0] ?? 0, c[1] ?? 0, c[2] ?? 0];
  return {
    kind: 'potential',
    label: options.label ?? 'quadratic',
    weight: checkWeight(options.weight),
    params: [scale, ...center],
    lambdaMin: 2 * scale,
    wgsl: (id) => `
fn U_${id}(x: vec3f) -> f32 { let z = x - vec3f(prm_${id}(1u), prm_${id}(2u), prm_${id}(3u)); return prm_${id}(0u) * dot(z, z); }
fn dU_${id}(x: vec3f) -> vec3f { let z = x - vec3f(prm_${id}(1u), prm_${id}(2u), prm_${id}(3u)); return 2.0 * prm_${id}(0u) * z; }`,
    value(x) {
      let s = 0;
      for (let k = 0; k < x.length; k++) s += (x[k]! - center[k]!) ** 2;
      return scale * s;
    },
    gradient(x) {
      return x.map((v, k) => 2 * scale * (v - center[k]!));
    },
  };
}

/** Options of {@link doubleWell}. */
export interface DoubleWellOptions extends TermOptions {
  /** Wells at x₀ = ±a. Default 1. */
  a?: number;
  /** Barrier height at x₀ = 0. Default 1. */
  depth?: number;
  /** Stiffness k of the confining quadratic k·Σ_{j≥1} x_j² in the other axes. Default 1. */
  stiffness?: number;
}

/**
 * Double well along the first axis, confined in the others:
 * `U(x) = depth · (x₀² − a²)² / a⁴ + stiffness · Σ_{j≥1} x_j²`; minima at x₀ = ±a, barrier `depth` at 0.
 *
 * @example
 * energy: [doubleWell({ a: 1, depth: 2 })]
 */
export function doubleWell(options: DoubleWellOptions = {}): PotentialTerm {
  const a = options.a ?? 1;
  const depth = options.depth ?? 1;
  const k = options.stiffness ?? 1;
  if (!(a > 0) || !Number.isFinite(a) || !Number.isFinite(depth) || !Number.isFinite(k)) throw new Error('wgflow: doubleWell needs finite a > 0, depth and stiffness');
  return {
    kind: 'potential',
    label: options.label ?? 'doubleWell',
    weight: checkWeight(options.weight),
    params: [a * a, depth / a ** 4, k],
    // ∇²U = diag(4 (depth/a⁴)(3x₀² − a²), 2k, 2k): smallest at x₀ = 0 (not convex for depth > 0).
    lambdaMin: Math.min(-4 * depth / (a * a), 2 * k),
    wgsl: (id) => `
fn U_${id}(x: vec3f) -> f32 { let q = x.x * x.x - prm_${id}(0u); return prm_${id}(1u) * q * q + prm_${id}(2u) * (x.y * x.y + x.z * x.z); }
fn dU_${id}(x: vec3f) -> vec3f { let q = x.x * x.x - prm_${id}(0u); return vec3f(4.0 * prm_${id}(1u) * q * x.x, 2.0 * prm_${id}(2u) * x.y, 2.0 * prm_${id}(2u) * x.z); }`,
    value(x) {
      const q = x[0]! * x[0]! - a * a;
      return (depth / a ** 4) * q * q + k * (vec(x, 1) ** 2 + vec(x, 2) ** 2);
    },
    gradient(x) {
      const q = x[0]! * x[0]! - a * a;
      const g = new Float64Array(x.length);
      g[0] = (4 * depth / a ** 4) * q * x[0]!;
      for (let j = 1; j < x.length; j++) g[j] = 2 * k * x[j]!;
      return g;
    },
  };
}

/** One isotropic component of {@link gaussianMixture}. */
export interface MixtureComponent {
  /** Mixture weight (> 0; the weights are normalised). */
  weight: number;
  /** Mean (length = dim, ≤ 3). */
  mean: number[];
  /** Standard deviation σ > 0 (isotropic). */
  sigma: number;
}

/** Options of {@link gaussianMixture}. */
export interface GaussianMixtureOptions extends TermOptions {
  components: MixtureComponent[];
  /** Spatial dimension, needed for the normalising constant. Default: the length of the first mean. */
  dim?: number;
}

/**
 * Negative log-density of an isotropic Gaussian mixture,
 * `U(x) = −log Σ_k w_k (2πσ_k²)^{−d/2} exp(−|x − μ_k|² / (2σ_k²))`, evaluated with a
 * log-sum-exp (stable far from every mean); `∇U = Σ_k r_k(x) (x − μ_k) / σ_k²` with the
 * responsibilities r_k. With an entropy term, the Fokker–Planck flow samples the mixture.
 *
 * @example
 * gaussianMixture({ components: [{ weight: 1, mean: [-1, 0], sigma: 0.3 }, { weight: 1, mean: [1, 0], sigma: 0.3 }] })
 */
export function gaussianMixture(options: GaussianMixtureOptions): PotentialTerm {
  const comps = options.components;
  if (!comps?.length) throw new Error('wgflow: gaussianMixture needs at least one component');
  const d = options.dim ?? comps[0]!.mean.length;
  if (![1, 2, 3].includes(d)) throw new Error('wgflow: gaussianMixture dim must be 1, 2 or 3');
  const wsum = comps.reduce((s, c) => s + c.weight, 0);
  for (const c of comps) {
    if (!(c.weight > 0) || !(c.sigma > 0) || c.mean.length !== d || !c.mean.every(Number.isFinite) || !Number.isFinite(c.sigma)) {
      throw new Error(`wgflow: gaussianMixture components need weight > 0, sigma > 0 and a finite mean of length ${d}`);
    }
  }
  // Per component: log(w_k) - (d/2) log(2π σ²), 1/σ², μ (3): 5 floats.
  const logc = comps.map((c) => Math.log(c.weight / wsum) - (d / 2) * Math.log(2 * Math.PI * c.sigma * c.sigma));
  const params: number[] = [];
  comps.forEach((c, k) => params.push(logc[k]!, 1 / (c.sigma * c.sigma), c.mean[0] ?? 0, c.mean[1] ?? 0, c.mean[2] ?? 0));
  const K = comps.length;
  const logTerms = (x: Float64Array) => comps.map((c, k) => {
    let r2 = 0;
    for (let j = 0; j < d; j++) r2 += (vec(x, j) - c.mean[j]!) ** 2;
    return logc[k]! - r2 / (2 * c.sigma * c.sigma);
  });
  return {
    kind: 'potential',
    label: options.label ?? 'gaussianMixture',
    weight: checkWeight(options.weight),
    params,
    // One component: ∇²U = I/σ². Several: not convex in general (unknown).
    ...(K === 1 ? { lambdaMin: 1 / (comps[0]!.sigma * comps[0]!.sigma) } : {}),
    wgsl: (id) => `
fn lt_${id}(x: vec3f, k: u32) -> f32 {
  let b = 5u * k; let z = x - vec3f(prm_${id}(b + 2u), prm_${id}(b + 3u), prm_${id}(b + 4u));
  return prm_${id}(b) - 0.5 * prm_${id}(b + 1u) * dot(z, z);
}
fn lmax_${id}(x: vec3f) -> f32 { var m = -3.0e38; for (var k = 0u; k < ${K}u; k++) { m = max(m, lt_${id}(x, k)); } return m; }
fn U_${id}(x: vec3f) -> f32 {
  let m = lmax_${id}(x); var s = 0.0;
  for (var k = 0u; k < ${K}u; k++) { s += exp(lt_${id}(x, k) - m); }
  return -(m + log(s));
}
fn dU_${id}(x: vec3f) -> vec3f {
  let m = lmax_${id}(x); var s = 0.0; var g = vec3f(0.0);
  for (var k = 0u; k < ${K}u; k++) {
    let b = 5u * k; let r = exp(lt_${id}(x, k) - m); s += r;
    g += r * prm_${id}(b + 1u) * (x - vec3f(prm_${id}(b + 2u), prm_${id}(b + 3u), prm_${id}(b + 4u)));
  }
  return g / s;
}`,
    value(x) {
      const l = logTerms(x);
      const m = Math.max(...l);
      return -(m + Math.log(l.reduce((s, v) => s + Math.exp(v - m), 0)));
    },
    gradient(x) {
      const l = logTerms(x);
      const m = Math.max(...l);
      const r = l.map((v) => Math.exp(v - m));
      const s = r.reduce((a, b) => a + b, 0);
      const g = new Float64Array(x.length);
      comps.forEach((c, k) => {
        for (let j = 0; j < x.length; j++) g[j]! += (r[k]! / s) * (x[j]! - c.mean[j]!) / (c.sigma * c.sigma);
      });
      return g;
    },
  };
}

/** Options of {@link customPotential}. */
export interface CustomPotentialOptions extends TermOptions {
  /**
   * WGSL defining `fn potential(x: vec3f) -> f32` and `fn potential_grad(x: vec3f) -> vec3f`.
   * x has zeros in the components ≥ dim; gradient components ≥ dim are ignored. Parameters are
   * read with `param(j)` (f32). Helper functions may be defined too; their names are
   * suffixed per term, so use only identifiers that do not clash with WGSL built-ins.
   */
  wgsl: string;
  /** Values returned by `param(j)`. */
  params?: number[];
  /** Float64 twin of U (for references and tests). Optional. */
  value?: (x: Float64Array) => number;
  /** Float64 twin of ∇U. Optional. */
  gradient?: (x: Float64Array) => Float64Array;
  /** Strong-convexity constant of U (largest λ with ∇²U ⪰ λ I), if known; used by `gamma: 'auto'`. */
  lambdaMin?: number;
}

/**
 * A user-supplied potential in WGSL. A compile error throws an Error quoting the message and
 * the line number within the user's code.
 *
 * @example
 * customPotential({
 *   wgsl: `fn potential(x: vec3f) -> f32 { return param(0u) * dot(x, x) * dot(x, x); }
 *          fn potential_grad(x: vec3f) -> vec3f { return 4.0 * param(0u) * dot(x, x) * x; }`,
 *   params: [0.25],
 *   value: (x) => 0.25 * (x[0]**2 + x[1]**2) ** 2,
 * })
 */
export function customPotential(options: CustomPotentialOptions): PotentialTerm {
  if (typeof options.wgsl !== 'string' || !/fn\s+potential\s*\(/.test(options.wgsl) || !/fn\s+potential_grad\s*\(/.test(options.wgsl)) {
    throw new Error('wgflow: customPotential wgsl must define fn potential(x: vec3f) -> f32 and fn potential_grad(x: vec3f) -> vec3f');
  }
  const params = options.params ?? [];
  if (!params.every(Number.isFinite)) throw new Error('wgflow: customPotential params must be finite');
  if (options.lambdaMin !== undefined && !Number.isFinite(options.lambdaMin)) throw new Error(`wgflow: customPotential lambdaMin must be finite (got ${options.lambdaMin})`);
  // Suffix every function the user defines, and param(), with the term id.
  const fnNames = [...options.wgsl.matchAll(/\bfn\s+([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
  const noTwin = () => {
    throw new Error('wgflow: this customPotential has no float64 twin (pass value/gradient)');
  };
  return {
    kind: 'potential',
    label: options.label ?? 'custom',
    weight: checkWeight(options.weight),
    params: params.length ? params : [0],
    userCode: true,
    ...(options.lambdaMin !== undefined ? { lambdaMin: options.lambdaMin } : {}),
    wgsl: (id) => {
      let code = options.wgsl;
      for (const name of [...fnNames, 'param']) code = code.replace(new RegExp(`\\b${name}\\s*\\(`, 'g'), `${name}_${id}(`);
      return `fn param_${id}(j: u32) -> f32 { return prm_${id}(j); }\n${code}\nfn U_${id}(x: vec3f) -> f32 { return potential_${id}(x); }\nfn dU_${id}(x: vec3f) -> vec3f { return potential_grad_${id}(x); }`;
    },
    value: options.value ?? noTwin,
    gradient: options.gradient ?? noTwin,
  };
}

/** Checks the common `weight` option (finite); default 1. */
export function checkWeight(w: number | undefined): number {
  const v = w ?? 1;
  if (!Number.isFinite(v)) throw new Error(`wgflow: term weight must be finite (got ${w})`);
  return v;
}
