// createParticleRenderer on the test adapter (Node, Dawn): particles at known positions are
// drawn into an offscreen texture and read back; the lit pixels must be exactly where the view
// puts them (2-D box, a 4×4 matrix, a wgpu-matrix perspective camera), in the right colours.
// Option validation and destroy() are checked too.
import { describe, expect, it } from 'vitest';
import { mat4 } from 'wgpu-matrix';
import { createFlow } from '../src/flow.js';
import { createParticleRenderer, type ParticleRendererOptions } from '../src/render/particles.js';
import { testDevice } from './helpers.js';

const W = 64;
const FORMAT: GPUTextureFormat = 'rgba8unorm';

/** Draws with `opts` into a W×W texture cleared to black and returns its RGBA bytes. */
async function draw(device: GPUDevice, flow: Parameters<typeof createParticleRenderer>[1], opts: Omit<ParticleRendererOptions, 'format'>): Promise<Uint8Array> {
  const tex = device.createTexture({ size: [W, W], format: FORMAT, usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC });
  const out = device.createBuffer({ size: W * W * 4, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  device.pushErrorScope('validation');
  const r = createParticleRenderer(device, flow, { format: FORMAT, targetSize: [W, W], ...opts });
  const enc = device.createCommandEncoder();
  const pass = enc.beginRenderPass({ colorAttachments: [{ view: tex.createView(), loadOp: 'clear', storeOp: 'store', clearValue: [0, 0, 0, 1] }] });
  r.encode(pass);
  pass.end();
  enc.copyTextureToBuffer({ texture: tex }, { buffer: out, bytesPerRow: W * 4 }, [W, W]);
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error(`validation error: ${err.message}`);
  await out.mapAsync(GPUMapMode.READ);
  const px = new Uint8Array(out.getMappedRange().slice(0));
  out.unmap();
  out.destroy();
  tex.destroy();
  r.destroy();
  r.destroy(); // idempotent
  return px;
}

/** Lit pixels as "col,row" → [r, g, b]. */
function lit(px: Uint8Array): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) {
    const o = 4 * (y * W + x);
    if (px[o]! + px[o + 1]! + px[o + 2]! > 30) m.set(`${x},${y}`, [px[o]!, px[o + 1]!, px[o + 2]!]);
  }
  return m;
}
/** The pixel (column, row) that clip (cx, cy) falls in. */
const pixelOf = (cx: number, cy: number) => `${Math.floor(((cx + 1) / 2) * W)},${Math.floor(((1 - cy) / 2) * W)}`;

describe('createParticleRenderer', () => {
  it('2-D box view: one pixel per particle, exactly where the box maps it, coloured by split', async () => {
    const { device } = await testDevice();
    // Positions at pixel centres (clip coordinates odd multiples of 1/64) of the box [-2, 2] × [-1, 3].
    const pts = [[-1.03125, 2.03125], [0.53125, -0.28125], [1.65625, 0.46875]];
    const flow = await createFlow(device, { dim: 2, positions: Float32Array.from(pts.flat()), h: 0.1 });
    const px = lit(await draw(device, flow, { size: 1, view: [-2, 2, -1, 3], colour: [1, 0, 0, 1], colour2: [0, 0, 1, 1], split: 1 }));
    const want = pts.map(([x, y]) => pixelOf((x! - 0) / 2, (y! - 1) / 2));
    expect([...px.keys()].sort()).toEqual([...want].sort());
    expect(px.get(want[0]!)).toEqual([255, 0, 0]);
    expect(px.get(want[1]!)).toEqual([0, 0, 255]);
    expect(px.get(want[2]!)).toEqual([0, 0, 255]);
    flow.destroy();
  });

  it('sprites: a round disc of the requested diameter around the particle', async () => {
    const { device } = await testDevice();
    const flow = await createFlow(device, { dim: 2, positions: new Float32Array([0, 0]), h: 0.1 });
    const px = lit(await draw(device, flow, { size: 12, colour: [0, 1, 0, 1] }));
    // Centre at the pixel corner (32, 32); disc radius 6 px, soft edge from 0.55 r.
    let minX = W, maxX = 0, minY = W, maxY = 0;
    for (const k of px.keys()) { const [x, y] = k.split(',').map(Number); minX = Math.min(minX, x!); maxX = Math.max(maxX, x!); minY = Math.min(minY, y!); maxY = Math.max(maxY, y!); }
    expect(minX).toBeGreaterThanOrEqual(26); expect(maxX).toBeLessThanOrEqual(37);
    expect(minY).toBeGreaterThanOrEqual(26); expect(maxY).toBeLessThanOrEqual(37);
    expect(px.size).toBeGreaterThan(40);   // ≈ π·5² lit (the soft rim is dim)
    expect(px.size).toBeLessThan(114);     // < π·6²
    expect(px.has('26,26')).toBe(false);   // a disc, not a square
    expect(px.get('31,31')![1]).toBeGreaterThan(240);
    flow.destroy();
  });

  it('3-D: a 4×4 matrix and a wgpu-matrix perspective camera', async () => {
    const { device } = await testDevice();
    const flow = await createFlow(device, { dim: 3, positions: new Float32Array([0.515625, -0.265625, 0, -0.484375, 0.453125, 0.25]), h: 0.1 });
    // A matrix that swaps x and y (column-major).
    const swap = [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    let px = lit(await draw(device, flow, { size: 1, view: swap }));
    expect([...px.keys()].sort()).toEqual([pixelOf(-0.265625, 0.515625), pixelOf(0.453125, -0.484375)].sort());
    // Camera at (0, 0, 3) looking at the origin, 90° field of view: clip x = x / (3 − z).
    const view = mat4.multiply(mat4.perspective(Math.PI / 2, 1, 0.1, 10), mat4.lookAt([0, 0, 3], [0, 0, 0], [0, 1, 0]));
    px = lit(await draw(device, flow, { size: 1, view }));
    expect([...px.keys()].sort()).toEqual([pixelOf(0.515625 / 3, -0.265625 / 3), pixelOf(-0.484375 / 2.75, 0.453125 / 2.75)].sort());
    flow.destroy();
  });

  it('setView and setStyle change the next draw; 1-D flows draw on the x axis', async () => {
    const { device } = await testDevice();
    const flow = await createFlow(device, { dim: 1, positions: new Float32Array([0.5 + 1 / 128]), h: 0.1 });
    const tex = device.createTexture({ size: [W, W], format: FORMAT, usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC });
    const r = createParticleRenderer(device, flow, { format: FORMAT, targetSize: [W, W], size: 1 });
    r.setView([0, 1, -1 - 1 / 64, 1 - 1 / 64]); // pixel centres: clip (1/64, 1/64)
    r.setStyle({ colour: [1, 1, 1, 1] });
    const out = device.createBuffer({ size: W * W * 4, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    const enc = device.createCommandEncoder();
    const pass = enc.beginRenderPass({ colorAttachments: [{ view: tex.createView(), loadOp: 'clear', storeOp: 'store', clearValue: [0, 0, 0, 1] }] });
    r.encode(pass);
    pass.end();
    enc.copyTextureToBuffer({ texture: tex }, { buffer: out, bytesPerRow: W * 4 }, [W, W]);
    device.queue.submit([enc.finish()]);
    await out.mapAsync(GPUMapMode.READ);
    const px = lit(new Uint8Array(out.getMappedRange().slice(0)));
    out.unmap();
    expect([...px.entries()]).toEqual([[pixelOf(1 / 64, 1 / 64), [255, 255, 255]]]);
    r.destroy();
    expect(() => r.encode(pass)).toThrow(/createParticleRenderer: encode\(\) after destroy\(\)/);
    tex.destroy(); out.destroy(); flow.destroy();
  });

  it('validates its options with errors that name them', async () => {
    const { device } = await testDevice();
    const flow = await createFlow(device, { dim: 2, positions: new Float32Array([0, 0, 1, 1]), h: 0.1 });
    const make = (o: Record<string, unknown>) => () => createParticleRenderer(device, flow, o as unknown as ParticleRendererOptions);
    expect(make({})).toThrow(/wgflow: createParticleRenderer: format must be a GPUTextureFormat/);
    expect(make({ format: FORMAT, colour: [1, 0, 0] })).toThrow(/colour must be 4 numbers/);
    expect(make({ format: FORMAT, colour2: [1, 0, 0, 2] })).toThrow(/colour2 must be 4 numbers/);
    expect(make({ format: FORMAT, size: 0 })).toThrow(/size must be a number of pixels in \(0, 64\]/);
    expect(make({ format: FORMAT, split: 3 })).toThrow(/split must be an integer in 0\.\.2/);
    expect(make({ format: FORMAT, view: [1, -1, 0, 1] })).toThrow(/xmax > xmin/);
    expect(make({ format: FORMAT, view: [0, 1, 2] })).toThrow(/view must be a box/);
    expect(make({ format: FORMAT, view: [0, 1, NaN, 1] })).toThrow(/view\[2\] is not a finite number/);
    expect(make({ format: FORMAT, targetSize: [0, 10] })).toThrow(/target size must be two positive integers/);
    expect(make({ format: FORMAT, sampleCount: 2 })).toThrow(/sampleCount must be 1 or 4/);
    expect(make({ format: FORMAT, colour_: [1, 1, 1, 1] })).toThrow(/unknown option 'colour_'/);
    expect(() => createParticleRenderer(device, {} as never, { format: FORMAT })).toThrow(/flow has no buffers\.positions/);
    const r = createParticleRenderer(device, flow, { format: FORMAT });
    expect(() => r.setStyle({ size: 100 })).toThrow(/size must be/);
    expect(() => r.resize(10, 0.5)).toThrow(/target size/);
    r.destroy();
    flow.destroy();
  });
});
