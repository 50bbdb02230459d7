/**
 * A kernel that fills a buffer with Philox4x32-10 draws (shaders/random.wgsl): normals,
 * uniforms in (0, 1) or the raw u32 words. Item i takes `philox4x32(vec4u(offset + i, c1, c2,
 * c3), key)` and writes its first `components` values at `out[i * components + c]`, so with
 * components = dim and counter = [step, 0, 0] it reproduces the Langevin noise of step `step`.
 */
import { commonWgsl, randomWgsl } from '../shaders.gen.js';
import { WORKGROUP_SIZE, createBuffer, dispatchFor } from '../gpu/resources.js';
import { bindGroup, pipeline } from '../gpu/pipelines.js';
import { seedWords, type Seed } from '../math/random.js';

/**
 * What each item writes: N(0,1) f32, uniform (0,1) f32, or the raw u32 Philox words.
 *
 * @example
 * const kind: RandomKind = 'bits'; // for bit-exact checks against philox4x32()
 */
export type RandomKind = 'normal' | 'uniform' | 'bits';

const KIND_CODE: Record<RandomKind, number> = { normal: 0, uniform: 1, bits: 2 };

const FILL_WGSL = /* wgsl */ `
override KIND: u32 = 0u;   // 0 normal, 1 uniform, 2 bits
override C: u32 = 4u;      // values written per item, 1..4

struct RngFillParams {
  count: u32,      // items
  offset: u32,     // counter word 0 of item 0
  c1: u32,         // counter words 1..3
  c2: u32,
  c3: u32,
  key_lo: u32,
  key_hi: u32,
  pad0: u32,
}

@group(0) @binding(0) var<uniform> rp: RngFillParams;
@group(0) @binding(1) var<storage, read_write> rng_out: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_id(gid, nwg);
  if (i >= rp.count) { return; }
  let ctr = vec4u(rp.offset + i, rp.c1, rp.c2, rp.c3);
  let key = vec2u(rp.key_lo, rp.key_hi);
  var w: vec4u;
  if (KIND == 0u) {
    w = bitcast<vec4u>(normal4(ctr, key));
  } else if (KIND == 1u) {
    w = bitcast<vec4u>(uniform4(ctr, key));
  } else {
    w = philox4x32(ctr, key);
  }
  for (var c = 0u; c < C; c++) {
    rng_out[i * C + c] = w[c];
  }
}
`;

/**
 * Options of {@link createRandomFill}.
 *
 * @example
 * const opts: RandomFillOptions = { count: n, components: 3, seed: 7, counter: [step, 0, 0] };
 */
export interface RandomFillOptions {
  /** Number of items (one Philox block each). */
  count: number;
  /** Values written per item, 1..4. Default 4. */
  components?: 1 | 2 | 3 | 4;
  /** Default 'normal'. */
  kind?: RandomKind;
  /** Key of the generator. Default 0. */
  seed?: Seed;
  /** Counter words 1..3 (for Langevin: [step, 0, 0]). Default [0, 0, 0]. */
  counter?: readonly [number, number, number];
  /** Counter word 0 of item 0 (item i uses offset + i). Default 0. */
  offset?: number;
  /**
   * Output buffer (STORAGE, at least count*components*4 bytes), not destroyed by the fill.
   * Default: one created (STORAGE | COPY_SRC | COPY_DST) and owned by the fill.
   */
  output?: GPUBuffer;
  /** Label prefix. Default 'RandomFill'. */
  label?: string;
}

/**
 * A GPU random fill; see {@link createRandomFill}.
 *
 * @example
 * const fill: RandomFill = await createRandomFill(device, { count: 1024 });
 * fill.run();
 * const z = new Float32Array(await readBuffer(device, fill.output, 1024 * 16));
 * fill.destroy();
 */
export interface RandomFill {
  /** The buffer written: count*components values (f32, or u32 for 'bits'). */
  readonly output: GPUBuffer;
  readonly count: number;
  readonly components: number;
  readonly kind: RandomKind;
  /** Records the fill into the caller's compute pass. Never submits. */
  encode(pass: GPUComputePassEncoder): void;
  /** Encodes the fill in its own command buffer and submits it (for one-off use, not hot loops). */
  run(): void;
  /** Sets counter words 1..3 (and optionally word 0's offset) for later fills (queue write). */
  setCounter(counter: readonly [number, number, number], offset?: number): void;
  /** Sets the key for later fills (queue write). */
  setSeed(seed: Seed): void;
  /** Frees the buffers it created (its parameters, and the output unless one was handed in). Idempotent. */
  destroy(): void;
}

/**
 * Creates a kernel that fills a buffer with Philox4x32-10 random numbers on the GPU.
 *
 * @example
 * const fill = await createRandomFill(device, { count: n, components: 2, seed: 42, counter: [step, 0, 0] });
 * const pass = encoder.beginComputePass();
 * fill.encode(pass); // fill.output now holds the N(0,1) noise of Langevin step `step`, n x 2
 * pass.end();
 */
export async function createRandomFill(device: GPUDevice, options: RandomFillOptions): Promise<RandomFill> {
  const count = options.count;
  const components = options.components ?? 4;
  const kind = options.kind ?? 'normal';
  const label = options.label ?? 'RandomFill';
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`wgflow: RandomFill count ${count} must be a non-negative integer`);
  if (![1, 2, 3, 4].includes(components)) throw new RangeError(`wgflow: RandomFill components ${components} must be 1..4`);
  if (!(kind in KIND_CODE)) throw new RangeError(`wgflow: RandomFill kind '${kind}' is not one of normal, uniform, bits`);
  const bytes = Math.max(4, count * components * 4);
  if (options.output && options.output.size < count * components * 4) {
    throw new RangeError(`wgflow: RandomFill output holds ${options.output.size} bytes, needs ${count * components * 4}`);
  }

  const pipe = await pipeline(device, {
    label: 'RandomFill.fill',
    code: commonWgsl + randomWgsl + FILL_WGSL,
    constants: { WG: WORKGROUP_SIZE, KIND: KIND_CODE[kind], C: components },
  });
  const ownsOutput = !options.output;
  const output = options.output ?? createBuffer(device, `${label}.output`, bytes, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
  const params = new Uint32Array(8);
  params[0] = count;
  const key = seedWords(options.seed ?? 0);
  const ctr = options.counter ?? [0, 0, 0];
  params.set([options.offset ?? 0, ctr[0], ctr[1], ctr[2], key[0], key[1]], 1);
  const paramBuf = createBuffer(device, `${label}.params`, params.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, params);
  const bindings = bindGroup(device, `${label}.bindGroup`, pipe, [paramBuf, output]);
  const [wx, wy] = dispatchFor(count);
  let destroyed = false;

  const alive = () => {
    if (destroyed) throw new Error(`wgflow: ${label} was destroyed`);
  };
  const fill: RandomFill = {
    output,
    count,
    components,
    kind,
    encode(pass) {
      alive();
      if (count === 0) return;
      pass.setPipeline(pipe);
      pass.setBindGroup(0, bindings);
      pass.dispatchWorkgroups(wx, wy);
    },
    run() {
      alive();
      const enc = device.createCommandEncoder({ label: `${label}.encoder` });
      const pass = enc.beginComputePass({ label: `${label}.pass` });
      fill.encode(pass);
      pass.end();
      device.queue.submit([enc.finish()]);
    },
    setCounter(counter, offset) {
      alive();
      params.set([offset ?? params[1]!, counter[0] >>> 0, counter[1] >>> 0, counter[2] >>> 0], 1);
      device.queue.writeBuffer(paramBuf, 0, params);
    },
    setSeed(seed) {
      alive();
      params.set(seedWords(seed), 5);
      device.queue.writeBuffer(paramBuf, 0, params);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      paramBuf.destroy();
      if (ownsOutput) output.destroy();
    },
  };
  return fill;
}
