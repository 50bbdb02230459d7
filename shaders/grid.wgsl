// grid.wgsl: a multi-level hashed uniform grid over a point set, built on the GPU.
//
// Composed as common.wgsl + grid.wgsl. The part above the kernels marker line is a library
// (constants, structs, hashing) that neighbors.wgsl also uses (src/kernels/grid.ts splits the
// file there); the kernels below it build the grid, with no host round trip:
//
//   grid_init, bounds              bounding box (min/max with workgroup + global atomics on
//                                  order-preserving u32 keys)
//   spacing_plan                   the spacing statistic's NSAMPLE sample points (spread over
//                                  the index range); when a hint is bound (the nearest-neighbour
//                                  distances of an earlier search over the same points) and at
//                                  least NSAMPLE/4 of its sampled values are positive and finite,
//                                  those are the statistic; else it schedules spacing_sample
//   spacing_sample (indirect)      each sample finds its nearest point at non-zero distance by
//                                  brute force (`slices` workgroups per sample, NSAMPLE·M work)
//   grid_setup                     robust origin (coordinate-wise median of the samples) and
//                                  cell size h0 = (25% quantile of those distances) * cell_factor;
//                                  level l has cells of side h0 * ratio^l
//   clear_counts, count            bucket histogram of every level (atomics)
//   scan_block, scan_add           exclusive prefix sum over all levels' buckets (multi-level)
//   scatter                        counting-sort scatter: each bucket's points contiguous; the
//                                  level-0 positions in bucket order (sorted_pos) and the
//                                  positions of the build in point order (build_pos)
//
// and the lazy update of a grid over moving points (GridKernel.encodeUpdate):
//
//   refresh                        sorted_pos <- the current positions (gathered through the
//                                  level-0 order), and how far the points moved since the
//                                  build, as flags of a ladder of thresholds up to skin * h0
//   decide                         rebuild (indirect arguments of every build pass set to their
//                                  sizes) if a point moved more than skin * h0 or nothing is
//                                  built yet; else no build pass runs and the searches widen
//                                  their bounds by the displacement bound MOTION_DELTA
//
// Cells are integer coordinates c = floor((x - origin) / h_l) clamped to [-2^22, 2^22]. They
// are not stored densely: cell (cx, cy, cz) lives in bucket (cx + row_hash(cy, cz)) mod T_l of
// its level's table of T_l buckets (T_0 = a power of two >= the number of points, T_l =
// max(64, T_0 / 2^l); the levels' tables are concatenated). So the memory is
// O(N) whatever the spread of the data, and the cells of one row are consecutive buckets: a
// row segment is one contiguous range of sorted points. Different cells may share a bucket;
// the search only ever reads extra candidates from it, never misses any.
//
// After `scatter`, counts[base_l + b] holds the END of bucket b of level l in the sorted
// arrays (the scatter turns the exclusive scan into inclusive ends); bucket g starts at
// counts[g - 1] (0 for g = 0). Level l's points occupy sorted slots [l*M, (l+1)*M).
//
// The cells always describe the positions of the last build (build_pos). Between builds a
// point is at most MOTION_DELTA away from where its cell says, and every distance a search
// computes uses the current positions (sorted_pos is refreshed), so a search that lowers its
// bounds by that displacement stays exact.

const MAX_LEVELS: u32 = 6u;
const NSAMPLE: u32 = 32u;
const QCLAMP: f32 = 4194304.0;      // 2^22: cell coordinates are clamped to +-QCLAMP
const ICLAMP: i32 = 4194304;
const NONE: u32 = 0xffffffffu;       // "no neighbour"
const FLT_MAX: f32 = 0x1.fffffep+127f;
const ULP1: f32 = 5.96046448e-8;     // 2^-24, unit roundoff of f32

// One level of the grid: cell side h = 1 / inv_h and the cell range of the bounding box.
struct LevelInfo {
  inv_h: f32,
  h: f32,
  base: u32,           // first bucket of this level in the concatenated table
  tmask: u32,          // buckets of this level - 1 (a power of two minus one)
  cmin: vec4<i32>,
  cmax: vec4<i32>,
}

// Written by the GPU every build (src/kernels/grid.ts parses it for diagnostics).
struct GridInfo {
  lo: vec4f,           // bounding box min (components >= D are 0)
  hi: vec4f,           // bounding box max
  origin: vec4f,       // robust centre: coordinate-wise median of the samples
  spacing: f32,        // 25% quantile of the samples' nearest non-zero distance (0: none)
  h0: f32,             // level-0 cell side
  m: u32,              // number of points
  levels: u32,         // levels in use
  lv: array<LevelInfo, MAX_LEVELS>,
}

// Spreads rows (cy, cz) over the bucket table; 0 in 1D (the table is then a cyclic 1D grid).
fn row_hash(y: i32, z: i32) -> u32 {
  if (D == 1u) { return 0u; }
  var h = bitcast<u32>(y) * 0x9e3779b1u + bitcast<u32>(z) * 0x85ebca77u + 0x165667b1u;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

fn bucket_of(cx: i32, rh: u32, tmask: u32) -> u32 {
  return (bitcast<u32>(cx) + rh) & tmask;
}

// Integer cell coordinate of q = (x - origin) * inv_h along one axis, clamped to +-2^22.
fn cell_coord(q: f32) -> i32 {
  if (!is_finite_f32(q)) { return select(ICLAMP, -ICLAMP, q < 0.0); }
  return i32(clamp(floor(q), -QCLAMP, QCLAMP));
}

fn cell_of(p: vec3f, o: vec3f, inv_h: f32) -> vec3<i32> {
  var c = vec3<i32>(0);
  c.x = cell_coord((p.x - o.x) * inv_h);
  if (D > 1u) { c.y = cell_coord((p.y - o.y) * inv_h); }
  if (D > 2u) { c.z = cell_coord((p.z - o.z) * inv_h); }
  return c;
}

// Order-preserving map of f32 to u32 (for atomicMin / atomicMax on floats) and back.
fn f32_key(f: f32) -> u32 {
  let b = bitcast<u32>(f);
  return select(b ^ 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn key_f32(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k ^ 0x80000000u, (k & 0x80000000u) != 0u));
}

// Words of the motion buffer (GRID_MOTION_WORDS of src/kernels/grid.ts): MOTION_FLAGS + e - 1
// (e = 1..8) is set when some point moved more than threshold e - 1 of the ladder of grid.wgsl
// `motion_threshold` (e = 8: more than skin * h0); MOTION_DELTA: the displacement bound of the searches (f32 bits, 0 right after a
// build); MOTION_BUILT: 1 once built; MOTION_REBUILDS: builds by the lazy update.
const MOTION_FLAGS: u32 = 0u;
const MOTION_DELTA: u32 = 8u;
const MOTION_BUILT: u32 = 9u;
const MOTION_REBUILDS: u32 = 10u;

fn is_clamped(c: vec3<i32>) -> bool {
  return abs(c.x) >= ICLAMP || abs(c.y) >= ICLAMP || abs(c.z) >= ICLAMP;
}

// Squared distance; every search path uses this one function so that a pair always gets the
// same f32 value.
fn dist2(a: vec3f, b: vec3f) -> f32 {
  let d = a - b;
  return dot(d, d);
}

// ==== kernels ====

// Host-written constants of a grid. Mirrored by GRID_PARAMS_FIELDS in src/kernels/grid.ts.
struct GridParams {
  m: u32,              // number of points
  t: u32,              // buckets of level 0 (a power of two); level l has max(64, t >> l)
  levels: u32,         // levels in use, <= MAX_LEVELS
  nwg_bounds: u32,     // workgroups of `bounds`
  ratio: f32,          // cell side ratio between consecutive levels
  cell_factor: f32,    // h0 = spacing * cell_factor
  total: u32,          // buckets of all levels together
  slices: u32,         // workgroups per sample in spacing_sample
  hint_stride: u32,    // stride of the spacing hint rows (0: no hint)
  skin: f32,           // the lazy update rebuilds once a point moved more than skin * h0
  passes: u32,         // build passes with indirect arguments (decide)
  pad0: u32,
}

@group(0) @binding(0) var<storage, read> pts: array<f32>;
@group(0) @binding(1) var<uniform> gp: GridParams;
@group(0) @binding(2) var<storage, read_write> info: GridInfo;
@group(0) @binding(3) var<storage, read_write> red: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> samp: array<f32>;
@group(0) @binding(5) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> sorted_idx: array<u32>;
@group(0) @binding(7) var<storage, read_write> sorted_pos: array<f32>;
@group(0) @binding(8) var<storage, read_write> gstats: array<atomic<u32>>;
@group(0) @binding(9) var<storage, read_write> motion: array<atomic<u32>>;
@group(0) @binding(13) var<storage, read_write> build_pos: array<f32>;
@group(0) @binding(14) var<storage, read> hint: array<f32>;
@group(0) @binding(15) var<storage, read_write> rargs: array<u32>;
@group(0) @binding(16) var<storage, read> rsizes: array<u32>;
@group(0) @binding(17) var<storage, read_write> sargs: array<u32>;

// red: [0..3) bounding-box min keys, [4..7) max keys (f32_key), [8 + s] squared nearest
// non-zero distance of sample s (f32 bits: non-negative floats order like u32).
// samp[3s + a]: coordinates of sample s.
// gstats: [0] occupied level-0 buckets, [1] largest level-0 bucket, [2] points clamped at
// level 0, [3] points clamped at every level.
// sargs: indirect arguments (x, y, z) of spacing_sample (set by spacing_plan, zeroed by
// decide). rargs: those of build pass p at 3p (p >= 1), the build passes of the lazy update
// (set by decide from rsizes[2p], rsizes[2p + 1]).
const RED_SPACING: u32 = 8u;

fn load_pt(i: u32) -> vec3f {
  var p = vec3f(0.0);
  p.x = pts[i * D];
  if (D > 1u) { p.y = pts[i * D + 1u]; }
  if (D > 2u) { p.z = pts[i * D + 2u]; }
  return p;
}

fn store_sorted(s: u32, p: vec3f) {
  sorted_pos[s * D] = p.x;
  if (D > 1u) { sorted_pos[s * D + 1u] = p.y; }
  if (D > 2u) { sorted_pos[s * D + 2u] = p.z; }
}

// Resets the reductions and statistics of the build.
@compute @workgroup_size(64)
fn grid_init(@builtin(local_invocation_index) li: u32) {
  if (li < 4u) {
    atomicStore(&red[li], 0xffffffffu);
    atomicStore(&red[4u + li], 0u);
    atomicStore(&gstats[li], 0u);
  }
  if (li < NSAMPLE) { atomicStore(&red[RED_SPACING + li], 0x7f7fffffu); }
}

var<workgroup> wkey: array<atomic<u32>, 8>;

// Bounding box: per-thread min/max over a grid-stride loop, then workgroup and global atomics
// on order-preserving keys (one barrier, deterministic).
@compute @workgroup_size(WG)
fn bounds(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u) {
  if (li < 4u) {
    atomicStore(&wkey[li], 0xffffffffu);
    atomicStore(&wkey[4u + li], 0u);
  }
  workgroupBarrier();
  var lo = vec3f(FLT_MAX);
  var hi = vec3f(-FLT_MAX);
  var any = false;
  let stride = gp.nwg_bounds * WG;
  for (var i = wid.x * WG + li; i < gp.m; i += stride) {
    let p = load_pt(i);
    lo = min(lo, p);
    hi = max(hi, p);
    any = true;
  }
  if (any) {
    for (var a = 0u; a < D; a++) {
      atomicMin(&wkey[a], f32_key(lo[a]));
      atomicMax(&wkey[4u + a], f32_key(hi[a]));
    }
  }
  workgroupBarrier();
  if (li < D) {
    atomicMin(&red[li], atomicLoad(&wkey[li]));
    atomicMax(&red[4u + li], atomicLoad(&wkey[4u + li]));
  }
}

fn sample_index(s: u32) -> u32 {
  let m = gp.m;
  return min(u32(floor((f32(s) + 0.5) / f32(NSAMPLE) * f32(m))), max(m, 1u) - 1u);
}

// The samples of the spacing statistic, and whether the brute force must run: one thread.
@compute @workgroup_size(1)
fn spacing_plan() {
  var usable = 0u;
  for (var s = 0u; s < NSAMPLE; s++) {
    let si = sample_index(s);
    let x = load_pt(si);
    samp[3u * s] = x.x;
    samp[3u * s + 1u] = x.y;
    samp[3u * s + 2u] = x.z;
    if (gp.hint_stride > 0u) {
      let d = hint[si * gp.hint_stride];
      let d2 = d * d;
      if (d2 > 0.0 && d2 < FLT_MAX) {
        atomicStore(&red[RED_SPACING + s], bitcast<u32>(d2));
        usable++;
      }
    }
  }
  var groups = 0u;
  if (usable < NSAMPLE / 4u) {
    for (var s = 0u; s < NSAMPLE; s++) { atomicStore(&red[RED_SPACING + s], 0x7f7fffffu); }
    groups = NSAMPLE * gp.slices;
  }
  sargs[0] = groups;
  sargs[1] = 1u;
  sargs[2] = 1u;
}

var<workgroup> wmin: atomic<u32>;

// Workgroup (s, slice): sample point s looks for its nearest point at non-zero distance among
// points slice, slice + slices, ... (strided by WG).
@compute @workgroup_size(WG)
fn spacing_sample(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u) {
  let s = wid.x / gp.slices;
  let slice = wid.x % gp.slices;
  let m = gp.m;
  if (li == 0u) { atomicStore(&wmin, 0x7f7fffffu); }
  workgroupBarrier();
  var best = FLT_MAX;
  let x = load_pt(sample_index(s));
  let stride = gp.slices * WG;
  for (var i = slice * WG + li; i < m; i += stride) {
    let d2 = dist2(load_pt(i), x);
    if (d2 > 0.0 && d2 < best) { best = d2; }
  }
  atomicMin(&wmin, bitcast<u32>(best));
  workgroupBarrier();
  if (li == 0u) { atomicMin(&red[RED_SPACING + s], atomicLoad(&wmin)); }
}

fn sort32(v: ptr<function, array<f32, NSAMPLE>>) {
  for (var i = 1u; i < NSAMPLE; i++) {
    let x = (*v)[i];
    var j = i;
    while (j > 0u && (*v)[j - 1u] > x) {
      (*v)[j] = (*v)[j - 1u];
      j--;
    }
    (*v)[j] = x;
  }
}

@compute @workgroup_size(1)
fn grid_setup() {
  var lo = vec3f(0.0);
  var hi = vec3f(0.0);
  for (var a = 0u; a < D; a++) {
    lo[a] = key_f32(atomicLoad(&red[a]));
    hi[a] = key_f32(atomicLoad(&red[4u + a]));
  }
  // Spacing: 25% quantile of the finite nearest non-zero distances.
  var v: array<f32, NSAMPLE>;
  var nf = 0u;
  for (var s = 0u; s < NSAMPLE; s++) {
    v[s] = bitcast<f32>(atomicLoad(&red[RED_SPACING + s]));
    if (v[s] < FLT_MAX) { nf++; }
  }
  sort32(&v);
  var spacing = 0.0;
  if (nf > 0u) { spacing = sqrt(v[(nf - 1u) / 4u]); }
  // Origin: coordinate-wise median of the samples.
  var o = vec3f(0.0);
  for (var a = 0u; a < D; a++) {
    for (var s = 0u; s < NSAMPLE; s++) { v[s] = samp[3u * s + a]; }
    sort32(&v);
    o[a] = v[NSAMPLE / 2u];
  }
  let ext = max(hi.x - lo.x, max(hi.y - lo.y, hi.z - lo.z));
  var h0 = spacing * gp.cell_factor;
  if (!(h0 > 0.0) || !is_finite_f32(h0)) {
    // No two distinct points near the samples: any positive size is exact.
    h0 = select(1.0, ext, ext > 0.0 && is_finite_f32(ext));
  }
  info.lo = vec4f(lo, 0.0);
  info.hi = vec4f(hi, 0.0);
  info.origin = vec4f(o, 0.0);
  info.spacing = spacing;
  info.h0 = h0;
  info.m = gp.m;
  info.levels = gp.levels;
  var h = h0;
  var base = 0u;
  for (var l = 0u; l < MAX_LEVELS; l++) {
    let inv_h = 1.0 / h;
    let tl = max(64u, gp.t >> l);
    var lvl: LevelInfo;
    lvl.inv_h = inv_h;
    lvl.h = h;
    lvl.base = base;
    lvl.tmask = tl - 1u;
    lvl.cmin = vec4<i32>(cell_of(lo, o, inv_h), 0);
    lvl.cmax = vec4<i32>(cell_of(hi, o, inv_h), 0);
    info.lv[l] = lvl;
    base += tl;
    h = min(h * gp.ratio, 1e30);
  }
  atomicStore(&motion[MOTION_DELTA], 0u);
  atomicStore(&motion[MOTION_BUILT], 1u);
}

@compute @workgroup_size(WG)
fn clear_counts(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_id(gid, nwg);
  if (i < gp.total) { atomicStore(&counts[i], 0u); }
}

var<workgroup> wstat: array<atomic<u32>, 4>;

@compute @workgroup_size(WG)
fn count(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) li: u32) {
  let i = flat_id(gid, nwg);
  if (i < gp.m) {
    let p = load_pt(i);
    let o = info.origin.xyz;
    var all_clamped = true;
    for (var l = 0u; l < gp.levels; l++) {
      let lv = info.lv[l];
      let c = cell_of(p, o, lv.inv_h);
      let old = atomicAdd(&counts[lv.base + bucket_of(c.x, row_hash(c.y, c.z), lv.tmask)], 1u);
      let cl = is_clamped(c);
      all_clamped = all_clamped && cl;
      if (l == 0u) {
        if (old == 0u) { atomicAdd(&wstat[0], 1u); }
        atomicMax(&wstat[1], old + 1u);
        if (cl) { atomicAdd(&wstat[2], 1u); }
      }
    }
    if (all_clamped) { atomicAdd(&wstat[3], 1u); }
  }
  workgroupBarrier();
  if (li == 0u) {
    atomicAdd(&gstats[0], atomicLoad(&wstat[0]));
    atomicMax(&gstats[1], atomicLoad(&wstat[1]));
    atomicAdd(&gstats[2], atomicLoad(&wstat[2]));
    atomicAdd(&gstats[3], atomicLoad(&wstat[3]));
  }
}

@compute @workgroup_size(WG)
fn scatter(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_id(gid, nwg);
  if (i >= gp.m) { return; }
  let p = load_pt(i);
  let o = info.origin.xyz;
  build_pos[i * D] = p.x;
  if (D > 1u) { build_pos[i * D + 1u] = p.y; }
  if (D > 2u) { build_pos[i * D + 2u] = p.z; }
  for (var l = 0u; l < gp.levels; l++) {
    let lv = info.lv[l];
    let c = cell_of(p, o, lv.inv_h);
    let slot = atomicAdd(&counts[lv.base + bucket_of(c.x, row_hash(c.y, c.z), lv.tmask)], 1u);
    sorted_idx[slot] = i;
    if (l == 0u) { store_sorted(slot, p); }
  }
}

// ---- lazy update ------------------------------------------------------------------------
// Ladder of displacement thresholds: T_e = skin * h0 * 4^(e - 7) for e = 1..7 (T_7 = skin * h0),
// T_0 = 0. A point that moved d (f32 distance from its build position) sets flag e - 1 for the
// largest e in 1..8 with !(d <= T_(e-1)) (a NaN or infinite d sets e = 8). Then every point
// moved at most T_emax (emax: the largest flag set, 0 if none), and emax = 8 means rebuild.

fn motion_threshold(e: u32) -> f32 {
  if (e == 0u) { return 0.0; }
  return ldexp(gp.skin * info.h0, 2 * (i32(e) - 7));
}

// Thread t: the current position of the point in level-0 slot t into sorted_pos, and the
// displacement of point t since the build into the flags.
@compute @workgroup_size(WG)
fn refresh(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flat_id(gid, nwg);
  if (t >= gp.m) { return; }
  let p = load_pt(t);
  var pb = vec3f(0.0);
  pb.x = build_pos[t * D];
  if (D > 1u) { pb.y = build_pos[t * D + 1u]; }
  if (D > 2u) { pb.z = build_pos[t * D + 2u]; }
  let dv = p - pb;
  let d = sqrt(dot(dv, dv));
  var e = 0u;
  for (var j = 0u; j < 8u; j++) {
    if (!(d <= motion_threshold(j))) { e = j + 1u; }
  }
  if (e > 0u) {
    // Test before setting: the flag's cache line stays shared while the flag is already set.
    if (atomicLoad(&motion[MOTION_FLAGS + e - 1u]) == 0u) { atomicStore(&motion[MOTION_FLAGS + e - 1u], 1u); }
  }
  store_sorted(t, load_pt(sorted_idx[t]));
}

// One thread: rebuild, or set the searches' displacement bound; clears the flags.
@compute @workgroup_size(1)
fn decide() {
  var emax = 0u;
  for (var j = 0u; j < 8u; j++) {
    if (atomicLoad(&motion[MOTION_FLAGS + j]) != 0u) { emax = j + 1u; }
    atomicStore(&motion[MOTION_FLAGS + j], 0u);
  }
  let rebuild = atomicLoad(&motion[MOTION_BUILT]) == 0u || emax >= 8u;
  var delta = 0.0;
  if (!rebuild) { delta = motion_threshold(emax); }
  atomicStore(&motion[MOTION_DELTA], bitcast<u32>(delta));
  if (rebuild) { atomicAdd(&motion[MOTION_REBUILDS], 1u); }
  // spacing_sample runs only if spacing_plan, a build pass, asks for it.
  sargs[0] = 0u;
  sargs[1] = 1u;
  sargs[2] = 1u;
  for (var p = 1u; p < gp.passes; p++) {
    rargs[3u * p] = select(0u, rsizes[2u * p], rebuild);
    rargs[3u * p + 1u] = select(1u, rsizes[2u * p + 1u], rebuild);
    rargs[3u * p + 2u] = 1u;
  }
}
// ---- exclusive prefix sum (in place), multi-level -------------------------------------
// scan_block: each workgroup scans a block of WG*SCAN_ITEMS values in place and writes the
// block total to ssums[block]. The totals are scanned the same way (next level), and
// scan_add adds the scanned totals back. Mirrored by src/kernels/grid.ts createScan().

const SCAN_ITEMS: u32 = 16u;

struct ScanParams {
  n: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(10) var<storage, read_write> sdata: array<u32>;
@group(0) @binding(11) var<storage, read_write> ssums: array<u32>;
@group(0) @binding(12) var<uniform> scp: ScanParams;

var<workgroup> wscan: array<u32, WG>;

@compute @workgroup_size(WG)
fn scan_block(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) li: u32) {
  let b = wid.x + wid.y * nwg.x;
  let base = b * WG * SCAN_ITEMS + li * SCAN_ITEMS;
  var v: array<u32, SCAN_ITEMS>;
  var tot = 0u;
  for (var e = 0u; e < SCAN_ITEMS; e++) {
    let idx = base + e;
    var x = 0u;
    if (idx < scp.n) { x = sdata[idx]; }
    v[e] = x;
    tot += x;
  }
  wscan[li] = tot;
  workgroupBarrier();
  for (var off = 1u; off < WG; off <<= 1u) {
    var add = 0u;
    if (li >= off) { add = wscan[li - off]; }
    workgroupBarrier();
    wscan[li] += add;
    workgroupBarrier();
  }
  var run = wscan[li] - tot;
  for (var e = 0u; e < SCAN_ITEMS; e++) {
    let idx = base + e;
    if (idx < scp.n) { sdata[idx] = run; }
    run += v[e];
  }
  if (li == WG - 1u && b * WG * SCAN_ITEMS < max(scp.n, 1u)) { ssums[b] = wscan[WG - 1u]; }
}

@compute @workgroup_size(WG)
fn scan_add(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) li: u32) {
  let b = wid.x + wid.y * nwg.x;
  if (b * WG * SCAN_ITEMS >= scp.n) { return; }
  let add = ssums[b];
  for (var e = 0u; e < SCAN_ITEMS; e++) {
    let idx = b * WG * SCAN_ITEMS + e * WG + li;
    if (idx < scp.n) { sdata[idx] += add; }
  }
}
