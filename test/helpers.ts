// Shared test helpers: one device per test file on the real adapter (never skipped: a missing
// adapter throws and fails the run), and error-scope wrappers.
import { getDevice, type DeviceResult } from '../src/device.js';
import { seededUniform } from '../src/init.js';

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
export const rng: (seed: number) => () => number = seededUniform;
