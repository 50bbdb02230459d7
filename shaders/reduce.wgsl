// reduce.wgsl: two-stage column reductions over particles, exact for any N.
// Stage 1 (main): each workgroup reduces K per-particle columns into partials[wg * K + k].
// Stage 2 (finish): one workgroup reduces the partials into sums[k].
// Columns k < KSUM are summed, columns k >= KSUM take the maximum.
// MODE 0 (in the step loop): |v|^2, |g|^2, g.v, sum_t w_t e_t  | max |v|^2, max |g|^2
//   (columns 0, 1, 2, 5 summed, 3 and 4 maxima: KSUM = 3 and column 5 is handled as a sum)
// MODE 1 (diagnostics):      |v|^2, |g|^2, g.v, (x - c)_0..2, (x - c)(x - c)^T (6), e_t (T) | max |v|^2, max |g|^2
// The shift c = x_0 (first particle) keeps the covariance free of cancellation.

override MODE: u32 = 0u;
override K: u32 = 5u;        // number of columns
override KSUM: u32 = 3u;     // columns summed (the rest are maxima)
override T: u32 = 0u;        // number of energy slots (MODE 1)

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> V: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> E: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;
@group(0) @binding(5) var<uniform> prm: Params;
@group(0) @binding(6) var<storage, read> W: array<f32>;   // term weights (MODE 0, column 5)

var<workgroup> sh: array<f32, 256>;

fn load(buf: u32, i: u32) -> vec3f {
  var r = vec3f(0.0);
  for (var c = 0u; c < D; c++) {
    if (buf == 0u) { r[c] = X[i * D + c]; } else if (buf == 1u) { r[c] = V[i * D + c]; } else { r[c] = G[i * D + c]; }
  }
  return r;
}

const KMAX: u32 = 24u;

// All K columns of particle i.
fn columns(i: u32) -> array<f32, KMAX> {
  var out: array<f32, KMAX>;
  let v = load(1u, i);
  let g = load(2u, i);
  out[0] = dot(v, v);
  out[1] = dot(g, g);
  out[2] = dot(g, v);
  if (MODE == 0u) {
    out[3] = out[0];
    out[4] = out[1];
    var e = 0.0;
    for (var t = 0u; t < T; t++) { e += W[t] * E[t * prm.n + i]; }
    out[5] = e;
    return out;
  }
  let z = load(0u, i) - load(0u, 0u);
  out[3] = z.x; out[4] = z.y; out[5] = z.z;
  out[6] = z.x * z.x; out[7] = z.x * z.y; out[8] = z.x * z.z;
  out[9] = z.y * z.y; out[10] = z.y * z.z; out[11] = z.z * z.z;
  for (var t = 0u; t < T; t++) { out[12u + t] = E[t * prm.n + i]; }
  out[12u + T] = out[0];
  out[13u + T] = out[1];
  return out;
}

fn combine(k: u32, a: f32, b: f32) -> f32 {
  if (k < KSUM || (MODE == 0u && k == 5u)) { return a + b; }
  return max(a, b);
}

// Tree reduction of sh[0..WG) into sh[0]; all threads must call it.
fn tree(k: u32, lid: u32) {
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (lid < s) { sh[lid] = combine(k, sh[lid], sh[lid + s]); }
  }
  workgroupBarrier();
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_id(gid, nwg);
  let w = wid.x + wid.y * nwg.x;
  var cols: array<f32, KMAX>;
  if (i < prm.n) { cols = columns(i); }
  for (var k = 0u; k < K; k++) {
    sh[lid] = cols[k];
    tree(k, lid);
    if (lid == 0u) { partials[w * K + k] = sh[0]; }
    workgroupBarrier();
  }
}

// Stage 2. Binding layout of the finishing pass.
@group(0) @binding(0) var<storage, read> parts: array<f32>;
@group(0) @binding(1) var<storage, read_write> sums: array<f32>;
@group(0) @binding(2) var<uniform> count: vec4u;   // x: number of partial rows

@compute @workgroup_size(WG)
fn finish(@builtin(local_invocation_index) lid: u32) {
  let rows = count.x;
  for (var k = 0u; k < K; k++) {
    var acc = 0.0;  // identity of both sum and max of non-negative maxima
    for (var r = lid; r < rows; r += WG) { acc = combine(k, acc, parts[r * K + k]); }
    sh[lid] = acc;
    tree(k, lid);
    if (lid == 0u) { sums[k] = sh[0]; }
    workgroupBarrier();
  }
}
