// integrate.wgsl: one time step of the chosen flow (METHOD), reading the gradient G that the
// energy terms wrote and the in-loop reductions of reduce.wgsl (MODE 0) in R:
//   R[0] = sum |v|^2, R[1] = sum |g|^2, R[2] = sum g.v, R[3] = sum_t w_t sum_i e_t[i] (N times
//   the energy, up to the terms' constants), R[4] = max |v|^2, R[5] = max |g|^2,
//   R[6] = max |g_i|/l_i, R[7] = max |v_i|/l_i (l_i: a term's length scale, e.g. the NN distance).
// Methods (MATH.md "Flows"):
//   0 gradient:     x <- x - h g
//   1 accelerated:  v <- v - h (gamma v + g);             x <- x + h v
//   2 steering:     s = sqrt(mean|v|^2 / mean|g|^2) (0 if mean|g|^2 = 0)
//                   v <- v - h (gamma v + (1 + gamma s) g); x <- x + h v
//   3 langevin:     x <- x - h g + sqrt(2 h T) xi,  xi ~ N(0, I) from Philox (random.wgsl)
//   4 fire:         FIRE 2.0 (Guenole et al. 2020), see fire_decide / fire_kick / fire_move.
// Adaptive restart (Params.flags bit 0, methods 1 and 2): v <- 0 before the update whenever
// the energy rose since the previous step (R[3] > State.last_energy).
// `advance` (one thread) then moves the integrator state on by one step.

override METHOD: u32 = 0u;

@group(0) @binding(0) var<storage, read_write> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> V: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> R: array<f32>;           // MODE-0 sums of this step
@group(0) @binding(4) var<storage, read_write> S: State;
@group(0) @binding(5) var<uniform> prm: Params;
@group(0) @binding(6) var<storage, read> GT: array<f32>;          // damping table (gamma_mode 1)
@group(0) @binding(7) var<storage, read_write> F: array<atomic<u32>, 4>;  // [0]: first non-finite step
@group(0) @binding(8) var<storage, read> R2: array<f32>;          // FIRE: MODE-0 sums after the kick

const FLAG_RESTART: u32 = 1u;

// Damping gamma at a step.
fn damping(step: u32) -> f32 {
  if (prm.gamma_mode == 1u) { return GT[step - prm.table_base]; }
  if (prm.gamma_mode == 2u) { return max(prm.gamma_floor, prm.gamma / (f32(step) + prm.gamma_t0)); }
  return prm.gamma;
}

// Steering ratio s from the MODE-0 sums (the 1/N of both means cancels).
fn steering_ratio() -> f32 {
  let gg = R[1];
  if (gg > 0.0) { return sqrt(R[0] / gg); }
  return 0.0;
}

fn restart_now() -> bool {
  return (prm.flags & FLAG_RESTART) != 0u && R[3] > S.last_energy;
}

fn load_x(i: u32) -> vec3f {
  var x = vec3f(0.0);
  for (var c = 0u; c < D; c++) { x[c] = X[i * D + c]; }
  return x;
}
fn load_v(i: u32) -> vec3f {
  var v = vec3f(0.0);
  for (var c = 0u; c < D; c++) { v[c] = V[i * D + c]; }
  return v;
}
fn load_g(i: u32) -> vec3f {
  var g = vec3f(0.0);
  for (var c = 0u; c < D; c++) { g[c] = G[i * D + c]; }
  return g;
}
fn store_x(i: u32, x: vec3f) {
  for (var c = 0u; c < D; c++) { X[i * D + c] = x[c]; }
  if (!is_finite_v3(x)) { atomicMin(&F[0], S.step); }
}
fn store_v(i: u32, v: vec3f) {
  for (var c = 0u; c < D; c++) { V[i * D + c] = v[c]; }
  if (!is_finite_v3(v)) { atomicMin(&F[0], S.step); }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_id(gid, nwg);
  if (i >= prm.n) { return; }
  let h = S.h;
  var x = load_x(i);
  let g = load_g(i);
  if (METHOD == 0u) {
    x = x - h * g;
  } else if (METHOD == 3u) {
    let xi = normal4(vec4u(i, S.rng_counter, 0u, 0u), vec2u(prm.seed_lo, prm.seed_hi)).xyz;
    x = x - h * g + sqrt(2.0 * h * prm.temperature) * xi;
  } else {
    let gam = damping(S.step);
    var v = load_v(i);
    if (restart_now()) { v = vec3f(0.0); }
    var coef = 1.0;
    if (METHOD == 2u) { coef = 1.0 + gam * steering_ratio(); }
    v = v - h * (gam * v + coef * g);
    x = x + h * v;
    store_v(i, v);
  }
  store_x(i, x);
}

@compute @workgroup_size(1)
fn advance() {
  S.gamma = damping(S.step);
  if (METHOD == 2u) { S.s = steering_ratio(); }
  if (METHOD == 1u || METHOD == 2u) {
    if (restart_now()) { S.restarts = S.restarts + 1u; }
    if ((prm.flags & FLAG_RESTART) != 0u) { S.last_energy = R[3]; }
  }
  S.step = S.step + 1u;
  S.rng_counter = S.rng_counter + 1u;
}

// ---- Automatic step (Params.flags bit 1), one thread, after the MODE-0 reduction ----
// With l_i a term's length scale (the nearest-neighbour distance of the entropy or KL term),
// R[6] = max |g_i|/l_i and R[7] = max |v_i|/l_i, and f = auto_frac:
//   gradient:              h = f / R[6]                   (every displacement h|g_i| <= f l_i)
//   accelerated, steering: h = min(sqrt(f / (c R[6])), f / R[7]),  c = 1 + gamma s (steering)
//                          (h^2 c |g_i| <= f l_i and h |v_i| <= f l_i)
// clamped to [h_min, h_max]. Close pairs make the entropy force stiff (Lipschitz ~ d / r^2),
// and |g_i| / l_i ~ d / r_i^2 there, so the same rule also keeps the explicit step stable.
@compute @workgroup_size(1)
fn auto_step() {
  var h = prm.h_max;
  let lg = R[6];
  let lv = R[7];
  if (METHOD == 0u) {
    if (lg > 0.0) { h = min(h, prm.auto_frac / lg); }
  } else {
    var c = 1.0;
    if (METHOD == 2u) { c = 1.0 + damping(S.step) * steering_ratio(); }
    if (lg > 0.0) { h = min(h, sqrt(prm.auto_frac / (c * lg))); }
    if (lv > 0.0) { h = min(h, prm.auto_frac / lv); }
  }
  S.h = max(h, prm.h_min);
}

// ---- FIRE 2.0 (force f = -g, power P = sum f.v = -R[2]) ----
// fire_decide (one thread), on the velocity of the previous step:
//   P > 0:  n_pos += 1; if n_pos > n_delay: h <- min(h f_inc, h_max), alpha <- alpha f_alpha
//   P <= 0: n_pos = 0; unless step < n_delay: h <- max(h f_dec, h_min), alpha <- alpha_start;
//           State.power <= 0 tells fire_kick to step back x <- x - h v / 2 and zero v
@compute @workgroup_size(1)
fn fire_decide() {
  let p = -R[2];
  S.power = p;
  if (p > 0.0) {
    S.n_pos = S.n_pos + 1u;
    if (S.n_pos > prm.n_delay) {
      S.h = min(S.h * prm.f_inc, prm.h_max);
      S.alpha = S.alpha * prm.f_alpha;
    }
  } else {
    S.n_pos = 0u;
    // FIRE 2.0's initial delay: no step decrease during the first n_delay steps (the first
    // step always has P = 0 since v = 0).
    if (S.step >= prm.n_delay) {
      S.h = max(S.h * prm.f_dec, prm.h_min);
      S.alpha = prm.alpha_start;
    }
    if (R[0] > 0.0) { S.restarts = S.restarts + 1u; }
  }
}

// fire_kick: the half step back and velocity reset on P <= 0, then v <- v + h f.
// A step with P = 0 exactly (e.g. the first, v = 0) resets nothing that is not already zero.
@compute @workgroup_size(WG)
fn fire_kick(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_id(gid, nwg);
  if (i >= prm.n) { return; }
  let h = S.h;
  var v = load_v(i);
  if (!(S.power > 0.0)) {
    store_x(i, load_x(i) - 0.5 * h * v);
    v = vec3f(0.0);
  }
  store_v(i, v - h * load_g(i));
}

// fire_move: mixing with global norms v <- (1 - alpha) v + alpha |v| f/|f| (R2: sums after the
// kick), then x <- x + h v with the displacement of each particle capped at max_disp (if > 0).
@compute @workgroup_size(WG)
fn fire_move(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_id(gid, nwg);
  if (i >= prm.n) { return; }
  let h = S.h;
  let a = S.alpha;
  var v = load_v(i);
  let f = -load_g(i);
  if (R2[1] > 0.0) { v = (1.0 - a) * v + a * sqrt(R2[0] / R2[1]) * f; }
  var dx = h * v;
  let len = length(dx);
  if (prm.max_disp > 0.0 && len > prm.max_disp) { dx = dx * (prm.max_disp / len); }
  store_v(i, v);
  store_x(i, load_x(i) + dx);
}
