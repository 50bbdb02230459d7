// potential.wgsl: the sum of all pointwise potential terms. The flow splices each term's
// U_<id>/dU_<id> functions and weighted calls at the two markers below. This kernel runs
// first in every step and WRITES G (the kernel terms that follow add to it).

@group(0) @binding(0) var<storage, read> X: array<f32>;         // positions, N*D
@group(0) @binding(1) var<storage, read_write> G: array<f32>;   // gradient, N*D
@group(0) @binding(2) var<storage, read_write> E: array<f32>;   // energy densities, slot-major
@group(0) @binding(3) var<storage, read> P: array<f32>;         // term parameters and weights
@group(0) @binding(4) var<uniform> prm: Params;

//#TERMS

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_id(gid, nwg);
  let n = prm.n;
  if (i >= n) { return; }
  var x = vec3f(0.0);
  for (var c = 0u; c < D; c++) { x[c] = X[i * D + c]; }
  var g = vec3f(0.0);
  //#CALLS
  for (var c = 0u; c < D; c++) { G[i * D + c] = g[c]; }
}
