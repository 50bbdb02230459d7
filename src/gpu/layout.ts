/**
 * Byte layouts that mirror the structs of shaders/common.wgsl. One source of truth: the
 * flow packs Params and State through these lists, and test/layout.test.ts checks them
 * against the WGSL text.
 */

/** A 4-byte scalar field of a WGSL struct. */
export type Scalar = 'u32' | 'f32';

/** Fields of `struct Params` in order. */
export const PARAMS_FIELDS = [
  ['n', 'u32'], ['method', 'u32'], ['gamma_mode', 'u32'], ['table_base', 'u32'],
  ['gamma', 'f32'], ['gamma_floor', 'f32'], ['gamma_t0', 'f32'], ['inv_n', 'f32'],
  ['h0', 'f32'], ['h_max', 'f32'], ['h_min', 'f32'], ['temperature', 'f32'],
  ['f_inc', 'f32'], ['f_dec', 'f32'], ['alpha_start', 'f32'], ['f_alpha', 'f32'],
  ['n_delay', 'u32'], ['seed_lo', 'u32'], ['seed_hi', 'u32'], ['flags', 'u32'],
  ['max_disp', 'f32'], ['auto_frac', 'f32'], ['length_stride', 'u32'], ['pad1', 'u32'],
] as const satisfies readonly (readonly [string, Scalar])[];

/** Fields of `struct State` in order. */
export const STATE_FIELDS = [
  ['step', 'u32'], ['h', 'f32'], ['alpha', 'f32'], ['n_pos', 'u32'],
  ['rng_counter', 'u32'], ['gamma', 'f32'], ['s', 'f32'], ['power', 'f32'],
  ['restarts', 'u32'], ['last_energy', 'f32'], ['pad0', 'u32'], ['pad1', 'u32'],
] as const satisfies readonly (readonly [string, Scalar])[];

export type ParamsName = (typeof PARAMS_FIELDS)[number][0];
export type StateName = (typeof STATE_FIELDS)[number][0];

/** Byte size of a struct made of 4-byte scalars, rounded to 16 (uniform rules). */
export function structSize(fields: readonly (readonly [string, Scalar])[]): number {
  return Math.ceil((fields.length * 4) / 16) * 16;
}

export const PARAMS_SIZE = structSize(PARAMS_FIELDS);
export const STATE_SIZE = structSize(STATE_FIELDS);

/** Packs a record into the struct's bytes; missing fields are 0. */
export function packStruct<N extends string>(fields: readonly (readonly [N, Scalar])[], values: Partial<Record<N, number>>): ArrayBuffer {
  const buf = new ArrayBuffer(structSize(fields));
  const dv = new DataView(buf);
  fields.forEach(([name, type], k) => {
    const v = values[name] ?? 0;
    if (type === 'u32') dv.setUint32(k * 4, v >>> 0, true);
    else dv.setFloat32(k * 4, v, true);
  });
  return buf;
}

/** Unpacks struct bytes into a record. */
export function unpackStruct<N extends string>(fields: readonly (readonly [N, Scalar])[], bytes: ArrayBuffer): Record<N, number> {
  const dv = new DataView(bytes);
  const out = {} as Record<N, number>;
  fields.forEach(([name, type], k) => {
    out[name] = type === 'u32' ? dv.getUint32(k * 4, true) : dv.getFloat32(k * 4, true);
  });
  return out;
}

/** Method codes of Params.method. */
export const METHOD_CODES = { gradient: 0, accelerated: 1, steering: 2, langevin: 3, fire: 4 } as const;

/** Byte offset of a field in a struct. */
export function fieldOffset<N extends string>(fields: readonly (readonly [N, Scalar])[], name: N): number {
  const k = fields.findIndex(([f]) => f === name);
  if (k < 0) throw new Error(`wgflow: no field ${name}`);
  return 4 * k;
}
