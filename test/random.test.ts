import { describe, expect, it } from 'vitest';
import { checked, rng, testDevice } from './helpers.js';
import { readBuffer } from '../src/gpu/resources.js';
import { createRandomFill } from '../src/kernels/random.js';
import {
  PHILOX4X32_10_KAT,
  mulhi32,
  normal4,
  philox4x32,
  u01,
  uniform4,
  type Words4,
} from '../src/reference/random.js';
import { seedWords } from '../src/math/random.js';

const hex = (w: readonly number[]) => w.map((x) => (x >>> 0).toString(16).padStart(8, '0')).join(' ');

/** Standard normal CDF through Numerical Recipes' Chebyshev fit of erfc (fractional error < 1.2e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z - 1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - 0.5 * erfc : 0.5 * erfc;
}

/** Kolmogorov–Smirnov statistic of samples against N(0, 1). Sorts `xs` in place. */
function ksNormal(xs: Float64Array): number {
  xs.sort();
  const n = xs.length;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = normalCdf(xs[i]!);
    d = Math.max(d, f - i / n, (i + 1) / n - f);
  }
  return d;
}

describe('Philox4x32-10 CPU twin', () => {
  it('matches the Random123 known-answer vectors', () => {
    for (const v of PHILOX4X32_10_KAT) expect(hex(philox4x32(v.ctr, v.key))).toBe(hex(v.out));
  });
  it('mulhi32 equals the BigInt product', () => {
    const r = rng(1);
    const cases: [number, number][] = [[0xffffffff, 0xffffffff], [0, 0xffffffff], [0xd2511f53, 0x80000000], [1, 1]];
    for (let k = 0; k < 20000; k++) cases.push([(r() * 2 ** 32) >>> 0, (r() * 2 ** 32) >>> 0]);
    for (const [a, b] of cases) expect(mulhi32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
  });
  it('maps words into the open interval (0, 1), exactly in f32', () => {
    for (const u of [0, 1, 511, 512, 0x7fffffff, 0xffffffff]) {
      const v = u01(u);
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(1);
      expect(Math.fround(v)).toBe(v);
    }
    expect(u01(0)).toBe(2 ** -24);
    expect(u01(0xffffffff)).toBe(1 - 2 ** -24);
    const n = normal4([0, 0, 0, 0], [0, 0]);
    expect(n.every(Number.isFinite)).toBe(true);
  });
  it('splits seeds into key words', () => {
    expect(seedWords(0)).toEqual([0, 0]);
    expect(seedWords(2 ** 32 + 5)).toEqual([5, 1]);
    expect(seedWords(0xffffffffffffffffn)).toEqual([0xffffffff, 0xffffffff]);
    expect(seedWords([3, 4])).toEqual([3, 4]);
    expect(() => seedWords(-1)).toThrow(RangeError);
    expect(() => seedWords(1.5)).toThrow(RangeError);
  });
});

describe('Philox4x32-10 on the GPU', () => {
  it('matches the known-answer vectors', async () => {
    const { device } = await testDevice();
    await checked(device, async () => {
      const fill = await createRandomFill(device, { count: 1, kind: 'bits', label: 'test.kat' });
      for (const v of PHILOX4X32_10_KAT) {
        fill.setCounter([v.ctr[1], v.ctr[2], v.ctr[3]], v.ctr[0]);
        fill.setSeed([v.key[0], v.key[1]]);
        fill.run();
        const got = new Uint32Array(await readBuffer(device, fill.output, 16));
        expect(hex([...got])).toBe(hex(v.out));
      }
      fill.destroy();
      fill.destroy(); // idempotent
    });
  });

  it('equals the CPU twin bit for bit (words and uniforms), normals to 1e-6', async () => {
    const { device } = await testDevice();
    const count = 5000;
    const counter = [123456789, 0xdeadbeef, 7] as const;
    const offset = 0xfffff000; // item counters wrap past 2^32, as u32 arithmetic does
    const seed = 0x1234_5678_9abcn;
    const key = seedWords(seed);
    await checked(device, async () => {
      const opts = { count, counter, offset, seed, components: 4 as const };
      const bits = await createRandomFill(device, { ...opts, kind: 'bits', label: 'test.bits' });
      const unif = await createRandomFill(device, { ...opts, kind: 'uniform', label: 'test.uniform' });
      const norm = await createRandomFill(device, { ...opts, kind: 'normal', label: 'test.normal' });
      // Sentinel prefill: a value no draw produces (NaN bits / u32 max with a NaN float view).
      for (const f of [bits, unif, norm]) device.queue.writeBuffer(f.output, 0, new Uint32Array(count * 4).fill(0x7fc00001));
      const enc = device.createCommandEncoder({ label: 'test.random' });
      const pass = enc.beginComputePass({ label: 'test.random' });
      bits.encode(pass);
      unif.encode(pass);
      norm.encode(pass);
      pass.end();
      device.queue.submit([enc.finish()]);
      const gb = new Uint32Array(await readBuffer(device, bits.output, count * 16));
      const gu = new Float32Array(await readBuffer(device, unif.output, count * 16));
      const gn = new Float32Array(await readBuffer(device, norm.output, count * 16));
      let maxErr = 0;
      for (let i = 0; i < count; i++) {
        const ctr: Words4 = [(offset + i) >>> 0, counter[0], counter[1], counter[2]];
        const wb = philox4x32(ctr, key);
        const wu = uniform4(ctr, key);
        const wn = normal4(ctr, key);
        for (let c = 0; c < 4; c++) {
          if (gb[i * 4 + c] !== wb[c]) throw new Error(`bits differ at item ${i} comp ${c}: ${gb[i * 4 + c]} vs ${wb[c]}`);
          if (gu[i * 4 + c] !== wu[c]) throw new Error(`uniforms differ at item ${i} comp ${c}: ${gu[i * 4 + c]} vs ${wu[c]}`);
          maxErr = Math.max(maxErr, Math.abs(gn[i * 4 + c]! - wn[c]!) / (1 + Math.abs(wn[c]!)));
        }
      }
      // Normals use only + - * / sqrt on the GPU (own log and sin/cos): a few f32 ulp.
      expect(maxErr).toBeLessThan(1e-6);
      for (const f of [bits, unif, norm]) f.destroy();
    });
  });

  it('writes only the requested components, laid out item-major', async () => {
    const { device } = await testDevice();
    const count = 700;
    await checked(device, async () => {
      const out = device.createBuffer({ label: 'test.out3', size: (count * 3 + 5) * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(out, 0, new Float32Array(count * 3 + 5).fill(-12345));
      const fill = await createRandomFill(device, { count, components: 3, kind: 'uniform', seed: 9, counter: [5, 0, 0], output: out, label: 'test.c3' });
      fill.run();
      const g = new Float32Array(await readBuffer(device, out, (count * 3 + 5) * 4));
      for (let i = 0; i < count; i++) {
        const w = uniform4([i, 5, 0, 0], [9, 0]);
        for (let c = 0; c < 3; c++) expect(g[i * 3 + c]).toBe(w[c]);
      }
      for (let k = count * 3; k < count * 3 + 5; k++) expect(g[k]).toBe(-12345);
      fill.destroy();
      out.destroy(); // the fill does not own a buffer it was handed
    });
  });

  it('gives N(0,1) draws: mean, variance, correlation and Kolmogorov–Smirnov on 10^6 normals', async () => {
    const { device } = await testDevice();
    const items = 250_000;
    const n = items * 4;
    const data = await checked(device, async () => {
      const fill = await createRandomFill(device, { count: items, seed: 2024, counter: [17, 0, 0], label: 'test.stats' });
      device.queue.writeBuffer(fill.output, 0, new Float32Array(n).fill(Number.NaN));
      fill.run();
      const d = new Float32Array(await readBuffer(device, fill.output, n * 4));
      fill.destroy();
      return d;
    });
    const xs = Float64Array.from(data);
    expect(xs.every(Number.isFinite)).toBe(true);
    let m = 0;
    for (const x of xs) m += x;
    m /= n;
    let v = 0;
    for (const x of xs) v += (x - m) ** 2;
    v /= n - 1;
    expect(Math.abs(m)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(v - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    // Each component separately, and no correlation between components of one draw.
    for (let c = 0; c < 4; c++) {
      let mc = 0;
      for (let i = 0; i < items; i++) mc += xs[i * 4 + c]!;
      expect(Math.abs(mc / items)).toBeLessThan(5 / Math.sqrt(items));
    }
    for (const [a, b] of [[0, 1], [0, 2], [1, 3], [2, 3]] as const) {
      let s = 0;
      for (let i = 0; i < items; i++) s += xs[i * 4 + a]! * xs[i * 4 + b]!;
      expect(Math.abs(s / items)).toBeLessThan(5 / Math.sqrt(items));
    }
    const d = ksNormal(xs);
    expect(d).toBeLessThan(1.95 / Math.sqrt(n));
  });

  it('same seed, same stream; another seed or step, another stream', async () => {
    const { device } = await testDevice();
    const count = 4096;
    const draw = async (seed: number, step: number) => {
      const fill = await createRandomFill(device, { count, seed, counter: [step, 0, 0], kind: 'bits', label: 'test.streams' });
      fill.run();
      const out = new Uint32Array(await readBuffer(device, fill.output, count * 16));
      fill.destroy();
      return out;
    };
    await checked(device, async () => {
      const a = await draw(1, 0);
      const a2 = await draw(1, 0);
      const b = await draw(2, 0);
      const c = await draw(1, 1);
      expect(a2).toEqual(a);
      const same = (x: Uint32Array, y: Uint32Array) => x.reduce((s, w, k) => s + (w === y[k] ? 1 : 0), 0);
      // Independent u32 streams agree in a word with probability 2^-32.
      expect(same(a, b)).toBeLessThanOrEqual(1);
      expect(same(a, c)).toBeLessThanOrEqual(1);
    });
  });
});
