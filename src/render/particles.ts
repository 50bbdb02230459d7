/**
 * createParticleRenderer(): draws a flow's particles into the caller's render pass, straight
 * from `flow.buffers.positions` bound as a vertex buffer (float32 × dim per particle), so the
 * positions never leave the GPU. 2-D: the view maps a box `[xmin, xmax, ymin, ymax]` onto
 * clip space; 3-D (or 2-D): the view is any 4×4 column-major matrix (e.g. projection · camera
 * from wgpu-matrix). Sprites are round, premultiplied-alpha, of constant size on screen.
 */
import { renderWgsl } from '../shaders.gen.js';
import { wgslStructLayout } from '../gpu/layout.js';
import type { Flow } from '../flow.js';

/** An RGBA colour, each component in [0, 1] (straight, not premultiplied, alpha). */
export type Rgba = readonly [r: number, g: number, b: number, a: number];

/**
 * The view of {@link createParticleRenderer}: a 2-D box `[xmin, xmax, ymin, ymax]` (world
 * units) mapped onto the whole render target, or a 4×4 matrix (16 numbers, column-major, as
 * wgpu-matrix and WGSL use) mapping world `(x, y, z, 1)` to clip space.
 */
export type ParticleView = readonly [xmin: number, xmax: number, ymin: number, ymax: number] | ArrayLike<number>;

/** Options of {@link createParticleRenderer}. */
export interface ParticleRendererOptions {
  /** Format of the colour attachment the renderer draws into, e.g. `navigator.gpu.getPreferredCanvasFormat()`. Required. */
  format: GPUTextureFormat;
  /** Colour of the particles (of those below `split` when `split` is given). Default `[0.94, 0.53, 0.24, 0.9]` (orange). */
  colour?: Rgba;
  /** Colour of the particles with index ≥ `split`. Default `[0.35, 0.65, 1, 0.9]` (blue). */
  colour2?: Rgba;
  /** Particles [0, split) get `colour`, [split, n) get `colour2`. An integer in 0..n. Default n (all `colour`). */
  split?: number;
  /** Sprite diameter in pixels of the render target, in (0, 64]. At most 1 draws one pixel per particle (a point list, the cheapest on CPU rasterisers). Default 2. */
  size?: number;
  /** The view (a 2-D box or a 4×4 clip matrix), see {@link ParticleView}. Default the box `[-1, 1, -1, 1]`. */
  view?: ParticleView;
  /** Size of the render target in pixels `[width, height]`, which turns `size` into clip units; change it with `resize()`. Default `[512, 512]`. */
  targetSize?: readonly [width: number, height: number];
  /** Multisample count of the render pass, 1 or 4. Default 1. */
  sampleCount?: number;
  /** Prefix of GPU object labels. Default 'wgflow.render'. */
  label?: string;
}

/** What {@link createParticleRenderer} returns. */
export interface ParticleRenderer {
  /** Records the draw of every particle into `pass` (a render pass whose colour attachment has the renderer's format). Throws after destroy(). */
  encode(pass: GPURenderPassEncoder): void;
  /** Changes the view (a 2-D box or a 4×4 clip matrix); takes effect at the next encode(). */
  setView(view: ParticleView): void;
  /** Changes the colours, the split or the sprite size. */
  setStyle(style: Pick<ParticleRendererOptions, 'colour' | 'colour2' | 'split' | 'size'>): void;
  /** Tells the renderer the render target's size in pixels (for the sprite size). */
  resize(width: number, height: number): void;
  /** Frees what the renderer created (its uniform buffer); never the flow or the device. Idempotent. */
  destroy(): void;
}

const CALL = 'createParticleRenderer';
const DEFAULT_COLOUR: Rgba = [0.94, 0.53, 0.24, 0.9];
const DEFAULT_COLOUR2: Rgba = [0.35, 0.65, 1, 0.9];
const VIEW_LAYOUT = wgslStructLayout('RenderView');
const UNIFORM_BYTES = VIEW_LAYOUT.size;
/** f32 index of each field of `struct RenderView` (render.wgsl). */
const AT = Object.fromEntries(Object.entries(VIEW_LAYOUT.offsets).map(([k, v]) => [k, v / 4])) as Record<string, number>;
const VERTEX_FORMATS: Record<number, GPUVertexFormat> = { 1: 'float32', 2: 'float32x2', 3: 'float32x3' };

function fail(what: string, todo: string): never {
  throw new Error(`wgflow: ${CALL}: ${what}; ${todo}`);
}

function checkColour(c: unknown, name: string): Rgba {
  if (!Array.isArray(c) || c.length !== 4 || !c.every((v) => typeof v === 'number' && v >= 0 && v <= 1)) {
    fail(`${name} must be 4 numbers [r, g, b, a] in [0, 1] (got ${JSON.stringify(c)})`, 'pass e.g. [1, 0.5, 0.2, 0.9]');
  }
  return c as unknown as Rgba;
}

function checkSize(s: unknown): number {
  if (typeof s !== 'number' || !(s > 0 && s <= 64)) fail(`size must be a number of pixels in (0, 64] (got ${String(s)})`, 'pass e.g. size: 2');
  return s;
}

function checkSplit(s: unknown, n: number): number {
  if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s > n) fail(`split must be an integer in 0..${n} (the flow's n) (got ${String(s)})`, 'omit it to give every particle `colour`');
  return s;
}

/** The view as a column-major clip matrix. */
function viewMatrix(v: unknown): Float32Array {
  const arr = v as ArrayLike<number> | null;
  if (arr === null || typeof arr !== 'object' || typeof arr.length !== 'number' || (arr.length !== 4 && arr.length !== 16)) {
    fail(`view must be a box [xmin, xmax, ymin, ymax] or a 4×4 matrix of 16 numbers (got ${Array.isArray(v) ? `${v.length} numbers` : String(v)})`, 'pass e.g. view: [-2, 2, -2, 2]');
  }
  for (let i = 0; i < arr.length; i++) {
    if (typeof arr[i] !== 'number' || !Number.isFinite(arr[i])) fail(`view[${i}] is not a finite number (${String(arr[i])})`, 'pass finite numbers');
  }
  if (arr.length === 16) return Float32Array.from(arr);
  const [x0, x1, y0, y1] = [arr[0]!, arr[1]!, arr[2]!, arr[3]!];
  if (!(x1 > x0 && y1 > y0)) fail(`the view box needs xmax > xmin and ymax > ymin (got [${x0}, ${x1}, ${y0}, ${y1}])`, 'pass [xmin, xmax, ymin, ymax]');
  const sx = 2 / (x1 - x0), sy = 2 / (y1 - y0);
  // Column-major: clip = (sx (x − cx), sy (y − cy), 0, 1).
  return new Float32Array([sx, 0, 0, 0, 0, sy, 0, 0, 0, 0, 0, 0, -sx * 0.5 * (x0 + x1), -sy * 0.5 * (y0 + y1), 0, 1]);
}

function checkTarget(w: unknown, h: unknown): [number, number] {
  const ok = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x > 0;
  if (!ok(w) || !ok(h)) fail(`the target size must be two positive integers of pixels (got ${String(w)} × ${String(h)})`, 'pass the canvas width and height');
  return [w as number, h as number];
}

/**
 * Creates a renderer that draws `flow`'s particles (read from `flow.buffers.positions`, no
 * readback) into render passes of the caller. The caller owns the pass, the canvas and the
 * command encoder; `encode(pass)` records one draw (instanced round quads, or a point list when
 * `size` ≤ 1). Validates every option and throws `wgflow: createParticleRenderer: …` naming it.
 *
 * @example
 * const ctx = canvas.getContext('webgpu')!;
 * const format = navigator.gpu.getPreferredCanvasFormat();
 * ctx.configure({ device, format, alphaMode: 'opaque' });
 * const renderer = createParticleRenderer(device, flow, { format, size: 3, view: [-2, 2, -2, 2], targetSize: [canvas.width, canvas.height] });
 * function frame() {
 *   const enc = device.createCommandEncoder();
 *   const cpass = enc.beginComputePass(); flow.encodeSteps(cpass, 2); cpass.end();
 *   const pass = enc.beginRenderPass({ colorAttachments: [{ view: ctx.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: [0, 0, 0, 1] }] });
 *   renderer.encode(pass); pass.end();
 *   device.queue.submit([enc.finish()]);
 *   requestAnimationFrame(frame);
 * }
 */
export function createParticleRenderer(device: GPUDevice, flow: Pick<Flow, 'n' | 'dim' | 'buffers'>, options: ParticleRendererOptions): ParticleRenderer {
  if (!device || typeof (device as GPUDevice).createRenderPipeline !== 'function') fail('device is not a GPUDevice', 'pass the device the flow was created on (getDevice().device)');
  if (!flow || typeof flow !== 'object' || !flow.buffers?.positions) fail('flow has no buffers.positions', 'pass a flow from createFlow()');
  const n = flow.n, dim = flow.dim;
  if (!Number.isInteger(n) || n < 1) fail(`flow.n must be a positive integer (got ${String(n)})`, 'pass a flow from createFlow()');
  const vertexFormat = VERTEX_FORMATS[dim];
  if (!vertexFormat) fail(`flow.dim must be 1, 2 or 3 (got ${String(dim)})`, 'pass a flow from createFlow()');
  if (!options || typeof options !== 'object') fail('options are missing', 'pass at least { format }');
  const known = new Set(['format', 'colour', 'colour2', 'split', 'size', 'view', 'targetSize', 'sampleCount', 'label']);
  for (const k of Object.keys(options)) if (!known.has(k)) fail(`unknown option '${k}'`, `use ${[...known].join(', ')}`);
  if (typeof options.format !== 'string' || options.format.length === 0) fail(`format must be a GPUTextureFormat string (got ${String(options.format)})`, "pass navigator.gpu.getPreferredCanvasFormat() or the target texture's format");
  const sampleCount = options.sampleCount ?? 1;
  if (sampleCount !== 1 && sampleCount !== 4) fail(`sampleCount must be 1 or 4 (got ${String(sampleCount)})`, 'match the render pass');
  const label = options.label ?? 'wgflow.render';
  if (typeof label !== 'string') fail(`label must be a string (got ${String(label)})`, 'pass a string');

  const state = {
    colour: checkColour(options.colour ?? DEFAULT_COLOUR, 'colour'),
    colour2: checkColour(options.colour2 ?? DEFAULT_COLOUR2, 'colour2'),
    split: checkSplit(options.split ?? n, n),
    size: checkSize(options.size ?? 2),
    view: viewMatrix(options.view ?? [-1, 1, -1, 1]),
    target: checkTarget(...((options.targetSize ?? [512, 512]) as [unknown, unknown])),
  };

  const module = device.createShaderModule({ label: `${label}.shader`, code: renderWgsl });
  const bgl = device.createBindGroupLayout({
    label: `${label}.layout`,
    entries: [{ binding: 0, visibility: GPUShaderStage.VERTEX | GPUShaderStage.FRAGMENT, buffer: { type: 'uniform' } }],
  });
  const layout = device.createPipelineLayout({ label: `${label}.pipelineLayout`, bindGroupLayouts: [bgl] });
  const blend: GPUBlendState = {
    color: { srcFactor: 'one', dstFactor: 'one-minus-src-alpha', operation: 'add' },
    alpha: { srcFactor: 'one', dstFactor: 'one-minus-src-alpha', operation: 'add' },
  };
  const pipelines = new Map<boolean, GPURenderPipeline>();
  const pipeline = (points: boolean): GPURenderPipeline => {
    let p = pipelines.get(points);
    if (!p) {
      p = device.createRenderPipeline({
        label: `${label}.${points ? 'points' : 'quads'}`,
        layout,
        vertex: {
          module,
          entryPoint: points ? 'vs_point' : 'vs_quad',
          buffers: [{ arrayStride: 4 * dim, stepMode: points ? 'vertex' : 'instance', attributes: [{ shaderLocation: 0, offset: 0, format: vertexFormat }] }],
        },
        fragment: { module, entryPoint: points ? 'fs_point' : 'fs_quad', targets: [{ format: options.format, blend }] },
        primitive: { topology: points ? 'point-list' : 'triangle-list' },
        multisample: { count: sampleCount },
      });
      pipelines.set(points, p);
    }
    return p;
  };
  pipeline(state.size <= 1);
  const uniform = device.createBuffer({ label: `${label}.view`, size: UNIFORM_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const bind = device.createBindGroup({ label: `${label}.bind`, layout: bgl, entries: [{ binding: 0, resource: { buffer: uniform } }] });
  const data = new ArrayBuffer(UNIFORM_BYTES);
  const f32 = new Float32Array(data), u32 = new Uint32Array(data);
  let destroyed = false;

  return {
    encode(pass) {
      if (destroyed) fail('encode() after destroy()', 'create a new renderer');
      f32.set(state.view, AT.view!);
      f32.set(state.colour, AT.colour!);
      f32.set(state.colour2, AT.colour2!);
      f32[AT.radius!] = state.size / state.target[0];
      f32[AT.radius! + 1] = state.size / state.target[1];
      u32[AT.split!] = state.split;
      u32[AT.pad!] = 0;
      device.queue.writeBuffer(uniform, 0, data);
      const points = state.size <= 1;
      pass.setPipeline(pipeline(points));
      pass.setBindGroup(0, bind);
      pass.setVertexBuffer(0, flow.buffers.positions, 0, n * dim * 4);
      if (points) pass.draw(n);
      else pass.draw(6, n);
    },
    setView(view) {
      state.view = viewMatrix(view);
    },
    setStyle(style) {
      if (!style || typeof style !== 'object') fail('setStyle needs an object', 'pass e.g. { size: 3 }');
      if (style.colour !== undefined) state.colour = checkColour(style.colour, 'colour');
      if (style.colour2 !== undefined) state.colour2 = checkColour(style.colour2, 'colour2');
      if (style.split !== undefined) state.split = checkSplit(style.split, n);
      if (style.size !== undefined) state.size = checkSize(style.size);
    },
    resize(width, height) {
      state.target = checkTarget(width, height);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      uniform.destroy();
    },
  };
}
