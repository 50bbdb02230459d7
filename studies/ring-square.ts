/**
 * The ring + square target of the picture-flow studies (docs/picture.md, studies/kl-study.ts,
 * studies/picture-variants.ts) and of test/picture.test.ts: two parts with a gap and equal
 * mass. Half the samples are uniform in the annulus 0.6 ≤ |y| ≤ 0.7, half uniform in the
 * square [−0.3, 0.3]², drawn from the library's seeded uniform generator (mulberry32).
 *
 * @example
 * const y = ringSquare(5000, 11); // 10000 floats
 */
import { mulberry32 } from '../src/math/random.js';

export function ringSquare(m: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(2 * m);
  for (let i = 0; i < m; i++) {
    if (r() < 0.5) {
      const a = 2 * Math.PI * r();
      const rad = Math.sqrt(0.36 + (0.49 - 0.36) * r());
      out[2 * i] = rad * Math.cos(a);
      out[2 * i + 1] = rad * Math.sin(a);
    } else {
      out[2 * i] = -0.3 + 0.6 * r();
      out[2 * i + 1] = -0.3 + 0.6 * r();
    }
  }
  return out;
}
