/**
 * Small WebGPU helpers shared by every kernel: labelled buffers, shader compilation that
 * throws on WGSL errors, 2D dispatch sizing past 65535 workgroups, readback, error scopes.
 */

/** Workgroup size used by the per-particle kernels; feeds the `WG` override and the dispatch maths. */
export const WORKGROUP_SIZE = 256;

/** Largest number of workgroups in one dispatch dimension (WebGPU default limit). */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * Dispatch size for `count` workgroups: 1D up to 65535, else 2D with x * y >= count.
 * Kernels recover a flat index with `flat_id()` of common.wgsl.
 */
export function dispatchSize(count: number): [number, number] {
  if (count <= MAX_WORKGROUPS_PER_DIM) return [Math.max(1, count), 1];
  const y = Math.ceil(count / MAX_WORKGROUPS_PER_DIM);
  const x = Math.ceil(count / y);
  return [x, y];
}

/** Workgroups needed to cover `n` items with workgroups of `wg` threads, as a 2D dispatch. */
export function dispatchFor(n: number, wg = WORKGROUP_SIZE): [number, number] {
  return dispatchSize(Math.ceil(Math.max(1, n) / wg));
}

/** Where a spliced piece of WGSL starts in a composed module, for error messages. */
export interface SourceSpan {
  name: string;
  firstLine: number; // 1-based line in the composed module
  lineCount: number;
}

/**
 * Creates a shader module and throws an Error quoting every WGSL error message with its line
 * (and the line's text), mapped back into spliced user code when `spans` are given.
 */
export async function compileModule(device: GPUDevice, label: string, code: string, spans: SourceSpan[] = []): Promise<GPUShaderModule> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label, code });
  const info = await module.getCompilationInfo();
  const scopeErr = await device.popErrorScope();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length || scopeErr) {
    const lines = code.split('\n');
    const parts = errors.map((m) => {
      const span = spans.find((s) => m.lineNum >= s.firstLine && m.lineNum < s.firstLine + s.lineCount);
      const where = span
        ? `${span.name} line ${m.lineNum - span.firstLine + 1}`
        : `${label} line ${m.lineNum}`;
      const text = lines[m.lineNum - 1] ?? '';
      return `${where}:${m.linePos}: ${m.message}\n    ${text.trim()}`;
    });
    if (!parts.length && scopeErr) parts.push(scopeErr.message);
    throw new Error(`wgflow: WGSL compilation failed for ${label}:\n${parts.join('\n')}`);
  }
  return module;
}

/** Kind of a binding in {@link bindingLayout}: read-only storage, read-write storage, uniform. */
export type BindingKind = 'read' | 'storage' | 'uniform';

/**
 * An explicit bind group layout for compute (binding k has kind kinds[k]). Unlike 'auto'
 * layouts it may hold bindings that an entry point does not use, so several entry points of
 * one module can share one bind group.
 */
export function bindingLayout(device: GPUDevice, label: string, kinds: BindingKind[]): GPUBindGroupLayout {
  return device.createBindGroupLayout({
    label,
    entries: kinds.map((k, binding) => ({
      binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: k === 'read' ? 'read-only-storage' : k === 'storage' ? 'storage' : 'uniform' },
    })),
  });
}

/** Creates a compute pipeline ('auto' layout unless one is given), turning validation errors into a thrown Error. */
export async function computePipeline(
  device: GPUDevice,
  label: string,
  module: GPUShaderModule,
  constants: Record<string, number> = {},
  entryPoint = 'main',
  layout?: GPUBindGroupLayout | GPUBindGroupLayout[],
): Promise<GPUComputePipeline> {
  device.pushErrorScope('validation');
  const p = device.createComputePipeline({
    label,
    layout: layout ? device.createPipelineLayout({ label: `${label}.layout`, bindGroupLayouts: Array.isArray(layout) ? layout : [layout] }) : 'auto',
    compute: { module, entryPoint, constants },
  });
  const err = await device.popErrorScope();
  if (err) throw new Error(`wgflow: pipeline ${label} is invalid: ${err.message}`);
  return p;
}

/** Creates a labelled buffer, optionally filled with `data`. */
export function createBuffer(device: GPUDevice, label: string, size: number, usage: GPUBufferUsageFlags, data?: ArrayBufferView): GPUBuffer {
  const aligned = Math.max(16, Math.ceil(size / 16) * 16);
  const buf = device.createBuffer({ label, size: aligned, usage: usage | (data ? GPUBufferUsage.COPY_DST : 0) });
  if (data) device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
  return buf;
}

/** Binds buffers to binding 0..k-1 of group 0 of a pipeline. */
export function bindBuffers(device: GPUDevice, label: string, pipeline: GPUComputePipeline | GPUBindGroupLayout, buffers: GPUBuffer[]): GPUBindGroup {
  return device.createBindGroup({
    label,
    layout: 'getBindGroupLayout' in pipeline ? pipeline.getBindGroupLayout(0) : pipeline,
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}

/** Copies `size` bytes of `src` to a fresh MAP_READ buffer and returns them. Not for the hot loop. */
export async function readBuffer(device: GPUDevice, src: GPUBuffer, size: number, offset = 0): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ label: 'wgflow.readback', size: Math.ceil(size / 4) * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder({ label: 'wgflow.readback' });
  enc.copyBufferToBuffer(src, offset, staging, 0, Math.ceil(size / 4) * 4);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0, size);
  staging.unmap();
  staging.destroy();
  return out;
}

/** Runs `fn` inside validation and out-of-memory error scopes; throws the first error with `what`. */
export async function withErrorScopes<T>(device: GPUDevice, what: string, fn: () => T | Promise<T>): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T;
  try {
    result = await fn();
  } finally {
    const v = await device.popErrorScope();
    const m = await device.popErrorScope();
    if (v) throw new Error(`wgflow: WebGPU validation error in ${what}: ${v.message}`);
    if (m) throw new Error(`wgflow: out of GPU memory in ${what}: ${m.message}`);
  }
  return result;
}

/** The number of bytes a storage binding may hold on this device. */
export function maxBindingBytes(device: GPUDevice): number {
  return Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
}

/** queue.writeBuffer for any typed array view (including views of shared or resizable buffers). */
export function writeView(device: GPUDevice, buffer: GPUBuffer, offset: number, view: ArrayBufferView): void {
  device.queue.writeBuffer(buffer, offset, view.buffer as ArrayBuffer, view.byteOffset, view.byteLength);
}

interface DeviceCache {
  modules: Map<string, Promise<GPUShaderModule>>;
  layouts: Map<string, GPUBindGroupLayout>;
  pipelines: Map<string, Promise<GPUComputePipeline>>;
}
const caches = new WeakMap<GPUDevice, DeviceCache>();

function cacheOf(device: GPUDevice): DeviceCache {
  let c = caches.get(device);
  if (!c) caches.set(device, (c = { modules: new Map(), layouts: new Map(), pipelines: new Map() }));
  return c;
}

/** A bind group layout shared by every user of the same binding kinds on this device. */
export function cachedLayout(device: GPUDevice, kinds: BindingKind[]): GPUBindGroupLayout {
  const c = cacheOf(device);
  const key = kinds.join(',');
  let l = c.layouts.get(key);
  if (!l) c.layouts.set(key, (l = bindingLayout(device, `wgflow.layout(${key})`, kinds)));
  return l;
}

/**
 * A compute pipeline built once per device for the same WGSL text, constants, entry point and
 * binding kinds (one array per bind group), so creating many flows compiles each kernel once.
 * Compile errors are thrown (and not cached).
 */
export function cachedPipeline(
  device: GPUDevice,
  label: string,
  code: string,
  constants: Record<string, number>,
  entryPoint: string,
  groups: BindingKind[][],
  spans: SourceSpan[] = [],
): Promise<GPUComputePipeline> {
  const c = cacheOf(device);
  const key = `${entryPoint}|${JSON.stringify(constants)}|${groups.map((g) => g.join(',')).join('/')}|${code}`;
  let p = c.pipelines.get(key);
  if (!p) {
    let m = c.modules.get(code);
    if (!m) {
      m = compileModule(device, label, code, spans);
      c.modules.set(code, m);
      m.catch(() => c.modules.delete(code));
    }
    p = m.then((module) => computePipeline(device, label, module, constants, entryPoint, groups.map((g) => cachedLayout(device, g))));
    c.pipelines.set(key, p);
    p.catch(() => c.pipelines.delete(key));
  }
  return p;
}
