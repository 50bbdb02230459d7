// neighbors.wgsl: exact k-nearest-neighbour search over the grid of grid.wgsl, and the
// reverse-neighbour lists that exact estimator gradients need.
//
// Composed as common.wgsl + (library part of grid.wgsl) + neighbors.wgsl. The part of this
// file above `// ==== kernels ====` is a library (deterministic fixed-point sums) that
// entropy.wgsl also uses.
//
// Search (one thread per query, entry `search`): the k best candidates are kept in registers,
// sorted by (squared distance, index), so the result does not depend on the order in which
// candidates are met (ties at exactly equal f32 distance go to the lower index). Level by
// level, the thread visits the cells around its own: first the whole box of radius
// max(1, distance to the bounding box) as full rows, then ring by ring (Chebyshev rings of
// cells), clipped to the grid's bounding box and pruned row by row against the current k-th
// distance. After ring r, every unvisited point is at least
//     LB(r) = h * (r + min over unexhausted sides of the query's offset in its cell - 2*delta)
// away (delta bounds the f32 rounding of the cell coordinates), so the search stops when the
// list is full and LB(r)^2 exceeds the k-th squared distance (with a 1e-5 relative margin), or
// when the rings cover the bounding box. A level gives up after `budget` units of work (rows
// examined + cells visited) and the next, coarser level continues with the same list; a query
// that exhausts every level is appended to a list that `fallback` answers by brute force, one
// workgroup per query. Every path is exact; only the time differs.

// ---- deterministic fixed-point sums (library) ------------------------------------------
// A sum of f32 terms in an arbitrary order is made order-independent by scaling every term by
// 2^e, where the largest |term| (found first) lands just under 2^38, and adding the truncated
// values as 64-bit two's-complement integers (lo, hi). The sum is exact up to the 2^-38
// relative truncation of each term; the result is rounded once back to f32.

// Scale exponent e for terms of largest magnitude maxabs (> 0).
fn fix_scale(maxabs: f32) -> i32 {
  return 38 - frexp(maxabs).exp;
}

// x * 2^e, split in two steps so that no intermediate exponent is out of range.
fn ldexp2(x: f32, e: i32) -> f32 {
  let h = e / 2;
  return ldexp(ldexp(x, h), e - h);
}

// A scaled value (|x| < 2^39) as a 64-bit two's-complement integer (lo, hi), truncated.
fn to_fix(x: f32) -> vec2u {
  let ax = abs(x);
  let hi = u32(floor(ax * 2.3283064365386963e-10));
  let lo = u32(ax - f32(hi) * 4294967296.0);
  if (x < 0.0) {
    let nlo = ~lo + 1u;
    return vec2u(nlo, ~hi + select(0u, 1u, nlo == 0u));
  }
  return vec2u(lo, hi);
}

fn fix_add(a: vec2u, b: vec2u) -> vec2u {
  let lo = a.x + b.x;
  return vec2u(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

fn from_fix(a: vec2u) -> f32 {
  var v = a;
  var s = 1.0;
  if ((a.y & 0x80000000u) != 0u) {
    let nlo = ~a.x + 1u;
    v = vec2u(nlo, ~a.y + select(0u, 1u, nlo == 0u));
    s = -1.0;
  }
  return s * (f32(v.y) * 4294967296.0 + f32(v.x));
}

// ==== kernels ====

override K: u32 = 1u;          // neighbours per query, 1..8
override SELF: bool = true;    // queries are the grid's own points (skip i itself)
const FBW: u32 = 64u;          // threads per fallback workgroup

// Host-written constants of a search. Mirrored by SEARCH_PARAMS_FIELDS in src/kernels/neighbors.ts.
struct SearchParams {
  nq: u32,             // number of queries
  m: u32,              // number of grid points
  pad2: u32,
  levels: u32,         // levels to search
  inf: f32,            // +inf, the distance of a missing neighbour
  budget: u32,         // work units per level before moving to the next one
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(20) var<storage, read> qpts: array<f32>;
@group(0) @binding(21) var<uniform> sp: SearchParams;
@group(0) @binding(22) var<uniform> ginfo: GridInfo;
@group(0) @binding(23) var<storage, read> cells: array<u32>;
@group(0) @binding(24) var<storage, read> sidx: array<u32>;
@group(0) @binding(25) var<storage, read> spos: array<Cand>;
@group(0) @binding(26) var<storage, read> gpts: array<f32>;
@group(0) @binding(27) var<storage, read_write> out_idx: array<u32>;
@group(0) @binding(28) var<storage, read_write> out_dist: array<f32>;
@group(0) @binding(29) var<storage, read_write> nstats: array<atomic<u32>>;
@group(0) @binding(30) var<storage, read_write> fargs: array<u32>;

// nstats: [0] queries sent to the brute-force fallback, [1] queries that needed a coarser
// level, [2] largest work of a query, [3..4] total work (lo, hi), [5..6] total candidates
// (lo, hi); from index 16, the fallback's query list.
const NSTATS_HEADER: u32 = 16u;

var<private> bd: array<f32, 8>;   // squared distances, ascending
var<private> bi: array<u32, 8>;   // their indices (NONE: empty)
var<private> work: u32;
var<private> cands: u32;

fn load_g(i: u32) -> vec3f {
  var p = vec3f(0.0);
  p.x = gpts[i * D];
  if (D > 1u) { p.y = gpts[i * D + 1u]; }
  if (D > 2u) { p.z = gpts[i * D + 2u]; }
  return p;
}

fn load_q(i: u32) -> vec3f {
  var p = vec3f(0.0);
  p.x = qpts[i * D];
  if (D > 1u) { p.y = qpts[i * D + 1u]; }
  if (D > 2u) { p.z = qpts[i * D + 2u]; }
  return p;
}

fn list_init() {
  for (var j = 0u; j < 8u; j++) {
    bd[j] = sp.inf;
    bi[j] = NONE;
  }
}

fn list_full() -> bool {
  return bi[K - 1u] != NONE;
}

// Inserts (d2, idx) if it is lexicographically below the current k-th entry and not present.
// Compare-and-swap down the list with constant indices (K is a pipeline constant, so the
// loops unroll and the list stays in registers).
fn try_insert(d2: f32, idx: u32) {
  let kd = bd[K - 1u];
  if (!(d2 < kd || (d2 == kd && idx < bi[K - 1u]))) { return; }
  var dup = false;
  for (var j = 0u; j < K; j++) { dup = dup || bi[j] == idx; }
  if (dup) { return; }
  var d = d2;
  var id = idx;
  for (var j = 0u; j < K; j++) {
    let a = bd[j];
    let ai = bi[j];
    let less = d < a || (d == a && id < ai);
    bd[j] = select(a, d, less);
    bi[j] = select(ai, id, less);
    d = select(d, a, less);
    id = select(id, ai, less);
  }
}

fn exact_zero() -> bool {
  return list_full() && bd[K - 1u] == 0.0;
}

// Candidates in sorted slots [s0, s1) of level l.
fn scan_range(l: u32, s0: u32, s1: u32, x: vec3f, qi: u32) {
  cands += s1 - s0;
  for (var s = s0; s < s1; s++) {
    var p: vec3f;
    var idx: u32;
    if (l == 0u) {
      let c = spos[s];
      p = c.p;
      idx = c.i;
    } else {
      idx = sidx[s];
      p = load_g(idx);
    }
    if (SELF && idx == qi) { continue; }
    try_insert(dist2(p, x), idx);
    if (exact_zero()) { return; }
  }
}

fn bucket_begin(g: u32) -> u32 {
  if (g == 0u) { return 0u; }
  return cells[g - 1u];
}

// Cells xa..xb of the row with hash rh at level l: one or two contiguous bucket ranges.
fn visit(l: u32, xa: i32, xb: i32, rh: u32, x: vec3f, qi: u32) {
  let t = ginfo.lv[l].tmask + 1u;
  let base = ginfo.lv[l].base;
  let len = u32(xb - xa) + 1u;
  work += len;
  if (len >= t) {
    scan_range(l, bucket_begin(base), cells[base + t - 1u], x, qi);
    return;
  }
  let b0 = bucket_of(xa, rh, t - 1u);
  let b1 = b0 + len - 1u;
  if (b1 < t) {
    scan_range(l, bucket_begin(base + b0), cells[base + b1], x, qi);
  } else {
    scan_range(l, bucket_begin(base + b0), cells[base + t - 1u], x, qi);
    if (!exact_zero()) { scan_range(l, bucket_begin(base), cells[base + b1 - t], x, qi); }
  }
}

// Distance in cells from the query (offset f in its cell) to a row d cells away, minus slack.
fn row_gap(d: i32, f: f32, slack: f32) -> f32 {
  var g = 0.0;
  if (d > 0) { g = f32(d) - f; } else if (d < 0) { g = f32(-d) - 1.0 + f; }
  return max(g - slack, 0.0);
}

// Ring search at level l. True when the list is final (exact), false to go on coarser.
fn search_level(l: u32, x: vec3f, qi: u32) -> bool {
  let lv = ginfo.lv[l];
  let q = (x - ginfo.origin.xyz) * lv.inv_h;
  if (!is_finite_v3(q)) { return false; }
  let aq = abs(q);
  let qmax = max(aq.x, max(aq.y, aq.z));
  if (qmax > QCLAMP - 4.0) { return false; }
  let fq = floor(q);
  let c = vec3<i32>(fq);
  let f = q - fq;
  let cmin = lv.cmin.xyz;
  let cmax = lv.cmax.xyz;
  let h = lv.h;
  let below = cmin - c;
  let above = c - cmax;
  // The first step visits the whole box of radius max(r0, 1) as full rows (rings below r0
  // miss the bounding box); later steps visit one ring each.
  let r0 = max(1, max(max(max(below.x, above.x), max(below.y, above.y)), max(below.z, above.z)));
  let stop = work + sp.budget;
  for (var r = r0; r < ICLAMP * 4; r++) {
    // 2 * delta: twice the rounding bound of a cell coordinate near this query.
    let slack = 8.0 * ULP1 * (qmax + f32(r) + 2.0);
    var ylo = 0;
    var yhi = 0;
    var zlo = 0;
    var zhi = 0;
    if (D > 1u) { ylo = max(-r, cmin.y - c.y); yhi = min(r, cmax.y - c.y); }
    if (D > 2u) { zlo = max(-r, cmin.z - c.z); zhi = min(r, cmax.z - c.z); }
    for (var dz = zlo; dz <= zhi; dz++) {
      let gz = row_gap(dz, f.z, slack);
      for (var dy = ylo; dy <= yhi; dy++) {
        work += 1u;
        let gy = row_gap(dy, f.y, slack);
        let g2 = gy * gy + gz * gz;
        var xa = max(c.x - r, cmin.x);
        var xb = min(c.x + r, cmax.x);
        if (list_full()) {
          // Cells farther than the k-th distance cannot improve the list.
          let k2 = bd[K - 1u] * (1.0 + 1e-5) / (h * h);
          if (g2 > k2) { continue; }
          let w = sqrt(k2 - g2) + slack;
          xa = max(xa, i32(floor(clamp(q.x - w, -QCLAMP - 8.0, QCLAMP + 8.0))));
          xb = min(xb, i32(floor(clamp(q.x + w, -QCLAMP - 8.0, QCLAMP + 8.0))));
        }
        if (xa > xb) { continue; }
        let rh = row_hash(c.y + dy, c.z + dz);
        if (r == r0 || max(abs(dy), abs(dz)) == r) {
          visit(l, xa, xb, rh, x, qi);
        } else {
          // Inside the ring's box: only the two end cells of the row are new.
          let xl = c.x - r;
          let xr = c.x + r;
          if (xl >= xa && xl <= xb) { visit(l, xl, xl, rh, x, qi); }
          if (xr >= xa && xr <= xb && !exact_zero()) { visit(l, xr, xr, rh, x, qi); }
        }
        if (exact_zero()) { return true; }
        if (work > stop) { return false; }
      }
    }
    // Ring r is complete: bound the distance of every point not yet seen.
    var lbq = FLT_MAX;
    if (c.x - r > cmin.x) { lbq = min(lbq, f32(r) + f.x); }
    if (c.x + r < cmax.x) { lbq = min(lbq, f32(r) + 1.0 - f.x); }
    if (D > 1u) {
      if (c.y - r > cmin.y) { lbq = min(lbq, f32(r) + f.y); }
      if (c.y + r < cmax.y) { lbq = min(lbq, f32(r) + 1.0 - f.y); }
    }
    if (D > 2u) {
      if (c.z - r > cmin.z) { lbq = min(lbq, f32(r) + f.z); }
      if (c.z + r < cmax.z) { lbq = min(lbq, f32(r) + 1.0 - f.z); }
    }
    if (lbq == FLT_MAX) { return true; }   // the rings cover the whole bounding box
    if (list_full()) {
      let lb = (lbq - slack) * h;
      if (lb > 0.0 && lb * lb * (1.0 - 1e-5) > bd[K - 1u]) { return true; }
    }
    if (work > stop) { return false; }
  }
  return false;
}

fn write_row(qi: u32) {
  for (var j = 0u; j < K; j++) {
    out_idx[qi * K + j] = bi[j];
    out_dist[qi * K + j] = select(sqrt(bd[j]), sp.inf, bi[j] == NONE);
  }
}

// Adds v to the 64-bit counter nstats[at], nstats[at + 1].
fn add64(at: u32, v: u32) {
  let old = atomicAdd(&nstats[at], v);
  if (old + v < old) { atomicAdd(&nstats[at + 1u], 1u); }
}

var<workgroup> wst: array<atomic<u32>, 4>;

@compute @workgroup_size(WG)
fn search(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) li: u32) {
  let t = flat_id(gid, nwg);
  work = 0u;
  cands = 0u;
  if (t < sp.nq) {
    var qi: u32;
    var x: vec3f;
    if (SELF) {
      // Queries in level-0 cell order: neighbouring threads search neighbouring cells.
      let c = spos[t];
      qi = c.i;
      x = c.p;
    } else {
      qi = t;
      x = load_q(t);
    }
    list_init();
    var done = false;
    for (var l = 0u; l < sp.levels; l++) {
      if (l == 1u) { atomicAdd(&nstats[1], 1u); }
      if (search_level(l, x, qi)) {
        done = true;
        break;
      }
    }
    if (done) {
      write_row(qi);
    } else {
      let slot = atomicAdd(&nstats[0], 1u);
      atomicStore(&nstats[NSTATS_HEADER + slot], qi);
    }
  }
  atomicMax(&wst[0], work);
  atomicAdd(&wst[1], work);
  atomicAdd(&wst[2], cands);
  workgroupBarrier();
  if (li == 0u) {
    atomicMax(&nstats[2], atomicLoad(&wst[0]));
    add64(3u, atomicLoad(&wst[1]));
    add64(5u, atomicLoad(&wst[2]));
  }
}

@compute @workgroup_size(16)
fn reset(@builtin(local_invocation_index) li: u32) {
  atomicStore(&nstats[li], 0u);
}

// Indirect dispatch size of `fallback`: one workgroup per listed query, 2D past 65535.
@compute @workgroup_size(1)
fn fallback_args() {
  let c = atomicLoad(&nstats[0]);
  fargs[0] = min(c, 65535u);
  fargs[1] = select(1u, (c + 65534u) / 65535u, c > 65535u);
  fargs[2] = 1u;
}

var<workgroup> fb_d: array<f32, FBW * 8u>;
var<workgroup> fb_i: array<u32, FBW * 8u>;
var<workgroup> fb_count: u32;

// Brute force for the queries the ring search gave up on: FBW threads scan all points.
@compute @workgroup_size(FBW)
fn fallback(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) li: u32) {
  if (li == 0u) { fb_count = atomicLoad(&nstats[0]); }
  let cnt = workgroupUniformLoad(&fb_count);
  let w = wid.x + wid.y * nwg.x;
  if (w >= cnt) { return; }
  let qi = atomicLoad(&nstats[NSTATS_HEADER + w]);
  var x: vec3f;
  if (SELF) { x = load_g(qi); } else { x = load_q(qi); }
  list_init();
  for (var i = li; i < sp.m; i += FBW) {
    if (SELF && i == qi) { continue; }
    try_insert(dist2(load_g(i), x), i);
  }
  for (var j = 0u; j < 8u; j++) {
    fb_d[li * 8u + j] = bd[j];
    fb_i[li * 8u + j] = bi[j];
  }
  workgroupBarrier();
  if (li == 0u) {
    list_init();
    for (var e = 0u; e < FBW * 8u; e++) {
      if (fb_i[e] != NONE) { try_insert(fb_d[e], fb_i[e]); }
    }
    write_row(qi);
  }
}

// ---- reverse-neighbour lists ------------------------------------------------------------
// For a self search, the list of i whose `col`-th neighbour is j, for every j, in CSR form:
// rev_clear; rev_count (degrees); exclusive scan of rdeg; rev_fill. After rev_fill,
// rdeg[j] is the END of j's range in rlist (it starts at rdeg[j - 1], 0 for j = 0). The order
// inside a range is not deterministic; consumers sum with the fixed-point helpers above.

struct RevParams {
  n: u32,              // particles
  stride: u32,         // neighbours per row of rnidx (the search's k)
  col: u32,            // column used: the k-th neighbour is col = k - 1
  pad0: u32,
}

@group(0) @binding(40) var<storage, read> rnidx: array<u32>;
@group(0) @binding(41) var<storage, read_write> rdeg: array<atomic<u32>>;
@group(0) @binding(42) var<storage, read_write> rlist: array<u32>;
@group(0) @binding(43) var<uniform> rvp: RevParams;

@compute @workgroup_size(WG)
fn rev_clear(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_id(gid, nwg);
  if (i < rvp.n) { atomicStore(&rdeg[i], 0u); }
}

@compute @workgroup_size(WG)
fn rev_count(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_id(gid, nwg);
  if (i >= rvp.n) { return; }
  let j = rnidx[i * rvp.stride + rvp.col];
  if (j < rvp.n) { atomicAdd(&rdeg[j], 1u); }
}

@compute @workgroup_size(WG)
fn rev_fill(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_id(gid, nwg);
  if (i >= rvp.n) { return; }
  let j = rnidx[i * rvp.stride + rvp.col];
  if (j < rvp.n) { rlist[atomicAdd(&rdeg[j], 1u)] = i; }
}
