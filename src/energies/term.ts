/**
 * The one helper that defines a kernel term (the `KernelTerm` contract of ./types.ts). It does
 * what every kernel term shares, so that a term file keeps only its maths (options → parameters,
 * WGSL, constant, bindings, float64 twin):
 *
 *  - the checks: the options argument is an object ({@link checkOptions}), the weight is finite,
 *    and at create(): dim is 1, 2 or 3, N a non-negative integer and N > k for k-NN estimators;
 *  - the parameter uniform buffer: packed through the term's struct layout (src/gpu/layout.ts)
 *    with the shared fields `n`, `e_base` (= slot·N) and `weight` plus the term's own values,
 *    re-packed by `setWeight` (finite check) and on demand (`api.repack()`);
 *  - the "used after destroy()" guard, and an idempotent `destroy()` of everything the term
 *    created (also when create() fails half-way);
 *  - errors `wgflow: <term>: ...` and GPU labels `<flow label>.<Owner>.<purpose>`.
 *
 * @example
 * const fail = termError('myTerm');
 * checkOptions(options, fail);
 * return defineKernelTerm({ name: 'myTerm', owner: 'MyTerm', label: options.label ?? 'myTerm', weight: options.weight ?? 1,
 *   params: MY_PARAMS_FIELDS, async create(ctx, api) { ...; return { encode(pass) { ... } }; }, reference: (x, n, dim) => ... });
 */
import { createBuffer } from '../gpu/resources.js';
import { packStruct, structSize, type Scalar } from '../gpu/layout.js';
import type { KernelTerm, TermContext, TermKernel, TermReference } from './types.js';

/** Throws `Error('wgflow: <term>: <message>')`. */
export type Fail = (message: string) => never;

/** The fields of a WGSL parameter struct, in order (see src/gpu/layout.ts). */
export type StructFields = readonly (readonly [string, Scalar])[];

/**
 * The error thrower of a term: `termError('entropy')('k must ...')` throws
 * `Error('wgflow: entropy: k must ...')`.
 *
 * @example
 * const fail = termError('interaction');
 * if (!(sigma > 0)) fail(`gaussian kernel sigma must be a positive number (got ${sigma})`);
 */
export function termError(name: string): Fail {
  return (message: string): never => {
    throw new Error(`wgflow: ${name}: ${message}`);
  };
}

/**
 * Checks that a term factory's options argument is an object (the first check of every factory,
 * before it reads an option).
 *
 * @example
 * checkOptions(options, termError('entropy')); // throws 'wgflow: entropy: options must be an object'
 */
export function checkOptions(options: unknown, fail: Fail, message = 'options must be an object'): void {
  if (!options || typeof options !== 'object') fail(message);
}

/** What {@link defineKernelTerm} hands to a term's create(). */
export interface KernelTermApi {
  /** The term's error thrower. */
  fail: Fail;
  /** The label of a GPU object of this term: `<flow label>.<Owner>.<purpose>`. */
  label(purpose: string): string;
  /** The parameter uniform buffer (bind it where the WGSL reads the term's struct). */
  readonly params: GPUBuffer;
  /** Packs the parameters again and uploads them (after a value `paramValues` reads changed). */
  repack(): void;
  /** Registers something to free at destroy() (or if create() fails later); returns it. */
  own<T extends { destroy(): void }>(resource: T): T;
}

/** What a term's create() returns: its passes and what it exposes to the flow. */
export interface KernelTermParts {
  /** Records the term's passes (the guard against use after destroy() is added). */
  encode(pass: GPUComputePassEncoder): void;
  /** The float64 additive constant of the value (see ./types.ts). Default 0. */
  constant?: number;
  lengthScale?: TermKernel['lengthScale'];
  diagnostics?: TermKernel['diagnostics'];
  stateBuffers?: TermKernel['stateBuffers'];
}

/** A kernel term for {@link defineKernelTerm}. */
export interface KernelTermDefinition {
  /** Name in error messages: `wgflow: <name>: ...`. */
  name: string;
  /** Owner in GPU labels: `<flow label>.<owner>.<purpose>`. */
  owner: string;
  /** Name in `stats().terms`. */
  label: string;
  /** The initial weight (checked finite). */
  weight: number;
  /** How the weight is called in the message when it is not finite. Default 'weight'. */
  weightName?: string;
  /** Neighbour order of a k-NN estimator: create() then needs N > k. */
  k?: number;
  /** Layout of the parameter struct; it must hold `n`, `e_base` and `weight`. */
  params: StructFields;
  /** The term's own parameter values (read at every packing). */
  paramValues?(ctx: TermContext): Record<string, number>;
  /** Builds the term's GPU side after the shared checks, with the parameter buffer made. */
  create(ctx: TermContext, api: KernelTermApi): Promise<KernelTermParts>;
  /** Float64 value and gradient (weight included), see `KernelTerm.reference`. */
  reference(x: Float64Array, n: number, dim: number): TermReference;
}

/**
 * Defines a kernel term: the shared checks, parameter buffer, setWeight, destroy guard and
 * cleanup around the term's own create() (see the module header).
 *
 * @example
 * const term = defineKernelTerm({ name: 'entropy', owner: 'Entropy', label: 'entropy', weight: 1, k: 1,
 *   params: ENTROPY_PARAMS_FIELDS, paramValues: () => ({ eps2 }), create, reference });
 */
export function defineKernelTerm(def: KernelTermDefinition): KernelTerm {
  const fail = termError(def.name);
  if (!Number.isFinite(def.weight)) fail(`${def.weightName ?? 'weight'} must be finite (got ${def.weight})`);
  return {
    kind: 'kernel',
    label: def.label,
    weight: def.weight,
    async create(ctx: TermContext): Promise<TermKernel> {
      const { device, n, dim } = ctx;
      if (![1, 2, 3].includes(dim)) fail(`dim must be 1, 2 or 3 (got ${dim})`);
      if (!Number.isInteger(n) || n < 0) fail(`n must be a non-negative integer (got ${n})`);
      if (def.k !== undefined && !(n > def.k)) fail(`the k = ${def.k} estimator needs more than k particles (got N = ${n})`);
      const owner = `${ctx.label}.${def.owner}`;
      let weight = def.weight;
      let destroyed = false;
      const pack = () => new Uint8Array(packStruct(def.params, { ...def.paramValues?.(ctx), n, e_base: ctx.slot * n, weight }));
      const params = createBuffer(device, `${owner}.params`, structSize(def.params), GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, pack());
      const owned: { destroy(): void }[] = [];
      const destroyAll = () => {
        for (const r of owned.splice(0).reverse()) r.destroy();
        params.destroy();
      };
      const api: KernelTermApi = {
        fail,
        label: (purpose) => `${owner}.${purpose}`,
        params,
        repack() {
          if (!destroyed) device.queue.writeBuffer(params, 0, pack());
        },
        own(resource) {
          owned.push(resource);
          return resource;
        },
      };
      let parts: KernelTermParts;
      try {
        parts = await def.create(ctx, api);
      } catch (e) {
        destroyAll();
        throw e;
      }
      const alive = () => {
        if (destroyed) fail('kernel used after destroy()');
      };
      const constant = parts.constant ?? 0;
      const kernel: TermKernel = {
        encode(pass) {
          alive();
          parts.encode(pass);
        },
        constant: () => constant,
        setWeight(w: number) {
          alive();
          if (!Number.isFinite(w)) fail(`weight must be finite (got ${w})`);
          weight = w;
          api.repack();
        },
        destroy() {
          if (destroyed) return;
          destroyed = true;
          destroyAll();
        },
      };
      if (parts.lengthScale) kernel.lengthScale = parts.lengthScale;
      if (parts.diagnostics) kernel.diagnostics = parts.diagnostics;
      if (parts.stateBuffers) (kernel as { stateBuffers?: TermKernel['stateBuffers'] }).stateBuffers = parts.stateBuffers;
      return kernel;
    },
    reference: (x, n, dim) => def.reference(x, n, dim),
  };
}
