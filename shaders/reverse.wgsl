// The reverse-neighbour sum of the k-NN estimators (entropy, KL to samples):
//
//     rev_j = Σ_{i : n(i) = j} (x_j − x_i) / (|x_j − x_i|² + ε²),
//
// summed in 64-bit fixed point (fix_* of neighbors.wgsl) at a scale set by the largest term,
// so the result does not depend on the order of the reverse list: the gradient is
// deterministic run to run. The including shader defines
//   fn rev_range(j: u32) -> vec2u              the slice [s0, s1) of its reverse list for j;
//   fn rev_pull(xj: vec3f, s: u32) -> vec3f     the pull of entry s on x_j (inv_dist2_vec).
fn reverse_sum(xj: vec3f, j: u32) -> vec3f {
  let r = rev_range(j);
  var m = 0.0;
  for (var s = r.x; s < r.y; s++) {
    let t = abs(rev_pull(xj, s));
    m = max(m, max(t.x, max(t.y, t.z)));
  }
  if (!(m > 0.0)) { return vec3f(0.0); }
  let e = fix_scale(m);
  var ax = vec2u(0u);
  var ay = vec2u(0u);
  var az = vec2u(0u);
  for (var s = r.x; s < r.y; s++) {
    let t = rev_pull(xj, s);
    ax = fix_add(ax, to_fix(ldexp2(t.x, e)));
    ay = fix_add(ay, to_fix(ldexp2(t.y, e)));
    az = fix_add(az, to_fix(ldexp2(t.z, e)));
  }
  return vec3f(ldexp2(from_fix(ax), -e), ldexp2(from_fix(ay), -e), ldexp2(from_fix(az), -e));
}
