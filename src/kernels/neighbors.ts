/**
 * Exact k-nearest-neighbour search on the GPU (shaders/neighbors.wgsl) over a grid of
 * src/kernels/grid.ts, and the reverse-neighbour lists that exact estimator gradients need.
 *
 * **The search.** One thread per query keeps its k best candidates in registers, sorted by
 * (distance, index). A first pass scans each query's level-0 box of 3^d cells (its own row
 * first, the others pruned by the k-th distance) and stops when no unvisited cell can hold a
 * closer point (a lower bound that accounts for f32 rounding of cell coordinates and for the
 * displacement of the points since the grid's last build). The queries it cannot settle
 * (sparse regions, outliers: usually a small fraction) go to a second pass that searches
 * level by level, ring by ring; splitting the two keeps the lanes of a SIMD group or a wave
 * doing similar work. The result equals brute force: the k smallest (f32 distance, index)
 * pairs; among exactly equal distances the lower index wins, except that a query with k
 * neighbours at distance 0 (duplicates) stops at the first k it meets.
 *
 * **Worst case.** A level gives up after `budget` units of work (rows examined + cells
 * visited) and hands its list to the next level, whose cells are `ratio` times wider; a query
 * that exhausts every level (an outlier more than about ratio^(levels−1)·budget^(1/d) level-0
 * cells from everything, or a point whose coordinates are clamped at ±2^22 cells on every
 * level) is answered by a brute-force pass, one workgroup per such query, O(M) each. So a
 * search costs O(N·(levels·budget + candidates)) plus O(F·M) for the F fallback queries
 * (`diagnostics().fallback`). Candidates per query are O(k) when the density varies slowly
 * on the scale of a few cells; they grow with the contents of the cells a query must open:
 * many exact duplicates next to distinct points, a dense cluster inside a sparse region at the
 * scale of one cell, hash collisions with a very dense cell, and queries (A against B) far
 * outside B, which open the coarse cells of B's near side (up to O(M) each, like brute
 * force). Memory is O(N + M) and fixed at creation; nothing can overflow.
 */
import { commonWgsl, gridWgsl, neighborsWgsl } from '../shaders.gen.js';
import { createBuffer, dispatchFor, readBuffer, WORKGROUP_SIZE } from '../gpu/resources.js';
import { bindGroup, dispatch, pipeline } from '../gpu/pipelines.js';
import { wgslLibrary } from '../gpu/wgsl.js';
import { REV_PARAMS_FIELDS, SEARCH_PARAMS_FIELDS, packStruct } from '../gpu/layout.js';

export { REV_PARAMS_FIELDS, SEARCH_PARAMS_FIELDS };
import { createGrid, createScan, GRID_TUNING, type GridDiagnostics, type GridKernel } from './grid.js';

/** Largest k of the search (the register list holds 8). */
export const MAX_K = 8;
/** Index written for a missing neighbour (fewer than k candidates exist). Its distance is +Infinity. */
export const NO_NEIGHBOR = 0xffffffff;
/** Threads per workgroup of the search. */
export const SEARCH_WORKGROUP = 64;
/** u32 words before the fallback list in the search statistics buffer (NSTATS_HEADER). */
const NSTATS_HEADER = 16;



/** WGSL of the neighbour module: common + grid library + neighbors.wgsl. */
export function neighborsModuleCode(): string {
  return commonWgsl + wgslLibrary(gridWgsl) + neighborsWgsl;
}

/** Options of {@link createNeighborSearch}. */
export interface NeighborSearchOptions {
  /** The grid to search (built by its own `encode`, earlier in the same or a previous submit). */
  grid: GridKernel;
  /** Neighbours per query, 1..8. */
  k: number;
  /**
   * Query points, `queryCount * dim` f32 (STORAGE), searched against the grid's points with no
   * exclusion. Omit for a self query: the grid's own points, each excluding itself.
   */
  queries?: GPUBuffer;
  /** Number of queries (required with `queries`). */
  queryCount?: number;
  /**
   * Work per level before a query moves to the next level (every level, level 0 included, when
   * given). Default {@link GRID_TUNING}[dim].budget, and `budget0` of the same entry on level 0.
   */
  budget?: number;
  /**
   * Separate queries only: search them in this order, for memory locality (the results do not
   * change). Thread t searches query `index[t]`, whose position is `points[t]` (`queryCount * dim`
   * f32, used instead of `queries`): typically the sorted index and sorted positions of a grid
   * over the queries ({@link GridKernel.sortedIndex}, {@link GridKernel.sortedPoints}), updated
   * earlier in the same pass. `index` must hold a permutation of 0..queryCount−1 in its first
   * queryCount u32.
   */
  queryOrder?: { index: GPUBuffer; points: GPUBuffer };
  /** Label prefix. Default 'Neighbors'. */
  label?: string;
}

/** What {@link NeighborSearch.diagnostics} reports about the last search. */
export interface SearchDiagnostics {
  /** Queries. */
  count: number;
  /** Queries answered by the brute-force fallback (the "overflow" of the ring search). */
  fallback: number;
  /** Queries that went past level 0. */
  escalated: number;
  /** Queries the level-0 box pass could not settle (searched again, ring by ring). */
  secondPass: number;
  /** Largest and mean work (rows + cells) of a query's ring search. */
  maxWork: number;
  meanWork: number;
  /** Mean number of candidate points whose distance a query computed (ring search only). */
  meanCandidates: number;
}

/** A k-NN search kernel; see {@link createNeighborSearch}. */
export interface NeighborSearch {
  readonly k: number;
  /** Number of queries. */
  readonly count: number;
  /** True when the queries are the grid's own points (each excludes itself). */
  readonly selfQuery: boolean;
  /** count·k u32: row q holds the neighbours of query q, nearest first ({@link NO_NEIGHBOR} if missing). */
  readonly index: GPUBuffer;
  /** count·k f32: the matching Euclidean distances (+Infinity if missing). */
  readonly distance: GPUBuffer;
  /** Records the search (ring search, then the brute-force fallback by indirect dispatch). Never submits. */
  encode(pass: GPUComputePassEncoder): void;
  /** Reads the last search's statistics (submit first). Not for the hot loop. */
  diagnostics(): Promise<SearchDiagnostics>;
  /** Frees what the search created (not the grid or the queries). Idempotent. */
  destroy(): void;
}

function checkK(k: number, label: string): void {
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new Error(`wgflow: ${label}: k must be an integer in 1..${MAX_K} (got ${k})`);
}

/**
 * Creates an exact k-NN search of queries against a grid. Output buffers are allocated once
 * for the query count; nothing is read back inside `encode`.
 *
 * @example
 * // Self query, every step of a flow: rebuild the grid, then search, in one pass.
 * const grid = await createGrid(device, { points: positions, count: n, dim: 2, k: 4 });
 * const search = await createNeighborSearch(device, { grid, k: 4 });
 * grid.encode(pass);
 * search.encode(pass);
 * // search.index / search.distance now hold n·4 neighbours for the next passes.
 */
export async function createNeighborSearch(device: GPUDevice, options: NeighborSearchOptions): Promise<NeighborSearch> {
  const label = options.label ?? 'Neighbors';
  const { grid, k } = options;
  checkK(k, label);
  const selfQuery = options.queries === undefined;
  const nq = selfQuery ? grid.count : options.queryCount;
  if (!Number.isInteger(nq) || nq! < 1) throw new Error(`wgflow: ${label}: queryCount must be a positive integer with queries (got ${nq})`);
  const n = nq!;
  const budget = options.budget ?? GRID_TUNING[grid.dim as 1 | 2 | 3].budget;
  if (!Number.isInteger(budget) || budget < 1) throw new Error(`wgflow: ${label}: budget must be a positive integer (got ${budget})`);
  const budget0 = options.budget ?? GRID_TUNING[grid.dim as 1 | 2 | 3].budget0;

  const order = options.queryOrder;
  if (order && selfQuery) throw new Error(`wgflow: ${label}: queryOrder needs separate queries (queries and queryCount)`);
  if (order && (!order.index || !order.points)) throw new Error(`wgflow: ${label}: queryOrder needs both index and points buffers`);
  const code = neighborsModuleCode();
  const constants = { D: grid.dim, WG: SEARCH_WORKGROUP, K: k, SELF: selfQuery ? 1 : 0, COARSE: 0, ORDERED: order ? 1 : 0 };
  const names = ['reset', 'search', 'escalate_args', 'fallback_args', 'fallback', 'order_copy'] as const;
  const pipes = await Promise.all([
    ...names.map((e) => pipeline(device, { label: `Neighbors.${e}`, code: code, entry: e, constants: constants })),
    pipeline(device, { label: 'Neighbors.search_coarse', code: code, entry: 'search', constants: { ...constants, COARSE: 1 } }),
  ]);
  const P = Object.fromEntries(names.map((e, i) => [e, pipes[i]!])) as Record<(typeof names)[number], GPUComputePipeline>;
  const coarseP = pipes[names.length]!;

  const S = GPUBufferUsage.STORAGE;
  const CS = GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const owned: GPUBuffer[] = [];
  const buf = (name: string, size: number, usage: number, data?: ArrayBufferView) => {
    const b = createBuffer(device, `${label}.${name}`, size, usage, data);
    owned.push(b);
    return b;
  };
  const params = buf('params', 32, GPUBufferUsage.UNIFORM, new Uint8Array(packStruct(SEARCH_PARAMS_FIELDS, {
    nq: n, m: grid.count, levels: grid.levels, inf: Infinity, budget, budget0,
  })));
  const index = buf('index', n * k * 4, S | CS);
  const distance = buf('distance', n * k * 4, S | CS);
  // Header, fallback list, escalation list, two words per query (and the query order).
  const stats = buf('stats', (NSTATS_HEADER + (order ? 5 : 4) * n) * 4, S | CS);
  const escArgs = buf('escalateArgs', 16, S | GPUBufferUsage.INDIRECT);
  const fbArgs = buf('fallbackArgs', 16, S | GPUBufferUsage.INDIRECT);
  const queries = order ? order.points : options.queries ?? grid.points;

  const searchEntries = {
    20: queries, 21: params, 22: grid.info, 23: grid.cells, 24: grid.sortedIndex, 25: grid.sortedPoints,
    26: grid.points, 27: index, 28: distance, 29: stats, 31: grid.motion,
  };
  const bg = {
    reset: bindGroup(device, `${label}.reset`, P.reset, { 29: stats }),
    search: bindGroup(device, `${label}.search`, P.search, searchEntries),
    coarse: bindGroup(device, `${label}.searchCoarse`, coarseP, searchEntries),
    escalate_args: bindGroup(device, `${label}.escalateArgs`, P.escalate_args, { 29: stats, 30: escArgs }),
    fallback_args: bindGroup(device, `${label}.fallbackArgs`, P.fallback_args, { 29: stats, 30: fbArgs }),
    fallback: bindGroup(device, `${label}.fallback`, P.fallback, {
      20: queries, 21: params, 26: grid.points, 27: index, 28: distance, 29: stats,
    }),
    order_copy: order ? bindGroup(device, `${label}.orderCopy`, P.order_copy, { 21: params, 29: stats, 32: order.index }) : undefined,
  };
  const searchSize = dispatchFor(n, SEARCH_WORKGROUP);
  const indirect = (pass: GPUComputePassEncoder, p: GPUComputePipeline, b: GPUBindGroup, args: GPUBuffer) => {
    pass.setPipeline(p);
    pass.setBindGroup(0, b);
    pass.dispatchWorkgroupsIndirect(args, 0);
  };

  let destroyed = false;
  return {
    k,
    count: n,
    selfQuery,
    index,
    distance,
    encode(pass) {
      if (destroyed) throw new Error(`wgflow: ${label} used after destroy()`);
      dispatch(pass, P.reset, bg.reset, [1, 1]);
      if (bg.order_copy) dispatch(pass, P.order_copy, bg.order_copy, dispatchFor(n, SEARCH_WORKGROUP));
      dispatch(pass, P.search, bg.search, searchSize);
      dispatch(pass, P.escalate_args, bg.escalate_args, [1, 1]);
      indirect(pass, coarseP, bg.coarse, escArgs);
      dispatch(pass, P.fallback_args, bg.fallback_args, [1, 1]);
      indirect(pass, P.fallback, bg.fallback, fbArgs);
    },
    async diagnostics() {
      const s = new Uint32Array(await readBuffer(device, stats, (NSTATS_HEADER + 4 * n) * 4));
      const at = NSTATS_HEADER + 2 * n;
      let work = 0, cands = 0, maxWork = 0, escalated = 0;
      for (let q = 0; q < n; q++) {
        const w = s[at + 2 * q]!;
        const wq = w & 0x7fffffff;
        if (w >>> 31) escalated++;
        work += wq;
        maxWork = Math.max(maxWork, wq);
        cands += s[at + 2 * q + 1]!;
      }
      return { count: n, fallback: s[0]!, escalated, secondPass: s[1]!, maxWork, meanWork: work / n, meanCandidates: cands / n };
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const b of owned) b.destroy();
    },
  };
}

/** Options of {@link createKnn}. */
export interface KnnKernelOptions {
  /** Positions, `count * dim` f32 row-major (STORAGE). Not destroyed. */
  points: GPUBuffer;
  /** Number of points. */
  count: number;
  /** Dimension, 1..3. */
  dim: number;
  /** Neighbours per point, 1..8 (the point itself excluded). */
  k: number;
  /** Extra factor on the grid's cell side (tuning). Default 1. */
  cellScale?: number;
  /**
   * The grid is rebuilt once a point moved more than `skin` cells since the last build (see
   * {@link GridKernel.encodeUpdate}); 0 rebuilds whenever anything moved. Default GRID_SKIN.
   */
  skin?: number;
  /** Label prefix. Default 'Knn'. */
  label?: string;
}

/** Grid + self search of {@link createKnn}. */
export interface KnnKernel {
  readonly k: number;
  readonly count: number;
  readonly dim: number;
  readonly grid: GridKernel;
  readonly search: NeighborSearch;
  /** count·k u32 neighbour indices (row i: the k nearest other points of i, nearest first). */
  readonly index: GPUBuffer;
  /** count·k f32 distances. */
  readonly distance: GPUBuffer;
  /**
   * Records the grid update (a rebuild only when the points moved more than `skin` cells since
   * the last one, decided on the GPU) and the exact search on the current positions. Never
   * submits, never reads back.
   */
  encode(pass: GPUComputePassEncoder): void;
  /** Grid and search statistics of the last run. Not for the hot loop. */
  diagnostics(): Promise<{ grid: GridDiagnostics; search: SearchDiagnostics }>;
  /** Frees the grid and the search. Idempotent. */
  destroy(): void;
}

/**
 * The k nearest other points of every point of a GPU point set, recomputed by each
 * `encode(pass)` from the buffer's current contents (grid update + exact search), with no
 * readback: the kernel a flow runs every step. The grid is rebuilt only when the points moved
 * more than `skin` cells since its last build; the spacing statistic of a rebuild comes from
 * the previous search's nearest-neighbour distances.
 *
 * @example
 * const knn = await createKnn(device, { points: positions, count: n, dim: 2, k: 1 });
 * // each step:
 * knn.encode(pass);          // knn.index, knn.distance: n·k values, nearest first
 * // on demand:
 * console.log(await knn.diagnostics());
 */
export async function createKnn(device: GPUDevice, options: KnnKernelOptions): Promise<KnnKernel> {
  const label = options.label ?? 'Knn';
  checkK(options.k, label);
  const grid = await createGrid(device, {
    points: options.points, count: options.count, dim: options.dim, k: options.k, cellScale: options.cellScale, skin: options.skin, label: `${label}.grid`,
  });
  let search: NeighborSearch;
  try {
    search = await createNeighborSearch(device, { grid, k: options.k, label: `${label}.search` });
  } catch (e) {
    grid.destroy();
    throw e;
  }
  // Column 0 of the search's distances: each point's nearest other point (0 for duplicates).
  grid.setSpacingHint({ buffer: search.distance, stride: options.k });
  let destroyed = false;
  return {
    k: options.k,
    count: options.count,
    dim: options.dim,
    grid,
    search,
    index: search.index,
    distance: search.distance,
    encode(pass) {
      grid.encodeUpdate(pass);
      search.encode(pass);
    },
    async diagnostics() {
      return { grid: await grid.diagnostics(), search: await search.diagnostics() };
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      search.destroy();
      grid.destroy();
    },
  };
}

/** Options of {@link createReverseNeighbors}. */
export interface ReverseNeighborsOptions {
  /** count·k u32 neighbour indices of a self search (e.g. `KnnKernel.index`). Not destroyed. */
  index: GPUBuffer;
  /** Number of points. */
  count: number;
  /** Neighbours per row of `index`. */
  k: number;
  /** Which neighbour defines the relation, 0-based. Default k − 1 (the k-th neighbour). */
  column?: number;
  /** Label prefix. Default 'ReverseNeighbors'. */
  label?: string;
}

/** Reverse-neighbour lists in CSR form; see {@link createReverseNeighbors}. */
export interface ReverseNeighbors {
  /** count u32: after encode, `ends[j]` is the end of j's range in `list` (it starts at ends[j−1], 0 for j = 0). */
  readonly ends: GPUBuffer;
  /** count u32: the i with n(i) = j, for every j, range by range (order inside a range unspecified). */
  readonly list: GPUBuffer;
  /** Records count, prefix sum and fill. Never submits. */
  encode(pass: GPUComputePassEncoder): void;
  /** Frees what it created. Idempotent. */
  destroy(): void;
}

/**
 * For every point j, the points i whose `column`-th neighbour is j (a counting sort of the
 * pairs (n(i), i) by n(i)): what the reverse sums Σ_{i : n(i) = j} of the entropy and KL
 * gradients run over. O(N) time and memory.
 *
 * @example
 * const rev = await createReverseNeighbors(device, { index: knn.index, count: n, k: 4 });
 * knn.encode(pass);
 * rev.encode(pass);
 */
export async function createReverseNeighbors(device: GPUDevice, options: ReverseNeighborsOptions): Promise<ReverseNeighbors> {
  const label = options.label ?? 'ReverseNeighbors';
  const { count: n, k } = options;
  checkK(k, label);
  const col = options.column ?? k - 1;
  if (!Number.isInteger(col) || col < 0 || col >= k) throw new Error(`wgflow: ${label}: column must be in 0..${k - 1} (got ${col})`);
  if (!Number.isInteger(n) || n < 1) throw new Error(`wgflow: ${label}: count must be a positive integer (got ${n})`);
  const code = neighborsModuleCode();
  const constants = { D: 1, WG: WORKGROUP_SIZE };
  const names = ['rev_clear', 'rev_count', 'rev_fill'] as const;
  const pipes = await Promise.all(names.map((e) => pipeline(device, { label: `Neighbors.${e}`, code: code, entry: e, constants: constants })));
  const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
  const params = createBuffer(device, `${label}.params`, 16, GPUBufferUsage.UNIFORM, new Uint8Array(packStruct(REV_PARAMS_FIELDS, { n, stride: k, col })));
  const ends = createBuffer(device, `${label}.ends`, n * 4, S);
  const list = createBuffer(device, `${label}.list`, n * 4, S);
  const scan = await createScan(device, { data: ends, count: n, label: `${label}.scan` });
  const bgClear = bindGroup(device, `${label}.clear`, pipes[0]!, { 41: ends, 43: params });
  const bgCount = bindGroup(device, `${label}.count`, pipes[1]!, { 40: options.index, 41: ends, 43: params });
  const bgFill = bindGroup(device, `${label}.fill`, pipes[2]!, { 40: options.index, 41: ends, 42: list, 43: params });
  const size = dispatchFor(n);
  let destroyed = false;
  return {
    ends,
    list,
    encode(pass) {
      if (destroyed) throw new Error(`wgflow: ${label} used after destroy()`);
      dispatch(pass, pipes[0]!, bgClear, size);
      dispatch(pass, pipes[1]!, bgCount, size);
      scan.encode(pass);
      dispatch(pass, pipes[2]!, bgFill, size);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      scan.destroy();
      params.destroy();
      ends.destroy();
      list.destroy();
    },
  };
}
