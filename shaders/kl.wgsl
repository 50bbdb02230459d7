// kl.wgsl: the KL-divergence-to-samples term of docs/math.md §5 (Pérez-Cruz 2008; Wang, Kulkarni
// and Verdú 2009) and its exact gradient, given two k-NN searches of neighbors.wgsl: the
// particles against a static grid of the M target samples (m(j), the k-th nearest sample),
// the particles against themselves (n(j), the k-th nearest other particle), and the
// reverse-neighbour lists of n.
//
// Composed as common.wgsl + (library of grid.wgsl) + (library of neighbors.wgsl) + this file.
//
// With smooth floors ν̃_j² = |x_j − y_m(j)|² + εν² and r̃_j² = |x_j − x_n(j)|² + εr²:
//   e_j = d log(ν̃_j / r̃_j) = (d/2) (log ν̃_j² − log r̃_j²)
//   g_j = N ∂D̂/∂x_j = w d [ (x_j − y_m(j))/ν̃_j² − (x_j − x_n(j))/r̃_j² − Σ_{i : n(i) = j} (x_j − x_i)/r̃_i² ]
// (w the term's weight). Two passes, each thread touching only its own particle j:
//   kl_self   writes e_j = −(d/2) log r̃_j², adds the r part of g_j (reverse sum gathered in
//             fixed point, order-independent, as in entropy.wgsl) and writes l_j = r̃_j;
//   kl_target adds (d/2) log ν̃_j² to e_j, the ν part to g_j, and sets l_j = min(l_j, ν̃_j),
//             the length scale of the flow's automatic step.

override K: u32 = 1u;

// Mirrored by KL_PARAMS_FIELDS in src/energies/kl.ts.
struct KlParams {
  n: u32,              // particles
  e_base: u32,         // slot * n: where this term's densities start in `energy`
  weight: f32,         // w
  eps_nu2: f32,        // εν², the smooth floor of ν²
  eps_r2: f32,         // εr², the smooth floor of r²
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(60) var<storage, read> kpos: array<f32>;
@group(0) @binding(61) var<storage, read> ksamp: array<f32>;
@group(0) @binding(62) var<storage, read> ktidx: array<u32>;
@group(0) @binding(63) var<storage, read> knidx: array<u32>;
@group(0) @binding(64) var<storage, read> krev_end: array<u32>;
@group(0) @binding(65) var<storage, read> krev: array<u32>;
@group(0) @binding(66) var<storage, read_write> kgrad: array<f32>;
@group(0) @binding(67) var<storage, read_write> kenergy: array<f32>;
@group(0) @binding(68) var<storage, read_write> klen: array<f32>;
@group(0) @binding(69) var<uniform> kp: KlParams;

fn load_k(i: u32) -> vec3f {
  var p = vec3f(0.0);
  p.x = kpos[i * D];
  if (D > 1u) { p.y = kpos[i * D + 1u]; }
  if (D > 2u) { p.z = kpos[i * D + 2u]; }
  return p;
}

fn load_y(i: u32) -> vec3f {
  var p = vec3f(0.0);
  p.x = ksamp[i * D];
  if (D > 1u) { p.y = ksamp[i * D + 1u]; }
  if (D > 2u) { p.z = ksamp[i * D + 2u]; }
  return p;
}

fn add_grad(j: u32, g: vec3f) {
  kgrad[j * D] += g.x;
  if (D > 1u) { kgrad[j * D + 1u] += g.y; }
  if (D > 2u) { kgrad[j * D + 2u] += g.z; }
}

// (x_j − x_i) / (|x_j − x_i|² + εr²)
fn rev_pull(xj: vec3f, s: u32) -> vec3f {
  return inv_dist2_vec(xj, load_k(krev[s]), kp.eps_r2);
}

fn rev_range(j: u32) -> vec2u {
  var s0 = 0u;
  if (j > 0u) { s0 = krev_end[j - 1u]; }
  return vec2u(s0, krev_end[j]);
}

@compute @workgroup_size(WG)
fn kl_self(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = flat_id(gid, nwg);
  if (j >= kp.n) { return; }
  let xj = load_k(j);
  let xn = load_k(knidx[j * K + K - 1u]);
  let hl = half_log_dist2(xj, xn, kp.eps_r2);
  kenergy[kp.e_base + j] = -f32(D) * hl;
  klen[j] = exp(hl);
  let fwd = inv_dist2_vec(xj, xn, kp.eps_r2);

  let rev = reverse_sum(xj, j);
  add_grad(j, (-f32(D) * kp.weight) * (fwd + rev));
}

@compute @workgroup_size(WG)
fn kl_target(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = flat_id(gid, nwg);
  if (j >= kp.n) { return; }
  let xj = load_k(j);
  let yj = load_y(ktidx[j * K + K - 1u]);
  let hl = half_log_dist2(xj, yj, kp.eps_nu2);
  kenergy[kp.e_base + j] += f32(D) * hl;
  klen[j] = min(klen[j], exp(hl));
  add_grad(j, (f32(D) * kp.weight) * inv_dist2_vec(xj, yj, kp.eps_nu2));
}
