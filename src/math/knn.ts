/**
 * Exact k-nearest-neighbour searches on the host in float64: brute force and a k-d tree (for
 * N, M up to ~1e5), both returning, per query, the k smallest (distance, index) pairs in
 * lexicographic order. Used by the float64 twins of the entropy and KL terms
 * (src/energies/entropy.ts, kl.ts) and by the target lattice's default bandwidth
 * (src/energies/target.ts).
 */

/** Result of a k-nearest-neighbour search: row q holds the k neighbours of query q, nearest first. */
export interface KnnResult {
  /** Neighbours per query. */
  k: number;
  /** nq·k point indices, sorted by (distance, index) within each row. */
  index: Int32Array;
  /** nq·k Euclidean distances, matching `index`. */
  dist: Float64Array;
}

/** Options of {@link knn}. */
export interface KnnOptions {
  /**
   * Skip point i when answering query i (queries and points are the same set: nearest *other*
   * point). Duplicates of a point at other indices are still found, at distance 0. Default false.
   */
  excludeSelf?: boolean;
  /** `'brute'`, `'tree'` (k-d tree) or `'auto'` (brute when nq·n ≤ 2.5e5). Default `'auto'`. */
  method?: 'auto' | 'brute' | 'tree';
}

/** Inserts (d2, idx) into the sorted prefix [0, cnt) of the k-slot lists; returns the new count. */
function insertSorted(d2s: Float64Array, ids: Int32Array, base: number, cnt: number, k: number, d2: number, idx: number): number {
  // Position: first slot whose (d2, id) is lexicographically greater.
  let pos = cnt;
  while (pos > 0) {
    const pd = d2s[base + pos - 1]!;
    if (pd > d2 || (pd === d2 && ids[base + pos - 1]! > idx)) pos--;
    else break;
  }
  if (pos >= k) return cnt;
  const last = Math.min(cnt, k - 1);
  for (let s = last; s > pos; s--) {
    d2s[base + s] = d2s[base + s - 1]!;
    ids[base + s] = ids[base + s - 1]!;
  }
  d2s[base + pos] = d2;
  ids[base + pos] = idx;
  return Math.min(cnt + 1, k);
}

function checkCloud(a: ArrayLike<number>, dim: number, what: string, fn: string): number {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`wgflow: ${fn}: dim must be a positive integer (got ${dim})`);
  if (a.length % dim !== 0) throw new Error(`wgflow: ${fn}: ${what} length ${a.length} is not a multiple of dim = ${dim}`);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new Error(`wgflow: ${fn}: ${what} has a non-finite value at index ${i}`);
  }
  return a.length / dim;
}

/**
 * A k-d tree over a fixed point set (float64 copy), for exact k-nearest-neighbour queries.
 * Ties in distance are broken by the lower index, exactly as the brute-force search does.
 *
 * @example
 * const tree = new KdTree(new Float64Array([0, 0, 1, 0, 0, 2]), 2);
 * const idx = new Int32Array(1), d2 = new Float64Array(1);
 * tree.query([0.9, 0.1], 0, 1, -1, idx, d2, 0); // idx[0] === 1, d2[0] ≈ 0.02
 */
export class KdTree {
  readonly n: number;
  readonly dim: number;
  private readonly pts: Float64Array;
  private readonly perm: Int32Array;
  private readonly nodeLo: Int32Array;
  private readonly nodeHi: Int32Array;
  private readonly nodeAxis: Int8Array;
  private readonly nodeSplit: Float64Array;
  private readonly nodeLeft: Int32Array;
  private readonly nodeRight: Int32Array;
  // Per-query scratch.
  private q: ArrayLike<number> = [];
  private qo = 0;
  private k = 1;
  private exclude = -1;
  private cnt = 0;
  private outIdx: Int32Array = new Int32Array(0);
  private outD2: Float64Array = new Float64Array(0);
  private base = 0;

  /**
   * @param points n·dim coordinates, row-major.
   * @param dim Dimension (≥ 1).
   * @param leafSize Points per leaf. Default 8.
   */
  constructor(points: ArrayLike<number>, dim: number, leafSize = 8) {
    const n = checkCloud(points, dim, 'points', 'KdTree');
    this.n = n;
    this.dim = dim;
    this.pts = Float64Array.from(points);
    this.perm = new Int32Array(n);
    for (let i = 0; i < n; i++) this.perm[i] = i;
    const cap = 2 * Math.ceil(n / Math.max(1, leafSize)) * 2 + 1;
    this.nodeLo = new Int32Array(cap);
    this.nodeHi = new Int32Array(cap);
    this.nodeAxis = new Int8Array(cap);
    this.nodeSplit = new Float64Array(cap);
    this.nodeLeft = new Int32Array(cap);
    this.nodeRight = new Int32Array(cap);
    let nodes = 0;
    const make = (lo: number, hi: number): number => {
      const id = nodes++;
      this.nodeLo[id] = lo;
      this.nodeHi[id] = hi;
      this.nodeAxis[id] = -1;
      if (hi - lo <= leafSize) return id;
      // Split the widest axis at the median.
      let axis = 0;
      let widest = -1;
      for (let a = 0; a < dim; a++) {
        let mn = Infinity;
        let mx = -Infinity;
        for (let p = lo; p < hi; p++) {
          const v = this.pts[this.perm[p]! * dim + a]!;
          if (v < mn) mn = v;
          if (v > mx) mx = v;
        }
        if (mx - mn > widest) {
          widest = mx - mn;
          axis = a;
        }
      }
      if (widest <= 0) return id; // all points equal: keep as a leaf
      const mid = (lo + hi) >>> 1;
      this.select(lo, hi - 1, mid, axis);
      this.nodeAxis[id] = axis;
      this.nodeSplit[id] = this.pts[this.perm[mid]! * dim + axis]!;
      this.nodeLeft[id] = make(lo, mid);
      this.nodeRight[id] = make(mid, hi);
      return id;
    };
    if (n > 0) make(0, n);
  }

  /** Quickselect: reorders perm[lo..hi] so perm[kth] has the kth smallest coordinate on axis. */
  private select(lo: number, hi: number, kth: number, axis: number): void {
    const { perm, pts, dim } = this;
    const key = (p: number) => pts[perm[p]! * dim + axis]!;
    while (hi > lo) {
      // Median of three pivot.
      const m = (lo + hi) >>> 1;
      const a = key(lo), b = key(m), c = key(hi);
      const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
      let i = lo;
      let j = hi;
      while (i <= j) {
        while (key(i) < pivot) i++;
        while (key(j) > pivot) j--;
        if (i <= j) {
          const t = perm[i]!;
          perm[i] = perm[j]!;
          perm[j] = t;
          i++;
          j--;
        }
      }
      if (kth <= j) hi = j;
      else if (kth >= i) lo = i;
      else return;
    }
  }

  /**
   * Finds the k nearest points to the query `q[qOffset .. qOffset+dim)`, skipping point index
   * `exclude` (−1 for none); writes indices and squared distances, nearest first, into
   * `outIdx`/`outD2` at `outOffset`. Returns how many were found (< k only when n is too small).
   */
  query(
    q: ArrayLike<number>,
    qOffset: number,
    k: number,
    exclude: number,
    outIdx: Int32Array,
    outD2: Float64Array,
    outOffset: number,
  ): number {
    if (!Number.isInteger(k) || k < 1) throw new Error(`wgflow: KdTree.query: k must be a positive integer (got ${k})`);
    if (!Number.isInteger(qOffset) || qOffset < 0 || qOffset + this.dim > q.length) {
      throw new Error(`wgflow: KdTree.query: query [${qOffset}, ${qOffset + this.dim}) lies outside q (length ${q.length})`);
    }
    if (!Number.isInteger(outOffset) || outOffset < 0 || outOffset + k > Math.min(outIdx.length, outD2.length)) {
      throw new Error(`wgflow: KdTree.query: output slots [${outOffset}, ${outOffset + k}) exceed outIdx/outD2 (lengths ${outIdx.length}, ${outD2.length})`);
    }
    this.q = q;
    this.qo = qOffset;
    this.k = k;
    this.exclude = exclude;
    this.cnt = 0;
    this.outIdx = outIdx;
    this.outD2 = outD2;
    this.base = outOffset;
    if (this.n > 0) this.visit(0);
    return this.cnt;
  }

  private visit(node: number): void {
    const axis = this.nodeAxis[node]!;
    const { dim, pts, q, qo } = this;
    if (axis < 0) {
      const hi = this.nodeHi[node]!;
      for (let p = this.nodeLo[node]!; p < hi; p++) {
        const idx = this.perm[p]!;
        if (idx === this.exclude) continue;
        let d2 = 0;
        for (let a = 0; a < dim; a++) {
          const t = q[qo + a]! - pts[idx * dim + a]!;
          d2 += t * t;
        }
        if (this.cnt < this.k || d2 <= this.outD2[this.base + this.k - 1]!) {
          this.cnt = insertSorted(this.outD2, this.outIdx, this.base, this.cnt, this.k, d2, idx);
        }
      }
      return;
    }
    const diff = q[qo + axis]! - this.nodeSplit[node]!;
    const near = diff < 0 ? this.nodeLeft[node]! : this.nodeRight[node]!;
    const far = diff < 0 ? this.nodeRight[node]! : this.nodeLeft[node]!;
    this.visit(near);
    if (this.cnt < this.k || diff * diff <= this.outD2[this.base + this.k - 1]!) this.visit(far);
  }
}

/**
 * Exact k nearest neighbours of each query among `points`, sorted by (distance, index).
 * With `excludeSelf`, queries and points must be the same set and query i skips point i.
 * Throws when fewer than k candidates exist.
 *
 * @example
 * const x = new Float64Array([0, 0, 1, 0, 3, 0]);
 * const { index, dist } = knn(x, x, 2, 1, { excludeSelf: true });
 * // index = [1, 0, 1], dist = [1, 1, 2]
 */
export function knn(
  queries: ArrayLike<number>,
  points: ArrayLike<number>,
  dim: number,
  k: number,
  options: KnnOptions = {},
): KnnResult {
  const nq = checkCloud(queries, dim, 'queries', 'knn');
  const n = checkCloud(points, dim, 'points', 'knn');
  if (!Number.isInteger(k) || k < 1) throw new Error(`wgflow: knn: k must be a positive integer (got ${k})`);
  const excludeSelf = options.excludeSelf ?? false;
  if (excludeSelf && nq !== n) throw new Error('wgflow: knn: excludeSelf needs queries and points to be the same set');
  const avail = excludeSelf ? n - 1 : n;
  if (avail < k) throw new Error(`wgflow: knn: k = ${k} neighbours requested but only ${avail} candidates exist`);
  const method = options.method ?? 'auto';
  const index = new Int32Array(nq * k);
  const d2 = new Float64Array(nq * k);
  if (method === 'brute' || (method === 'auto' && nq * n <= 250_000)) {
    for (let qi = 0; qi < nq; qi++) {
      let cnt = 0;
      const base = qi * k;
      for (let p = 0; p < n; p++) {
        if (excludeSelf && p === qi) continue;
        let s = 0;
        for (let a = 0; a < dim; a++) {
          const t = queries[qi * dim + a]! - points[p * dim + a]!;
          s += t * t;
        }
        if (cnt < k || s <= d2[base + k - 1]!) cnt = insertSorted(d2, index, base, cnt, k, s, p);
      }
    }
  } else if (method === 'tree' || method === 'auto') {
    const tree = new KdTree(points, dim);
    for (let qi = 0; qi < nq; qi++) tree.query(queries, qi * dim, k, excludeSelf ? qi : -1, index, d2, qi * k);
  } else {
    throw new Error(`wgflow: knn: method must be 'auto', 'brute' or 'tree' (got ${String(method)})`);
  }
  const dist = new Float64Array(nq * k);
  for (let i = 0; i < dist.length; i++) dist[i] = Math.sqrt(d2[i]!);
  return { k, index, dist };
}
