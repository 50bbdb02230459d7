import { describe, expect, it } from 'vitest';
import { rng, runTerm as runTermAt, testDevice, type RunTermOptions } from './helpers.js';
import { interaction, interactionReference, pairKernel64, powerKernel64, IA_PARAMS_FIELDS, type InteractionKernel } from '../src/energies/interaction.js';
import { aggregation1DEquilibrium, aggregationFlow, aggregationStats, newtonianBallSteadyState } from '../src/reference/aggregation.js';
import { interactionWgsl } from '../src/shaders.gen.js';
import type { KernelTerm } from '../src/energies/types.js';

/** The shared runTerm (test/helpers.ts); an interaction has no additive constant. */
async function runTerm(device: GPUDevice, term: KernelTerm, x: Float32Array, n: number, dim: number, opts: RunTermOptions = {}) {
  const r = await runTermAt(device, term, x, n, dim, opts);
  expect(r.constant).toBe(0);
  return r;
}

/** Particles uniform in [-1, 1]^dim, rounded to f32. */
function cloud(n: number, dim: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * dim }, () => 2 * r() - 1);
}

const USER_CODE = `// softened attraction plus a Gaussian bump
fn W(z: vec3f) -> f32 {
  let s = dot(z, z);
  return -prm(0u) * sqrt(s + prm(1u)) + prm(2u) * exp(-s);
}
fn gradW(z: vec3f) -> vec3f {
  let s = dot(z, z);
  return (-prm(0u) / sqrt(s + prm(1u)) - 2.0 * prm(2u) * exp(-s)) * z;
}`;
const USER_PARAMS = [0.7, 0.01, 1.5];
const userKernel: InteractionKernel = {
  type: 'wgsl',
  code: USER_CODE,
  params: USER_PARAMS,
  reference: {
    W: (z) => {
      const s = z[0]! ** 2 + z[1]! ** 2 + z[2]! ** 2;
      return -USER_PARAMS[0]! * Math.sqrt(s + USER_PARAMS[1]!) + USER_PARAMS[2]! * Math.exp(-s);
    },
    gradW: (z) => {
      const s = z[0]! ** 2 + z[1]! ** 2 + z[2]! ** 2;
      const c = -USER_PARAMS[0]! / Math.sqrt(s + USER_PARAMS[1]!) - 2 * USER_PARAMS[2]! * Math.exp(-s);
      return z.map((v) => c * v);
    },
  },
};

/** Kernels and their particle counts: 4097 (17 tiles, masked tail) for one kernel of each type. */
const KERNELS: [string, InteractionKernel, number[]][] = [
  ['power a=4 b=2', { type: 'power', a: 4, b: 2 }, [1, 7, 1000]],
  ['power a=2 b=0 (log)', { type: 'power', a: 2, b: 0 }, [1, 7, 1000, 4097]],
  ['power a=2 b=-1', { type: 'power', a: 2, b: -1 }, [1, 7, 1000]],
  ['power a=2.5 b=0.7 (pow)', { type: 'power', a: 2.5, b: 0.7 }, [1, 7, 1000]],
  ['gaussian', { type: 'gaussian', sigma: 0.4, amplitude: -2 }, [1, 7, 1000, 4097]],
  ['wgsl', userKernel, [1, 7, 1000, 4097]],
];

/** Compares a GPU run with the float64 sums; tolerances scale with Σ|∇W| and Σ|W| per particle. */
function compare(kernel: InteractionKernel, x: Float32Array, n: number, dim: number, weight: number, got: { dg: Float64Array; e: Float32Array }) {
  const ref = interactionReference(x, n, dim, pairKernel64(kernel)!, weight);
  let worstG = 0, worstE = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < dim; c++) {
      const err = Math.abs(got.dg[i * dim + c]! - ref.grad[i * dim + c]!) / (ref.gradAbs[i]! + 1e-30);
      worstG = Math.max(worstG, err);
    }
    worstE = Math.max(worstE, Math.abs(got.e[i]! - ref.density[i]!) / (ref.densityAbs[i]! + 1e-30));
  }
  if (n === 1) {
    expect(got.dg[0]).toBe(0);
    expect(got.e[0]).toBe(0);
  }
  expect(worstG).toBeLessThan(2e-5);
  expect(worstE).toBeLessThan(2e-5);
  let total = 0, totalAbs = 0;
  for (let i = 0; i < n; i++) {
    total += got.e[i]!;
    totalAbs += ref.densityAbs[i]!;
  }
  expect(Math.abs((weight * total) / n - ref.value)).toBeLessThanOrEqual(2e-5 * Math.abs(weight) * (totalAbs / n) + 1e-30);
}

describe('interaction: GPU equals the float64 O(N²) sums', () => {
  it('WGSL params struct matches IA_PARAMS_FIELDS', () => {
    const body = /struct IaParams \{([\s\S]*?)\}/.exec(interactionWgsl)![1]!;
    const names = [...body.matchAll(/^\s*(\w+):\s*([\w<>, ]+),/gm)].map((m) => m[1]);
    const scalars = IA_PARAMS_FIELDS.filter(([f]) => !f.startsWith('kp')).map(([f]) => f);
    expect(names).toEqual([...scalars, 'kp']);
    expect(IA_PARAMS_FIELDS.length).toBe(scalars.length + 16);
    expect(scalars.length % 4).toBe(0); // kp starts on a 16-byte boundary
  });

  for (const [name, kernel, sizes] of KERNELS) {
    it(`${name}: N = ${sizes.join(', ')}; d = 1, 2, 3`, async () => {
      const { device } = await testDevice();
      for (const dim of [1, 2, 3]) {
        for (const n of sizes) {
          const x = cloud(n, dim, 100 * n + dim);
          const weight = 0.75;
          const g0 = cloud(n, dim, 7 + n); // the term must ADD to what G holds
          const term = interaction({ kernel, weight });
          const got = await runTerm(device, term, x, n, dim, { g0 });
          compare(kernel, x, n, dim, weight, got);
        }
      }
    });
  }

  it('power a = 16, b = 2 at N = 9000 (d = 2): exact past llvmpipe\'s loop cap (~8 loop iterations per partner: the sum is split into dispatches there)', async () => {
    const { device } = await testDevice();
    for (const kernel of [{ type: 'power', a: 16, b: 2 }] as InteractionKernel[]) {
      const n = 9000, dim = 2;
      const x = cloud(n, dim, 424242);
      const g0 = cloud(n, dim, 99);
      const term = interaction({ kernel, weight: 0.5 });
      const got = await runTerm(device, term, x, n, dim, { g0 });
      compare(kernel, x, n, dim, 0.5, got);
    }
  });

  it('setWeight changes the gradient weight but not e', async () => {
    const { device } = await testDevice();
    const kernel: InteractionKernel = { type: 'power', a: 4, b: 2 };
    const n = 300, dim = 2;
    const x = cloud(n, dim, 5);
    const got = await runTerm(device, interaction({ kernel, weight: 1 }), x, n, dim, { weightAfter: -3 });
    compare(kernel, x, n, dim, -3, got);
  });

  it('duplicate particles give finite values and no gradient from their own pair', async () => {
    const { device } = await testDevice();
    for (const kernel of [{ type: 'power', a: 2, b: 0 }, { type: 'power', a: 2, b: -1 }, { type: 'power', a: 2, b: 1 }] as InteractionKernel[]) {
      for (const dim of [1, 2, 3]) {
        const n = 9;
        const x = cloud(n, dim, 11);
        for (let c = 0; c < dim; c++) {
          x[3 * dim + c] = x[c]!; // particle 3 duplicates particle 0
          x[8 * dim + c] = x[c]!; // and particle 8 too
        }
        const got = await runTerm(device, interaction({ kernel }), x, n, dim);
        expect([...got.dg].every(Number.isFinite)).toBe(true);
        expect([...got.e].every(Number.isFinite)).toBe(true);
        compare(kernel, x, n, dim, 1, got);
        // Particles 0, 3, 8 coincide: they feel the same gradient from the others.
        for (let c = 0; c < dim; c++) expect(got.dg[3 * dim + c]).toBeCloseTo(got.dg[c]!, 4);
      }
    }
  });
});

describe('interaction: float64 reference', () => {
  it('finite differences of the value equal the gradient (N = 7, d = 1..3, each kernel)', () => {
    for (const [, kernel] of KERNELS) {
      for (const dim of [1, 2, 3]) {
        const n = 7;
        const x = Float64Array.from(cloud(n, dim, 31 + dim));
        const term = interaction({ kernel, weight: 1.3 });
        const { grad } = term.reference(x, n, dim);
        const h = 1e-6;
        for (let q = 0; q < n * dim; q++) {
          const xp = Float64Array.from(x), xm = Float64Array.from(x);
          xp[q]! += h;
          xm[q]! -= h;
          const fd = (n * (term.reference(xp, n, dim).value - term.reference(xm, n, dim).value)) / (2 * h);
          expect(Math.abs(fd - grad[q]!)).toBeLessThan(1e-6 * (1 + Math.abs(grad[q]!)));
        }
      }
    }
  });

  it('the regularised power kernel is C¹ across eps', () => {
    const W = pairKernel64({ type: 'power', a: 2, b: 0, eps: 1e-2 })!;
    const g = new Float64Array(3);
    const eps = Math.sqrt(Math.fround(1e-4));
    const vIn = W(eps * (1 - 1e-9), 0, 0, g);
    const gIn = g[0]!;
    const vOut = W(eps * (1 + 1e-9), 0, 0, g);
    expect(Math.abs(vIn - vOut)).toBeLessThan(1e-8); // |W'(eps)| ~ 100 times the 2e-11 step
    expect(Math.abs(gIn - g[0]!)).toBeLessThan(1e-6 * Math.abs(g[0]!));
    expect(W(0, 0, 0, g)).toBeCloseTo(0.5 * eps * eps - Math.log(eps) - 0.5 * (eps * eps - 1), 12);
    expect([...g].map(Math.abs)).toEqual([0, 0, 0]);
  });
});

describe('interaction: errors', () => {
  it('a WGSL error in the user kernel throws with its message and line', async () => {
    const { device } = await testDevice();
    const bad = `fn W(z: vec3f) -> f32 {
  return dot(z, z);
}
fn gradW(z: vec3f) -> vec3f {
  return 2.0 * z + undefined_thing;
}`;
    const term = interaction({ kernel: { type: 'wgsl', code: bad } });
    const err = await runTerm(device, term, cloud(4, 2, 1), 4, 2).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/user code\) line 5:\d+/);
    expect(err!.message).toMatch(/undefined_thing/);
  });
  it('rejects bad kernels before touching the GPU', () => {
    expect(() => interaction({ kernel: { type: 'power', a: 1, b: 2 } })).toThrow(/a > b/);
    expect(() => interaction({ kernel: { type: 'power', a: 2, b: -30 } })).toThrow(/raise eps/);
    expect(() => interaction({ kernel: { type: 'gaussian', sigma: 0 } })).toThrow(/sigma/);
    expect(() => interaction({ kernel: { type: 'wgsl', code: 'fn W(z: vec3f) -> f32 { return 0.0; }' } })).toThrow(/gradW/);
    expect(() => interaction({ kernel: { type: 'nope' } as unknown as InteractionKernel })).toThrow(/unknown kernel/);
    expect(() => interaction({ kernel: { type: 'wgsl', code: USER_CODE } }).reference(new Float64Array(4), 2, 2)).toThrow(/float64 twin/);
  });
});

describe('aggregation reference (float64 gradient flow, a = 2, b = 2 - d)', () => {
  it('1D: reaches the exact discrete steady state x_i = mean + (2i - N - 1)/N', () => {
    const n = 50;
    const x0 = Float64Array.from(cloud(n, 1, 3));
    const mean0 = x0.reduce((s, v) => s + v, 0) / n;
    const eq = aggregation1DEquilibrium(n, mean0);
    // The equilibrium is a zero of the gradient, and its energy is -(N² - 1)/(6N²) -> -1/6.
    const atEq = interactionReference(eq, n, 1, powerKernel64(2, 1, Math.fround(1e-12)));
    for (const g of atEq.grad) expect(Math.abs(g)).toBeLessThan(1e-13);
    expect(atEq.value).toBeCloseTo(-(n * n - 1) / (6 * n * n), 13);
    const r = aggregationFlow(x0, n, { dim: 1, h: 0.1, steps: 300 });
    const xs = [...r.x].sort((a, b) => a - b);
    for (let i = 0; i < n; i++) expect(Math.abs(xs[i]! - eq[i]!)).toBeLessThan(1e-9);
    expect(aggregationStats(r.x, n, 1).mean[0]).toBeCloseTo(mean0, 12); // the flow conserves the mean
    expect(r.energy).toBeCloseTo(-(n * n - 1) / (6 * n * n), 12);
    expect(r.residual).toBeLessThan(1e-20);
  });

  for (const dim of [2, 3]) {
    it(`${dim}D: energy decreases and the cloud approaches the uniform unit ball`, () => {
      const n = 300;
      const x0 = Float64Array.from(cloud(n, dim, dim));
      let last = Infinity;
      const r = aggregationFlow(x0, n, {
        dim, h: 0.05, steps: 400,
        onStep: (_t, _x, e) => {
          expect(e).toBeLessThanOrEqual(last + 1e-12); // a gradient flow with a small step
          last = e;
        },
      });
      const ball = newtonianBallSteadyState(dim);
      const st = aggregationStats(r.x, n, dim);
      // Measured at N = 300: 2D E = 0.3690, E r² = 0.4983, max r = 0.963, mean |g|² = 3.8e-7;
      // 3D E = 0.8803, E r² = 0.5869, max r = 0.917, mean |g|² = 4.8e-6. The finite-N energy sits
      // below the continuum value (no self-interaction), by O(log N / N) in 2D, O(N^(-1/3)) in 3D.
      expect(Math.abs(r.energy - ball.energy) / ball.energy).toBeLessThan(0.03);
      expect(r.energy).toBeLessThan(ball.energy);
      expect(Math.abs(st.meanSquareRadius - ball.meanSquareRadius)).toBeLessThan(0.025);
      expect(st.maxRadius).toBeGreaterThan(0.88);
      expect(st.maxRadius).toBeLessThan(ball.radius);
      expect(r.residual).toBeLessThan(1e-5);
    });
  }
});
