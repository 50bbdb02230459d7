// neighbors.wgsl: exact k-nearest-neighbour search over the grid of grid.wgsl, and the
// reverse-neighbour lists that exact estimator gradients need.
//
// Composed as common.wgsl + (library part of grid.wgsl) + neighbors.wgsl. The part of this
// file above the kernels marker is a library (deterministic fixed-point sums) that
// entropy.wgsl also uses.
//
// Search (one thread per query, entry `search`): the k best candidates are kept in registers,
// sorted by (squared distance, index), so the result does not depend on the order in which
// candidates are met (ties at exactly equal f32 distance go to the lower index). Two passes:
//   box (COARSE = false)   every query scans the 3^d level-0 cells around its own, its own row
//                          first and the others pruned by the k-th distance, and keeps its list
//                          if the ring-1 bound below settles it; the others go to a list;
//   full (COARSE = true)   the listed queries search again, level by level: first the whole box
//                          of radius max(1, distance to the bounding box) as full rows, then
//                          ring by ring (Chebyshev rings of cells), clipped to the grid's
//                          bounding box and pruned row by row against the current k-th distance.
// Level-0 candidates are read from the grid's sorted positions (d floats each); a candidate's
// index is read only when it may enter the list. The cells describe the points' positions at
// the last build, and a point may have moved by up to `delta` since (grid.wgsl, lazy update):
// after ring r, every unvisited point is at least
//     LB(r) = h * (r + min over unexhausted sides of the query's offset in its cell - 2*eps) - delta
// away (eps bounds the f32 rounding of the cell coordinates), so the search stops when the
// list is full and LB(r)^2 exceeds the k-th squared distance (with a 1e-5 relative margin), or
// when the rings cover the bounding box. A level gives up after `budget` units of work (rows
// examined + cells visited) and the next, coarser level continues with the same list; a query
// that exhausts every level is appended to a list that `fallback` answers by brute force, one
// workgroup per query. Every path is exact; only the time differs.
//
// Cost model behind the shape of the code: on CPU adapters (Mesa llvmpipe) both sides of an
// `if` run under a lane mask and a loop body runs at least once, so every line of a loop body
// costs on every iteration, and every storage-buffer access is a loop over the SIMD lanes
// (tens of ns). The passes are therefore single loops with one copy of each step, and the
// queries the cheap box settles never wait for the few that need rings.

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
override COARSE: bool = false; // `search`: the level-0 box of every query (false), or the full search of the escalated ones
// Separate queries only: thread t of the box pass searches query order[t] (read from nstats at
// NSTATS_HEADER + 4 nq, copied there by `order_copy`), whose position is qpts[t]: the queries in
// the spatial order of a grid over them (its sorted index and sorted positions), so that the
// lanes of a SIMD group search neighbouring cells. The result does not depend on the order.
override ORDERED: bool = false;
const FBW: u32 = 64u;          // threads per fallback workgroup

// Host-written constants of a search. Mirrored by SEARCH_PARAMS_FIELDS in src/kernels/neighbors.ts.
struct SearchParams {
  nq: u32,             // number of queries
  m: u32,              // number of grid points
  budget0: u32,        // work units of level 0 before moving to level 1
  levels: u32,         // levels to search
  inf: f32,            // +inf, the distance of a missing neighbour
  budget: u32,         // work units per level (from level 1) before moving to the next one
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(20) var<storage, read> qpts: array<f32>;
@group(0) @binding(21) var<uniform> sp: SearchParams;
@group(0) @binding(22) var<uniform> ginfo: GridInfo;
@group(0) @binding(23) var<storage, read> cells: array<u32>;
@group(0) @binding(24) var<storage, read> sidx: array<u32>;
@group(0) @binding(25) var<storage, read> spos: array<f32>;
@group(0) @binding(26) var<storage, read> gpts: array<f32>;
@group(0) @binding(27) var<storage, read_write> out_idx: array<u32>;
@group(0) @binding(28) var<storage, read_write> out_dist: array<f32>;
@group(0) @binding(29) var<storage, read_write> nstats: array<atomic<u32>>;
@group(0) @binding(30) var<storage, read_write> fargs: array<u32>;
@group(0) @binding(31) var<uniform> gmotion: array<vec4u, 4>;

// nstats: [0] queries sent to the brute-force fallback, [1] queries escalated past level 0;
// from NSTATS_HEADER, the fallback's query list (nq entries); then the escalated queries' list
// (nq entries); then two words per query: its work (bit 31 set when it was escalated) and the
// number of candidate distances it computed; with ORDERED, then the query order (nq entries).
// For separate queries the two lists hold query slots (positions in qpts), not query indices.
const NSTATS_HEADER: u32 = 16u;

// Index of the query whose position is qpts[slot] (separate queries).
fn query_of_slot(slot: u32) -> u32 {
  if (ORDERED) { return atomicLoad(&nstats[NSTATS_HEADER + 4u * sp.nq + slot]); }
  return slot;
}

var<private> bd: array<f32, 8>;   // squared distances, ascending
var<private> bi: array<u32, 8>;   // their indices (NONE: empty)
var<private> work: u32;
var<private> cands: u32;
var<private> delta: f32;          // displacement bound of the grid's points since the build

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

// Current position of the point in level-0 sorted slot s.
fn load_s(s: u32) -> vec3f {
  var p = vec3f(0.0);
  p.x = spos[s * D];
  if (D > 1u) { p.y = spos[s * D + 1u]; }
  if (D > 2u) { p.z = spos[s * D + 2u]; }
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

fn bucket_begin(g: u32) -> u32 {
  if (g == 0u) { return 0u; }
  return cells[g - 1u];
}

// Distance in cells from the query (offset f in its cell) to a row d cells away, minus slack.
fn row_gap(d: i32, f: f32, slack: f32) -> f32 {
  var g = 0.0;
  if (d > 0) { g = f32(d) - f; } else if (d < 0) { g = f32(-d) - 1.0 + f; }
  return max(g - slack, 0.0);
}

// Element k of the offsets of [-a, b] (a, b >= 0) from 0 outwards: 0, -1, 1, -2, 2, ... and,
// once the shorter side is used up, the rest of the longer one.
fn outward(k: i32, a: i32, b: i32) -> i32 {
  let m = min(a, b);
  if (k <= 2 * m) { return select(-((k + 1) / 2), k / 2, (k & 1) == 0); }
  return select(k - m, -(k - m), a > b);
}

// ---- the search state of one query (one thread) ------------------------------------------
// The search is one loop; each iteration scans one contiguous range of sorted slots. On CPU
// adapters (llvmpipe runs the branches of an `if` under a mask, so every line of a loop body
// costs every iteration) this keeps the body to one copy of each step; on GPUs it keeps the
// divergence low.

var<private> lv_l: u32;          // level
var<private> lv_q: vec3f;        // query in cell units of the level
var<private> lv_c: vec3<i32>;    // its cell
var<private> lv_f: vec3f;        // its offset in the cell
var<private> lv_qmax: f32;
var<private> lv_r0: i32;         // first ring (the box of radius r0 is visited whole)
var<private> lv_dcell: f32;      // displacement bound in cells
var<private> lv_stop: u32;       // work at which the level gives up
var<private> rg_r: i32;          // ring
var<private> rg_lo: vec2<i32>;   // row offsets (y, z) of the ring, clipped to the bounding box
var<private> rg_hi: vec2<i32>;
var<private> rg_o: vec2<i32>;    // the row offsets visited first
var<private> rg_slack: f32;      // 2 * the rounding bound of a cell coordinate near the query
var<private> rg_row: i32;        // next row of the ring
var<private> rg_side: u32;       // 0: first part of the row, 1: its second part

// Starts level l; false if the query is not representable on it (non-finite or clamped cells).
fn begin_level(l: u32, x: vec3f) -> bool {
  lv_l = l;
  let inv_h = ginfo.lv[l].inv_h;
  lv_q = (x - ginfo.origin.xyz) * inv_h;
  let aq = abs(lv_q);
  lv_qmax = max(aq.x, max(aq.y, aq.z));
  let fq = floor(lv_q);
  lv_c = vec3<i32>(clamp(fq, vec3f(-QCLAMP), vec3f(QCLAMP)));
  lv_f = lv_q - fq;
  let below = ginfo.lv[l].cmin.xyz - lv_c;
  let above = lv_c - ginfo.lv[l].cmax.xyz;
  lv_r0 = max(1, max(max(max(below.x, above.x), max(below.y, above.y)), max(below.z, above.z)));
  lv_dcell = delta * (1.0 + 1e-5) * inv_h;
  lv_stop = work + select(sp.budget, sp.budget0, l == 0u);
  return is_finite_v3(lv_q) && lv_qmax <= QCLAMP - 4.0;
}

fn begin_ring(r: i32) {
  rg_r = r;
  rg_slack = 8.0 * ULP1 * (lv_qmax + f32(r) + 2.0);
  let cmin = ginfo.lv[lv_l].cmin.xyz;
  let cmax = ginfo.lv[lv_l].cmax.xyz;
  rg_lo = vec2<i32>(0);
  rg_hi = vec2<i32>(0);
  if (D > 1u) { rg_lo.x = max(-r, cmin.y - lv_c.y); rg_hi.x = min(r, cmax.y - lv_c.y); }
  if (D > 2u) { rg_lo.y = max(-r, cmin.z - lv_c.z); rg_hi.y = min(r, cmax.z - lv_c.z); }
  rg_o = clamp(vec2<i32>(0), rg_lo, rg_hi);
  rg_row = 0;
  rg_side = 0u;
}

fn ring_rows() -> i32 {
  return (rg_hi.x - rg_lo.x + 1) * (rg_hi.y - rg_lo.y + 1);
}

// After the ring: 1 if the list is final (the rings cover the bounding box, or every unseen
// point is farther than the k-th distance), 0 otherwise.
fn ring_final() -> bool {
  let r = rg_r;
  let f = lv_f;
  let c = lv_c;
  let cmin = ginfo.lv[lv_l].cmin.xyz;
  let cmax = ginfo.lv[lv_l].cmax.xyz;
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
  let lb = (lbq - rg_slack - lv_dcell) * ginfo.lv[lv_l].h;
  return lbq == FLT_MAX || (list_full() && lb > 0.0 && lb * lb * (1.0 - 1e-5) > bd[K - 1u]);
}

// The next non-empty part of a row of the ring, as a range of buckets [b.x, b.y] of the
// level (b.x > b.y: the ring has no row left). Rows pruned by the k-th distance are skipped
// here (no memory access). A row is visited whole (cells xa..xb, one or two bucket ranges:
// the table wraps) when it is on the ring's boundary or in the first box; an inner row only
// has its two end cells c.x - r and c.x + r.
fn next_part() -> vec2u {
  let t = ginfo.lv[lv_l].tmask + 1u;
  let cmin = ginfo.lv[lv_l].cmin.xyz;
  let cmax = ginfo.lv[lv_l].cmax.xyz;
  let r = rg_r;
  let ny = rg_hi.x - rg_lo.x + 1;
  let rows = ring_rows();
  var out = vec2u(1u, 0u);
  loop {
    if (rg_row >= rows) { break; }
    let iz = rg_row / ny;
    let iy = rg_row - iz * ny;
    let dy = rg_o.x + outward(iy, rg_o.x - rg_lo.x, rg_hi.x - rg_o.x);
    let dz = rg_o.y + outward(iz, rg_o.y - rg_lo.y, rg_hi.y - rg_o.y);
    let gy = row_gap(dy, lv_f.y, rg_slack);
    let gz = row_gap(dz, lv_f.z, rg_slack);
    let g2 = gy * gy + gz * gz;
    var xa = max(lv_c.x - r, cmin.x);
    var xb = min(lv_c.x + r, cmax.x);
    if (list_full()) {
      // Cells farther than the k-th distance (plus the displacement bound) cannot improve the list.
      let kc = sqrt(bd[K - 1u]) * (1.0 + 1e-5) * ginfo.lv[lv_l].inv_h + lv_dcell;
      let k2 = kc * kc;
      let w = sqrt(max(k2 - g2, 0.0)) + rg_slack;
      xa = max(xa, i32(floor(clamp(lv_q.x - w, -QCLAMP - 8.0, QCLAMP + 8.0))));
      xb = min(xb, i32(floor(clamp(lv_q.x + w, -QCLAMP - 8.0, QCLAMP + 8.0))));
      if (g2 > k2) { xb = xa - 1; }
    }
    let whole = r == lv_r0 || max(abs(dy), abs(dz)) == r;
    if (rg_side == 0u) { work += 1u; }
    // The cell range of this part.
    var pa = xa;
    var pb = xb;
    if (!whole) {
      // Side 0: the left end cell, if inside [xa, xb]; else (or side 1) the right one.
      let left = lv_c.x - r;
      let right = lv_c.x + r;
      let use_left = rg_side == 0u && left >= xa;
      let e = select(right, left, use_left);
      pa = max(e, xa);
      pb = min(e, xb);
      rg_side = select(0u, 1u, use_left && right <= xb);
      if (rg_side == 0u) { rg_row++; }
    } else {
      rg_side = 0u;
      rg_row++;
    }
    if (pa <= pb) {
      let len = u32(pb - pa) + 1u;
      work += len;
      if (len >= t) {
        out = vec2u(0u, t - 1u);
      } else {
        let b0 = bucket_of(pa, row_hash(lv_c.y + dy, lv_c.z + dz), t - 1u);
        let b1 = b0 + len - 1u;
        out = vec2u(b0, min(b1, t - 1u));
        if (b1 >= t) {
          // The row wraps around the table: the rest [0, b1 - t] is scanned next.
          wrap_hi = b1 - t;
        }
      }
      break;
    }
  }
  return out;
}

var<private> wrap_hi: u32;       // pending second bucket range [0, wrap_hi] of a wrapped row (NONE: none)

// Candidates in sorted slots [s0, s1) of the current level; qt: the query's own level-0 slot
// (SELF). Level 0 reads the sorted positions (d floats per candidate) and a candidate's index
// only when it may enter the list; coarser levels read the index, then the point.
fn scan_range(s0: u32, s1: u32, x: vec3f, qt: u32, qi: u32) {
  cands += s1 - s0;
  for (var s = s0; s < s1; s++) {
    if (COARSE) {
      let idx = sidx[s];
      if (!(SELF && idx == qi)) { try_insert(dist2(load_g(idx), x), idx); }
    } else {
      let d2 = dist2(load_s(s), x);
      if (d2 <= bd[K - 1u] && !(SELF && s == qt)) { try_insert(d2, sidx[s]); }
    }
    if (exact_zero()) { break; }
  }
}

// The exact k-NN of query x (index qi) on levels l_first.. l_end - 1 (the list starts empty):
// true when the list is final, false when every level gave up.
fn search_query(x: vec3f, qt: u32, qi: u32, l_first: u32, l_end: u32) -> bool {
  list_init();
  wrap_hi = NONE;
  var l = l_first;
  var in_level = begin_level(l, x);
  if (in_level) { begin_ring(lv_r0); }
  var ok = false;
  loop {
    if (!in_level) {
      // Next level (the list carries over).
      l++;
      if (l >= l_end) { break; }
      in_level = begin_level(l, x);
      wrap_hi = NONE;
      if (in_level) { begin_ring(lv_r0); }
      continue;
    }
    var b = vec2u(0u, wrap_hi);
    if (wrap_hi != NONE) { wrap_hi = NONE; } else { b = next_part(); }
    if (b.x <= b.y) {
      let base = ginfo.lv[lv_l].base;
      scan_range(bucket_begin(base + b.x), cells[base + b.y], x, qt, qi);
      if (exact_zero()) { ok = true; break; }
      if (work > lv_stop) { in_level = false; }
    } else {
      // The ring is complete.
      if (ring_final()) { ok = true; break; }
      if (work > lv_stop || rg_r >= ICLAMP * 4) { in_level = false; } else { begin_ring(rg_r + 1); }
    }
  }
  return ok;
}

// The fast path of level 0: the box of 3^d cells around the query's cell, its own row first
// (then the rows outwards, pruned by the k-th distance), and the final-list test of ring 1.
// True when the list is final; false sends the query to the general search.
fn box_query(x: vec3f, qt: u32, qi: u32) -> bool {
  list_init();
  if (!begin_level(0u, x) || lv_r0 != 1) { return false; }
  begin_ring(1);
  let tm = ginfo.lv[0].tmask;
  let base = ginfo.lv[0].base;
  let cmin = ginfo.lv[0].cmin.xyz;
  let cmax = ginfo.lv[0].cmax.xyz;
  let inv_h = ginfo.lv[0].inv_h;
  var nrows = 1;
  if (D > 1u) { nrows = 3; }
  if (D > 2u) { nrows = 9; }
  for (var row = 0; row < nrows; row++) {
    // Rows 0, -1, 1 (and the same in z): the own row first.
    let iy = row % 3;
    let iz = row / 3;
    let dy = select(select(1, -1, iy == 1), 0, iy == 0);
    let dz = select(select(1, -1, iz == 1), 0, iz == 0);
    let cy = lv_c.y + dy;
    let cz = lv_c.z + dz;
    var valid = (D < 2u || (cy >= cmin.y && cy <= cmax.y)) && (D < 3u || (cz >= cmin.z && cz <= cmax.z));
    let gy = row_gap(dy, lv_f.y, rg_slack);
    let gz = row_gap(dz, lv_f.z, rg_slack);
    let g2 = gy * gy + gz * gz;
    var xa = max(lv_c.x - 1, cmin.x);
    var xb = min(lv_c.x + 1, cmax.x);
    if (list_full()) {
      let kc = sqrt(bd[K - 1u]) * (1.0 + 1e-5) * inv_h + lv_dcell;
      let k2 = kc * kc;
      let w = sqrt(max(k2 - g2, 0.0)) + rg_slack;
      xa = max(xa, i32(floor(clamp(lv_q.x - w, -QCLAMP - 8.0, QCLAMP + 8.0))));
      xb = min(xb, i32(floor(clamp(lv_q.x + w, -QCLAMP - 8.0, QCLAMP + 8.0))));
      valid = valid && g2 <= k2;
    }
    valid = valid && xa <= xb;
    let len = select(1u, u32(xb - xa) + 1u, valid);
    work += 1u + select(0u, len, valid);
    let b0 = bucket_of(xa, row_hash(cy, cz), tm);
    let b1 = b0 + len - 1u;
    // Slots of the row: [s0, s1) and, when the row wraps around the table, [0, s2).
    let s0 = bucket_begin(base + b0);
    let s1 = cells[base + min(b1, tm)];
    var s2 = 0u;
    if (b1 > tm) { s2 = cells[base + b1 - tm - 1u]; }
    let n1 = select(0u, s1 - s0, valid);
    let n = n1 + select(0u, s2, valid);
    cands += n;
    for (var j = 0u; j < n; j++) {
      let s = select(j - n1, s0 + j, j < n1);
      let d2 = dist2(load_s(s), x);
      if (d2 <= bd[K - 1u] && !(SELF && s == qt)) { try_insert(d2, sidx[s]); }
      if (exact_zero()) { break; }
    }
  }
  return exact_zero() || ring_final();
}

fn write_row(qi: u32) {
  for (var j = 0u; j < K; j++) {
    out_idx[qi * K + j] = bi[j];
    out_dist[qi * K + j] = select(sqrt(bd[j]), sp.inf, bi[j] == NONE);
  }
}

fn append_fallback(qi: u32) {
  let slot = atomicAdd(&nstats[0], 1u);
  atomicStore(&nstats[NSTATS_HEADER + slot], qi);
}

// COARSE = false: thread t searches query t (a self query: the point in level-0 slot t, so that
// neighbouring threads search neighbouring cells) in its level-0 box; a query whose list is not
// final there goes to the escalation list. COARSE = true: thread w runs the full search (level
// by level, ring by ring) for escalated query w; a query that every level gives up on goes to
// the brute-force fallback. Splitting the two keeps the lanes of a SIMD group (CPU adapters) or
// a wave (GPUs) doing the same amount of work.
@compute @workgroup_size(WG)
fn search(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flat_id(gid, nwg);
  delta = bitcast<f32>(gmotion[2].x);   // word MOTION_DELTA of grid.wgsl
  var qi: u32;
  var x: vec3f;
  let esc = NSTATS_HEADER + sp.nq;
  let per_query = NSTATS_HEADER + 2u * sp.nq;
  var slot = t;   // separate queries: the query's position in qpts (its entry in the lists)
  if (COARSE) {
    if (t >= atomicLoad(&nstats[1])) { return; }
    slot = atomicLoad(&nstats[esc + t]);
    if (SELF) {
      qi = slot;
      x = load_g(qi);
    } else {
      qi = query_of_slot(slot);
      x = load_q(slot);
    }
  } else {
    if (t >= sp.nq) { return; }
    if (SELF) {
      qi = sidx[t];
      slot = qi;
      x = load_s(t);
    } else {
      qi = query_of_slot(t);
      x = load_q(t);
    }
  }
  work = 0u;
  cands = 0u;
  var done: bool;
  if (COARSE) { done = search_query(x, t, qi, 0u, sp.levels); } else { done = box_query(x, t, qi); }
  if (done) {
    write_row(qi);
  } else if (COARSE) {
    append_fallback(slot);
  } else {
    let e = atomicAdd(&nstats[1], 1u);
    atomicStore(&nstats[esc + e], slot);
  }
  if (COARSE) {
    // Work and candidates of the box add to the full search's.
    atomicAdd(&nstats[per_query + 2u * qi], min(work, 0x7fffffffu) | select(0u, 0x80000000u, lv_l > 0u || !done));
    atomicAdd(&nstats[per_query + 2u * qi + 1u], cands);
  } else {
    atomicStore(&nstats[per_query + 2u * qi], min(work, 0x7fffffffu));
    atomicStore(&nstats[per_query + 2u * qi + 1u], cands);
  }
}

// Indirect dispatch size of the coarse search: one thread per escalated query.
@compute @workgroup_size(1)
fn escalate_args() {
  let c = (atomicLoad(&nstats[1]) + WG - 1u) / WG;
  fargs[0] = min(c, 65535u);
  fargs[1] = select(1u, (c + 65534u) / 65535u, c > 65535u);
  fargs[2] = 1u;
}

@group(0) @binding(32) var<storage, read> qorder_src: array<u32>;

// ORDERED: copies the query order (the first nq entries of qorder_src) into nstats.
@compute @workgroup_size(WG)
fn order_copy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flat_id(gid, nwg);
  if (t < sp.nq) { atomicStore(&nstats[NSTATS_HEADER + 4u * sp.nq + t], qorder_src[t]); }
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
  let slot = atomicLoad(&nstats[NSTATS_HEADER + w]);
  var qi = slot;
  var x: vec3f;
  if (SELF) { x = load_g(qi); } else { qi = query_of_slot(slot); x = load_q(slot); }
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
