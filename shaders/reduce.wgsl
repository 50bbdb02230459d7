// reduce.wgsl: two-stage column reductions over particles, exact for any N.
// Stage 1 (main; step_main for the step sums): a fixed number of workgroups go over the
//   particles (chunk_range); each thread folds its particles' K columns in registers, then
//   (trees) one shared-memory tree per chunk of 16 columns writes partials[wg * K + k], or
//   (SERIAL) every thread writes its own row.
// Stage 2 (finish; step_finish): one workgroup folds the partial rows into sums[k].
// The step sums (MODE 0) use scalar accumulators and compute only the columns in NEED; the
// diagnostics (MODE 1, off the step loop) use the generic K-column arrays.
// Columns k < KSUM are summed, columns k >= KSUM take the maximum (of non-negative values).
// The library part below names the columns; integrate.wgsl includes it to read the MODE-0 sums.
// The offsets are mirrored by STEP_COLUMNS and STATS_COLUMNS of src/kernels/reduce.ts, which
// also feed K and KSUM (test/flow-kernels.test.ts checks that the two agree).

// MODE 0 (in the step loop), KSUM = 5 sums, then 4 maxima (l_i: a term's length scale, e.g.
// the nearest-neighbour distance, with weight w = W[LSLOT]; STEP_FREQUENCY and the last two
// columns are 0 without one).
const STEP_VV: u32 = 0u;              // sum |v|^2
const STEP_GG: u32 = 1u;              // sum |g|^2
const STEP_GV: u32 = 2u;              // sum g.v
const STEP_ENERGY: u32 = 3u;          // sum_t w_t e_t[i] (N times the energy, up to the terms' constants)
const STEP_FREQUENCY: u32 = 4u;       // sum_i sqrt(d w) / l_i (frequency of the pair modes, each capped at 1e15)
const STEP_MAX_VV: u32 = 5u;          // max |v|^2
const STEP_MAX_GG: u32 = 6u;          // max |g|^2
const STEP_MAX_G_OVER_L: u32 = 7u;    // max |g_i| / l_i
const STEP_MAX_V_OVER_L: u32 = 8u;    // max |v_i| / l_i

// MODE 1 (diagnostics, T slots), KSUM = STATS_ENERGY + T sums, then max |v|^2, max |g|^2.
// The shift c = x_0 (first particle) keeps the covariance free of cancellation.
const STATS_VV: u32 = 0u;             // sum |v|^2
const STATS_GG: u32 = 1u;             // sum |g|^2
const STATS_GV: u32 = 2u;             // sum g.v
const STATS_MEAN: u32 = 3u;           // 3 columns: sum (x - c)
const STATS_MOMENTS: u32 = 6u;        // 6 columns: sum (x - c)(x - c)^T, upper triangle xx xy xz yy yz zz
const STATS_ENERGY: u32 = 12u;        // T columns: sum e_t[i]

// ==== kernels ====

override MODE: u32 = 0u;
override K: u32 = 8u;        // number of columns
override KSUM: u32 = 4u;     // columns summed (the rest are maxima)
override T: u32 = 0u;        // number of energy slots
override LSLOT: u32 = 0u;    // MODE 0: energy slot of the length-scale term (its weight W[LSLOT])
// SERIAL = 1 (CPU fallback adapters, where a workgroup barrier costs ~1 ms): no trees; every
// thread writes its own partial row and one thread of `finish` folds them. SERIAL = 0: trees.
override SERIAL: u32 = 0u;
override CHUNK: u32 = 64u;   // SERIAL = 1: particles per stage-1 thread (one contiguous chunk each)

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> V: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> E: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;
@group(0) @binding(5) var<uniform> prm: Params;
@group(0) @binding(6) var<storage, read> W: array<f32>;   // term weights (MODE 0, STEP_ENERGY)
@group(0) @binding(7) var<storage, read> L: array<f32>;   // per-particle length scale (FLAG_LENGTH_SCALE)

const KMAX: u32 = 24u;
const CH: u32 = 16u;          // columns per shared-memory tree

var<workgroup> sh: array<f32, CH * WG>;   // CH columns per thread of the workgroup

fn load(buf: u32, i: u32) -> vec3f {
  var r = vec3f(0.0);
  for (var c = 0u; c < D; c++) {
    if (buf == 0u) { r[c] = X[i * D + c]; } else if (buf == 1u) { r[c] = V[i * D + c]; } else { r[c] = G[i * D + c]; }
  }
  return r;
}

// All K columns of particle i.
fn columns(i: u32) -> array<f32, KMAX> {
  var out: array<f32, KMAX>;
  let v = load(1u, i);
  let g = load(2u, i);
  let vv = dot(v, v);
  let gg = dot(g, g);
  if (MODE == 0u) {
    out[STEP_VV] = vv;
    out[STEP_GG] = gg;
    out[STEP_GV] = dot(g, v);
    var e = 0.0;
    for (var t = 0u; t < T; t++) { e += W[t] * E[t * prm.n + i]; }
    out[STEP_ENERGY] = e;
    out[STEP_MAX_VV] = vv;
    out[STEP_MAX_GG] = gg;
    if ((prm.flags & FLAG_LENGTH_SCALE) != 0u) {
      // Exact duplicates (l = 0) do not pin the step: the entropy gives them no force.
      let l = L[i * prm.length_stride + prm.length_offset];
      if (l > 0.0 && is_finite_f32(l)) {
        out[STEP_FREQUENCY] = min(sqrt(f32(D) * max(W[LSLOT], 0.0)) / l, 1e15);
        out[STEP_MAX_G_OVER_L] = sqrt(gg) / l;
        out[STEP_MAX_V_OVER_L] = sqrt(vv) / l;
      }
    }
    return out;
  }
  out[STATS_VV] = vv;
  out[STATS_GG] = gg;
  out[STATS_GV] = dot(g, v);
  let z = load(0u, i) - load(0u, 0u);
  let m = STATS_MEAN;
  out[m] = z.x; out[m + 1u] = z.y; out[m + 2u] = z.z;
  let q = STATS_MOMENTS;
  out[q] = z.x * z.x; out[q + 1u] = z.x * z.y; out[q + 2u] = z.x * z.z;
  out[q + 3u] = z.y * z.y; out[q + 4u] = z.y * z.z; out[q + 5u] = z.z * z.z;
  for (var t = 0u; t < T; t++) { out[STATS_ENERGY + t] = E[t * prm.n + i]; }
  out[STATS_ENERGY + T] = vv;
  out[STATS_ENERGY + T + 1u] = gg;
  return out;
}

// The particles of stage-1 thread t (of nwg workgroups) as (first, end, stride). SERIAL = 1:
// each group of LANES threads (a SIMD group of a CPU adapter: 8 f32 lanes of llvmpipe's
// 256-bit vectors) owns one contiguous block of LANES * CHUNK particles, lane l taking every
// LANES-th from l, so a SIMD group reads consecutive particles and sweeps its block once (a
// grid-stride loop makes every SIMD group sweep the whole array in turn, one cache line in
// 64 each time, and misses the cache at every step past ~1e5 particles). SERIAL = 0: the
// grid-stride loop, whose accesses coalesce on GPUs.
const LANES: u32 = 8u;
fn chunk_range(t: u32, nwg: u32) -> vec3u {
  if (SERIAL == 1u) {
    let a = (t / LANES) * (LANES * CHUNK);
    return vec3u(a + t % LANES, min(a + LANES * CHUNK, prm.n), LANES);
  }
  return vec3u(t, prm.n, nwg * WG);
}

fn combine(k: u32, a: f32, b: f32) -> f32 {
  if (k < KSUM) { return a + b; }
  return max(a, b);
}

// Tree-reduces columns c0..c0+m of acc over the workgroup; the results land in sh[c * WG].
fn tree_chunk(acc: ptr<function, array<f32, KMAX>>, lid: u32, c0: u32, m: u32) {
  for (var c = 0u; c < m; c++) { sh[c * WG + lid] = (*acc)[c0 + c]; }
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (lid < s) {
      for (var c = 0u; c < m; c++) { sh[c * WG + lid] = combine(c0 + c, sh[c * WG + lid], sh[c * WG + lid + s]); }
    }
  }
  workgroupBarrier();
}

// Folds value v into column k of (acc, comp): Kahan-compensated sums, plain maxima.
fn fold(acc: ptr<function, array<f32, KMAX>>, comp: ptr<function, array<f32, KMAX>>, k: u32, v: f32) {
  if (k < KSUM) {
    let y = v - (*comp)[k];
    let t = (*acc)[k] + y;
    (*comp)[k] = (t - (*acc)[k]) - y;
    (*acc)[k] = t;
  } else {
    (*acc)[k] = max((*acc)[k], v);
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  var acc: array<f32, KMAX>;
  var comp: array<f32, KMAX>;
  let r = chunk_range(wid.x * WG + lid, nwg.x);
  for (var i = r.x; i < r.y; i += r.z) {
    let cols = columns(i);
    for (var k = 0u; k < K; k++) { fold(&acc, &comp, k, cols[k]); }
  }
  if (SERIAL == 1u) {
    let row = wid.x * WG + lid;
    for (var k = 0u; k < K; k++) { partials[row * K + k] = acc[k]; }
    return;
  }
  for (var c0 = 0u; c0 < K; c0 += CH) {
    let m = min(CH, K - c0);
    tree_chunk(&acc, lid, c0, m);
    if (lid == 0u) { for (var c = 0u; c < m; c++) { partials[wid.x * K + c0 + c] = sh[c * WG]; } }
    workgroupBarrier();
  }
}

// ---- MODE 0 (the step sums), entry points step_main / step_finish ----
// Scalar accumulators with constant column names (no dynamic-index private arrays, which CPU
// adapters keep in memory at ~3 us per particle), and only the columns in the NEED bit mask
// (bit k: column k; the others are written as 0). The order of the sums is fixed, so the
// results are bitwise reproducible run to run.
override NEED: u32 = 0x1ffu;

fn needs(k: u32) -> bool { return (NEED & (1u << k)) != 0u; }

// One particle's (or one partial row's) step columns.
struct StepCols {
  vv: f32,
  gg: f32,
  gv: f32,
  en: f32,
  fr: f32,
  mvv: f32,
  mgg: f32,
  mgl: f32,
  mvl: f32,
}

// Kahan-compensated sums (x: sum, y: compensation) and plain maxima.
struct StepAcc {
  vv: vec2f,
  gg: vec2f,
  gv: vec2f,
  en: vec2f,
  fr: vec2f,
  mvv: f32,
  mgg: f32,
  mgl: f32,
  mvl: f32,
}

fn kahan(a: vec2f, v: f32) -> vec2f {
  let y = v - a.y;
  let t = a.x + y;
  return vec2f(t, (t - a.x) - y);
}

fn step_fold(a: ptr<function, StepAcc>, c: StepCols) {
  if (needs(STEP_VV)) { (*a).vv = kahan((*a).vv, c.vv); }
  if (needs(STEP_GG)) { (*a).gg = kahan((*a).gg, c.gg); }
  if (needs(STEP_GV)) { (*a).gv = kahan((*a).gv, c.gv); }
  if (needs(STEP_ENERGY)) { (*a).en = kahan((*a).en, c.en); }
  if (needs(STEP_FREQUENCY)) { (*a).fr = kahan((*a).fr, c.fr); }
  if (needs(STEP_MAX_VV)) { (*a).mvv = max((*a).mvv, c.mvv); }
  if (needs(STEP_MAX_GG)) { (*a).mgg = max((*a).mgg, c.mgg); }
  if (needs(STEP_MAX_G_OVER_L)) { (*a).mgl = max((*a).mgl, c.mgl); }
  if (needs(STEP_MAX_V_OVER_L)) { (*a).mvl = max((*a).mvl, c.mvl); }
}

fn load_d(buf: u32, i: u32) -> vec3f {
  let b = i * D;
  var r = vec3f(0.0);
  if (buf == 1u) {
    r.x = V[b];
    if (D > 1u) { r.y = V[b + 1u]; }
    if (D > 2u) { r.z = V[b + 2u]; }
  } else {
    r.x = G[b];
    if (D > 1u) { r.y = G[b + 1u]; }
    if (D > 2u) { r.z = G[b + 2u]; }
  }
  return r;
}

const NEED_V: u32 = (1u << STEP_VV) | (1u << STEP_GV) | (1u << STEP_MAX_VV) | (1u << STEP_MAX_V_OVER_L);
const NEED_G: u32 = (1u << STEP_GG) | (1u << STEP_GV) | (1u << STEP_MAX_GG) | (1u << STEP_MAX_G_OVER_L);
const NEED_L: u32 = (1u << STEP_FREQUENCY) | (1u << STEP_MAX_G_OVER_L) | (1u << STEP_MAX_V_OVER_L);

fn step_columns(i: u32, wl: f32) -> StepCols {
  var c = StepCols();
  var v = vec3f(0.0);
  var g = vec3f(0.0);
  if ((NEED & NEED_V) != 0u) { v = load_d(1u, i); }
  if ((NEED & NEED_G) != 0u) { g = load_d(2u, i); }
  c.vv = dot(v, v);
  c.gg = dot(g, g);
  c.gv = dot(g, v);
  c.mvv = c.vv;
  c.mgg = c.gg;
  if (needs(STEP_ENERGY)) {
    var e = 0.0;
    for (var t = 0u; t < T; t++) { e += W[t] * E[t * prm.n + i]; }
    c.en = e;
  }
  if ((NEED & NEED_L) != 0u && (prm.flags & FLAG_LENGTH_SCALE) != 0u) {
    // Exact duplicates (l = 0) do not pin the step: the entropy gives them no force.
    let l = L[i * prm.length_stride + prm.length_offset];
    if (l > 0.0 && is_finite_f32(l)) {
      c.fr = min(wl / l, 1e15);
      c.mgl = sqrt(c.gg) / l;
      c.mvl = sqrt(c.vv) / l;
    }
  }
  return c;
}

// Writes the accumulated columns (sums without their compensation) to a row of a buffer.
fn step_row_partials(row: u32, a: StepAcc) {
  let b = row * K;
  partials[b + STEP_VV] = a.vv.x; partials[b + STEP_GG] = a.gg.x; partials[b + STEP_GV] = a.gv.x;
  partials[b + STEP_ENERGY] = a.en.x; partials[b + STEP_FREQUENCY] = a.fr.x;
  partials[b + STEP_MAX_VV] = a.mvv; partials[b + STEP_MAX_GG] = a.mgg;
  partials[b + STEP_MAX_G_OVER_L] = a.mgl; partials[b + STEP_MAX_V_OVER_L] = a.mvl;
}

// The shared-memory tree over the workgroup of the 9 step columns (GPUs); result in sh[c * WG].
fn step_tree(a: StepAcc, lid: u32) {
  sh[STEP_VV * WG + lid] = a.vv.x; sh[STEP_GG * WG + lid] = a.gg.x; sh[STEP_GV * WG + lid] = a.gv.x;
  sh[STEP_ENERGY * WG + lid] = a.en.x; sh[STEP_FREQUENCY * WG + lid] = a.fr.x;
  sh[STEP_MAX_VV * WG + lid] = a.mvv; sh[STEP_MAX_GG * WG + lid] = a.mgg;
  sh[STEP_MAX_G_OVER_L * WG + lid] = a.mgl; sh[STEP_MAX_V_OVER_L * WG + lid] = a.mvl;
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (lid < s) {
      for (var c = 0u; c < K; c++) {
        if (needs(c)) { sh[c * WG + lid] = combine(c, sh[c * WG + lid], sh[c * WG + lid + s]); }
      }
    }
  }
  workgroupBarrier();
}

@compute @workgroup_size(WG)
fn step_main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  var a = StepAcc();
  let wl = sqrt(f32(D) * max(W[LSLOT], 0.0));
  let r = chunk_range(wid.x * WG + lid, nwg.x);
  for (var i = r.x; i < r.y; i += r.z) { step_fold(&a, step_columns(i, wl)); }
  if (SERIAL == 1u) {
    step_row_partials(wid.x * WG + lid, a);
    return;
  }
  step_tree(a, lid);
  if (lid == 0u) { for (var c = 0u; c < K; c++) { partials[wid.x * K + c] = sh[c * WG]; } }
}

// Stage 2, in bind group 1 (group 0 is empty for this entry point).
@group(1) @binding(0) var<storage, read> parts: array<f32>;
@group(1) @binding(1) var<storage, read_write> sums: array<f32>;
@group(1) @binding(2) var<uniform> count: vec4u;   // x: number of partial rows

@compute @workgroup_size(WG)
fn finish(@builtin(local_invocation_index) lid: u32) {
  var acc: array<f32, KMAX>;
  if (SERIAL == 1u) {
    if (lid == 0u) {
      var comp: array<f32, KMAX>;
      for (var r = 0u; r < count.x; r++) {
        for (var k = 0u; k < K; k++) { fold(&acc, &comp, k, parts[r * K + k]); }
      }
      for (var k = 0u; k < K; k++) { sums[k] = acc[k]; }
    }
    return;
  }
  for (var r = lid; r < count.x; r += WG) {
    for (var k = 0u; k < K; k++) { acc[k] = combine(k, acc[k], parts[r * K + k]); }
  }
  for (var c0 = 0u; c0 < K; c0 += CH) {
    let m = min(CH, K - c0);
    tree_chunk(&acc, lid, c0, m);
    if (lid == 0u) { for (var c = 0u; c < m; c++) { sums[c0 + c] = sh[c * WG]; } }
    workgroupBarrier();
  }
}

fn step_row_parts(r: u32) -> StepCols {
  let b = r * K;
  return StepCols(parts[b + STEP_VV], parts[b + STEP_GG], parts[b + STEP_GV], parts[b + STEP_ENERGY], parts[b + STEP_FREQUENCY],
                  parts[b + STEP_MAX_VV], parts[b + STEP_MAX_GG], parts[b + STEP_MAX_G_OVER_L], parts[b + STEP_MAX_V_OVER_L]);
}

fn step_store_sums(a: StepAcc) {
  sums[STEP_VV] = a.vv.x; sums[STEP_GG] = a.gg.x; sums[STEP_GV] = a.gv.x;
  sums[STEP_ENERGY] = a.en.x; sums[STEP_FREQUENCY] = a.fr.x;
  sums[STEP_MAX_VV] = a.mvv; sums[STEP_MAX_GG] = a.mgg;
  sums[STEP_MAX_G_OVER_L] = a.mgl; sums[STEP_MAX_V_OVER_L] = a.mvl;
}

@compute @workgroup_size(WG)
fn step_finish(@builtin(local_invocation_index) lid: u32) {
  var a = StepAcc();
  if (SERIAL == 1u) {
    if (lid == 0u) {
      for (var r = 0u; r < count.x; r++) { step_fold(&a, step_row_parts(r)); }
      step_store_sums(a);
    }
    return;
  }
  for (var r = lid; r < count.x; r += WG) { step_fold(&a, step_row_parts(r)); }
  step_tree(a, lid);
  if (lid == 0u) { for (var c = 0u; c < K; c++) { sums[c] = sh[c * WG]; } }
}
