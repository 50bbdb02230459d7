// entropy.wgsl: the Kozachenko–Leonenko internal-energy term F = ∫ ρ log ρ = -Ĥ (docs/math.md §4)
// and its exact gradient, given the self k-NN search and the reverse-neighbour lists of
// neighbors.wgsl.
//
// Composed as common.wgsl + (library of grid.wgsl) + (library of neighbors.wgsl) + this file.
//
// With r̃_i² = |x_i − x_{n(i)}|² + ε² (n(i) the k-th nearest other particle; ε the smooth
// floor), the per-particle density is e_j = −d log r̃_j = −(d/2) log(r_j² + ε²) and
//   g_j = N ∂F/∂x_j = −d T [ (x_j − x_{n(j)})/r̃_j² + Σ_{i : n(i) = j} (x_j − x_i)/r̃_i² ],
// T the term's weight (temperature). The reverse sum is gathered per j from its CSR list in a
// fixed-point, order-independent way (see neighbors.wgsl), so the result is deterministic.

override K: u32 = 1u;

// Mirrored by ENTROPY_PARAMS_FIELDS in src/energies/entropy.ts.
struct EntropyParams {
  n: u32,              // particles
  e_base: u32,         // slot * n: where this term's densities start in `energy`
  weight: f32,         // temperature T
  eps2: f32,           // ε², the smooth floor of r²
}

@group(0) @binding(50) var<storage, read> epos: array<f32>;
@group(0) @binding(51) var<storage, read> enidx: array<u32>;
@group(0) @binding(52) var<storage, read> erev_end: array<u32>;
@group(0) @binding(53) var<storage, read> erev: array<u32>;
@group(0) @binding(54) var<storage, read_write> egrad: array<f32>;
@group(0) @binding(55) var<storage, read_write> eenergy: array<f32>;
@group(0) @binding(56) var<uniform> ep: EntropyParams;

fn load_e(i: u32) -> vec3f {
  var p = vec3f(0.0);
  p.x = epos[i * D];
  if (D > 1u) { p.y = epos[i * D + 1u]; }
  if (D > 2u) { p.z = epos[i * D + 2u]; }
  return p;
}

// (x_j − x_i) / (|x_j − x_i|² + ε²)
fn rev_pull(xj: vec3f, s: u32) -> vec3f {
  return inv_dist2_vec(xj, load_e(erev[s]), ep.eps2);
}

fn rev_range(j: u32) -> vec2u {
  var s0 = 0u;
  if (j > 0u) { s0 = erev_end[j - 1u]; }
  return vec2u(s0, erev_end[j]);
}

@compute @workgroup_size(WG)
fn entropy_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = flat_id(gid, nwg);
  if (j >= ep.n) { return; }
  let xj = load_e(j);
  let xn = load_e(enidx[j * K + K - 1u]);
  eenergy[ep.e_base + j] = -f32(D) * half_log_dist2(xj, xn, ep.eps2);
  let fwd = inv_dist2_vec(xj, xn, ep.eps2);

  let rev = reverse_sum(xj, j);
  let g = (-f32(D) * ep.weight) * (fwd + rev);
  egrad[j * D] += g.x;
  if (D > 1u) { egrad[j * D + 1u] += g.y; }
  if (D > 2u) { egrad[j * D + 2u] += g.z; }
}
