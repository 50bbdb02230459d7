// interaction.wgsl: the all-pairs interaction term of docs/math.md §3.1,
//   F = 1/(2N^2) sum_{i != j} W(x_i - x_j),   g_i = (1/N) sum_{j != i} grad W(x_i - x_j)
// (W even), with per-particle energy density e_i = 1/(2N) sum_{j != i} W(x_i - x_j), so that
// F = (1/N) sum_i e_i. One thread per particle i; the positions stream through workgroup
// memory one tile of WG particles at a time (load, barrier, accumulate, barrier), so every
// position is read from global memory once per workgroup. Exact for any N: the tail tile is
// masked, and threads past N still load and wait at the barriers but write nothing. Sums are
// taken per tile, then across tiles (error ~ (WG + N/WG) eps instead of N eps).
//
// The module is common.wgsl + this file + a one-line glue that defines
//   fn ia_pair(z: vec3f) -> vec4f     // (grad W(z), W(z))
// as ia_power, ia_gaussian, or the user's W/gradW (src/energies/interaction.ts writes it).
// Names starting with `ia_` are reserved; user code may call prm(j) for its parameters.

struct IaParams {
  n: u32,              // number of particles
  e_base: u32,         // slot * n: index of e_0 of this term in the energy buffer
  weight: f32,         // the term's weight (multiplies g; e is unweighted)
  inv_n: f32,          // 1 / n
  eps2: f32,           // power kernel: squared regularisation radius
  pad0: u32,
  pad1: u32,
  pad2: u32,
  kp: array<vec4f, 4>, // kernel parameters, read through prm(j)
}

@group(0) @binding(0) var<uniform> ia: IaParams;
@group(0) @binding(1) var<storage, read> ia_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> ia_g: array<f32>;
@group(0) @binding(3) var<storage, read_write> ia_e: array<f32>;

// The range of tiles one dispatch visits: the term is split into several dispatches where the
// adapter caps the loop iterations of an invocation (llvmpipe: 65535 in total, then its loops
// stop silently). The first chunk writes e and later ones add to it; every chunk adds to g.
struct IaChunk {
  t_begin: u32,        // first tile
  t_end: u32,          // one past the last tile
  first: u32,          // 1 for the chunk that starts the energy sum
  pad0: u32,
}
@group(0) @binding(4) var<uniform> ia_chunk: IaChunk;

var<workgroup> ia_tile: array<vec3f, WG>;

// Kernel parameter j (0..15).
fn prm(j: u32) -> f32 {
  return ia.kp[j / 4u][j % 4u];
}

// x^y for x > 0: by multiplication (and one sqrt) when 2y is an integer with |y| <= 8, the
// common case (a, b integers), else pow (exp2(y log2 x), less accurate).
fn ia_pow(x: f32, y: f32) -> f32 {
  let fl = floor(y);
  if (2.0 * y == round(2.0 * y) && abs(y) <= 8.0) {
    var r = 1.0;
    let k = i32(fl);
    for (var m = 0; m < abs(k); m++) {
      r = r * x;
    }
    if (k < 0) {
      r = 1.0 / r;
    }
    if (y != fl) {
      r = r * sqrt(x);
    }
    return r;
  }
  return pow(x, y);
}

// phi_p(r) = r^p / p (p != 0), log r (p = 0), given s = r^2 and q = r^(p - 2).
fn ia_phi(s: f32, q: f32, p: f32) -> f32 {
  if (p == 0.0) {
    return 0.5 * log(s);
  }
  return q * s / p;
}

// Attraction-repulsion power kernel W(z) = phi_a(|z|) - phi_b(|z|), a > b (kp[0].xy = a, b),
// grad W(z) = (|z|^(a-2) - |z|^(b-2)) z. Inside |z| < eps it is continued by the quadratic
// W(eps) + c (|z|^2 - eps^2) / 2 with c = eps^(a-2) - eps^(b-2) (same value and slope at eps),
// so duplicates (z = 0) give a finite W and a zero gradient.
fn ia_power(z: vec3f) -> vec4f {
  let a = ia.kp[0].x;
  let b = ia.kp[0].y;
  let s = dot(z, z);
  let se = max(s, ia.eps2);
  let qa = ia_pow(se, 0.5 * a - 1.0);
  let qb = ia_pow(se, 0.5 * b - 1.0);
  let c = qa - qb;
  let w = ia_phi(se, qa, a) - ia_phi(se, qb, b) + 0.5 * c * (s - se);
  return vec4f(c * z, w);
}

// Gaussian kernel W(z) = A exp(-|z|^2 / (2 sigma^2)) (kp[0].xy = A, 1 / (2 sigma^2)),
// grad W(z) = -(A / sigma^2) exp(-|z|^2 / (2 sigma^2)) z. A > 0 repels, A < 0 attracts.
fn ia_gaussian(z: vec3f) -> vec4f {
  let amp = ia.kp[0].x;
  let k = ia.kp[0].y;
  let w = amp * exp(-k * dot(z, z));
  return vec4f(-2.0 * k * w * z, w);
}

// Position of particle j, zero beyond D.
fn ia_load(j: u32) -> vec3f {
  var p = vec3f(0.0);
  for (var k = 0u; k < D; k++) {
    p[k] = ia_x[j * D + k];
  }
  return p;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3u,
) {
  let i = flat_id(gid, nwg);
  let n = ia.n;
  let live = i < n;
  var xi = vec3f(0.0);
  if (live) {
    xi = ia_load(i);
  }
  var g = vec3f(0.0);
  var e = 0.0;
  let tiles = min((n + WG - 1u) / WG, ia_chunk.t_end);
  for (var t = ia_chunk.t_begin; t < tiles; t++) {
    let j0 = t * WG;
    var p = vec3f(0.0);
    if (j0 + lid < n) {
      p = ia_load(j0 + lid);
    }
    ia_tile[lid] = p;
    workgroupBarrier();
    let count = min(WG, n - j0);
    var gt = vec3f(0.0);
    var et = 0.0;
    for (var k = 0u; k < count; k++) {
      if (j0 + k != i) {
        let r = ia_pair(xi - ia_tile[k]);
        gt += r.xyz;
        et += r.w;
      }
    }
    g += gt;
    e += et;
    workgroupBarrier();
  }
  if (live) {
    let f = ia.weight * ia.inv_n;
    for (var k = 0u; k < D; k++) {
      ia_g[i * D + k] += f * g[k];
    }
    var prev = 0.0;
    if (ia_chunk.first == 0u) { prev = ia_e[ia.e_base + i]; }
    ia_e[ia.e_base + i] = prev + 0.5 * ia.inv_n * e;
  }
}
