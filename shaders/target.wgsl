// target.wgsl: U = −log p_σ of a sample target, tabulated on a lattice (src/energies/target.ts
// builds it on the host in float64), read by multilinear interpolation with a quadratic far
// field outside the lattice box. The library part (above the kernels marker) is one function,
// `tgt_eval`, that reads the lattice through `tgt_at(j)`; targetDensity() splices it into the
// generated potential kernel (tgt_at → prm_<id>), and the annealed kernel term below defines
// tgt_at over its own storage buffer.
//
// A lattice block at offset `off` (f32 words): [0..2] nodes per axis, [3..5] origin,
// [6] 1/Δ, [7] Δ, [8] 1/(2σ²), [9..14] far-field slopes (lo_0, hi_0, lo_1, hi_1, lo_2, hi_2),
// [15] unused, then the node values U, x fastest. The offsets are the LAT_* constants below,
// mirrored by LATTICE_HEADER in src/gpu/layout.ts (checked by test/layout.test.ts).
//
// Inside the box: U = B(x), the multilinear interpolant, and ∇U its exact gradient. Outside,
// with π(x) the nearest point of the box and δ_c = x_c − π_c(x):
//   U = B(π(x)) + Σ_c (a_{c,±} |δ_c| + δ_c² / (2σ²)),
//   ∂U/∂x_c = ±a_{c,±} + δ_c/σ² on clamped axes, ∂B/∂x_c at π(x) on the others.
// Returns (U, ∇U).

const LAT_NODES: u32 = 0u;
const LAT_ORIGIN: u32 = 3u;
const LAT_INV_SPACING: u32 = 6u;
const LAT_SPACING: u32 = 7u;
const LAT_INV_2S2: u32 = 8u;
const LAT_SLOPES: u32 = 9u;
const LAT_VALUES: u32 = 16u;

fn tgt_eval(x: vec3f, off: u32) -> vec4f {
  let nn = vec3u(u32(tgt_at(off + LAT_NODES)), u32(tgt_at(off + LAT_NODES + 1u)), u32(tgt_at(off + LAT_NODES + 2u)));
  let ih = tgt_at(off + LAT_INV_SPACING);
  let i2s = tgt_at(off + LAT_INV_2S2);
  var base = vec3u(0u);
  var t = vec3f(0.0);
  var inside = vec3f(1.0);
  var gfar = vec3f(0.0);
  var far = 0.0;
  for (var c = 0u; c < D; c++) {
    let q = (x[c] - tgt_at(off + LAT_ORIGIN + c)) * ih;
    let qc = clamp(q, 0.0, f32(nn[c] - 1u));
    let dl = (q - qc) / ih;
    if (dl > 0.0) {
      let s = tgt_at(off + LAT_SLOPES + 1u + 2u * c);
      far += s * dl + dl * dl * i2s;
      gfar[c] = s + 2.0 * dl * i2s;
      inside[c] = 0.0;
    } else if (dl < 0.0) {
      let s = tgt_at(off + LAT_SLOPES + 2u * c);
      far += -s * dl + dl * dl * i2s;
      gfar[c] = -s + 2.0 * dl * i2s;
      inside[c] = 0.0;
    }
    let i0 = min(u32(floor(qc)), nn[c] - 2u);
    base[c] = i0;
    t[c] = qc - f32(i0);
  }
  let stride = vec3u(1u, nn.x, nn.x * nn.y);
  var v = 0.0;
  var g = vec3f(0.0);
  for (var corner = 0u; corner < (1u << D); corner++) {
    var w = 1.0;
    var idx = 0u;
    var dw = vec3f(1.0);
    for (var c = 0u; c < D; c++) {
      let bit = (corner >> c) & 1u;
      let f = select(1.0 - t[c], t[c], bit == 1u);
      idx += (base[c] + bit) * stride[c];
      w *= f;
      for (var c2 = 0u; c2 < D; c2++) {
        if (c2 == c) { dw[c2] *= select(-1.0, 1.0, bit == 1u); } else { dw[c2] *= f; }
      }
    }
    let val = tgt_at(off + LAT_VALUES + idx);
    v += w * val;
    g += dw * val;
  }
  return vec4f(v + far, g * ih * inside + gfar);
}

// ==== kernels ====

// The annealed target (annealedTarget() in target.ts): U = (1 − b) U_a + b U_b for two
// lattices a, b of a ladder of bandwidths, b the blend; writes e_j = U(x_j) and ADDS w ∇U.

// Mirrored by TARGET_PARAMS_FIELDS in src/energies/target.ts.
struct TargetParams {
  n: u32,              // particles
  e_base: u32,         // slot * n: where this term's densities start in `energy`
  weight: f32,         // w
  blend: f32,          // b, the weight of lattice b
  off_a: u32,          // offset of lattice a in tlat
  off_b: u32,          // offset of lattice b in tlat
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(70) var<storage, read> tpos: array<f32>;
@group(0) @binding(71) var<storage, read> tlat: array<f32>;
@group(0) @binding(72) var<storage, read_write> tgrad: array<f32>;
@group(0) @binding(73) var<storage, read_write> tenergy: array<f32>;
@group(0) @binding(74) var<uniform> tp: TargetParams;

fn tgt_at(j: u32) -> f32 {
  return tlat[j];
}

@compute @workgroup_size(WG)
fn target_main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = flat_id(gid, nwg);
  if (j >= tp.n) { return; }
  var x = vec3f(0.0);
  for (var c = 0u; c < D; c++) { x[c] = tpos[j * D + c]; }
  var r = vec4f(0.0);
  if (tp.blend < 1.0) { r += (1.0 - tp.blend) * tgt_eval(x, tp.off_a); }
  if (tp.blend > 0.0) { r += tp.blend * tgt_eval(x, tp.off_b); }
  tenergy[tp.e_base + j] = r.x;
  let g = tp.weight * r.yzw;
  for (var c = 0u; c < D; c++) { tgrad[j * D + c] += g[c]; }
}
