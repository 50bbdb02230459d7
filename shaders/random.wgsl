// random.wgsl: Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as
// easy as 1, 2, 3", SC 2011; the Random123 library), a counter-based generator: the output
// is a pure function of a 128-bit counter and a 64-bit key, so every particle and step draws
// independently with no generator state. Pure u32 arithmetic; bit-exact CPU twin: philox4x32
// of the test oracles (src/reference), checked against Random123's known-answer vectors.
//
// Convention used by wgflow (Langevin): particle i at step t with key (seed_lo, seed_hi)
// draws normal4(vec4u(i, t, 0u, 0u), vec2u(seed_lo, seed_hi)) and uses components 0..D-1.
//
// Helper names start with `rng_`; the public functions are philox4x32, uniform4, normal4.

const RNG_M0: u32 = 0xD2511F53u;   // Philox 4x32 multipliers
const RNG_M1: u32 = 0xCD9E8D57u;
const RNG_W0: u32 = 0x9E3779B9u;   // Weyl key increments (golden ratio, sqrt(3) - 1)
const RNG_W1: u32 = 0xBB67AE85u;

// High 32 bits of the 64-bit product a * b, from 16-bit limbs (every partial fits a u32).
fn rng_mulhi(a: u32, b: u32) -> u32 {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}

fn rng_round(c: vec4u, k: vec2u) -> vec4u {
  let hi0 = rng_mulhi(RNG_M0, c.x);
  let lo0 = RNG_M0 * c.x;
  let hi1 = rng_mulhi(RNG_M1, c.z);
  let lo1 = RNG_M1 * c.z;
  return vec4u(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
}

// Philox4x32 with 10 rounds: four independent uniform u32 words per (counter, key).
fn philox4x32(ctr: vec4u, key: vec2u) -> vec4u {
  var c = ctr;
  var k = key;
  c = rng_round(c, k);
  for (var r = 1u; r < 10u; r++) {
    k = k + vec2u(RNG_W0, RNG_W1);
    c = rng_round(c, k);
  }
  return c;
}

// A u32 to a float in the open interval (0, 1): (floor(u / 2^9) + 0.5) * 2^-23, exact in f32.
// Smallest value 2^-24, largest 1 - 2^-24: never 0 (log stays finite) and never 1.
fn rng_u01(u: u32) -> f32 {
  return (f32(u >> 9u) + 0.5) * 1.1920928955078125e-7;
}

// Four independent uniform draws in (0, 1).
fn uniform4(ctr: vec4u, key: vec2u) -> vec4f {
  let b = philox4x32(ctr, key);
  return vec4f(rng_u01(b.x), rng_u01(b.y), rng_u01(b.z), rng_u01(b.w));
}

// -2 ln(u) for u in (0, 1), not subnormal, from + - * / only (WGSL's log is only bounded to
// 2^-21 absolute near 1): u = m 2^e with m in (1/sqrt2, sqrt2], ln m by the atanh series in
// s = (m - 1)/(m + 1), |s| <= 0.1716, truncated after s^9 (error < 1e-9); ln 2 split hi + lo.
fn rng_neg2log(u: f32) -> f32 {
  let b = bitcast<u32>(u);
  var e = i32(b >> 23u) - 127;
  var m = bitcast<f32>((b & 0x007fffffu) | 0x3f800000u);
  if (m > 1.4142135623730951) {
    m = m * 0.5;
    e = e + 1;
  }
  let s = (m - 1.0) / (m + 1.0);
  let s2 = s * s;
  let lm = 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0)))));
  let fe = f32(e);
  return -2.0 * (fe * 0.693145751953125 + (fe * 1.4286068202862268e-6 + lm));
}

// (sin, cos) of 2 pi v for v in [-1/2, 1/2], from + - * only (WGSL's sin and cos are only
// bounded to 2^-11 absolute): exact quadrant reduction in turns, then Taylor polynomials on
// [-pi/4, pi/4] (errors below 3e-8).
fn rng_sincos_turns(v: f32) -> vec2f {
  let q = round(4.0 * v);        // quadrant, -2..2; 4v is exact
  let t = 6.283185307179586 * (v - 0.25 * q);   // v - q/4 is exact; |t| <= pi/4
  let t2 = t * t;
  let s = t * (1.0 + t2 * (-1.0 / 6.0 + t2 * (1.0 / 120.0 + t2 * (-1.0 / 5040.0 + t2 * (1.0 / 362880.0)))));
  let c = 1.0 + t2 * (-0.5 + t2 * (1.0 / 24.0 + t2 * (-1.0 / 720.0 + t2 * (1.0 / 40320.0 + t2 * (-1.0 / 3628800.0)))));
  switch ((i32(q) + 4) & 3) {
    case 0: { return vec2f(s, c); }
    case 1: { return vec2f(c, -s); }
    case 2: { return vec2f(-s, -c); }
    default: { return vec2f(-c, s); }
  }
}

// Four independent N(0, 1) draws: Box-Muller on two pairs of uniforms,
//   (z0, z1) = sqrt(-2 ln u0) (cos, sin)(2 pi u1 - pi),  (z2, z3) likewise from (u2, u3).
// u - 1/2 is exact for these uniforms, so the angle reduction is exact. Agrees with the
// float64 twin to about 1e-6 relative on any conforming device. |z| <= sqrt(48 ln 2) ~ 5.77
// (a truncation at 5.77 standard deviations, probability ~1e-8).
fn normal4(ctr: vec4u, key: vec2u) -> vec4f {
  let u = uniform4(ctr, key);
  let r0 = sqrt(rng_neg2log(u.x));
  let r1 = sqrt(rng_neg2log(u.z));
  let a0 = rng_sincos_turns(u.y - 0.5);
  let a1 = rng_sincos_turns(u.w - 0.5);
  return vec4f(r0 * a0.y, r0 * a0.x, r1 * a1.y, r1 * a1.x);
}
