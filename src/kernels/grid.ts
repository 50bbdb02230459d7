/**
 * The GPU uniform grid of shaders/grid.wgsl: a multi-level hashed grid over a point set,
 * rebuilt entirely on the GPU (bounds by reduction, cell size from a robust statistic,
 * counting sort with a multi-level prefix sum), plus the prefix-sum kernel on its own.
 *
 * **How the grid adapts.** The level-0 cell side is `h0 = s25 * cellFactor`, where `s25` is
 * the 25% quantile, over 32 sample points spread through the index range, of each sample's
 * distance to its nearest point at non-zero distance (a brute-force pass of 32·M distance
 * evaluations), and `cellFactor` makes a cell hold about `k` points for uniform data. The
 * origin is the coordinate-wise median of the samples. A bounding box far larger than the
 * typical spacing (a tight cluster plus far outliers) therefore does not inflate the cells,
 * exact duplicates are ignored by the statistic, and points on a line get the line's spacing.
 * Cells are hashed into a table of T = nextPow2(M) buckets (half as many per coarser
 * level), so memory is O(M) whatever the spread. Coarser levels (cell side ×`ratio` per level) let sparse regions and
 * outliers finish their ring search in a few rings; see src/kernels/neighbors.ts for the
 * search and its worst case.
 *
 * **Moving points.** `encode` rebuilds from scratch. `encodeUpdate` is the per-step path for
 * points that move: it copies the current positions into the sorted order, measures how far
 * the points moved since the last build (a ladder of thresholds, no reduction), and rebuilds
 * (every build pass is an indirect dispatch, sized on the GPU) only when some point moved more
 * than `skin` level-0 cells; otherwise the searches lower their distance bounds by the measured
 * displacement bound and stay exact. The spacing statistic can come from a hint (the
 * nearest-neighbour distances of the last search, {@link GridKernel.setSpacingHint}), so a
 * rebuild costs O(M) instead of the 32·M brute force.
 *
 * Memory: (levels·M + 2·T)·4 + 8·d·M bytes, T = nextPow2(M): about 40–50 bytes per point.
 */
import { commonWgsl, gridWgsl } from '../shaders.gen.js';
import { createBuffer, dispatchFor, dispatchSize, readBuffer, WORKGROUP_SIZE } from '../gpu/resources.js';
import { bindGroup, dispatch, pipeline } from '../gpu/pipelines.js';
import { GRID_INFO_BYTES, GRID_PARAMS_FIELDS, MAX_GRID_LEVELS, SCAN_PARAMS_FIELDS, fieldOffset, packStruct } from '../gpu/layout.js';

export { GRID_INFO_BYTES, GRID_PARAMS_FIELDS, MAX_GRID_LEVELS, SCAN_PARAMS_FIELDS };

/** Sample points of the spacing statistic (NSAMPLE of grid.wgsl). */
export const GRID_SAMPLES = 32;
/** Values per thread of the prefix sum (SCAN_ITEMS of grid.wgsl). */
export const SCAN_ITEMS = 16;

/** Per-dimension defaults of the grid and the ring search. */
export interface GridTuning {
  /** Number of levels. */
  levels: number;
  /** Cell side ratio between consecutive levels. */
  ratio: number;
  /** Ring-search work (rows examined + cells visited) allowed per level before going coarser. */
  budget: number;
  /**
   * The same for level 0 alone (a query the level-0 box could not settle). Smaller than
   * `budget` where measured faster: a query in a sparse region (a tail of the distribution)
   * otherwise spends the whole budget on the empty rings of cells that hold about one point.
   * The reach of the coarsest level, hence the worst case, does not depend on it.
   */
  budget0: number;
  /**
   * Cell side in units of the 25% quantile of the nearest-neighbour distance that gives one
   * point per cell for uniform data (1/q where q is that quantile for unit density).
   */
  unitFactor: number;
}

/**
 * Defaults by dimension. unitFactor puts about 1.5^d·k points in a level-0 cell for uniform
 * data in 2D and 3D (1.5× the side that holds k: with the box-first search of
 * shaders/neighbors.wgsl, cellScale 1.5 measured faster than 1 in 2D and 3D on llvmpipe, where
 * a query the 3^d box cannot settle costs a second pass; 1D was flat); ratio, budget and levels
 * give a reach of about ratio^(levels−1)·budget^(1/d) level-0 cells before the brute-force fallback.
 * budget0 (level 0 only): 2D 32 instead of 256 measured the self search (k = 1, Gaussian,
 * N = 1e5 and 1e6, llvmpipe) 0.80–0.83× the time of budget 256, the old and new search
 * alternating in one process; 1D and 3D are unmeasured and keep budget0 = budget.
 */
export const GRID_TUNING: Readonly<Record<1 | 2 | 3, GridTuning>> = {
  1: { levels: 4, ratio: 16, budget: 96, budget0: 96, unitFactor: 6.95 },
  2: { levels: 4, ratio: 8, budget: 256, budget0: 32, unitFactor: 5.0 },
  3: { levels: 5, ratio: 4, budget: 512, budget0: 512, unitFactor: 3.65 },
};

/** u32 words of a grid's motion buffer (MOTION_* of grid.wgsl; bound as a uniform array of 4 vec4u). */
export const GRID_MOTION_WORDS = 16;
/** Word of the motion buffer holding the searches' displacement bound (f32 bits; MOTION_DELTA). */
export const GRID_MOTION_DELTA = 8;
/** Default `skin` of {@link createGrid}: the lazy update rebuilds once a point moved more than this many level-0 cells. */
export const GRID_SKIN = 0.25;


/** Smallest power of two >= n (and >= 64): the level-0 bucket count for n points. */
export function bucketCount(n: number): number {
  let t = 64;
  while (t < n) t *= 2;
  return t;
}

/** Buckets of level l (max(64, T / 2^l)) for a level-0 count T, as grid_setup computes them. */
export function levelBuckets(t: number, level: number): number {
  return Math.max(64, Math.floor(t / 2 ** level));
}

/** Total buckets of all levels. */
export function tableSize(t: number, levels: number): number {
  let total = 0;
  for (let l = 0; l < levels; l++) total += levelBuckets(t, l);
  return total;
}

// ---- prefix sum ---------------------------------------------------------------------------

/** Options of {@link createScan}. */
export interface ScanOptions {
  /** u32 values to scan in place (STORAGE). Not destroyed by the scan. */
  data: GPUBuffer;
  /** Number of values. */
  count: number;
  /** Label prefix. Default 'Scan'. */
  label?: string;
}

/** An in-place exclusive prefix sum over u32 values; see {@link createScan}. */
export interface ScanKernel {
  readonly count: number;
  /** The dispatches `encode` records, in order (for callers that dispatch them indirectly). */
  readonly steps: readonly { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; size: [number, number] }[];
  /** Records the scan passes into `pass`. Never submits. */
  encode(pass: GPUComputePassEncoder): void;
  /** Frees the scratch buffers. Idempotent. */
  destroy(): void;
}

/**
 * An in-place exclusive prefix sum of `count` u32 values (sums wrap modulo 2^32): blocks of
 * 1024 values are scanned in workgroup memory, the block totals are scanned the same way
 * (recursively, so any count works), then added back. Scratch is about count/1000 values.
 *
 * @example
 * const scan = await createScan(device, { data: counts, count: 1 << 20 });
 * const pass = encoder.beginComputePass();
 * scan.encode(pass);
 * pass.end();
 */
export async function createScan(device: GPUDevice, options: ScanOptions): Promise<ScanKernel> {
  const label = options.label ?? 'Scan';
  const n = options.count;
  if (!Number.isInteger(n) || n < 0) throw new Error(`wgflow: ${label}: count must be a non-negative integer (got ${n})`);
  const code = commonWgsl + gridWgsl;
  const constants = { D: 1, WG: WORKGROUP_SIZE };
  const [blockP, addP] = await Promise.all([
    pipeline(device, { label: 'Grid.scan_block', code: code, entry: 'scan_block', constants: constants }),
    pipeline(device, { label: 'Grid.scan_add', code: code, entry: 'scan_add', constants: constants }),
  ]);
  const B = WORKGROUP_SIZE * SCAN_ITEMS;
  const owned: GPUBuffer[] = [];
  const S = GPUBufferUsage.STORAGE;
  // Level i scans data[i] (n[i] values) and writes its block totals to data[i + 1].
  const sizes: number[] = [];
  for (let m = n; ; m = Math.ceil(m / B)) {
    sizes.push(m);
    if (m <= B) break;
  }
  const data: GPUBuffer[] = [options.data];
  for (let i = 1; i <= sizes.length; i++) {
    const b = createBuffer(device, `${label}.sums${i}`, Math.max(1, i < sizes.length ? sizes[i]! : 1) * 4, S);
    owned.push(b);
    data.push(b);
  }
  const steps: { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; size: [number, number] }[] = [];
  const bgs = sizes.map((m, i) => {
    const params = createBuffer(device, `${label}.params${i}`, 16, GPUBufferUsage.UNIFORM, new Uint8Array(packStruct(SCAN_PARAMS_FIELDS, { n: m })));
    owned.push(params);
    const entries = { 10: data[i]!, 11: data[i + 1]!, 12: params };
    return {
      block: bindGroup(device, `${label}.block${i}`, blockP, entries),
      add: bindGroup(device, `${label}.add${i}`, addP, entries),
      size: dispatchSize(Math.max(1, Math.ceil(m / B))),
    };
  });
  if (n > 0) {
    bgs.forEach((g) => steps.push({ pipeline: blockP, bindGroup: g.block, size: g.size }));
    for (let i = bgs.length - 2; i >= 0; i--) steps.push({ pipeline: addP, bindGroup: bgs[i]!.add, size: bgs[i]!.size });
  }
  let destroyed = false;
  return {
    count: n,
    steps,
    encode(pass) {
      if (destroyed) throw new Error(`wgflow: ${label} used after destroy()`);
      for (const s of steps) dispatch(pass, s.pipeline, s.bindGroup, s.size);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const b of owned) b.destroy();
    },
  };
}

// ---- grid -----------------------------------------------------------------------------------

/** Options of {@link createGrid}. */
export interface GridOptions {
  /** The points, `count * dim` f32 row-major (STORAGE). Read at every build and update; not destroyed. */
  points: GPUBuffer;
  /** Number of points M (>= 1). */
  count: number;
  /** Dimension, 1..3. */
  dim: number;
  /** Neighbours the grid mostly serves: the cell is sized to hold about k points. Default 1. */
  k?: number;
  /** Extra factor on the cell side (tuning). Default 1. */
  cellScale?: number;
  /** Number of levels, 1..6. Default {@link GRID_TUNING}[dim].levels. */
  levels?: number;
  /**
   * `encodeUpdate` rebuilds once a point moved more than `skin` level-0 cells since the last
   * build (0: whenever anything moved). Default {@link GRID_SKIN}.
   */
  skin?: number;
  /** Label prefix of every GPU object. Default 'Grid'. */
  label?: string;
}

/** What {@link GridKernel.diagnostics} reports about the last build. */
export interface GridDiagnostics {
  /** Points M. */
  count: number;
  /** Levels and buckets per level (capacity: the table never overflows). */
  levels: number;
  buckets: number;
  /** Bounding box. */
  lo: number[];
  hi: number[];
  /** Robust origin of the cell lattice (median of the samples). */
  origin: number[];
  /** 25% quantile of the samples' nearest non-zero distance (0: none found). */
  spacing: number;
  /** Level-0 cell side, and the ratio between levels. */
  cellSize: number;
  ratio: number;
  /** Level-0 buckets holding at least one point, the largest bucket, and M / occupied. */
  occupiedBuckets: number;
  maxBucket: number;
  meanOccupancy: number;
  /** Points whose level-0 cell coordinate was clamped at ±2^22 cells (they search coarser levels). */
  clampedLevel0: number;
  /** Points clamped at every level (they are answered by the brute-force fallback). */
  clampedAllLevels: number;
  /** Builds done by `encodeUpdate` so far (not counting `encode`). */
  rebuilds: number;
  /** Displacement bound the searches use now (0 right after a build). */
  displacementBound: number;
}

/** A grid over a GPU point set; see {@link createGrid}. */
export interface GridKernel {
  readonly count: number;
  readonly dim: number;
  readonly levels: number;
  /** Buckets of level 0 (a power of two >= count); level l has max(64, buckets / 2^l). */
  readonly buckets: number;
  readonly ratio: number;
  /** The point buffer the grid indexes (not owned). */
  readonly points: GPUBuffer;
  /** `struct GridInfo` (STORAGE | UNIFORM), written by every build. */
  readonly info: GPUBuffer;
  /** All levels' buckets, u32: after a build, the END of each bucket in the sorted arrays. */
  readonly cells: GPUBuffer;
  /** levels·count u32: point indices in bucket order, level after level. */
  readonly sortedIndex: GPUBuffer;
  /** count·dim f32: the level-0 points' current positions in bucket order (refreshed by `encodeUpdate`). */
  readonly sortedPoints: GPUBuffer;
  /**
   * {@link GRID_MOTION_WORDS} u32 (STORAGE | UNIFORM): word {@link GRID_MOTION_DELTA} is the
   * displacement bound (f32) that searches subtract from their distance bounds.
   */
  readonly motion: GPUBuffer;
  /** Records the whole build (bounds, cell size, counting sort) into `pass`. Never submits. */
  encode(pass: GPUComputePassEncoder): void;
  /**
   * Records the per-step update for moving points: refresh the sorted positions, and rebuild
   * (indirect dispatches decided on the GPU) only if some point moved more than `skin` cells
   * or nothing was built yet. Never submits, never reads back.
   */
  encodeUpdate(pass: GPUComputePassEncoder): void;
  /**
   * Uses `hint` (row i's first value: a nearest-neighbour distance of point i, e.g.
   * `KnnKernel.distance` with stride k) for the spacing statistic of later builds; the brute
   * force runs only when fewer than 8 of the 32 sampled values are positive and finite.
   * Omit to go back to the brute force.
   */
  setSpacingHint(hint?: { buffer: GPUBuffer; stride: number }): void;
  /** The steps `encode` records, by name, each recordable alone (for profiling). */
  readonly stages: readonly { name: string; encode(pass: GPUComputePassEncoder): void }[];
  /** Reads the last build's statistics (submit the build first). Not for the hot loop. */
  diagnostics(): Promise<GridDiagnostics>;
  /**
   * Every buffer the grid owns (COPY_SRC | COPY_DST): with the lazy update, the last build
   * (cell size, sorted arrays, the positions it was built at) persists between steps, so a flow
   * checkpoint saves these and restore() writes them back for an exact resume.
   */
  readonly stateBuffers: readonly GPUBuffer[];
  /** Frees what the grid created (not `points`). Idempotent. */
  destroy(): void;
}

/** Bytes of the largest buffer a grid over `count` points needs, and its name (for limit errors). */
export function gridLargestBuffer(count: number, dim: 1 | 2 | 3, levels = GRID_TUNING[dim].levels): { bytes: number; what: string } {
  const t = bucketCount(count);
  const cand = [
    { bytes: tableSize(t, levels) * 4, what: `bucket table (${tableSize(t, levels)} buckets × 4 bytes over ${levels} levels)` },
    { bytes: levels * count * 4, what: `sorted index (${levels} levels × ${count} points × 4 bytes)` },
    { bytes: count * dim * 4, what: `sorted points (${count} points × ${dim * 4} bytes)` },
  ];
  return cand.reduce((a, b) => (b.bytes > a.bytes ? b : a));
}

/**
 * Creates a grid over `count` GPU points. `encode(pass)` records a full rebuild from the current
 * contents of `points`: call it once for a static set (e.g. target samples) that many queries
 * then search with {@link createNeighborSearch}, or use `encodeUpdate(pass)` every step for
 * moving particles (it rebuilds only when they moved far enough). Pipelines and bind groups
 * are built here, once; buffers are sized for `count` once.
 *
 * @example
 * const grid = await createGrid(device, { points: targetBuf, count: M, dim: 2 });
 * const search = await createNeighborSearch(device, { grid, queries: particleBuf, queryCount: N, k: 1 });
 * const enc = device.createCommandEncoder();
 * const pass = enc.beginComputePass();
 * grid.encode(pass);   // once: the targets do not move
 * search.encode(pass); // every step
 * pass.end();
 * device.queue.submit([enc.finish()]);
 */
export async function createGrid(device: GPUDevice, options: GridOptions): Promise<GridKernel> {
  const label = options.label ?? 'Grid';
  const { points, count: m } = options;
  const dim = options.dim as 1 | 2 | 3;
  if (![1, 2, 3].includes(dim)) throw new Error(`wgflow: ${label}: dim must be 1, 2 or 3 (got ${options.dim})`);
  if (!Number.isInteger(m) || m < 1) throw new Error(`wgflow: ${label}: count must be a positive integer (got ${m})`);
  const tune = GRID_TUNING[dim];
  const levels = options.levels ?? tune.levels;
  if (!Number.isInteger(levels) || levels < 1 || levels > MAX_GRID_LEVELS) throw new Error(`wgflow: ${label}: levels must be 1..${MAX_GRID_LEVELS} (got ${levels})`);
  const k = options.k ?? 1;
  const cellScale = options.cellScale ?? 1;
  if (!(cellScale > 0) || !Number.isFinite(cellScale)) throw new Error(`wgflow: ${label}: cellScale must be a positive number (got ${cellScale})`);
  const skin = options.skin ?? GRID_SKIN;
  if (!(skin >= 0) || !Number.isFinite(skin)) throw new Error(`wgflow: ${label}: skin must be a finite number >= 0 (got ${skin})`);
  const t = bucketCount(m);
  const total = tableSize(t, levels);
  if (total >= 2 ** 32 || levels * m >= 2 ** 32) throw new Error(`wgflow: ${label}: ${m} points exceed the u32 indexing of the grid`);
  const cellFactor = tune.unitFactor * Math.pow(Math.max(1, k), 1 / dim) * cellScale;
  const nwgBounds = Math.min(Math.ceil(m / (WORKGROUP_SIZE * 8)), 1024);
  const slices = Math.min(16, Math.max(1, Math.ceil(m / 16384)));

  const code = commonWgsl + gridWgsl;
  const constants = { D: dim, WG: WORKGROUP_SIZE };
  const entries = ['grid_init', 'bounds', 'spacing_plan', 'spacing_sample', 'grid_setup', 'clear_counts', 'count', 'scatter', 'refresh', 'decide'] as const;
  type Entry = (typeof entries)[number];
  const pipes = await Promise.all(entries.map((e) => pipeline(device, { label: `Grid.${e}`, code: code, entry: e, constants: constants })));
  const P = Object.fromEntries(entries.map((e, i) => [e, pipes[i]!])) as Record<Entry, GPUComputePipeline>;

  const S = GPUBufferUsage.STORAGE;
  const CS = GPUBufferUsage.COPY_SRC;
  const owned: GPUBuffer[] = [];
  // Copyable, so that a flow checkpoint can save and restore the grid exactly (stateBuffers).
  const buf = (name: string, size: number, usage: number, data?: ArrayBufferView) => {
    const b = createBuffer(device, `${label}.${name}`, size, usage | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, data);
    owned.push(b);
    return b;
  };
  const info = buf('info', GRID_INFO_BYTES, S | GPUBufferUsage.UNIFORM | CS);
  const red = buf('reductions', (8 + GRID_SAMPLES) * 4, S);
  const samp = buf('samples', GRID_SAMPLES * 3 * 4, S);
  const cells = buf('cells', total * 4, S | CS);
  const sortedIndex = buf('sortedIndex', levels * m * 4, S | CS);
  const sortedPoints = buf('sortedPoints', m * dim * 4, S | CS);
  const buildPoints = buf('buildPoints', m * dim * 4, S);
  const gstats = buf('stats', 16, S | CS);
  const motion = buf('motion', GRID_MOTION_WORDS * 4, S | GPUBufferUsage.UNIFORM | CS);
  const noHint = buf('noHint', 16, S);
  const scan = await createScan(device, { data: cells, count: total, label: `${label}.scan` });

  // Build passes of the lazy update, each an indirect dispatch (slot 0 of the argument
  // buffer is unused; spacing_sample has arguments of its own, set by spacing_plan).
  const sizes = {
    grid_init: [1, 1] as [number, number],
    bounds: [nwgBounds, 1] as [number, number],
    spacing_plan: [1, 1] as [number, number],
    grid_setup: [1, 1] as [number, number],
    clear_counts: dispatchFor(total),
    count: dispatchFor(m),
    scatter: dispatchFor(m),
  };
  const indirect: { pipeline: GPUComputePipeline; bindGroup: () => GPUBindGroup; size: [number, number] }[] = [];
  const passes = 1 + 6 + scan.steps.length + 1;
  const params = buf('params', 4 * GRID_PARAMS_FIELDS.length, GPUBufferUsage.UNIFORM, new Uint8Array(packStruct(GRID_PARAMS_FIELDS, {
    m, t, levels, nwg_bounds: nwgBounds, ratio: tune.ratio, cell_factor: cellFactor, total, slices, hint_stride: 0, skin, passes,
  })));
  const rargs = buf('buildArgs', passes * 12, S | GPUBufferUsage.INDIRECT);
  const rsizes = buf('buildSizes', passes * 8, S | GPUBufferUsage.COPY_DST);
  const sargs = buf('spacingArgs', 12, S | GPUBufferUsage.INDIRECT);

  const all = { 0: points, 1: params, 2: info, 3: red, 4: samp, 5: cells, 6: sortedIndex, 7: sortedPoints, 8: gstats, 9: motion, 13: buildPoints, 14: noHint, 15: rargs, 16: rsizes, 17: sargs };
  // 'auto' layouts hold only the bindings an entry point uses.
  const uses: Record<Entry, number[]> = {
    grid_init: [3, 8],
    bounds: [0, 1, 3],
    spacing_plan: [0, 1, 3, 4, 14, 17],
    spacing_sample: [0, 1, 3],
    grid_setup: [1, 2, 3, 4, 9],
    clear_counts: [1, 5],
    count: [0, 1, 2, 5, 8],
    scatter: [0, 1, 2, 5, 6, 7, 13],
    refresh: [0, 1, 2, 6, 7, 9, 13],
    decide: [1, 2, 9, 15, 16, 17],
  };
  const makeBg = (e: Entry, over: Record<number, GPUBuffer> = {}) => bindGroup(device, `${label}.${e}`, P[e],
    Object.fromEntries(uses[e].map((b) => [b, over[b] ?? all[b as keyof typeof all]])));
  const bg = Object.fromEntries(entries.map((e) => [e, makeBg(e)])) as Record<Entry, GPUBindGroup>;

  const order: Entry[] = ['grid_init', 'bounds', 'spacing_plan', 'grid_setup', 'clear_counts', 'count'];
  for (const e of order) indirect.push({ pipeline: P[e], bindGroup: () => bg[e], size: sizes[e as keyof typeof sizes] });
  for (const st of scan.steps) indirect.push({ pipeline: st.pipeline, bindGroup: () => st.bindGroup, size: st.size });
  indirect.push({ pipeline: P.scatter, bindGroup: () => bg.scatter, size: sizes.scatter });
  const sz = new Uint32Array(passes * 2);
  indirect.forEach((d, i) => { sz[2 * (i + 1)] = d.size[0]; sz[2 * (i + 1) + 1] = d.size[1]; });
  device.queue.writeBuffer(rsizes, 0, sz);

  const spacingSample = (p: GPUComputePassEncoder) => {
    p.setPipeline(P.spacing_sample);
    p.setBindGroup(0, bg.spacing_sample);
    p.dispatchWorkgroupsIndirect(sargs, 0);
  };
  const stages: { name: string; encode(pass: GPUComputePassEncoder): void }[] = [
    { name: 'bounds', encode: (p) => { dispatch(p, P.grid_init, bg.grid_init, [1, 1]); dispatch(p, P.bounds, bg.bounds, sizes.bounds); } },
    { name: 'spacing', encode: (p) => { dispatch(p, P.spacing_plan, bg.spacing_plan, [1, 1]); spacingSample(p); dispatch(p, P.grid_setup, bg.grid_setup, [1, 1]); } },
    { name: 'clear', encode: (p) => dispatch(p, P.clear_counts, bg.clear_counts, sizes.clear_counts) },
    { name: 'count', encode: (p) => dispatch(p, P.count, bg.count, sizes.count) },
    { name: 'scan', encode: (p) => scan.encode(p) },
    { name: 'scatter', encode: (p) => dispatch(p, P.scatter, bg.scatter, sizes.scatter) },
  ];
  let destroyed = false;
  const alive = () => {
    if (destroyed) throw new Error(`wgflow: ${label} used after destroy()`);
  };
  const grid: GridKernel = {
    count: m,
    dim,
    levels,
    buckets: t,
    ratio: tune.ratio,
    points,
    info,
    cells,
    sortedIndex,
    sortedPoints,
    motion,
    stages,
    encode(pass) {
      alive();
      for (const s of stages) s.encode(pass);
    },
    encodeUpdate(pass) {
      alive();
      dispatch(pass, P.refresh, bg.refresh, dispatchFor(m));
      dispatch(pass, P.decide, bg.decide, [1, 1]);
      indirect.forEach((d, i) => {
        pass.setPipeline(d.pipeline);
        pass.setBindGroup(0, d.bindGroup());
        pass.dispatchWorkgroupsIndirect(rargs, 12 * (i + 1));
        if (i === 2) spacingSample(pass); // after spacing_plan
      });
    },
    setSpacingHint(hint) {
      alive();
      if (hint && (!Number.isInteger(hint.stride) || hint.stride < 1)) throw new Error(`wgflow: ${label}: spacing hint stride must be a positive integer (got ${hint.stride})`);
      bg.spacing_plan = makeBg('spacing_plan', { 14: hint?.buffer ?? noHint });
      device.queue.writeBuffer(params, fieldOffset(GRID_PARAMS_FIELDS, 'hint_stride'), new Uint32Array([hint ? hint.stride : 0]));
    },
    stateBuffers: owned,
    async diagnostics() {
      const [ib, sb, mb] = [await readBuffer(device, info, GRID_INFO_BYTES), await readBuffer(device, gstats, 16), await readBuffer(device, motion, GRID_MOTION_WORDS * 4)];
      const f = new Float32Array(ib);
      const s = new Uint32Array(sb);
      const mo = new Uint32Array(mb);
      const vec = (at: number) => Array.from(f.subarray(at, at + dim));
      return {
        count: m,
        levels,
        buckets: t,
        lo: vec(0),
        hi: vec(4),
        origin: vec(8),
        spacing: f[12]!,
        cellSize: f[13]!,
        ratio: tune.ratio,
        occupiedBuckets: s[0]!,
        maxBucket: s[1]!,
        meanOccupancy: s[0]! > 0 ? m / s[0]! : 0,
        clampedLevel0: s[2]!,
        clampedAllLevels: s[3]!,
        rebuilds: mo[10]!,
        displacementBound: new Float32Array(mb)[GRID_MOTION_DELTA]!,
      };
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      scan.destroy();
      for (const b of owned) b.destroy();
    },
  };
  return grid;
}
