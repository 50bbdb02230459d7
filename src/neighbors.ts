/**
 * Exact k-nearest-neighbour search on the GPU, as a one-shot function ({@link nearestNeighbors})
 * and as kernels that record into a flow's compute pass every step with no readback
 * ({@link createKnn}, and {@link createGrid} + {@link createNeighborSearch} for queries against
 * a static point set).
 */
import { createBuffer, maxBindingBytes, readBuffer, withErrorScopes, writeView } from './gpu/resources.js';
import { createGrid, gridLargestBuffer, GRID_TUNING } from './kernels/grid.js';
import { createKnn, createNeighborSearch, MAX_K, NO_NEIGHBOR } from './kernels/neighbors.js';

export { createGrid, createScan, type GridKernel, type GridOptions, type GridDiagnostics, type ScanKernel, type ScanOptions } from './kernels/grid.js';
export {
  createKnn, createNeighborSearch, createReverseNeighbors, MAX_K, NO_NEIGHBOR,
  type KnnKernel, type KnnKernelOptions, type NeighborSearch, type NeighborSearchOptions, type SearchDiagnostics,
  type ReverseNeighbors, type ReverseNeighborsOptions,
} from './kernels/neighbors.js';

/** Options of {@link nearestNeighbors}. */
export interface NearestNeighborsOptions {
  /** Dimension of the points, 1..3. */
  dim: number;
  /** Neighbours per query, 1..8. */
  k: number;
  /**
   * Query points (nq·dim values). When given, each query gets its k nearest `points` (no
   * exclusion). When omitted, the queries are the points themselves and each gets its k
   * nearest *other* points.
   */
  queries?: Float32Array;
}

/** Result of {@link nearestNeighbors}: row q (k entries) holds query q's neighbours, nearest first. */
export interface NearestNeighborsResult {
  /** nq·k point indices; {@link NO_NEIGHBOR} (0xFFFFFFFF) where fewer than k candidates exist. */
  index: Uint32Array;
  /** nq·k Euclidean distances (f32, computed from the f32 coordinates); +Infinity where missing. */
  distance: Float32Array;
}

function fail(msg: string): never {
  throw new Error(`wgflow: nearestNeighbors: ${msg}`);
}

function checkCloud(x: Float32Array, dim: number, what: string): number {
  if (!(x instanceof Float32Array)) fail(`${what} must be a Float32Array`);
  if (x.length % dim !== 0) fail(`${what} length ${x.length} is not a multiple of dim = ${dim}`);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) fail(`${what}[${i}] = ${x[i]} (coordinate ${i % dim} of point ${Math.floor(i / dim)}) is not finite`);
  }
  return x.length / dim;
}

/**
 * The exact k nearest neighbours of N points (or of separate queries) on the GPU: a grid is
 * built on the GPU, searched ring by ring, and the result read back once. The result equals
 * brute force in f32 arithmetic: row i lists the k smallest (distance, index) pairs, so among
 * exactly equal distances the lower index comes first (except between several points at
 * distance 0, where any k of them may be returned). With N = 1 (or fewer than k + 1 points)
 * the missing entries are index 0xFFFFFFFF and distance +Infinity; never NaN.
 *
 * Throws an Error for dim not in 1..3, k not in 1..8, a length that is not a multiple of dim,
 * NaN or ±Infinity coordinates, or a point count whose grid exceeds the device's buffer limits
 * (the message names the buffer and the limit).
 *
 * For per-step use inside a flow, use {@link createKnn}: it records into your compute pass and
 * never reads back.
 *
 * @example
 * const { device } = await getDevice();
 * const pts = new Float32Array([0, 0, 1, 0, 0, 2, 5, 5]);         // 4 points in 2D
 * const { index, distance } = await nearestNeighbors(device, pts, { dim: 2, k: 2 });
 * // row 0: index [1, 2], distance [1, 2]
 * @example
 * // Nearest target sample of each particle (queries against a fixed set).
 * const { index } = await nearestNeighbors(device, samples, { dim: 2, k: 1, queries: particles });
 */
export async function nearestNeighbors(device: GPUDevice, points: Float32Array, options: NearestNeighborsOptions): Promise<NearestNeighborsResult> {
  if (!options || typeof options !== 'object') fail('options { dim, k } are required');
  const { dim, k, queries } = options;
  if (!Number.isInteger(dim) || dim < 1 || dim > 3) fail(`dim must be 1, 2 or 3 (got ${dim})`);
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) fail(`k must be an integer in 1..${MAX_K} (got ${k})`);
  const m = checkCloud(points, dim, 'points');
  const nq = queries ? checkCloud(queries, dim, 'queries') : m;
  if (nq === 0) return { index: new Uint32Array(0), distance: new Float32Array(0) };
  if (m === 0) return { index: new Uint32Array(nq * k).fill(NO_NEIGHBOR), distance: new Float32Array(nq * k).fill(Infinity) };
  const limit = maxBindingBytes(device);
  const big = gridLargestBuffer(m, dim as 1 | 2 | 3, GRID_TUNING[dim as 1 | 2 | 3].levels);
  if (big.bytes > limit) fail(`N = ${m} points need a ${big.bytes}-byte ${big.what}, over this device's storage buffer limit of ${limit} bytes (min(maxStorageBufferBindingSize, maxBufferSize))`);
  if (nq * k * 4 > limit) fail(`${nq} queries × k = ${k} need a ${nq * k * 4}-byte output buffer, over this device's storage buffer limit of ${limit} bytes`);
  if (m * dim * 4 > limit || nq * dim * 4 > limit) fail(`the coordinates exceed this device's storage buffer limit of ${limit} bytes`);

  return withErrorScopes(device, 'nearestNeighbors', async () => {
    const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
    const pBuf = createBuffer(device, 'nearestNeighbors.points', points.byteLength, S);
    writeView(device, pBuf, 0, points);
    const qBuf = queries ? createBuffer(device, 'nearestNeighbors.queries', queries.byteLength, S) : undefined;
    if (qBuf) writeView(device, qBuf, 0, queries!);
    const kernels: { encode(p: GPUComputePassEncoder): void; destroy(): void }[] = [];
    try {
      let index: GPUBuffer;
      let distance: GPUBuffer;
      if (qBuf) {
        const grid = await createGrid(device, { points: pBuf, count: m, dim, k, label: 'nearestNeighbors.grid' });
        kernels.push(grid);
        const search = await createNeighborSearch(device, { grid, k, queries: qBuf, queryCount: nq, label: 'nearestNeighbors.search' });
        kernels.push(search);
        ({ index, distance } = search);
      } else {
        const knn = await createKnn(device, { points: pBuf, count: m, dim, k, label: 'nearestNeighbors.knn' });
        kernels.push(knn);
        ({ index, distance } = knn);
      }
      const enc = device.createCommandEncoder({ label: 'nearestNeighbors' });
      const pass = enc.beginComputePass({ label: 'nearestNeighbors' });
      for (const kn of kernels) kn.encode(pass);
      pass.end();
      device.queue.submit([enc.finish()]);
      const [ib, db] = await Promise.all([readBuffer(device, index, nq * k * 4), readBuffer(device, distance, nq * k * 4)]);
      return { index: new Uint32Array(ib), distance: new Float32Array(db) };
    } finally {
      for (const kn of kernels.reverse()) kn.destroy();
      pBuf.destroy();
      qBuf?.destroy();
    }
  });
}
