/**
 * GPU resources shared by every kernel: labelled buffers, 2D dispatch sizing past 65535
 * workgroups, readback through a small pool of MAP_READ buffers, error scopes, limits.
 * Pipelines and bind groups live in ./pipelines.ts, byte layouts in ./layout.ts.
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

/** Creates a labelled buffer, optionally filled with `data`. */
export function createBuffer(device: GPUDevice, label: string, size: number, usage: GPUBufferUsageFlags, data?: ArrayBufferView): GPUBuffer {
  const aligned = Math.max(16, Math.ceil(size / 16) * 16);
  const buf = device.createBuffer({ label, size: aligned, usage: usage | (data ? GPUBufferUsage.COPY_DST : 0) });
  if (data) device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
  return buf;
}

/** Readbacks up to this size reuse pooled MAP_READ buffers; larger ones get a buffer of their own. */
export const READBACK_POOL_MAX_BYTES = 1 << 20;
const readbackPools = new WeakMap<GPUDevice, Map<number, GPUBuffer[]>>();

/** Size class of a pooled readback: the next power of two, at least 256 bytes. */
function readbackClass(size: number): number {
  let c = 256;
  while (c < size) c *= 2;
  return c;
}

/**
 * Copies `size` bytes of `src` (from `offset`) into a MAP_READ buffer and returns them. Small
 * readbacks (stats, flags, state) reuse a per-device pool of staging buffers, so `stats()`
 * creates no GPU object after its first call. Not for the hot loop.
 */
export async function readBuffer(device: GPUDevice, src: GPUBuffer, size: number, offset = 0): Promise<ArrayBuffer> {
  const bytes = Math.ceil(size / 4) * 4;
  const pooled = bytes <= READBACK_POOL_MAX_BYTES;
  let pools = readbackPools.get(device);
  if (!pools) readbackPools.set(device, (pools = new Map()));
  const cls = pooled ? readbackClass(bytes) : bytes;
  const free = pooled ? pools.get(cls) ?? [] : [];
  if (pooled) pools.set(cls, free);
  const staging = free.pop() ?? device.createBuffer({ label: 'Readback.staging', size: cls, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder({ label: 'Readback.copy' });
  enc.copyBufferToBuffer(src, offset, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  try {
    await staging.mapAsync(GPUMapMode.READ, 0, bytes);
  } catch (e) {
    staging.destroy();
    throw e;
  }
  const out = staging.getMappedRange(0, bytes).slice(0, size);
  staging.unmap();
  if (pooled && free.length < 8) free.push(staging);
  else staging.destroy();
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

