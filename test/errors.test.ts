import { describe, expect, it } from 'vitest';
import { testDevice } from './helpers.js';
import { createFlow } from '../src/flow.js';
import { quadratic, customPotential } from '../src/energies/potential.js';
import { referenceFlow } from '../src/reference/flows.js';

describe('bad input throws a clear error and builds nothing', () => {
  const x = new Float32Array([1, 2, 3, 4]);
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['N = 0', { dim: 2, positions: new Float32Array(0) }, /N = 0/],
    ['dim 4', { dim: 4, positions: new Float32Array(8) }, /dim must be 1, 2 or 3/],
    ['dim 0', { dim: 0, positions: x }, /dim must be 1, 2 or 3/],
    ['NaN position', { dim: 2, positions: new Float32Array([1, NaN, 0, 0]) }, /positions\[1\].*must be finite/],
    ['Inf position', { dim: 2, positions: new Float32Array([1, 0, Infinity, 0]) }, /positions\[2\].*must be finite/],
    ['h = 0', { dim: 2, positions: x, h: 0 }, /h must be a finite number > 0/],
    ['h < 0', { dim: 2, positions: x, h: -1 }, /h must be a finite number > 0/],
    ['h NaN', { dim: 2, positions: x, h: NaN }, /h must be a finite number > 0/],
    ['h Inf', { dim: 2, positions: x, h: Infinity }, /h must be a finite number > 0/],
    ['gamma < 0', { dim: 2, positions: x, gamma: -0.1 }, /gamma must be finite and ≥ 0/],
    ['length not multiple of dim', { dim: 3, positions: x }, /not a multiple of dim 3/],
    ['unknown method', { dim: 2, positions: x, method: 'newton' }, /unknown method/],
    ['velocities length', { dim: 2, positions: x, velocities: new Float32Array(3) }, /velocities length/],
  ];
  for (const [name, opts, re] of cases) {
    it(name, async () => {
      const { device } = await testDevice();
      device.pushErrorScope('validation');
      await expect(createFlow(device, { h: 0.1, energy: [quadratic()], ...opts } as never)).rejects.toThrow(re);
      expect(await device.popErrorScope()).toBeNull();
    });
  }
  it('N beyond the buffer limit names the limit and the N asked for', async () => {
    const { device } = await testDevice();
    const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    const n = Math.floor(limit / 12) + 1;
    // A typed-array view of the right length without allocating: a fake object would be rejected, so use a spec.
    await expect(createFlow(device, { dim: 3, positions: { kind: 'uniform', n }, h: 0.1 })).rejects.toThrow(new RegExp(`N = ${n} .*allows ${limit} bytes`));
  });
  it('a WGSL error in a user potential quotes the message and the user line', async () => {
    const { device } = await testDevice();
    const bad = customPotential({
      wgsl: `fn potential(x: vec3f) -> f32 { return dot(x, x); }
fn potential_grad(x: vec3f) -> vec3f {
  return 2.0 * x + undefined_thing;
}`,
    });
    await expect(createFlow(device, { dim: 2, positions: x, h: 0.1, energy: [bad] })).rejects.toThrow(/the WGSL of term 'custom' line 3:.*undefined_thing/s);
  });
  it('a damping function returning a negative value throws', async () => {
    const { device } = await testDevice();
    const flow = await createFlow(device, { dim: 2, positions: x, h: 0.1, energy: [quadratic()], method: 'accelerated', gamma: (t) => 0.5 - t });
    await expect(flow.step(5)).rejects.toThrow(/gamma\(1\) = -0.5/);
    flow.destroy();
  });
  it('divergence is reported, not silent NaN', async () => {
    const { device } = await testDevice();
    const flow = await createFlow(device, { dim: 1, positions: new Float32Array([1, -2]), h: 3, energy: [quadratic()], method: 'gradient' });
    await expect(flow.step(400)).rejects.toThrow(/non-finite position or velocity at step/);
    flow.destroy();
    // Steps recorded with encodeSteps (a render loop) never read back; the next stats() says it.
    const f2 = await createFlow(device, { dim: 1, positions: new Float32Array([1, -2]), h: 3, energy: [quadratic()], method: 'gradient' });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    f2.encodeSteps(pass, 400);
    pass.end();
    device.queue.submit([enc.finish()]);
    await expect(f2.stats()).rejects.toThrow(/non-finite position or velocity at step \d+/);
    f2.destroy();
  });
  it('destroy() is idempotent and later calls throw', async () => {
    const { device } = await testDevice();
    const flow = await createFlow(device, { dim: 2, positions: x, h: 0.1, energy: [quadratic()] });
    flow.destroy();
    flow.destroy();
    await expect(flow.step(1)).rejects.toThrow(/destroyed/);
  });
});

describe('user potential, damping schedules, checkpoints', () => {
  it('stats() names a term whose value is NaN instead of returning it', async () => {
    const { device } = await testDevice();
    // U = 0/0 at run time for particles with x₀ < 0.
    const nan = customPotential({
      wgsl: `fn potential(x: vec3f) -> f32 { let z = min(x.x, 0.0); return z / z; }
fn potential_grad(x: vec3f) -> vec3f { return vec3f(0.0); }`,
      label: 'logx',
    });
    const flow = await createFlow(device, { dim: 2, positions: new Float32Array([-1, 0, 1, 0, 2, 0]), h: 0.1, energy: [quadratic(), nan] });
    await expect(flow.stats()).rejects.toThrow(/stats at step 0: the energy term 'logx' evaluated to NaN/);
    flow.destroy();
  });

  it('customPotential runs on the GPU and matches its float64 twin', async () => {
    const { device } = await testDevice();
    const term = customPotential({
      wgsl: `fn sq(x: vec3f) -> f32 { return dot(x, x); }
fn potential(x: vec3f) -> f32 { return param(0u) * sq(x) * sq(x); }
fn potential_grad(x: vec3f) -> vec3f { return 4.0 * param(0u) * sq(x) * x; }`,
      params: [0.25],
      value: (y) => 0.25 * (y[0]! ** 2 + y[1]! ** 2) ** 2,
      gradient: (y) => { const r = y[0]! ** 2 + y[1]! ** 2; return Float64Array.from([y[0]! * r, y[1]! * r]); },
    });
    const x0 = new Float32Array([1, 0.5, -0.3, 0.8, 0.2, -1.1]);
    const flow = await createFlow(device, { dim: 2, positions: x0, h: 0.05, energy: [term], method: 'steering', gamma: { schedule: 'inverse', c: 3, t0: 2, floor: 0.2 } });
    await flow.step(50);
    const got = await flow.positions();
    const ref = referenceFlow(Float64Array.from(x0), undefined, {
      dim: 2, method: 'steering', h: 0.05, steps: 50, gamma: (t) => Math.max(0.2, 3 / (t + 2)),
      gradient: (y) => { const g = new Float64Array(y.length); for (let i = 0; i < 3; i++) { const r = y[2 * i]! ** 2 + y[2 * i + 1]! ** 2; g[2 * i] = y[2 * i]! * r; g[2 * i + 1] = y[2 * i + 1]! * r; } return g; },
    });
    for (let k = 0; k < 6; k++) expect(got[k]).toBeCloseTo(ref.x[k]!, 4);
    const s = await flow.stats();
    expect(s.gamma).toBeCloseTo(Math.max(0.2, 3 / (49 + 2)), 6);
    flow.destroy();
  });
  it('a damping function of the step matches the reference', async () => {
    const { device } = await testDevice();
    const x0 = new Float32Array([1, -2, 0.5]);
    const gamma = (t: number) => 1 / Math.sqrt(t + 1);
    const flow = await createFlow(device, { dim: 1, positions: x0, h: 0.1, energy: [quadratic()], method: 'accelerated', gamma, stepsPerSubmit: 7 });
    await flow.step(40);
    const got = await flow.positions();
    const ref = referenceFlow(Float64Array.from(x0), undefined, { dim: 1, method: 'accelerated', h: 0.1, gamma, steps: 40, gradient: (y) => y.map((v) => 2 * v) });
    for (let k = 0; k < 3; k++) expect(got[k]).toBeCloseTo(ref.x[k]!, 5);
    flow.destroy();
  });
  it('checkpoint and restore repeat the trajectory bit for bit', async () => {
    const { device } = await testDevice();
    const x0 = new Float32Array(Array.from({ length: 300 }, (_, k) => Math.sin(k)));
    const flow = await createFlow(device, { dim: 3, positions: x0, h: 0.03, energy: [quadratic()], method: 'steering' });
    await flow.step(20);
    const cp = await flow.checkpoint();
    await flow.step(30);
    const a = await flow.positions();
    const sa = await flow.stats();
    flow.restore(cp);
    await flow.step(30);
    const b = await flow.positions();
    const sb = await flow.stats();
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    expect(sb.step).toBe(50);
    expect(sb.s).toBe(sa.s);
    flow.destroy();
  });
});
