// common.wgsl: prepended to every wgflow kernel. Byte layouts here are mirrored by
// src/layout.ts, and a test checks that the two agree.

override D: u32 = 2u;      // spatial dimension, 1..3
override WG: u32 = 256u;   // workgroup size of per-particle kernels

// Per-flow constants (uniform). Mirrored by PARAMS_FIELDS in src/layout.ts.
struct Params {
  n: u32,              // number of particles
  method: u32,         // 0 gradient, 1 accelerated, 2 steering, 3 langevin, 4 fire
  gamma_mode: u32,     // 0 constant, 1 host table, 2 c/(t + t0) with a floor
  table_base: u32,     // step index of gamma_table[0] (gamma_mode 1)
  gamma: f32,          // constant damping, or c of gamma_mode 2
  gamma_floor: f32,    // lower bound of gamma_mode 2
  gamma_t0: f32,       // t0 of gamma_mode 2
  inv_n: f32,          // 1 / n
  h0: f32,             // initial / fixed step
  h_max: f32,          // FIRE / auto-step upper bound
  h_min: f32,          // FIRE / auto-step lower bound
  temperature: f32,    // Langevin temperature 1/beta
  f_inc: f32,          // FIRE step growth
  f_dec: f32,          // FIRE step shrink
  alpha_start: f32,    // FIRE mixing start
  f_alpha: f32,        // FIRE mixing decay
  n_delay: u32,        // FIRE steps with P > 0 before the step may grow
  seed_lo: u32,        // RNG key
  seed_hi: u32,        // RNG key
  flags: u32,          // bit 0: adaptive restart; bit 1: automatic step
  max_disp: f32,       // cap on the largest displacement per step (0: none)
  auto_frac: f32,      // automatic step: displacement as a fraction of the NN distance
  length_stride: u32,  // stride of the length-scale buffer (k of a k-NN distance table)
  auto_chatter: f32,  // automatic step (curvature rule), damped flows: h <= auto_chatter * gamma / lambda (0: no cap)
  fire_grace: u32,     // FIRE: steps after a velocity reset in which P <= 0 resets nothing (0: FIRE 2.0)
  fire_power: u32,     // FIRE: 0 P = f.v(t - h/2) (FIRE 2.0), 1 P = f.(v(t - h/2) + h f / 2) (time-centred)
  length_offset: u32,     // column of the length-scale row read by the step sums (the entropy: k - 1)
  pad4: u32,
}

// Integrator state (storage). Mirrored by STATE_FIELDS in src/layout.ts. Saved and restored
// bit for bit by checkpoints.
struct State {
  step: u32,           // steps taken
  h: f32,              // current step size
  alpha: f32,          // FIRE mixing coefficient
  n_pos: u32,          // FIRE: consecutive steps with P > 0
  rng_counter: u32,    // Langevin: counter of the next draw (advances once per step)
  gamma: f32,          // damping used by the last step
  s: f32,              // steering ratio of the last step
  power: f32,          // FIRE power P = sum f.v of the last step
  restarts: u32,       // velocity resets so far (FIRE or adaptive restart)
  last_energy: f32,    // energy seen by adaptive restart
  fire_calm: u32,      // FIRE: steps since the last velocity reset
  fire_reset: u32,     // FIRE: 1 when this step resets the velocities
  time: f32,           // flow time: the sum of the steps h taken
  pad1: u32,
  pad2: u32,
  pad3: u32,
}

// Flat particle index of a 1D or 2D dispatch of WG-sized workgroups.
fn flat_id(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// True when v is neither NaN nor infinite. Bit test, since compilers may assume no NaN.
fn is_finite_f32(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

fn is_finite_v3(v: vec3f) -> bool {
  return is_finite_f32(v.x) && is_finite_f32(v.y) && is_finite_f32(v.z);
}

// Overflow-safe pieces of the k-NN estimators (entropy, KL to samples), for particles whose
// distance² leaves the f32 range (|x_a − x_b| ≳ 1.8e19, or coordinates near f32 max where
// a − b itself overflows). Below that, both are the plain formulas, bit for bit.
// ½ log(|a − b|² + ε²): past the range, from the half difference h = a/2 − b/2 (which never
// overflows) scaled by its largest component s: log(2s) + ½ log|h/s|² (ε² negligible there).
fn half_log_dist2(a: vec3f, b: vec3f, eps2: f32) -> f32 {
  let d = a - b;
  let dd = dot(d, d);
  if (dd < 1e37) { return 0.5 * log(dd + eps2); }
  let h = 0.5 * a - 0.5 * b;
  let s = max(abs(h.x), max(abs(h.y), abs(h.z)));
  let q = h / s;
  return log(2.0 * s) + 0.5 * log(dot(q, q));
}

// (a − b) / (|a − b|² + ε²): past the range, h/(2|h|²) = q/(2 s |q|²), which tends to 0
// (it is below 1e-19 there) instead of inf/inf = NaN.
fn inv_dist2_vec(a: vec3f, b: vec3f, eps2: f32) -> vec3f {
  let d = a - b;
  let dd = dot(d, d);
  if (dd < 1e37) { return d / (dd + eps2); }
  let h = 0.5 * a - 0.5 * b;
  let s = max(abs(h.x), max(abs(h.y), abs(h.z)));
  let q = h / s;
  return q / (2.0 * s * dot(q, q));
}
