/**
 * The energy-term plug-in contract. An energy is a list of terms; the flow sums their
 * Wasserstein gradients g_i = N * dF_N/dx_i into one gradient buffer G (N*dim f32) and keeps,
 * per term, a per-particle energy density e_t[i] so that the term's value is
 *
 *     F_t = weight * ( (1/N) * sum_i e_t[i] + constant )
 *
 * (the constant is computed on the host in float64, e.g. psi(N) - psi(k) + log c_d for the
 * entropy). Two kinds of term exist:
 *
 *  - `potential` terms are pointwise (U(x_i), grad U(x_i)): their WGSL functions are spliced
 *    into one generated kernel that WRITES G (it always runs first in a step).
 *  - `kernel` terms (entropy, KL to samples, interaction) bring their own GPU passes that ADD
 *    weight * g_t into G and write e_t. They plug in without touching the integrators. The
 *    library's kernel terms are built with `defineKernelTerm` (./term.ts), which owns their
 *    shared checks, parameter buffer, setWeight and destroy.
 */

/** Float64 CPU twin of a term: value F_t (weight included) and gradient g (N*dim, weight included). */
export interface TermReference {
  value: number;
  grad: Float64Array;
}

/** What a kernel term receives from the flow when the flow is created. */
export interface TermContext {
  device: GPUDevice;
  n: number;
  dim: number;
  /** Positions x, N*dim f32, row-major (read). */
  positions: GPUBuffer;
  /** Gradient G, N*dim f32 (read_write): the term must ADD weight * g_t. */
  grad: GPUBuffer;
  /** Energy densities, slot-major: e_t[i] lives at f32 index slot*N + i (the term writes its slot). */
  energy: GPUBuffer;
  /** This term's slot in `energy`. */
  slot: number;
  /** The flow's label, to prefix GPU object labels. */
  label: string;
}

/** GPU side of a kernel term, created once per flow. */
export interface TermKernel {
  /** Records the passes that add weight*g_t to G and write e_t[i]. Never submits. */
  encode(pass: GPUComputePassEncoder): void;
  /** The float64 additive constant of the value (see the header). */
  constant(): number;
  /** Optional diagnostics (e.g. grid occupancy, overflow) read on demand. */
  diagnostics?(): Promise<Record<string, number>>;
  /**
   * Optional per-particle length scale l_i, valid after encode(): element `i * stride + offset`
   * of `buffer` (offset default 0, < stride), e.g. the k-th nearest-neighbour distance of a row
   * of the k-NN table. The automatic step of the flow uses it (docs/math.md §8.9).
   */
  lengthScale?: { buffer: GPUBuffer; stride: number; offset?: number };
  /** Sets the weight used by later steps. */
  setWeight?(w: number): void;
  /**
   * GPU buffers (COPY_SRC | COPY_DST) whose contents persist between steps and shape later
   * results or diagnostics, e.g. the lazy neighbour grid of the entropy (its last build). A
   * flow's checkpoint() saves them and restore() writes them back, so a resumed flow repeats
   * the uninterrupted one exactly, diagnostics included. Omit for a term without such state.
   */
  readonly stateBuffers?: readonly GPUBuffer[];
  /** Frees what the kernel created. Idempotent. */
  destroy(): void;
}

/** Common options of every term. */
export interface TermOptions {
  /** Multiplies the term (the temperature of an entropy term). Default 1. */
  weight?: number;
  /** Name in `stats().terms`. Defaults to the term's kind. */
  label?: string;
}

/** A pointwise potential U, spliced into the generated potential kernel. */
export interface PotentialTerm {
  readonly kind: 'potential';
  readonly label: string;
  readonly weight: number;
  /** Parameters, stored in a GPU buffer; the WGSL reads them as `P[base + j]` via `prm(j)`. */
  readonly params: number[];
  /**
   * WGSL text defining `fn U_<id>(x: vec3f) -> f32` and `fn dU_<id>(x: vec3f) -> vec3f`, where
   * `<id>` is the given identifier suffix; inside, `prm_<id>(j)` returns parameter j.
   * x has zeros in the components >= dim; components >= dim of the gradient are ignored.
   */
  wgsl(id: string): string;
  /** Source name for compile errors that fall inside user code. */
  readonly userCode?: boolean;
  /**
   * Strong-convexity constant of the unweighted term: the largest λ with ∇²U ⪰ λ I everywhere
   * (a lower bound is fine; negative: not convex), or undefined when unknown (docs/math.md
   * §2.6). The flow's automatic damping (`gamma: 'auto'`) uses Σ_t w_t λ_t.
   */
  readonly lambdaMin?: number;
  /** Float64 U and grad U at one point (length dim). */
  value(x: Float64Array): number;
  gradient(x: Float64Array): Float64Array;
}

/** A term with its own GPU passes (entropy, KL, interaction). */
export interface KernelTerm {
  readonly kind: 'kernel';
  readonly label: string;
  readonly weight: number;
  /**
   * Strong-convexity constant of the unweighted term along Wasserstein geodesics (0 for the
   * entropy, which is displacement convex but flat along translations), or undefined when
   * unknown. See {@link PotentialTerm.lambdaMin}.
   */
  readonly lambdaMin?: number;
  /** Builds the GPU side. Async so it can compile shaders and build static grids. */
  create(ctx: TermContext): Promise<TermKernel>;
  /**
   * Float64 twin of the term (product code, from the term's own maths): value and gradient
   * (weight included) for positions x (N*dim). Tests and the float64 flow oracle use it.
   */
  reference(x: Float64Array, n: number, dim: number): TermReference;
}

/** Any energy term. */
export type EnergyTerm = PotentialTerm | KernelTerm;
