/**
 * The interaction term of MATH.md §2:
 *
 *     F = ½ ∫∫ W(x − y) ρ(x) ρ(y) ≈ 1/(2N²) Σ_{i≠j} W(x_i − x_j),
 *     g_i = N ∂F/∂x_i = (1/N) Σ_{j≠i} ∇W(x_i − x_j)        (W even),
 *
 * with per-particle energy density e_i = 1/(2N) Σ_{j≠i} W(x_i − x_j), so F = (1/N) Σ_i e_i.
 * All pairs on the GPU, tiled through workgroup memory (shaders/interaction.wgsl), O(N²) time
 * and O(N) memory; float64 twin in src/reference/interaction.ts.
 */
import { commonWgsl, interactionWgsl } from '../shaders.gen.js';
import { WORKGROUP_SIZE, createBuffer, dispatchFor } from '../gpu/resources.js';
import { bindGroup, pipeline, type SourceSpan } from '../gpu/pipelines.js';
import { packStruct, type Scalar } from '../gpu/layout.js';
import { POWER_KERNEL_EPS, gaussianKernel64, interactionReference, powerKernel64, type PairKernel64 } from '../reference/interaction.js';
import type { KernelTerm, TermContext, TermKernel, TermOptions } from './types.js';

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
 * With a = 2 and b = 2 − d the steady state is the uniform ball of radius 1 (see
 * src/reference/aggregation.ts); a = 4, b = 2 is the classic smooth attraction–repulsion pair.
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

/**
 * Fields of the WGSL `struct IaParams` of shaders/interaction.wgsl, in order (kp0..kp15 are
 * the 16 floats of `kp: array<vec4f, 4>`).
 *
 * @example
 * packStruct(IA_PARAMS_FIELDS, { n: 100, weight: 1, inv_n: 0.01 });
 */
export const IA_PARAMS_FIELDS: readonly (readonly [string, Scalar])[] = [
  ['n', 'u32'], ['e_base', 'u32'], ['weight', 'f32'], ['inv_n', 'f32'],
  ['eps2', 'f32'], ['pad0', 'u32'], ['pad1', 'u32'], ['pad2', 'u32'],
  ...Array.from({ length: 16 }, (_, j) => [`kp${j}`, 'f32'] as const),
];

export { POWER_KERNEL_EPS };

const MAX_PARAMS = 16;


function fail(msg: string): never {
  throw new Error(`wgflow: interaction: ${msg}`);
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
 * Interaction energy term (MATH.md §2) for the flow's `energy` list:
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
  if (!options || typeof options !== 'object') fail('options { kernel, weight? } are required');
  const weight = options.weight ?? 1;
  if (!Number.isFinite(weight)) fail(`weight must be finite (got ${weight})`);
  const r = resolve(options.kernel);
  const label = options.label ?? 'interaction';

  return {
    kind: 'kernel',
    label,
    weight,
    async create(ctx: TermContext): Promise<TermKernel> {
      const { device, n, dim } = ctx;
      if (![1, 2, 3].includes(dim)) fail(`dim must be 1, 2 or 3 (got ${dim})`);
      if (!Number.isInteger(n) || n < 0) fail(`n must be a non-negative integer (got ${n})`);
      const owner = `${ctx.label}.${label}`;
      const head = `${commonWgsl}\n${interactionWgsl}\nfn ia_pair(z: vec3f) -> vec4f { ${r.glue} }\n`;
      const spans: SourceSpan[] = [];
      let code = head;
      if (r.user !== undefined) {
        spans.push({ name: `${label} kernel WGSL (user code)`, firstLine: (head.match(/\n/g)?.length ?? 0) + 1, lineCount: r.user.split('\n').length });
        code += r.user + '\n';
      }
      const pipe = await pipeline(device, { label: `Interaction.${r.user !== undefined ? 'user' : options.kernel.type}`, code, constants: { D: dim, WG: WORKGROUP_SIZE }, spans });
      let w = weight;
      const pack = () => {
        const values: Record<string, number> = { n, e_base: ctx.slot * n, weight: w, inv_n: n > 0 ? 1 / n : 0, eps2: r.eps2 };
        r.params.forEach((v, j) => (values[`kp${j}`] = v));
        return packStruct(IA_PARAMS_FIELDS, values);
      };
      const params = createBuffer(device, `${owner}.params`, pack().byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, new Uint8Array(pack()));
      const bindings = bindGroup(device, `${owner}.bindGroup`, pipe, [params, ctx.positions, ctx.grad, ctx.energy]);
      const [wx, wy] = dispatchFor(n);
      let destroyed = false;
      return {
        encode(pass) {
          if (destroyed) fail(`${owner} was destroyed`);
          if (n === 0) return;
          pass.setPipeline(pipe);
          pass.setBindGroup(0, bindings);
          pass.dispatchWorkgroups(wx, wy);
        },
        constant: () => 0,
        setWeight(v) {
          if (!Number.isFinite(v)) fail(`weight must be finite (got ${v})`);
          if (destroyed) fail(`${owner} was destroyed`);
          w = v;
          device.queue.writeBuffer(params, 0, pack());
        },
        destroy() {
          if (destroyed) return;
          destroyed = true;
          params.destroy();
        },
      };
    },
    reference(x, n, dim) {
      if (!r.pair) fail('this wgsl kernel has no float64 twin: pass kernel.reference = { W, gradW }');
      const { value, grad } = interactionReference(x, n, dim, r.pair, weight);
      return { value, grad };
    },
  };
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
