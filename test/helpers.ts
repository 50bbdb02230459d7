// Shared test helpers: one device per test file on the real adapter (never skipped: a missing
// adapter throws and fails the run), and error-scope wrappers.
import { getDevice, type DeviceResult } from '../src/gpu/device.js';
import { mulberry32 } from '../src/math/random.js';
import { readBuffer, writeView } from '../src/gpu/resources.js';
import type { KernelTerm } from '../src/energies/types.js';
import { expect } from 'vitest';

let cached: Promise<DeviceResult> | undefined;

/** The test device; throws (failing the test) when no WebGPU adapter exists. */
export function testDevice(): Promise<DeviceResult> {
  cached ??= getDevice();
  return cached;
}

/** Runs fn inside a validation scope and fails on any validation error. */
export async function checked<T>(device: GPUDevice, fn: () => Promise<T>): Promise<T> {
  device.pushErrorScope('validation');
  const r = await fn();
  const err = await device.popErrorScope();
  if (err) throw new Error(`validation error: ${err.message}`);
  return r;
}

/** Deterministic uniform random numbers in [0, 1) (mulberry32). */
export const rng: (seed: number) => () => number = mulberry32;

/** Value of a kernel term from its per-particle energy densities: w (mean e + constant). */
export function gpuValue(e: Float32Array, constant: number, weight: number): number {
  let s = 0;
  for (const v of e) s += v;
  return weight * (s / e.length + constant);
}

/** max |a − b| / max |b| (max |a − b| when b = 0). */
export function relMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den > 0 ? num / den : num;
}

/** ‖a − b‖ / ‖b‖. */
export function relNorm(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

/** Options of {@link runTerm}. */
export interface RunTermOptions {
  /** Gradient already in the buffer before the term adds to it (default zeros). */
  g0?: Float32Array;
  /** setWeight(w) after create, before encoding. */
  weightAfter?: number;
  /** Encode and read back this many times (determinism checks). Default 1. */
  runs?: number;
  /** The term's energy slot among 3 (default 1); the other slots must stay untouched. */
  slot?: number;
}

/**
 * Runs one kernel term on x (f32 values) the way a flow does, in its own buffers: writes the
 * positions, creates the term at `slot` of 3 energy slots filled with a sentinel, encodes it
 * and reads back G − G0, the energy densities of its slot and, where the term exposes one, its
 * length scale. Checks that the other slots are untouched and that destroy() is idempotent.
 */
export async function runTerm(device: GPUDevice, term: KernelTerm, x: Float32Array, n: number, dim: number, opts: RunTermOptions = {}) {
  const SENTINEL = Math.fround(1e30);
  const SLOTS = 3;
  const slot = opts.slot ?? 1;
  return checked(device, async () => {
    const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const bytes = (c: number) => Math.max(16, c * 4);
    const positions = device.createBuffer({ label: 'test.positions', size: bytes(n * dim), usage: S });
    const grad = device.createBuffer({ label: 'test.grad', size: bytes(n * dim), usage: S });
    const energy = device.createBuffer({ label: 'test.energy', size: bytes(SLOTS * n), usage: S });
    writeView(device, positions, 0, x);
    const G0 = opts.g0 ?? new Float32Array(n * dim);
    device.queue.writeBuffer(energy, 0, new Float32Array(SLOTS * n).fill(SENTINEL));
    const kernel = await term.create({ device, n, dim, positions, grad, energy, slot, label: 'test' });
    if (opts.weightAfter !== undefined) kernel.setWeight?.(opts.weightAfter);
    const outs: { dg: Float64Array; e: Float32Array; len?: Float32Array }[] = [];
    for (let run = 0; run < (opts.runs ?? 1); run++) {
      writeView(device, grad, 0, G0);
      const enc = device.createCommandEncoder({ label: `test.${term.label}` });
      const pass = enc.beginComputePass({ label: `test.${term.label}` });
      kernel.encode(pass);
      pass.end();
      device.queue.submit([enc.finish()]);
      const G = new Float32Array(await readBuffer(device, grad, n * dim * 4));
      const E = new Float32Array(await readBuffer(device, energy, SLOTS * n * 4));
      const ls = kernel.lengthScale;
      const len = ls ? new Float32Array(await readBuffer(device, ls.buffer, n * ls.stride * 4)) : undefined;
      for (let q = 0; q < SLOTS * n; q++) if (q < slot * n || q >= (slot + 1) * n) expect(E[q]).toBe(SENTINEL);
      const dg = new Float64Array(n * dim);
      for (let q = 0; q < n * dim; q++) dg[q] = G[q]! - G0[q]!;
      outs.push({ dg, e: E.slice(slot * n, (slot + 1) * n), len });
    }
    const diag = kernel.diagnostics ? await kernel.diagnostics() : undefined;
    const constant = kernel.constant();
    const lengthStride = kernel.lengthScale?.stride;
    kernel.destroy();
    kernel.destroy(); // idempotent
    for (const b of [positions, grad, energy]) b.destroy();
    return { ...outs[0]!, outs, diag, constant, lengthStride };
  });
}

/** The [name, type] fields of `struct <name> { ... }` in WGSL source (comments and commas dropped). */
export function wgslStructFields(code: string, name: string): string[][] {
  const m = code.match(new RegExp(`struct ${name} \\{([\\s\\S]*?)\\n\\}`));
  if (!m) throw new Error(`struct ${name} not found`);
  return m[1]!.split('\n').map((l) => l.replace(/\/\/.*/, '').trim()).filter(Boolean).map((l) => l.replace(/,$/, '').split(':').map((x) => x.trim()));
}

/** 99% of the points in a box of side 1e-3 at (5, ...), 1% far outliers (up to 1e6 away). */
export function clusterOutliers(n: number, dim: number, seed: number, far = 1e6): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const outlier = i % 100 === 37;
    for (let a = 0; a < dim; a++) out[i * dim + a] = outlier ? far * (2 * r() - 1) : 5 + 1e-3 * r();
  }
  return out;
}
