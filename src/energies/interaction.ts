/**
 * The interaction term of docs/math.md §3:
 *
 *     F = ½ ∫∫ W(x − y) ρ(x) ρ(y) ≈ 1/(2N²) Σ_{i≠j} W(x_i − x_j),
 *     g_i = N ∂F/∂x_i = (1/N) Σ_{j≠i} ∇W(x_i − x_j)        (W even),
 *
 * with per-particle energy density e_i = 1/(2N) Σ_{j≠i} W(x_i − x_j), so F = (1/N) Σ_i e_i.
 * All pairs on the GPU, tiled through workgroup memory (shaders/interaction.wgsl), O(N²) time
 * and O(N) memory; float64 twin {@link interactionReference} (brute-force pair sums with the
 * float64 pair kernels {@link powerKernel64}, {@link gaussianKernel64}).
 */
import { commonWgsl, interactionWgsl } from '../shaders.gen.js';
import { WORKGROUP_SIZE, createBuffer, dispatchFor } from '../gpu/resources.js';
import { deviceProfile } from '../gpu/device.js';
import { bindGroup, dispatch, pipeline, type SourceSpan } from '../gpu/pipelines.js';
import { IA_PARAMS_FIELDS } from '../gpu/layout.js';

/**
 * Loop iterations one partner costs an invocation of interaction.wgsl, generously (the pair
 * loop, ia_pow's multiplication loops for |a|, |b| ≤ 8, the D-component loads), used to split
 * the all-pairs sum into dispatches under an adapter's loop cap (llvmpipe). A user WGSL kernel
 * with loops of its own may need fewer partners per dispatch: keep its loops short there.
 */
export const IA_TILE_LOOP_COST = 24;
import { checkOptions, defineKernelTerm, termError, type Fail } from './term.js';
import type { KernelTerm, TermOptions } from './types.js';

/**
 * Attraction–repulsion power kernel `W(z) = |z|^a/a − |z|^b/b` with a > b, where an exponent
 * 0 stands for `log|z|` (so b = 0 gives `|z|^a/a − log|z|`, the 2D Coulomb repulsion, and
 * b = −1 gives `|z|^a/a + 1/|z|`, the 3D one); `∇W(z) = (|z|^(a−2) − |z|^(b−2)) z`.
 *
 * **Duplicates and near-duplicates.** Inside the radius `eps` (default 1e-6) W is replaced by
 * the quadratic `W(eps) + c (|z|² − eps²)/2`, `c = eps^(a−2) − eps^(b−2)`, which has W's value
 * and slope at eps. So W stays C¹ (finite differences of the value still match the gradient),
 * a duplicate pair (z = 0) contributes the finite `W_eps(0) = W(eps) − c eps²/2` to the
 * energy and nothing to the gradient, and no NaN or Inf appears however close particles get
 * (creation refuses an eps so small that eps^(b−2) would overflow f32). Pairs farther than eps
 * are exact. eps is rounded to f32 (as eps²) on both GPU and CPU. For b ≤ −d the continuum
 * energy is infinite; the particle sum is still defined.
 *
 * With a = 2 and b = 2 − d the steady state is the uniform ball of radius 1 (see the test
 * oracle `aggregationFlow`); a = 4, b = 2 is the classic smooth attraction–repulsion pair.
 *
 * @example
 * const k: PowerKernel = { type: 'power', a: 2, b: 0 }; // |z|²/2 − log|z|
 */
export interface PowerKernel {
  type: 'power';
  /** Attraction exponent a (> b). */
  a: number;
  /** Repulsion exponent b (< a); 0 means log. */
  b: number;
  /** Regularisation radius (see above). Default 1e-6. */
  eps?: number;
}

/**
 * Gaussian kernel `W(z) = amplitude · exp(−|z|²/(2σ²))`, `∇W = −(amplitude/σ²) exp(−|z|²/(2σ²)) z`.
 * amplitude > 0 repels, amplitude < 0 attracts. For a normalised Gaussian density in d
 * dimensions use `amplitude = ±(2πσ²)^(−d/2)`.
 *
 * @example
 * const k: GaussianKernel = { type: 'gaussian', sigma: 0.3, amplitude: -1 }; // attractive
 */
export interface GaussianKernel {
  type: 'gaussian';
  sigma: number;
  /** Default 1. */
  amplitude?: number;
}

/**
 * A user kernel in WGSL. `code` must define `fn W(z: vec3f) -> f32` and
 * `fn gradW(z: vec3f) -> vec3f` for an **even** W (∇W odd); z has zeros beyond the dimension,
 * and components of gradW beyond it are ignored. `prm(j)` returns `params[j]` (at most 16,
 * uniform, so they could change without recompiling). Names beginning with `ia_` and the
 * entry point `main` are reserved. A WGSL error throws an Error quoting the message and its
 * line inside `code`.
 *
 * @example
 * const k: WgslKernel = { type: 'wgsl', code: `fn W(z: vec3f) -> f32 { return 0.5 * dot(z, z); }
 *   fn gradW(z: vec3f) -> vec3f { return z; }`, reference: { W: (z) => 0.5 * (z[0]! ** 2 + z[1]! ** 2 + z[2]! ** 2), gradW: (z) => z } };
 */
export interface WgslKernel {
  type: 'wgsl';
  code: string;
  /** Up to 16 numbers, read in WGSL with prm(j). Default []. */
  params?: number[];
  /** Float64 twin of W and ∇W (z of length 3), for `reference()` and tests. */
  reference?: { W(z: Float64Array): number; gradW(z: Float64Array): ArrayLike<number> };
}

/**
 * A pair kernel W of {@link interaction}.
 *
 * @example
 * const kernels: InteractionKernel[] = [{ type: 'power', a: 4, b: 2 }, { type: 'gaussian', sigma: 1 }];
 */
export type InteractionKernel = PowerKernel | GaussianKernel | WgslKernel;

/**
 * Options of {@link interaction}.
 *
 * @example
 * const o: InteractionOptions = { kernel: { type: 'power', a: 2, b: 1 }, weight: 0.5, label: 'aggregation' };
 */
export interface InteractionOptions extends TermOptions {
  kernel: InteractionKernel;
}

export { IA_PARAMS_FIELDS };

const MAX_PARAMS = 16;

const fail: Fail = termError('interaction');

/**
 * Default regularisation radius eps of the power kernel (see {@link PowerKernel}): pairs closer
 * than eps see a quadratic continuation of W.
 *
 * @example
 * const W = powerKernel64(2, 0, Math.fround(POWER_KERNEL_EPS ** 2));
 */
export const POWER_KERNEL_EPS = 1e-6;

/**
 * A pair kernel in float64: returns W(z) and writes ∇W(z) into out[0..2]. z always has three
 * components (zeros beyond the dimension), as in the WGSL. W must be even (∇W odd).
 *
 * @example
 * const harmonic: PairKernel64 = (z0, z1, z2, out) => { out[0] = z0; out[1] = z1; out[2] = z2; return 0.5 * (z0 * z0 + z1 * z1 + z2 * z2); };
 */
export type PairKernel64 = (z0: number, z1: number, z2: number, out: Float64Array) => number;

/** φ_p(r) = r^p / p for p ≠ 0, log r for p = 0, from s = r² and q = r^(p−2). */
function phi(s: number, q: number, p: number): number {
  return p === 0 ? 0.5 * Math.log(s) : (q * s) / p;
}

/**
 * The attraction–repulsion power kernel `W(z) = φ_a(|z|) − φ_b(|z|)` (a > b), where
 * `φ_p(r) = r^p/p` and `φ_0(r) = log r`; `∇W(z) = (|z|^(a−2) − |z|^(b−2)) z`. For |z| < eps
 * (eps² given, as the GPU rounds it) W is continued by the quadratic with the same value and
 * slope at eps, so duplicates get a finite W(0) and a zero gradient.
 *
 * @example
 * const W = powerKernel64(2, 0, 1e-12); // |z|²/2 − log|z|
 * const g = new Float64Array(3);
 * W(1, 0, 0, g); // 0.5, g = [0, 0, 0]
 */
export function powerKernel64(a: number, b: number, eps2: number): PairKernel64 {
  const ea = 0.5 * a - 1, eb = 0.5 * b - 1;
  return (z0, z1, z2, out) => {
    const s = z0 * z0 + z1 * z1 + z2 * z2;
    const se = Math.max(s, eps2);
    const qa = se ** ea, qb = se ** eb;
    const c = qa - qb;
    out[0] = c * z0;
    out[1] = c * z1;
    out[2] = c * z2;
    return phi(se, qa, a) - phi(se, qb, b) + 0.5 * c * (s - se);
  };
}

/**
 * Gaussian kernel `W(z) = A exp(−|z|²/(2σ²))`, `∇W(z) = −(A/σ²) exp(−|z|²/(2σ²)) z`.
 *
 * @example
 * const W = gaussianKernel64(0.5, 1); // repulsive bump of width 0.5
 */
export function gaussianKernel64(sigma: number, amplitude: number): PairKernel64 {
  const k = 1 / (2 * sigma * sigma);
  return (z0, z1, z2, out) => {
    const w = amplitude * Math.exp(-k * (z0 * z0 + z1 * z1 + z2 * z2));
    out[0] = -2 * k * w * z0;
    out[1] = -2 * k * w * z1;
    out[2] = -2 * k * w * z2;
    return w;
  };
}

/**
 * Result of {@link interactionReference}.
 *
 * @example
 * const { value, grad, density }: InteractionReference = interactionReference(x, n, dim, W);
 */
export interface InteractionReference {
  /** weight · F. */
  value: number;
  /** weight · g, N·dim. */
  grad: Float64Array;
  /** e_i = 1/(2N) Σ_{j≠i} W(x_i − x_j) (unweighted), N. */
  density: Float64Array;
  /** |weight|/N · Σ_{j≠i} |∇W(x_i − x_j)|, N: the scale of g_i's rounding error (for tolerances). */
  gradAbs: Float64Array;
  /** 1/(2N) Σ_{j≠i} |W(x_i − x_j)|, N: the scale of e_i's rounding error. */
  densityAbs: Float64Array;
}

/**
 * Float64 twin of {@link interaction}: brute-force value, gradient and energy densities of the
 * interaction term for positions x (N·dim, row-major) and a float64 pair kernel (e.g.
 * {@link pairKernel64}). O(N²) (each pair once, by evenness of W).
 *
 * @example
 * const { value, grad } = interactionReference(x, n, 2, powerKernel64(2, 0, 1e-12));
 */
export function interactionReference(x: ArrayLike<number>, n: number, dim: number, kernel: PairKernel64, weight = 1): InteractionReference {
  const grad = new Float64Array(n * dim);
  const density = new Float64Array(n);
  const gradAbs = new Float64Array(n);
  const densityAbs = new Float64Array(n);
  const out = new Float64Array(3);
  const p = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < dim; c++) p[3 * i + c] = x[i * dim + c]!;
  for (let i = 0; i < n; i++) {
    const xi0 = p[3 * i]!, xi1 = p[3 * i + 1]!, xi2 = p[3 * i + 2]!;
    for (let j = i + 1; j < n; j++) {
      const w = kernel(xi0 - p[3 * j]!, xi1 - p[3 * j + 1]!, xi2 - p[3 * j + 2]!, out);
      density[i]! += w;
      density[j]! += w;
      densityAbs[i]! += Math.abs(w);
      densityAbs[j]! += Math.abs(w);
      const ga = Math.hypot(out[0]!, out[1]!, out[2]!);
      gradAbs[i]! += ga;
      gradAbs[j]! += ga;
      for (let c = 0; c < dim; c++) {
        grad[i * dim + c]! += out[c]!;
        grad[j * dim + c]! -= out[c]!;
      }
    }
  }
  let total = 0;
  for (let i = 0; i < n; i++) {
    density[i]! /= 2 * n;
    densityAbs[i]! /= 2 * n;
    gradAbs[i]! *= Math.abs(weight) / n;
    total += density[i]!;
  }
  for (let k = 0; k < grad.length; k++) grad[k]! *= weight / n;
  return { value: (weight * total) / Math.max(1, n), grad, density, gradAbs, densityAbs };
}

interface Resolved {
  /** Body of the glue defining ia_pair. */
  glue: string;
  params: number[];
  eps2: number;
  user?: string;
  pair?: PairKernel64;
}

function resolve(kernel: InteractionKernel): Resolved {
  if (!kernel || typeof kernel !== 'object') fail('kernel must be { type: "power" | "gaussian" | "wgsl", ... }');
  switch (kernel.type) {
    case 'power': {
      const { a, b } = kernel;
      const eps = kernel.eps ?? POWER_KERNEL_EPS;
      if (!Number.isFinite(a) || !Number.isFinite(b) || !(a > b)) fail(`power kernel needs finite exponents with a > b (got a = ${a}, b = ${b})`);
      if (!(eps > 0) || !Number.isFinite(eps)) fail(`power kernel eps must be a positive number (got ${eps})`);
      const eps2 = Math.fround(eps * eps);
      if (eps2 === 0 || !Number.isFinite(eps2)) fail(`power kernel eps = ${eps}: eps² is not a normal f32`);
      // The largest factor the GPU forms is eps^(min(a,b) − 2) = eps^(b − 2); keep it well inside f32.
      if (eps2 ** (0.5 * b - 1) > 1e30) fail(`power kernel eps = ${eps} is too small for b = ${b}: eps^(b−2) overflows f32; raise eps`);
      return { glue: 'return ia_power(z);', params: [a, b], eps2, pair: powerKernel64(a, b, eps2) };
    }
    case 'gaussian': {
      const amp = kernel.amplitude ?? 1;
      const { sigma } = kernel;
      if (!(sigma > 0) || !Number.isFinite(sigma)) fail(`gaussian kernel sigma must be a positive number (got ${sigma})`);
      if (!Number.isFinite(amp)) fail(`gaussian kernel amplitude must be finite (got ${amp})`);
      return { glue: 'return ia_gaussian(z);', params: [amp, 1 / (2 * sigma * sigma)], eps2: 0, pair: gaussianKernel64(sigma, amp) };
    }
    case 'wgsl': {
      const { code } = kernel;
      const params = kernel.params ?? [];
      if (typeof code !== 'string') fail('wgsl kernel needs code: a string of WGSL');
      if (!/\bfn\s+W\s*\(/.test(code)) fail('wgsl kernel code must define `fn W(z: vec3f) -> f32`');
      if (!/\bfn\s+gradW\s*\(/.test(code)) fail('wgsl kernel code must define `fn gradW(z: vec3f) -> vec3f`');
      if (params.length > MAX_PARAMS || params.some((v) => !Number.isFinite(v))) fail(`wgsl kernel params must be at most ${MAX_PARAMS} finite numbers`);
      const ref = kernel.reference;
      let pair: PairKernel64 | undefined;
      if (ref) {
        const z = new Float64Array(3);
        pair = (z0, z1, z2, out) => {
          z[0] = z0;
          z[1] = z1;
          z[2] = z2;
          const g = ref.gradW(z);
          out[0] = g[0] ?? 0;
          out[1] = g[1] ?? 0;
          out[2] = g[2] ?? 0;
          return ref.W(z);
        };
      }
      return { glue: 'return vec4f(gradW(z), W(z));', params, eps2: 0, user: code, pair };
    }
    default:
      return fail(`unknown kernel type '${(kernel as { type?: unknown }).type}' (expected power, gaussian or wgsl)`);
  }
}

/**
 * Interaction energy term (docs/math.md §3.1) for the flow's `energy` list:
 * `F = 1/(2N²) Σ_{i≠j} W(x_i − x_j)`, `g_i = (1/N) Σ_{j≠i} ∇W(x_i − x_j)`, per-particle density
 * `e_i = 1/(2N) Σ_{j≠i} W(x_i − x_j)`. The GPU pass ADDS `weight · g` to the flow's gradient and
 * writes e into the term's slot. Cost O(N²) per step (all pairs, tiled through workgroup
 * memory). W must be even. The self pair i = j is excluded by index; distinct particles at
 * the same point are handled per kernel (see {@link PowerKernel}).
 *
 * @example
 * // Aggregation: quadratic attraction, 2D Coulomb repulsion; steady state: the unit disk.
 * const flow = await createFlow(device, { dim: 2, positions, method: 'gradient', h: 0.05,
 *   energy: [interaction({ kernel: { type: 'power', a: 2, b: 0 } })] });
 * @example
 * // A user kernel: soft attraction W(z) = -k sqrt(|z|² + δ²).
 * interaction({ kernel: { type: 'wgsl', params: [1, 0.01],
 *   code: `fn W(z: vec3f) -> f32 { return -prm(0u) * sqrt(dot(z, z) + prm(1u)); }
 *          fn gradW(z: vec3f) -> vec3f { return -prm(0u) * z / sqrt(dot(z, z) + prm(1u)); }` } });
 */
export function interaction(options: InteractionOptions): KernelTerm {
  checkOptions(options, fail, 'options { kernel, weight? } are required');
  const weight = options.weight ?? 1;
  const r = resolve(options.kernel);
  const label = options.label ?? 'interaction';

  return defineKernelTerm({
    name: 'interaction',
    owner: 'Interaction',
    label,
    weight,
    params: IA_PARAMS_FIELDS,
    paramValues({ n }) {
      const values: Record<string, number> = { inv_n: n > 0 ? 1 / n : 0, eps2: r.eps2 };
      r.params.forEach((v, j) => (values[`kp${j}`] = v));
      return values;
    },
    async create(ctx, api) {
      const { device, n, dim } = ctx;
      const head = `${commonWgsl}\n${interactionWgsl}\nfn ia_pair(z: vec3f) -> vec4f { ${r.glue} }\n`;
      const spans: SourceSpan[] = [];
      let code = head;
      if (r.user !== undefined) {
        spans.push({ name: `${label} kernel WGSL (user code)`, firstLine: (head.match(/\n/g)?.length ?? 0) + 1, lineCount: r.user.split('\n').length });
        code += r.user + '\n';
      }
      const pipe = await pipeline(device, { label: `Interaction.${r.user !== undefined ? 'user' : options.kernel.type}`, code, constants: { D: dim, WG: WORKGROUP_SIZE }, spans });
      // Tiles of WG partners per dispatch: all of them, except where the adapter caps an
      // invocation's loop iterations (llvmpipe), where a tile costs about WG·IA_TILE_LOOP_COST.
      const tiles = Math.max(1, Math.ceil(n / WORKGROUP_SIZE));
      const cap = deviceProfile(device).maxLoopIterations;
      const perChunk = Number.isFinite(cap) ? Math.max(1, Math.floor(cap / (WORKGROUP_SIZE * IA_TILE_LOOP_COST))) : tiles;
      const chunks: GPUBindGroup[] = [];
      for (let t = 0; t < tiles; t += perChunk) {
        const chunk = api.own(createBuffer(device, api.label(`chunk${chunks.length}`), 16, GPUBufferUsage.UNIFORM,
          new Uint32Array([t, Math.min(tiles, t + perChunk), t === 0 ? 1 : 0, 0])));
        chunks.push(bindGroup(device, api.label(`bindGroup${chunks.length}`), pipe, [api.params, ctx.positions, ctx.grad, ctx.energy, chunk]));
      }
      const size = dispatchFor(n);
      return {
        encode(pass) {
          if (n > 0) for (const bg of chunks) dispatch(pass, pipe, bg, size);
        },
      };
    },
    reference(x, n, dim) {
      if (!r.pair) fail('this wgsl kernel has no float64 twin: pass kernel.reference = { W, gradW }');
      const { value, grad } = interactionReference(x, n, dim, r.pair, weight);
      return { value, grad };
    },
  });
}

/**
 * The float64 pair kernel of an {@link InteractionKernel} (as the GPU evaluates it, power-kernel
 * regularisation included); undefined for a wgsl kernel without `reference`.
 *
 * @example
 * const W = pairKernel64({ type: 'power', a: 4, b: 2 })!;
 * const { grad } = interactionReference(x, n, dim, W);
 */
export function pairKernel64(kernel: InteractionKernel): PairKernel64 | undefined {
  return resolve(kernel).pair;
}
