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
