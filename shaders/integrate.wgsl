// integrate.wgsl: one time step of the chosen flow (METHOD), reading the gradient G that the
// energy terms wrote and, for steering, the reductions of reduce.wgsl (MODE 0) in R.
//   0 gradient:     x <- x - h g
//   1 accelerated:  v <- v - h (gamma v + g);             x <- x + h v
//   2 steering:     s = sqrt(mean|v|^2 / mean|g|^2) (0 if mean|g|^2 = 0)
//                   v <- v - h (gamma v + (1 + gamma s) g); x <- x + h v
// `advance` (one thread) then moves the integrator state on by one step.

override METHOD: u32 = 0u;

@group(0) @binding(0) var<storage, read_write> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> V: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> R: array<f32>;           // MODE-0 sums: |v|^2, |g|^2, g.v, max|v|^2, max|g|^2
@group(0) @binding(4) var<storage, read_write> S: State;
@group(0) @binding(5) var<uniform> prm: Params;
@group(0) @binding(6) var<storage, read> GT: array<f32>;          // damping table (gamma_mode 1)
@group(0) @binding(7) var<storage, read_write> F: array<atomic<u32>, 4>;  // [0]: first non-finite step

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

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_id(gid, nwg);
  if (i >= prm.n) { return; }
  let h = S.h;
  var x = vec3f(0.0);
  var g = vec3f(0.0);
  for (var c = 0u; c < D; c++) { x[c] = X[i * D + c]; g[c] = G[i * D + c]; }
  if (METHOD == 0u) {
    x = x - h * g;
  } else {
    let gam = damping(S.step);
    var v = vec3f(0.0);
    for (var c = 0u; c < D; c++) { v[c] = V[i * D + c]; }
    var coef = 1.0;
    if (METHOD == 2u) { coef = 1.0 + gam * steering_ratio(); }
    v = v - h * (gam * v + coef * g);
    x = x + h * v;
    for (var c = 0u; c < D; c++) { V[i * D + c] = v[c]; }
    if (!is_finite_v3(v)) { atomicMin(&F[0], S.step); }
  }
  for (var c = 0u; c < D; c++) { X[i * D + c] = x[c]; }
  if (!is_finite_v3(x)) { atomicMin(&F[0], S.step); }
}

@compute @workgroup_size(1)
fn advance() {
  S.gamma = damping(S.step);
  if (METHOD == 2u) { S.s = steering_ratio(); }
  S.step = S.step + 1u;
  S.rng_counter = S.rng_counter + 1u;
}
