import { describe, expect, it } from 'vitest';
import { commonWgsl } from '../src/shaders.gen.js';
import { PARAMS_FIELDS, STATE_FIELDS } from '../src/gpu/layout.js';

function wgslStruct(name: string): [string, string][] {
  const m = commonWgsl.match(new RegExp(`struct ${name} \\{([\\s\\S]*?)\\n\\}`));
  if (!m) throw new Error(`struct ${name} not found`);
  return m[1]!.split('\n').map((l) => l.replace(/\/\/.*/, '').trim()).filter(Boolean).map((l) => {
    const [f, t] = l.replace(/,$/, '').split(':').map((s) => s.trim());
    return [f!, t!];
  });
}

describe('layout.ts mirrors common.wgsl', () => {
  it('Params', () => expect(wgslStruct('Params')).toEqual(PARAMS_FIELDS.map(([a, b]) => [a, b])));
  it('State', () => expect(wgslStruct('State')).toEqual(STATE_FIELDS.map(([a, b]) => [a, b])));
});

import * as shaders from '../src/shaders.gen.js';
import {
  FUNCTION_SCOPE_STRUCTS, GRID_INFO_BYTES, IA_PARAMS_FIELDS, LATTICE_HEADER, MAX_GRID_LEVELS, WGSL_ARRAY_CONSTANTS, WGSL_STRUCTS,
  packStruct, structSize, wgslStructLayout,
} from '../src/gpu/layout.js';
import { WORKGROUP_SIZE } from '../src/gpu/resources.js';

/** Every `struct Name { ... }` of a WGSL text, with its fields as [name, type] (comments and attributes dropped). */
function allStructs(code: string): Map<string, [string, string][]> {
  const out = new Map<string, [string, string][]>();
  for (const m of code.matchAll(/^struct (\w+) \{([\s\S]*?)\n\}/gm)) {
    const body = m[2]!.split('\n').map((l) => l.replace(/\/\/.*/, '').replace(/@\w+\([^)]*\)/g, '').trim()).filter(Boolean);
    out.set(m[1]!, body.map((l) => {
      const at = l.indexOf(':');
      return [l.slice(0, at).trim(), l.slice(at + 1).replace(/,$/, '').replace(/\s+/g, ' ').trim()] as [string, string];
    }));
  }
  return out;
}

describe('every WGSL struct has one TypeScript layout (src/gpu/layout.ts)', () => {
  const found = new Map<string, { file: string; fields: [string, string][] }>();
  for (const [file, code] of Object.entries(shaders)) {
    if (typeof code !== 'string') continue;
    for (const [name, fields] of allStructs(code)) {
      const prev = found.get(name);
      if (prev) expect(fields, `struct ${name} is declared twice (${prev.file}, ${file}) with different fields`).toEqual(prev.fields);
      found.set(name, { file, fields });
    }
  }

  it('the parser sees the structs of every shader file', () => {
    expect(found.size).toBeGreaterThanOrEqual(13);
    expect([...found.keys()]).toContain('GridInfo');
  });

  it('each struct of shaders/ is in WGSL_STRUCTS with the same fields and types, and vice versa', () => {
    for (const [name, { file, fields }] of found) {
      const ts = WGSL_STRUCTS[name];
      expect(ts, `struct ${name} of ${file} has no entry in WGSL_STRUCTS`).toBeDefined();
      expect(fields, `struct ${name} of ${file}`).toEqual(ts!.map(([a, b]) => [a, b.replace(/\s+/g, ' ')]));
    }
    for (const name of Object.keys(WGSL_STRUCTS)) expect(found.has(name), `WGSL_STRUCTS.${name} is in no shader`).toBe(true);
  });

  it('scalar field lists pack to the WGSL size of their struct', () => {
    for (const [name, fields] of Object.entries(WGSL_STRUCTS)) {
      if (FUNCTION_SCOPE_STRUCTS.has(name)) continue; // never packed by the host
      if (!fields.every(([, t]) => t === 'u32' || t === 'f32')) continue;
      expect(structSize(fields as readonly (readonly [string, 'u32' | 'f32'])[]), name).toBe(wgslStructLayout(name).size);
    }
    expect(packStruct(IA_PARAMS_FIELDS, {}).byteLength).toBe(wgslStructLayout('IaParams').size);
  });

  it('WGSL alignment rules: GridInfo, LevelInfo', () => {
    expect(wgslStructLayout('LevelInfo')).toEqual({ offsets: { inv_h: 0, h: 4, base: 8, tmask: 12, cmin: 16, cmax: 32 }, size: 48, align: 16 });
    expect(wgslStructLayout('GridInfo').offsets.lv).toBe(64);
    expect(GRID_INFO_BYTES).toBe(64 + 48 * MAX_GRID_LEVELS);
  });

  it('array lengths and lattice offsets named in WGSL match their TypeScript constants', () => {
    const all = Object.values(shaders).filter((c): c is string => typeof c === 'string').join('\n');
    const wgslConst = (name: string): number => {
      const m = all.match(new RegExp(`const ${name}: u32 = (\\d+)u;`));
      if (!m) throw new Error(`const ${name} not found in shaders/`);
      return Number(m[1]);
    };
    for (const [name, v] of Object.entries(WGSL_ARRAY_CONSTANTS)) expect(wgslConst(name), name).toBe(v);
    for (const [name, v] of Object.entries(LATTICE_HEADER)) expect(wgslConst(name), name).toBe(v);
  });

  it('workgroup arrays derive from the WG override (no literal that assumes a workgroup size)', () => {
    const all = Object.values(shaders).filter((c): c is string => typeof c === 'string').join('\n');
    const literal = [...all.matchAll(/var<workgroup>\s+\w+\s*:\s*array<[^,>]+(?:<[^>]*>)?,\s*(\d+)\s*>/g)].map((m) => Number(m[1]));
    // Fixed small arrays (per-workgroup counters) are fine; anything as large as a workgroup must use WG.
    for (const n of literal) expect(n, 'a workgroup array sized like a workgroup must be written with WG').toBeLessThan(WORKGROUP_SIZE);
  });
});
