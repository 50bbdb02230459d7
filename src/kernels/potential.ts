/**
 * The generated potential kernel (shaders/potential.wgsl): the sum of every pointwise potential
 * term of an energy in one pass that WRITES the gradient G (it runs first in every step; the
 * kernel terms that follow add to G) and each term's energy density e_t[i] = U_t(x_i).
 *
 * The terms' WGSL functions are spliced in at the `//#TERMS` marker and their weighted calls
 * at `//#CALLS`. Weights and parameters live in one storage buffer P (term at `base`: the
 * weight, then its parameters), so weights change without recompiling. Compile errors inside a
 * term's user code are reported at that term's own line numbers.
 */
import { commonWgsl, potentialWgsl } from '../shaders.gen.js';
import { createBuffer, dispatchFor, WORKGROUP_SIZE } from '../gpu/resources.js';
import { bindGroup, bindingLayout, pipeline, type BindingKind, type SourceSpan } from '../gpu/pipelines.js';

/** What the kernel needs of a pointwise potential term (the flow's PotentialTerm). */
export interface PotentialPiece {
  readonly label: string;
  readonly weight: number;
  /** Parameters, read in WGSL as `prm_<id>(j)`. */
  readonly params: number[];
  /** WGSL defining `fn U_<id>(x: vec3f) -> f32` and `fn dU_<id>(x: vec3f) -> vec3f`. */
  wgsl(id: string): string;
  /** True when the WGSL is the user's (compile errors are mapped into it). */
  readonly userCode?: boolean;
}

/** A potential term at its energy slot. */
export interface PlacedPotential {
  term: PotentialPiece;
  /** Energy slot: the kernel writes e_t[i] at f32 index slot·N + i. */
  slot: number;
}

/** The generated module of {@link potentialModule}. */
export interface PotentialModule {
  code: string;
  /** Where user code lies in `code`, for compile errors. */
  spans: SourceSpan[];
  /** Initial content of P (at least one value). */
  params: number[];
  /** Index in P of each term's weight, by slot. */
  weightIndex: Map<number, number>;
}

/** Generates the potential kernel's WGSL for the given terms (weights and parameters live in P). */
export function potentialModule(terms: readonly PlacedPotential[]): PotentialModule {
  let fns = '';
  let calls = '';
  const params: number[] = [];
  const weightIndex = new Map<number, number>();
  const spansRel: { name: string; offset: number; lines: number }[] = [];
  for (const { term, slot } of terms) {
    const id = `t${slot}`;
    const base = params.length;
    weightIndex.set(slot, base);
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
  return { code, spans, params: params.length ? params : [0], weightIndex };
}

/** Options of {@link createPotentialKernel}. */
export interface PotentialKernelOptions {
  n: number;
  dim: number;
  /** The potential terms with their slots (may be empty: the kernel then zeroes G). */
  terms: readonly PlacedPotential[];
  /** The flow's buffers (never destroyed here). */
  buffers: {
    positions: GPUBuffer;
    gradient: GPUBuffer;
    energy: GPUBuffer;
    /** The Params uniform (n). */
    params: GPUBuffer;
  };
  /** Label prefix. */
  label: string;
}

/** The potential kernel of a flow; see {@link createPotentialKernel}. */
export interface PotentialKernel {
  /** Records the pass that writes G and the potential terms' energy densities. Never submits. */
  encode(pass: GPUComputePassEncoder): void;
  /** Sets the weight of the potential term at `slot` for later passes. */
  setWeight(slot: number, weight: number): void;
  /** Frees the parameter buffer. Idempotent. */
  destroy(): void;
}

/**
 * Compiles the potential kernel of an energy's pointwise terms (once per device for the same
 * terms) and allocates its parameter buffer.
 *
 * @example
 * const potential = await createPotentialKernel(device, { n, dim: 2, terms: [{ term: quadratic(), slot: 0 }], buffers, label: 'wgflow.flow' });
 * potential.encode(pass); // G = Σ_t w_t ∇U_t(x_i)
 */
export async function createPotentialKernel(device: GPUDevice, o: PotentialKernelOptions): Promise<PotentialKernel> {
  const { label, buffers: b } = o;
  const src = potentialModule(o.terms);
  const kinds: BindingKind[] = ['read', 'storage', 'storage', 'read', 'uniform'];
  const params = createBuffer(device, `${label}.termParams`, src.params.length * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, new Float32Array(src.params));
  let pipe: GPUComputePipeline;
  try {
    pipe = await pipeline(device, { label: `${label}.potential`, code: src.code, entry: 'main', constants: { D: o.dim, WG: WORKGROUP_SIZE }, layout: [kinds], spans: src.spans });
  } catch (e) {
    params.destroy();
    throw e;
  }
  const bind = bindGroup(device, `${label}.potential`, bindingLayout(device, kinds), [b.positions, b.gradient, b.energy, params, b.params]);
  const [wx, wy] = dispatchFor(o.n, WORKGROUP_SIZE);
  let destroyed = false;
  return {
    encode(pass) {
      if (destroyed) throw new Error(`wgflow: ${label}.potential used after destroy()`);
      pass.setPipeline(pipe);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(wx, wy);
    },
    setWeight(slot, weight) {
      const at = src.weightIndex.get(slot);
      if (at === undefined) throw new Error(`wgflow: ${label}.potential: no potential term at slot ${slot}`);
      device.queue.writeBuffer(params, at * 4, new Float32Array([weight]));
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      params.destroy();
    },
  };
}
