// The names the flow's kernels share with their WGSL: reduction columns (reduce.wgsl),
// Params.flags bits, gamma modes and method codes (integrate.wgsl). One definition on each
// side; these tests check that the two agree, both ways.
import { describe, expect, it } from 'vitest';
import { integrateWgsl, reduceWgsl } from '../src/shaders.gen.js';
import { wgslLibrary } from '../src/gpu/wgsl.js';
import { METHOD_CODES } from '../src/gpu/layout.js';
import { MOMENT_PAIRS, momentColumn, STATS_COLUMNS, STEP_COLUMNS, STEP_SUMMED, STEP_WIDTH, statsLayout } from '../src/kernels/reduce.js';
import { GAMMA_MODES, PARAMS_FLAGS } from '../src/kernels/integrate.js';

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
