/**
 * Every byte layout shared between TypeScript and WGSL, in one place. Each struct of
 * shaders/*.wgsl has one entry in {@link WGSL_STRUCTS} (its fields in order, with their WGSL
 * types); the host packs uniforms through the scalar field lists below, computes sizes with
 * {@link wgslStructLayout} (WGSL's alignment rules), and test/layout.test.ts parses every struct
 * of every shader and checks it against this registry. Kernels and energies import their
 * layouts from here; nothing else hand-sums struct sizes.
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
  ['max_disp', 'f32'], ['auto_frac', 'f32'], ['length_stride', 'u32'], ['auto_chatter', 'f32'],
  ['fire_grace', 'u32'], ['fire_power', 'u32'], ['length_offset', 'u32'], ['pad4', 'u32'],
] as const satisfies readonly (readonly [string, Scalar])[];

/** Fields of `struct State` in order. */
export const STATE_FIELDS = [
  ['step', 'u32'], ['h', 'f32'], ['alpha', 'f32'], ['n_pos', 'u32'],
  ['rng_counter', 'u32'], ['gamma', 'f32'], ['s', 'f32'], ['power', 'f32'],
  ['restarts', 'u32'], ['last_energy', 'f32'], ['fire_calm', 'u32'], ['fire_reset', 'u32'],
  ['time', 'f32'], ['pad1', 'u32'], ['pad2', 'u32'], ['pad3', 'u32'],
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

/** A scalar field list (what packStruct writes). */
export type ScalarFields = readonly (readonly [string, Scalar])[];

/** Fields of `struct GridParams` of grid.wgsl, in order. */
export const GRID_PARAMS_FIELDS: ScalarFields = [
  ['m', 'u32'], ['t', 'u32'], ['levels', 'u32'], ['nwg_bounds', 'u32'],
  ['ratio', 'f32'], ['cell_factor', 'f32'], ['total', 'u32'], ['slices', 'u32'],
  ['hint_stride', 'u32'], ['skin', 'f32'], ['passes', 'u32'], ['pad0', 'u32'],
];

/** Fields of `struct ScanParams` of grid.wgsl, in order. */
export const SCAN_PARAMS_FIELDS: ScalarFields = [['n', 'u32'], ['pad0', 'u32'], ['pad1', 'u32'], ['pad2', 'u32']];

/** Fields of `struct SearchParams` of neighbors.wgsl, in order. */
export const SEARCH_PARAMS_FIELDS: ScalarFields = [
  ['nq', 'u32'], ['m', 'u32'], ['budget0', 'u32'], ['levels', 'u32'],
  ['inf', 'f32'], ['budget', 'u32'], ['pad0', 'u32'], ['pad1', 'u32'],
];

/** Fields of `struct RevParams` of reverse.wgsl / neighbors.wgsl, in order. */
export const REV_PARAMS_FIELDS: ScalarFields = [['n', 'u32'], ['stride', 'u32'], ['col', 'u32'], ['pad0', 'u32']];

/** Fields of `struct EntropyParams` of entropy.wgsl, in order. */
export const ENTROPY_PARAMS_FIELDS: ScalarFields = [['n', 'u32'], ['e_base', 'u32'], ['weight', 'f32'], ['eps2', 'f32']];

/** Fields of `struct KlParams` of kl.wgsl, in order. */
export const KL_PARAMS_FIELDS: ScalarFields = [
  ['n', 'u32'], ['e_base', 'u32'], ['weight', 'f32'], ['eps_nu2', 'f32'],
  ['eps_r2', 'f32'], ['pad0', 'u32'], ['pad1', 'u32'], ['pad2', 'u32'],
];

/** Number of kernel parameters of an interaction term (`kp: array<vec4f, 4>` of IaParams). */
export const IA_KERNEL_PARAMS = 16;

/**
 * Fields of `struct IaParams` of interaction.wgsl as scalars, in order (the last 16 are the
 * floats of `kp: array<vec4f, 4>`).
 */
export const IA_PARAMS_FIELDS: ScalarFields = [
  ['n', 'u32'], ['e_base', 'u32'], ['weight', 'f32'], ['inv_n', 'f32'],
  ['eps2', 'f32'], ['pad0', 'u32'], ['pad1', 'u32'], ['pad2', 'u32'],
  ...Array.from({ length: IA_KERNEL_PARAMS }, (_, j) => [`kp${j}`, 'f32'] as const),
];

/** Fields of `struct TargetParams` of target.wgsl, in order. */
export const TARGET_PARAMS_FIELDS: ScalarFields = [
  ['n', 'u32'], ['e_base', 'u32'], ['weight', 'f32'], ['blend', 'f32'],
  ['off_a', 'u32'], ['off_b', 'u32'], ['pad0', 'u32'], ['pad1', 'u32'],
];

/**
 * The f32 header of a target lattice block (target.wgsl reads `tgt_at(off + LAT_*)`): word
 * offsets by name, and the number of header words before the node values. target.wgsl
 * declares the same offsets as `const LAT_*: u32`, checked by test/layout.test.ts.
 */
export const LATTICE_HEADER = {
  /** Nodes per axis, 3 words. */
  LAT_NODES: 0,
  /** Lattice origin, 3 words. */
  LAT_ORIGIN: 3,
  /** 1/Δ. */
  LAT_INV_SPACING: 6,
  /** Δ. */
  LAT_SPACING: 7,
  /** 1/(2σ²). */
  LAT_INV_2S2: 8,
  /** Far-field slopes (lo_0, hi_0, lo_1, hi_1, lo_2, hi_2), 6 words. */
  LAT_SLOPES: 9,
  /** First node value (x fastest). */
  LAT_VALUES: 16,
} as const;

/** Largest number of grid levels (`const MAX_LEVELS` of grid.wgsl). */
export const MAX_GRID_LEVELS = 6;

/** Array lengths named in WGSL struct fields, by constant name. */
export const WGSL_ARRAY_CONSTANTS: Readonly<Record<string, number>> = { MAX_LEVELS: MAX_GRID_LEVELS };

/** A WGSL struct field: name and WGSL type as written in the shader. */
export type WgslField = readonly [string, string];

/**
 * Every struct of shaders/*.wgsl, by name: its fields in order with their WGSL types. The
 * scalar lists above are the same structs as packStruct sees them.
 */
export const WGSL_STRUCTS: Readonly<Record<string, readonly WgslField[]>> = {
  Params: PARAMS_FIELDS,
  State: STATE_FIELDS,
  GridParams: GRID_PARAMS_FIELDS,
  ScanParams: SCAN_PARAMS_FIELDS,
  SearchParams: SEARCH_PARAMS_FIELDS,
  RevParams: REV_PARAMS_FIELDS,
  EntropyParams: ENTROPY_PARAMS_FIELDS,
  KlParams: KL_PARAMS_FIELDS,
  TargetParams: TARGET_PARAMS_FIELDS,
  IaParams: [...IA_PARAMS_FIELDS.slice(0, 8), ['kp', `array<vec4f, ${IA_KERNEL_PARAMS / 4}>`]],
  IaChunk: [['t_begin', 'u32'], ['t_end', 'u32'], ['first', 'u32'], ['pad0', 'u32']],
  LevelInfo: [['inv_h', 'f32'], ['h', 'f32'], ['base', 'u32'], ['tmask', 'u32'], ['cmin', 'vec4<i32>'], ['cmax', 'vec4<i32>']],
  // Function-scope structs of reduce.wgsl (the step sums; never in a buffer, listed so that
  // every struct of shaders/ has one registry entry).
  StepCols: [
    ['vv', 'f32'], ['gg', 'f32'], ['gv', 'f32'], ['en', 'f32'], ['fr', 'f32'],
    ['mvv', 'f32'], ['mgg', 'f32'], ['mgl', 'f32'], ['mvl', 'f32'],
  ],
  StepAcc: [
    ['vv', 'vec2f'], ['gg', 'vec2f'], ['gv', 'vec2f'], ['en', 'vec2f'], ['fr', 'vec2f'],
    ['mvv', 'f32'], ['mgg', 'f32'], ['mgl', 'f32'], ['mvl', 'f32'],
  ],
  // The renderer's uniform (shaders/render.wgsl, src/render/particles.ts).
  RenderView: [['view', 'mat4x4f'], ['colour', 'vec4f'], ['colour2', 'vec4f'], ['radius', 'vec2f'], ['split', 'u32'], ['pad', 'u32']],
  // The renderer's vertex-to-fragment interface (attributes dropped; never in a buffer).
  VOut: [['pos', 'vec4f'], ['uv', 'vec2f'], ['colour', 'vec4f']],
  GridInfo: [
    ['lo', 'vec4f'], ['hi', 'vec4f'], ['origin', 'vec4f'], ['spacing', 'f32'], ['h0', 'f32'],
    ['m', 'u32'], ['levels', 'u32'], ['lv', 'array<LevelInfo, MAX_LEVELS>'],
  ],
};

/** Structs of {@link WGSL_STRUCTS} that never live in a buffer (function scope, shader stage interfaces). */
export const FUNCTION_SCOPE_STRUCTS: ReadonlySet<string> = new Set(['StepCols', 'StepAcc', 'VOut']);

/** Size and alignment of a WGSL type (WGSL's host-shareable layout rules). */
function typeLayout(type: string): { size: number; align: number } {
  const t = type.replace(/\s+/g, '');
  if (t === 'u32' || t === 'i32' || t === 'f32') return { size: 4, align: 4 };
  if (/^vec2(f|u|i|<(f32|u32|i32)>)$/.test(t)) return { size: 8, align: 8 };
  if (/^vec3(f|u|i|<(f32|u32|i32)>)$/.test(t)) return { size: 12, align: 16 };
  if (/^vec4(f|u|i|<(f32|u32|i32)>)$/.test(t)) return { size: 16, align: 16 };
  if (/^mat4x4(f|<f32>)$/.test(t)) return { size: 64, align: 16 };
  const arr = /^array<(.+),([A-Za-z_0-9]+)>$/.exec(t);
  if (arr) {
    const el = typeLayout(arr[1]!);
    const count = /^\d+$/.test(arr[2]!) ? Number(arr[2]) : WGSL_ARRAY_CONSTANTS[arr[2]!];
    if (count === undefined) throw new Error(`wgflow: wgslStructLayout: unknown array length ${arr[2]}`);
    const stride = Math.ceil(el.size / el.align) * el.align;
    return { size: stride * count, align: el.align };
  }
  const s = WGSL_STRUCTS[t];
  if (!s) throw new Error(`wgflow: wgslStructLayout: unknown WGSL type ${type}`);
  const l = wgslStructLayout(t);
  return { size: l.size, align: l.align };
}

/** Byte offsets, size and alignment of a struct of {@link WGSL_STRUCTS} under WGSL's layout rules. */
export function wgslStructLayout(name: string): { offsets: Record<string, number>; size: number; align: number } {
  const fields = WGSL_STRUCTS[name];
  if (!fields) throw new Error(`wgflow: wgslStructLayout: no struct ${name} in WGSL_STRUCTS`);
  let offset = 0;
  let align = 1;
  const offsets: Record<string, number> = {};
  for (const [f, type] of fields) {
    const l = typeLayout(type);
    offset = Math.ceil(offset / l.align) * l.align;
    offsets[f] = offset;
    offset += l.size;
    align = Math.max(align, l.align);
  }
  return { offsets, size: Math.ceil(offset / align) * align, align };
}

/** Byte size of `struct GridInfo` of grid.wgsl (written by the GPU every build). */
export const GRID_INFO_BYTES = wgslStructLayout('GridInfo').size;
