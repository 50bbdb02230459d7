// The names the flow's kernels share with their WGSL: reduction columns (reduce.wgsl),
// Params.flags bits, gamma modes and method codes (integrate.wgsl). One definition on each
// side; these tests check that the two agree, both ways.
import { describe, expect, it } from 'vitest';
import { integrateWgsl, reduceWgsl } from '../src/shaders.gen.js';
import { wgslLibrary } from '../src/gpu/wgsl.js';
import { METHOD_CODES } from '../src/gpu/layout.js';
import { ALL_STEP_COLUMNS, createFlowReduce, MOMENT_PAIRS, momentColumn, stageRows, STATS_COLUMNS, STEP_COLUMNS, STEP_SUMMED, STEP_WIDTH, statsLayout, stepColumnMask } from '../src/kernels/reduce.js';
import { GAMMA_MODES, PARAMS_FLAGS, stepColumnsFor } from '../src/kernels/integrate.js';
import { PARAMS_SIZE } from '../src/gpu/layout.js';
import { createBuffer, readBuffer } from '../src/gpu/resources.js';
import { rng, testDevice } from './helpers.js';

/** `const <PREFIX>_NAME: u32 = <v>u;` of a WGSL text, as NAME → v. */
function wgslConsts(code: string, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of code.matchAll(new RegExp(`^const ${prefix}_(\\w+): u32 = (\\d+)u;`, 'gm'))) out[m[1]!] = Number(m[2]);
  return out;
}

/** maxGOverL → MAX_G_OVER_L, maxVV → MAX_VV, lengthScale → LENGTH_SCALE */
function upperSnake(name: string): string {
  return name.replace(/(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/g, '_').toUpperCase();
}

function asWgsl(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [upperSnake(k), v]));
}

describe('reduction columns: src/kernels/reduce.ts = reduce.wgsl', () => {
  it('STEP_COLUMNS are the STEP_* constants', () => {
    expect(wgslConsts(reduceWgsl, 'STEP')).toEqual(asWgsl(STEP_COLUMNS));
    expect(STEP_WIDTH).toBe(9);
    expect(STEP_SUMMED).toBe(5);
    // Sums first, then maxima: the columns before STEP_SUMMED are exactly the sums.
    const maxima = Object.entries(STEP_COLUMNS).filter(([k]) => k.startsWith('max')).map(([, v]) => v).sort((a, b) => a - b);
    expect(maxima).toEqual(Array.from({ length: STEP_WIDTH - STEP_SUMMED }, (_, k) => STEP_SUMMED + k));
  });
  it('STATS_COLUMNS are the STATS_* constants, and the stats layout follows them', () => {
    expect(wgslConsts(reduceWgsl, 'STATS')).toEqual(asWgsl(STATS_COLUMNS));
    expect(statsLayout(3)).toEqual({ summed: STATS_COLUMNS.energy + 3, maxVV: STATS_COLUMNS.energy + 3, maxGG: STATS_COLUMNS.energy + 4, width: STATS_COLUMNS.energy + 5 });
  });
  it('the moment columns hold the products MOMENT_PAIRS says, in that order', () => {
    const axis = { x: 0, y: 1, z: 2 } as Record<string, number>;
    const found: [number, number, number][] = [];
    for (const m of reduceWgsl.matchAll(/out\[q(?: \+ (\d)u)?\] = z\.([xyz]) \* z\.([xyz]);/g)) found.push([Number(m[1] ?? 0), axis[m[2]!]!, axis[m[3]!]!]);
    expect(found.map(([k]) => k)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(found.map(([, a, b]) => [a, b])).toEqual(MOMENT_PAIRS.map(([a, b]) => [a, b]));
    expect(reduceWgsl).toMatch(/let q = STATS_MOMENTS;/);
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) expect(momentColumn(a, b)).toBe(momentColumn(b, a));
    expect(new Set([0, 1, 2].flatMap((a) => [0, 1, 2].map((b) => momentColumn(a, b)))).size).toBe(6);
  });
  it('the column names are library constants (integrate.wgsl reads the step sums by them)', () => {
    const lib = wgslLibrary(reduceWgsl);
    expect(wgslConsts(lib, 'STEP')).toEqual(asWgsl(STEP_COLUMNS));
    expect(lib).not.toMatch(/@group|override|fn /);
    // No numeric index into the step sums is left in the integrator.
    expect(integrateWgsl).not.toMatch(/\bR2?\[\d/);
  });
});

describe('Params codes: src/kernels/integrate.ts and src/gpu/layout.ts = integrate.wgsl', () => {
  it('PARAMS_FLAGS are the FLAG_* constants (distinct bits)', () => {
    expect(wgslConsts(integrateWgsl, 'FLAG')).toEqual(asWgsl(PARAMS_FLAGS));
    const bits = Object.values(PARAMS_FLAGS);
    for (const b of bits) expect(b & (b - 1)).toBe(0);
    expect(new Set(bits).size).toBe(bits.length);
  });
  it('GAMMA_MODES are the GAMMA_* constants', () => {
    expect(wgslConsts(integrateWgsl, 'GAMMA')).toEqual(asWgsl(GAMMA_MODES));
  });
  it('METHOD_CODES are the METHOD_* constants', () => {
    expect(wgslConsts(integrateWgsl, 'METHOD')).toEqual(asWgsl(METHOD_CODES));
    expect(integrateWgsl).not.toMatch(/METHOD == \d/);
  });
  it('the codes are library constants (reduce.wgsl tests FLAG_LENGTH_SCALE)', () => {
    const lib = wgslLibrary(integrateWgsl);
    expect(wgslConsts(lib, 'FLAG')).toEqual(asWgsl(PARAMS_FLAGS));
    expect(lib).not.toMatch(/@group|override|fn /);
    expect(reduceWgsl).toMatch(/prm\.flags & FLAG_LENGTH_SCALE/);
  });
});

describe('step sums (MODE 0): only the columns a method reads, exact for any N', () => {
  it('stepColumnsFor names what each integrator reads', () => {
    const m = (names: (keyof typeof STEP_COLUMNS)[]) => stepColumnMask(names);
    expect(stepColumnsFor({ method: 'gradient', autoStep: false, restart: false })).toBe(0);
    expect(stepColumnsFor({ method: 'accelerated', autoStep: false, restart: false })).toBe(0);
    expect(stepColumnsFor({ method: 'langevin', autoStep: false, restart: false })).toBe(0);
    expect(stepColumnsFor({ method: 'steering', autoStep: false, restart: false })).toBe(m(['vv', 'gg']));
    expect(stepColumnsFor({ method: 'steering', autoStep: false, restart: true })).toBe(m(['vv', 'gg', 'energy']));
    expect(stepColumnsFor({ method: 'accelerated', autoStep: false, restart: true })).toBe(m(['energy']));
    expect(stepColumnsFor({ method: 'fire', autoStep: false, restart: false })).toBe(m(['vv', 'gg', 'gv']));
    expect(stepColumnsFor({ method: 'fire', autoStep: 'curvature', restart: false })).toBe(m(['vv', 'gg', 'gv', 'frequency']));
    expect(stepColumnsFor({ method: 'gradient', autoStep: 'curvature', restart: false })).toBe(m(['frequency']));
    expect(stepColumnsFor({ method: 'steering', autoStep: 'displacement', restart: false })).toBe(m(['vv', 'gg', 'maxGOverL', 'maxVOverL']));
    expect(ALL_STEP_COLUMNS).toBe((1 << STEP_WIDTH) - 1);
  });
  it('the integrator reads no step column outside stepColumnsFor (by the WGSL it runs)', () => {
    // Column names read through R[...] / R2[...] in each function of integrate.wgsl.
    const body = (fn: string) => {
      const at = integrateWgsl.indexOf(`fn ${fn}(`);
      const end = integrateWgsl.indexOf('\n}\n', at);
      return integrateWgsl.slice(at, end);
    };
    const reads = (fn: string) => new Set([...body(fn).matchAll(/R2?\[STEP_(\w+)\]/g)].map((x) => x[1]!));
    const col = (name: string) => Object.entries(STEP_COLUMNS).find(([k]) => upperSnake(k) === name)![1];
    const allowed = (mask: number, fns: string[]) => { for (const f of fns) for (const c of reads(f)) expect((mask >> col(c)) & 1, `${f} reads STEP_${c}`).toBe(1); };
    allowed(stepColumnsFor({ method: 'steering', autoStep: false, restart: false }), ['steering_ratio']);
    allowed(stepColumnsFor({ method: 'steering', autoStep: false, restart: true }), ['steering_ratio', 'restart_now']);
    allowed(stepColumnsFor({ method: 'fire', autoStep: false, restart: false }), ['fire_decide', 'fire_move']);
    allowed(stepColumnsFor({ method: 'gradient', autoStep: 'curvature', restart: false }), ['curvature_step']);
    allowed(stepColumnsFor({ method: 'steering', autoStep: 'displacement', restart: false }), ['steering_ratio', 'auto_step']);
    expect(reads('steering_ratio')).toEqual(new Set(['GG', 'VV']));
  });
  it('the serial shape stays inside llvmpipe loop caps: ≤ 1024 rows, ≤ ⌈N/512⌉ (or 64) particles per thread, every particle once', () => {
    for (const n of [1, 255, 1000, 16384, 49151, 49152, 100003, 1e6, 1e7, 3e7]) {
      const { workgroups, rows, chunk } = stageRows(n, true);
      expect(rows).toBe(workgroups * 256);
      expect(rows).toBeLessThanOrEqual(1024);
      expect(chunk).toBeLessThanOrEqual(Math.max(64, Math.ceil(n / 512)));
      expect(rows * chunk).toBeGreaterThanOrEqual(n);
    }
  });
  for (const serial of [true, false]) {
    it(`match float64 sums for the steering, FIRE and full masks, N = 100003, d = 3 (${serial ? 'serial' : 'tree'})`, async () => {
      const { device } = await testDevice();
      const n = 100003, dim = 3;
      const r = rng(7);
      const v = new Float32Array(n * dim).map(() => r() * 2 - 1);
      const g = new Float32Array(n * dim).map(() => (r() * 2 - 1) * 3);
      const e = new Float32Array(n).map(() => r() - 0.25);
      const S = GPUBufferUsage.STORAGE;
      const params = new Uint32Array(PARAMS_SIZE / 4);
      params[0] = n;
      const buffers = {
        positions: createBuffer(device, 't.x', v.byteLength, S, v), velocities: createBuffer(device, 't.v', v.byteLength, S, v),
        gradient: createBuffer(device, 't.g', g.byteLength, S, g), energy: createBuffer(device, 't.e', e.byteLength, S, e),
        params: createBuffer(device, 't.prm', params.byteLength, GPUBufferUsage.UNIFORM, params), weights: createBuffer(device, 't.w', 16, S, new Float32Array([2, 0, 0, 0])),
      };
      let vv = 0, gg = 0, gv = 0, en = 0, mvv = 0, mgg = 0;
      for (let i = 0; i < n; i++) {
        let a = 0, b = 0, c = 0;
        for (let k = 0; k < dim; k++) { a += v[i * dim + k]! ** 2; b += g[i * dim + k]! ** 2; c += v[i * dim + k]! * g[i * dim + k]!; }
        vv += a; gg += b; gv += c; en += 2 * e[i]!; mvv = Math.max(mvv, a); mgg = Math.max(mgg, b);
      }
      const want = [vv, gg, gv, en, 0, mvv, mgg, 0, 0];
      for (const mask of [stepColumnMask(['vv', 'gg']), stepColumnMask(['vv', 'gg', 'gv']), ALL_STEP_COLUMNS]) {
        const red = await createFlowReduce(device, { n, dim, stepSlots: 1, statsSlots: 1, serial, stepColumns: mask, buffers, label: 't' });
        const runOnce = async () => {
          const enc = device.createCommandEncoder();
          const pass = enc.beginComputePass();
          red.encode(pass, 'step');
          pass.end();
          device.queue.submit([enc.finish()]);
          return new Float32Array(await readBuffer(device, red.step, STEP_WIDTH * 4));
        };
        const got = await runOnce();
        for (let k = 0; k < STEP_WIDTH; k++) {
          if ((mask >> k) & 1) expect(Math.abs(got[k]! - want[k]!), `column ${k}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[k]!)) * (k === 2 || k === 3 ? 30 : 1));
          else expect(got[k], `column ${k} is not computed`).toBe(0);
        }
        // Bitwise the same when run again.
        expect(Array.from(await runOnce())).toEqual(Array.from(got));
        red.destroy();
      }
      for (const b of Object.values(buffers)) b.destroy();
    });
  }
});
