/**
 * Host-side randomness: the one seeded uniform generator of the library (mulberry32: initial
 * particle sets, image samples, slicing directions) and the split of a seed into the two u32
 * words of the GPU's Philox key (shaders/random.wgsl).
 */

/**
 * A deterministic uniform generator on [0, 1) from a 32-bit seed (mulberry32). The same seed
 * gives the same sequence everywhere.
 *
 * @example
 * const rand = mulberry32(7);
 * const u = rand(); // 0 <= u < 1, the same for every run with seed 7
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seed: a non-negative integer below 2^53, a bigint below 2^64, or the two key words [lo, hi].
 *
 * @example
 * const seeds: Seed[] = [42, 0xdead_beef_cafen, [1, 2]];
 */
export type Seed = number | bigint | readonly [number, number];

/**
 * Splits a seed into the two u32 key words (lo, hi) that the GPU uses (Params.seed_lo/seed_hi).
 *
 * @example
 * seedWords(2 ** 32 + 5); // [5, 1]
 * seedWords(7n);          // [7, 0]
 */
export function seedWords(seed: Seed): [number, number] {
  if (Array.isArray(seed)) return [seed[0] >>> 0, seed[1] >>> 0];
  if (typeof seed === 'bigint') {
    if (seed < 0n || seed >= 1n << 64n) throw new RangeError(`wgflow: seedWords: seed ${seed} is outside [0, 2^64)`);
    return [Number(seed & 0xffffffffn), Number(seed >> 32n)];
  }
  const s = seed as number;
  if (!Number.isSafeInteger(s) || s < 0) throw new RangeError(`wgflow: seedWords: seed ${s} must be a non-negative safe integer`);
  return [s % 4294967296, Math.floor(s / 4294967296)];
}
