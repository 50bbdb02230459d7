// integrate.wgsl: one time step of the chosen flow (METHOD), reading the gradient G that the
// energy terms wrote and the in-loop reductions of reduce.wgsl (MODE 0) in R, by the column
// names of reduce.wgsl's library part (composed in before this file): R[STEP_VV] = sum |v|^2,
// R[STEP_GG] = sum |g|^2, R[STEP_GV] = sum g.v, R[STEP_ENERGY] = sum_t w_t sum_i e_t[i] (N times
// the energy, up to the terms' constants), R[STEP_FREQUENCY] = sum_i sqrt(d w) / l_i,
// R[STEP_MAX_G_OVER_L] = max |g_i|/l_i, R[STEP_MAX_V_OVER_L] = max |v_i|/l_i (l_i, w: a term's
// length scale, e.g. the NN distance, and its weight).
// Methods (docs/math.md):
//   gradient:     x <- x - h g
//   accelerated:  v <- v - h (gamma v + g);             x <- x + h v
//   steering:     s = sqrt(mean|v|^2 / mean|g|^2) (0 if mean|g|^2 = 0)
//                 v <- v - h (gamma v + (1 + gamma s) g); x <- x + h v
//   langevin:     x <- x - h g + sqrt(2 h T) xi,  xi ~ N(0, I) from Philox (random.wgsl)
//   fire:         FIRE 2.0 (Guenole et al. 2020), see fire_decide / fire_kick / fire_move.
// Adaptive restart (FLAG_RESTART, accelerated and steering): v <- 0 before the update whenever
// the energy rose since the previous step (R[STEP_ENERGY] > State.last_energy).
// `advance` (one thread) then moves the integrator state on by one step.
//
// The library part below (method codes, Params.flags bits, Params.gamma_mode values, rules of
// the automatic step) is mirrored by METHOD_CODES of src/gpu/layout.ts and PARAMS_FLAGS,
// GAMMA_MODES, AUTO_RULES of src/kernels/integrate.ts (tests check them); reduce.wgsl includes it.

const METHOD_GRADIENT: u32 = 0u;
const METHOD_ACCELERATED: u32 = 1u;
const METHOD_STEERING: u32 = 2u;
const METHOD_LANGEVIN: u32 = 3u;
const METHOD_FIRE: u32 = 4u;

const FLAG_RESTART: u32 = 1u;         // adaptive restart
const FLAG_AUTO_STEP: u32 = 2u;       // automatic step (auto_step runs before the update)
const FLAG_LENGTH_SCALE: u32 = 4u;    // a term gives a length scale L (reduce.wgsl reads it)

const GAMMA_CONSTANT: u32 = 0u;       // Params.gamma
const GAMMA_TABLE: u32 = 1u;          // host-written table GT, from step table_base
const GAMMA_SCHEDULE: u32 = 2u;       // max(gamma_floor, gamma / (step + gamma_t0))

const AUTO_DISPLACEMENT: u32 = 0u;    // automatic step: moves bounded by a fraction of l_i
const AUTO_CURVATURE: u32 = 1u;       // automatic step: from the mean pair frequency
const CHATTER_ONSET: f32 = 2.0;       // the chatter bound acts from flow time CHATTER_ONSET / gamma on

// ==== kernels ====

override METHOD: u32 = 0u;
override AUTO_RULE: u32 = 1u;         // AUTO_DISPLACEMENT or AUTO_CURVATURE (h: 'auto')

@group(0) @binding(0) var<storage, read_write> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> V: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> R: array<f32>;           // MODE-0 sums of this step
@group(0) @binding(4) var<storage, read_write> S: State;
@group(0) @binding(5) var<uniform> prm: Params;
@group(0) @binding(6) var<storage, read> GT: array<f32>;          // damping table (GAMMA_TABLE)
@group(0) @binding(7) var<storage, read_write> F: array<atomic<u32>, 4>;  // [0]: first non-finite step
@group(0) @binding(8) var<storage, read> R2: array<f32>;          // FIRE: MODE-0 sums after the kick

// Damping gamma at a step.
fn damping(step: u32) -> f32 {
  if (prm.gamma_mode == GAMMA_TABLE) { return GT[step - prm.table_base]; }
  if (prm.gamma_mode == GAMMA_SCHEDULE) { return max(prm.gamma_floor, prm.gamma / (f32(step) + prm.gamma_t0)); }
  return prm.gamma;
}

// Steering ratio s from the MODE-0 sums (the 1/N of both means cancels).
fn steering_ratio() -> f32 {
  let gg = R[STEP_GG];
  if (gg > 0.0) { return sqrt(R[STEP_VV] / gg); }
  return 0.0;
}

fn restart_now() -> bool {
  return (prm.flags & FLAG_RESTART) != 0u && R[STEP_ENERGY] > S.last_energy;
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
  if (METHOD == METHOD_GRADIENT) {
    x = x - h * g;
  } else if (METHOD == METHOD_LANGEVIN) {
    let xi = normal4(vec4u(i, S.rng_counter, 0u, 0u), vec2u(prm.seed_lo, prm.seed_hi)).xyz;
    x = x - h * g + sqrt(2.0 * h * prm.temperature) * xi;
  } else {
    let gam = damping(S.step);
    var v = load_v(i);
    if (restart_now()) { v = vec3f(0.0); }
    var coef = 1.0;
    if (METHOD == METHOD_STEERING) { coef = 1.0 + gam * steering_ratio(); }
    v = v - h * (gam * v + coef * g);
    x = x + h * v;
    store_v(i, v);
  }
  store_x(i, x);
}

@compute @workgroup_size(1)
fn advance() {
  S.gamma = damping(S.step);
  if (METHOD == METHOD_STEERING) { S.s = steering_ratio(); }
  if (METHOD == METHOD_ACCELERATED || METHOD == METHOD_STEERING) {
    if (restart_now()) { S.restarts = S.restarts + 1u; }
    if ((prm.flags & FLAG_RESTART) != 0u) { S.last_energy = R[STEP_ENERGY]; }
  }
  S.time = S.time + S.h;
  S.step = S.step + 1u;
  S.rng_counter = S.rng_counter + 1u;
}

// ---- Automatic step (FLAG_AUTO_STEP), one thread, after the MODE-0 reduction ----
// f = auto_frac, c = 1 + gamma s (steering; 1 otherwise). l_i: a term's length scale (the
// nearest-neighbour distance of the entropy or KL term), w its weight.
// AUTO_CURVATURE: omega = R[STEP_FREQUENCY] / N = mean_i sqrt(d w) / l_i, the mean frequency of
//   the pair modes (the entropy's Hessian along a nearest-neighbour pair is d w / r^2), lam = c omega^2:
//   gradient (explicit Euler, h lam):  h = f / lam
//   accelerated, steering, FIRE (symplectic Euler, h sqrt(lam)):  h = f / sqrt(c lam)
//   accelerated, steering, also h <= b gamma / lam (b = auto_chatter > 0) once the flow time
//     is at least CHATTER_ONSET / gamma: the kinetic heat of the chatter at the k-NN kinks is
//     ~ h F^2 / gamma with F^2 ~ lam, so this bounds the bias of the plateau independently of N
//     (docs/convergence.md). Heat from before the onset decays at rate 2 gamma, and no plateau
//     is reached in less than the kinetic relaxation time, so the bound is off at the start,
//     where lam is largest and the bound would cost the most steps.
//   h_max if lam = 0.
// AUTO_DISPLACEMENT: lg = R[STEP_MAX_G_OVER_L] = max |g_i|/l_i, lv = R[STEP_MAX_V_OVER_L]:
//   gradient:              h = f / lg                     (every displacement h|g_i| <= f l_i)
//   accelerated, steering: h = min(sqrt(f / (c lg)), f / lv)
//                          (h^2 c |g_i| <= f l_i and h |v_i| <= f l_i)
// then clamped to [h_min, h_max].
fn curvature_step(c: f32) -> f32 {
  let omega = R[STEP_FREQUENCY] * prm.inv_n;
  let lam = c * omega * omega;
  if (!(lam > 0.0)) { return prm.h_max; }
  if (METHOD == METHOD_GRADIENT) { return min(prm.h_max, prm.auto_frac / lam); }
  var h = min(prm.h_max, prm.auto_frac / sqrt(lam));
  if ((METHOD == METHOD_ACCELERATED || METHOD == METHOD_STEERING) && prm.auto_chatter > 0.0) {
    let gam = damping(S.step);
    if (gam > 0.0 && S.time >= CHATTER_ONSET / gam) { h = min(h, prm.auto_chatter * gam / lam); }
  }
  return h;
}

@compute @workgroup_size(1)
fn auto_step() {
  var h = prm.h_max;
  var c = 1.0;
  if (METHOD == METHOD_STEERING) { c = 1.0 + damping(S.step) * steering_ratio(); }
  if (AUTO_RULE == AUTO_CURVATURE) {
    h = curvature_step(c);
  } else {
    let lg = R[STEP_MAX_G_OVER_L];
    let lv = R[STEP_MAX_V_OVER_L];
    if (METHOD == METHOD_GRADIENT) {
      if (lg > 0.0) { h = min(h, prm.auto_frac / lg); }
    } else {
      if (lg > 0.0) { h = min(h, sqrt(prm.auto_frac / (c * lg))); }
      if (lv > 0.0) { h = min(h, prm.auto_frac / lv); }
    }
  }
  S.h = max(h, prm.h_min);
}

// ---- FIRE 2.0 (force f = -g, power P = sum f.v = -R[STEP_GV]) ----
// fire_decide (one thread), on the velocity of the previous step:
//   P > 0:  n_pos += 1; if n_pos > n_delay: h <- min(h f_inc, h_max), alpha <- alpha f_alpha
//   P <= 0: n_pos = 0; unless step < n_delay: h <- max(h f_dec, h_min), alpha <- alpha_start;
//           State.fire_reset = 1 tells fire_kick to step back x <- x - h v / 2 and zero v
//   grace (fire_grace = G > 0, not FIRE 2.0): within G steps after a reset, P <= 0 only sets
//           n_pos = 0 (no reset, no step or alpha change): a reset from rest at the kinks of a
//           k-NN energy synchronises the particles' chatter, whose flip makes the next P < 0
//           whatever h is, so without grace every later step resets (docs/convergence.md)
// With h: 'auto' (FLAG_AUTO_STEP) the step is the curvature step instead,
// h = max(curvature_step(1), h_min): FIRE keeps its mixing and restarts, not its step control.
@compute @workgroup_size(1)
fn fire_decide() {
  var p = -R[STEP_GV];
  if (prm.fire_power == 1u) { p = p + 0.5 * S.h * R[STEP_GG]; }
  S.power = p;
  S.fire_reset = 0u;
  if (!(p > 0.0) && S.fire_calm < prm.fire_grace) {
    S.n_pos = 0u;
  } else if (p > 0.0) {
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
    if (R[STEP_VV] > 0.0) { S.restarts = S.restarts + 1u; }
    S.fire_reset = 1u;
    S.fire_calm = 0u;
  }
  S.fire_calm = min(S.fire_calm + 1u, 0xfffffffeu);
  if ((prm.flags & FLAG_AUTO_STEP) != 0u) { S.h = max(curvature_step(1.0), prm.h_min); }
}

// fire_kick: the half step back and velocity reset on P <= 0, then v <- v + h f.
// A step with P = 0 exactly (e.g. the first, v = 0) resets nothing that is not already zero.
@compute @workgroup_size(WG)
fn fire_kick(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_id(gid, nwg);
  if (i >= prm.n) { return; }
  let h = S.h;
  var v = load_v(i);
  if (S.fire_reset != 0u) {
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
  if (R2[STEP_GG] > 0.0) { v = (1.0 - a) * v + a * sqrt(R2[STEP_VV] / R2[STEP_GG]) * f; }
  var dx = h * v;
  let len = length(dx);
  if (prm.max_disp > 0.0 && len > prm.max_disp) { dx = dx * (prm.max_disp / len); }
  store_v(i, v);
  store_x(i, load_x(i) + dx);
}
