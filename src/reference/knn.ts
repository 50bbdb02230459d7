/**
 * Float64 CPU oracles of the k-nearest-neighbour search: brute force (O(N·M)) and an exact
 * k-d tree (O(M log M) build, about O(log M) per query), single-threaded. Both return, per
 * query, the k smallest (distance, index) pairs in lexicographic order, which is what the GPU
 * search returns for distinct distances (see src/kernels/neighbors.ts).
 */

/** Index of a missing neighbour (fewer than k candidates); its distance is +Infinity. */
export const NONE = 0xffffffff;

/** Result of a reference search: row q holds query q's k neighbours, nearest first. */
export interface KnnResult64 {
  k: number;
  /** nq·k point indices ({@link NONE} where missing). */
  index: Uint32Array;
  /** nq·k Euclidean distances in float64 (+Infinity where missing). */
  distance: Float64Array;
}

function check(points: ArrayLike<number>, dim: number, k: number, queries: ArrayLike<number> | undefined, what: string): { m: number; nq: number } {
  if (![1, 2, 3].includes(dim)) throw new Error(`${what}: dim must be 1, 2 or 3 (got ${dim})`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`${what}: k must be a positive integer (got ${k})`);
  if (points.length % dim) throw new Error(`${what}: points length ${points.length} is not a multiple of dim ${dim}`);
  if (queries && queries.length % dim) throw new Error(`${what}: queries length ${queries.length} is not a multiple of dim ${dim}`);
  const m = points.length / dim;
  return { m, nq: queries ? queries.length / dim : m };
}

/** A sorted k-list of (d2, index) in typed arrays, for one query at a time. */
class KList {
  readonly d2: Float64Array;
  readonly id: Uint32Array;
  constructor(readonly k: number) {
    this.d2 = new Float64Array(k);
    this.id = new Uint32Array(k);
  }
  reset(): void {
    this.d2.fill(Infinity);
    this.id.fill(NONE);
  }
  /** The current k-th squared distance (Infinity until full). */
  get worst(): number {
    return this.d2[this.k - 1]!;
  }
  insert(d2: number, idx: number): void {
    const { k, d2: D, id: I } = this;
    const wd = D[k - 1]!;
    if (!(d2 < wd || (d2 === wd && idx < I[k - 1]!))) return;
    let p = k - 1;
    while (p > 0) {
      const a = D[p - 1]!;
      if (d2 < a || (d2 === a && idx < I[p - 1]!)) {
        D[p] = a;
        I[p] = I[p - 1]!;
        p--;
      } else break;
    }
    D[p] = d2;
    I[p] = idx;
  }
  write(out: KnnResult64, q: number): void {
    for (let j = 0; j < this.k; j++) {
      out.index[q * this.k + j] = this.id[j]!;
      out.distance[q * this.k + j] = Math.sqrt(this.d2[j]!);
    }
  }
}

/**
 * Brute-force k nearest neighbours in float64. Without `queries`, the queries are the points
 * themselves and each excludes its own index (duplicates at other indices are found at
 * distance 0).
 *
 * @example
 * const { index, distance } = bruteForceKnn(new Float32Array([0, 0, 1, 0, 3, 0]), 2, 1);
 * // index = [1, 0, 1], distance = [1, 1, 2]
 */
export function bruteForceKnn(points: ArrayLike<number>, dim: number, k: number, queries?: ArrayLike<number>): KnnResult64 {
  const { m, nq } = check(points, dim, k, queries, 'bruteForceKnn');
  const Q = queries ?? points;
  const out: KnnResult64 = { k, index: new Uint32Array(nq * k), distance: new Float64Array(nq * k) };
  const list = new KList(k);
  for (let q = 0; q < nq; q++) {
    list.reset();
    for (let i = 0; i < m; i++) {
      if (!queries && i === q) continue;
      let d2 = 0;
      for (let a = 0; a < dim; a++) {
        const d = points[i * dim + a]! - Q[q * dim + a]!;
        d2 += d * d;
      }
      list.insert(d2, i);
    }
    list.write(out, q);
  }
  return out;
}

const LEAF = 12;

/** An exact float64 k-d tree over a point set (median splits on the widest axis). */
export class KdTree {
  private readonly perm: Uint32Array;
  private readonly pts: Float64Array;
  // Nodes: [start, end) of perm; split axis (-1: leaf), split value, children.
  private readonly start: number[] = [];
  private readonly end: number[] = [];
  private readonly axis: number[] = [];
  private readonly split: number[] = [];
  private readonly left: number[] = [];
  private readonly right: number[] = [];

  /**
   * Builds the tree over `points` (m·dim values).
   *
   * @example
   * const tree = new KdTree(points, 2);
   * const res = tree.query(queries, 4);
   */
  constructor(points: ArrayLike<number>, readonly dim: number) {
    check(points, dim, 1, undefined, 'KdTree');
    const m = points.length / dim;
    this.pts = Float64Array.from(points as ArrayLike<number>);
    this.perm = new Uint32Array(m);
    for (let i = 0; i < m; i++) this.perm[i] = i;
    if (m > 0) this.build(0, m);
  }

  /** Number of points. */
  get count(): number {
    return this.perm.length;
  }

  private coord(i: number, a: number): number {
    return this.pts[i * this.dim + a]!;
  }

  private build(s: number, e: number): number {
    const node = this.start.length;
    this.start.push(s);
    this.end.push(e);
    this.axis.push(-1);
    this.split.push(0);
    this.left.push(-1);
    this.right.push(-1);
    if (e - s <= LEAF) return node;
    let best = -1;
    let spread = 0;
    for (let a = 0; a < this.dim; a++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let j = s; j < e; j++) {
        const v = this.coord(this.perm[j]!, a);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi - lo > spread) {
        spread = hi - lo;
        best = a;
      }
    }
    if (best < 0) return node; // all points identical: one leaf
    const mid = (s + e) >> 1;
    this.select(s, e - 1, mid, best);
    this.axis[node] = best;
    this.split[node] = this.coord(this.perm[mid]!, best);
    this.left[node] = this.build(s, mid);
    this.right[node] = this.build(mid, e);
    return node;
  }

  /** Quickselect: perm[k] gets the k-th smallest coordinate on axis a within [lo, hi]. */
  private select(lo: number, hi: number, k: number, a: number): void {
    const P = this.perm;
    while (hi > lo) {
      const pivot = this.coord(P[(lo + hi) >> 1]!, a);
      let i = lo;
      let j = hi;
      while (i <= j) {
        while (this.coord(P[i]!, a) < pivot) i++;
        while (this.coord(P[j]!, a) > pivot) j--;
        if (i <= j) {
          const t = P[i]!;
          P[i] = P[j]!;
          P[j] = t;
          i++;
          j--;
        }
      }
      if (k <= j) hi = j;
      else if (k >= i) lo = i;
      else return;
    }
  }

  /**
   * The k nearest points of each query (nq·dim values). With `exclude` (a function of the
   * query index), the point of that index is skipped: pass `(q) => q` for a self query.
   */
  query(queries: ArrayLike<number>, k: number, exclude?: (q: number) => number): KnnResult64 {
    if (queries.length % this.dim) throw new Error(`KdTree.query: queries length ${queries.length} is not a multiple of dim ${this.dim}`);
    const nq = queries.length / this.dim;
    const out: KnnResult64 = { k, index: new Uint32Array(nq * k), distance: new Float64Array(nq * k) };
    const list = new KList(k);
    const x = new Float64Array(this.dim);
    const stack: number[] = [];
    for (let q = 0; q < nq; q++) {
      for (let a = 0; a < this.dim; a++) x[a] = queries[q * this.dim + a]!;
      const skip = exclude ? exclude(q) : -1;
      list.reset();
      if (this.count > 0) this.search(0, x, skip, list, stack);
      list.write(out, q);
    }
    return out;
  }

  private search(node: number, x: Float64Array, skip: number, list: KList, stack: number[]): void {
    // Iterative depth-first search; stack holds (node, lower bound²) pairs.
    stack.length = 0;
    stack.push(node, 0);
    const dim = this.dim;
    while (stack.length) {
      const lb = stack.pop()!;
      const nd = stack.pop()!;
      if (lb > list.worst) continue;
      const ax = this.axis[nd]!;
      if (ax < 0) {
        for (let j = this.start[nd]!; j < this.end[nd]!; j++) {
          const i = this.perm[j]!;
          if (i === skip) continue;
          let d2 = 0;
          for (let a = 0; a < dim; a++) {
            const d = this.pts[i * dim + a]! - x[a]!;
            d2 += d * d;
          }
          list.insert(d2, i);
        }
        continue;
      }
      const diff = x[ax]! - this.split[nd]!;
      const near = diff <= 0 ? this.left[nd]! : this.right[nd]!;
      const far = diff <= 0 ? this.right[nd]! : this.left[nd]!;
      // Push far first so that near is explored first.
      stack.push(far, Math.max(lb, diff * diff));
      stack.push(near, lb);
    }
  }
}

/**
 * Exact k nearest neighbours in float64 with a k-d tree: same result as {@link bruteForceKnn}
 * (ties broken by index), much faster for large sets. Without `queries`, a self query.
 *
 * @example
 * const ref = kdTreeKnn(points, 3, 4);            // self query, 4 neighbours
 * const toTargets = kdTreeKnn(targets, 2, 1, xs); // nearest target sample of each x
 */
export function kdTreeKnn(points: ArrayLike<number>, dim: number, k: number, queries?: ArrayLike<number>): KnnResult64 {
  check(points, dim, k, queries, 'kdTreeKnn');
  const tree = new KdTree(points, dim);
  return queries ? tree.query(queries, k) : tree.query(points, k, (q) => q);
}
