import { describe, expect, it } from 'vitest';
import { testDevice } from './helpers.js';
import { dispatchSize } from '../src/gpu/resources.js';

describe('getDevice', () => {
  it('finds an adapter and names it', async () => {
    const { device, adapterInfo, summary } = await testDevice();
    expect(device).toBeTruthy();
    expect(summary.length).toBeGreaterThan(5);
    expect(adapterInfo.runtime).toBe('dawn-node');
    // The device carries the adapter's own storage limit, not WebGPU's 128 MiB default.
    expect(device.limits.maxStorageBufferBindingSize).toBeGreaterThan(128 * 1024 * 1024);
  });
  it('sizes 2D dispatches past 65535 workgroups', () => {
    expect(dispatchSize(10)).toEqual([10, 1]);
    const [x, y] = dispatchSize(200_000);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(200_000);
  });
});
