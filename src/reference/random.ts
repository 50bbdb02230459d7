/**
 * CPU oracle of shaders/random.wgsl: Philox4x32-10 (Salmon et al., SC 2011; Random123) in exact
 * u32 arithmetic, the (0, 1) uniform map (exact in f32, so GPU and CPU agree bit for bit) and
 * Box–Muller normals in float64 (the GPU's differ only by its log/sin/cos rounding). The key
 * words of a seed are the library's (src/math/random.ts `seedWords`).
 */

/**
 * Four u32 words (a Philox counter or output block).
 *
 * @example
 * const ctr: Words4 = [particle, step, 0, 0];
 */
export type Words4 = readonly [number, number, number, number];
/**
 * Two u32 words (a Philox key).
 *
 * @example
 * const key: Words2 = [42, 0]; // the key words of seed 42
 */
export type Words2 = readonly [number, number];

/**
 * Philox 4x32 round multiplier of counter word 0 (Random123's PHILOX_M4x32_0).
 *
 * @example
 * mulhi32(PHILOX_M0, ctr[0]);
 */
export const PHILOX_M0 = 0xd2511f53;
/**
 * Philox 4x32 round multiplier of counter word 2 (Random123's PHILOX_M4x32_1).
 *
 * @example
 * mulhi32(PHILOX_M1, ctr[2]);
 */
export const PHILOX_M1 = 0xcd9e8d57;
/**
 * Weyl increment of key word 0 between rounds (golden ratio, Random123's PHILOX_W32_0).
 *
 * @example
 * k0 = (k0 + PHILOX_W0) >>> 0;
 */
export const PHILOX_W0 = 0x9e3779b9;
/**
 * Weyl increment of key word 1 between rounds (sqrt(3) − 1, Random123's PHILOX_W32_1).
 *
 * @example
 * k1 = (k1 + PHILOX_W1) >>> 0;
 */
export const PHILOX_W1 = 0xbb67ae85;

/**
 * Known-answer vectors of Philox4x32-10 from Random123's `kat_vectors` file:
 * counter (4 words), key (2 words), expected output (4 words).
 *
 * @example
 * for (const v of PHILOX4X32_10_KAT) console.assert(philox4x32(v.ctr, v.key).every((w, i) => w === v.out[i]));
 */
export const PHILOX4X32_10_KAT: readonly { ctr: Words4; key: Words2; out: Words4 }[] = [
  { ctr: [0, 0, 0, 0], key: [0, 0], out: [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8] },
  {
    ctr: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
    key: [0xffffffff, 0xffffffff],
    out: [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
  },
  {
    ctr: [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
    key: [0xa4093822, 0x299f31d0],
    out: [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  },
];

/**
 * High 32 bits of the 64-bit product of two u32, from 16-bit limbs (as the WGSL does).
 *
 * @example
 * mulhi32(0xffffffff, 0xffffffff); // 0xfffffffe
 */
export function mulhi32(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1; // each < 2^32, exact
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * Philox4x32-10 block: four uniform u32 words for a 128-bit counter and a 64-bit key.
 * Exact twin of `philox4x32` in shaders/random.wgsl.
 *
 * @example
 * philox4x32([0, 0, 0, 0], [0, 0]); // [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
 */
export function philox4x32(ctr: Words4, key: Words2): [number, number, number, number] {
  let c0 = ctr[0] >>> 0, c1 = ctr[1] >>> 0, c2 = ctr[2] >>> 0, c3 = ctr[3] >>> 0;
  let k0 = key[0] >>> 0, k1 = key[1] >>> 0;
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulhi32(PHILOX_M0, c0), lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi32(PHILOX_M1, c2), lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  return [c0, c1, c2, c3];
}

/**
 * The u32 → (0, 1) map of the WGSL: `(floor(u / 2^9) + 0.5) * 2^-23`, exactly representable
 * in f32 (so the GPU value is bit-identical). Range [2^-24, 1 - 2^-24]: never 0 nor 1.
 *
 * @example
 * u01(0); // 5.960464477539063e-8 (2^-24)
 */
export function u01(u: number): number {
  return ((u >>> 9) + 0.5) * 1.1920928955078125e-7;
}

/**
 * Four uniform (0, 1) draws for (counter, key); bit-identical to `uniform4` of the WGSL.
 *
 * @example
 * const [a, b, c, d] = uniform4([7, 0, 0, 0], [42, 0]);
 */
export function uniform4(ctr: Words4, key: Words2): [number, number, number, number] {
  const b = philox4x32(ctr, key);
  return [u01(b[0]), u01(b[1]), u01(b[2]), u01(b[3])];
}

/**
 * Four N(0, 1) draws for (counter, key), Box–Muller in float64 on the uniforms of
 * {@link uniform4}; the WGSL `normal4` returns the same numbers up to f32 rounding of
 * log/sqrt/sin/cos (a few 1e-7 relative on conforming GPUs).
 *
 * @example
 * // The Langevin draw of particle i at step t with seed words (lo, hi):
 * const xi = normal4([i, t, 0, 0], [lo, hi]).slice(0, dim);
 */
export function normal4(ctr: Words4, key: Words2): [number, number, number, number] {
  const u = uniform4(ctr, key);
  const r0 = Math.sqrt(-2 * Math.log(u[0]));
  const r1 = Math.sqrt(-2 * Math.log(u[2]));
  const t0 = 2 * Math.PI * u[1] - Math.PI;
  const t1 = 2 * Math.PI * u[3] - Math.PI;
  return [r0 * Math.cos(t0), r0 * Math.sin(t0), r1 * Math.cos(t1), r1 * Math.sin(t1)];
}
