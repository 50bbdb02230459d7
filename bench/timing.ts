/**
 * GPU timing for the benchmark harness, browser-safe (no Node module): the median, and a
 * timer that measures one compute pass recorded by a caller, by timestamp queries when the
 * device has 'timestamp-query' and always by wall clock around submit → readback (a queue
 * drain). bench/util.ts re-exports {@link median} for the Node drivers.
 *
 * @example
 * const timer = createPassTimer(device);
 * const t = await timer.time((pass) => flow.encodeSteps(pass, 10));   // { wallMs, gpuMs? }
 * timer.destroy();
 */

/**
 * The median (the mean of the two middle values for an even count; NaN when empty).
 *
 * @example median([3, 1, 2]); // 2
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k]! : 0.5 * (s[k - 1]! + s[k]!);
}

/** One timed pass: wall time of submit → readback (ms), and the GPU time between the pass's timestamps (ms) when available and positive. */
export interface PassTime {
  wallMs: number;
  gpuMs?: number;
}

/** Times compute passes on one device; see {@link createPassTimer}. */
export interface PassTimer {
  /** True when the device has 'timestamp-query' (the pass gets beginning/end timestamps). */
  readonly timestamps: boolean;
  /** Records `encode` into one compute pass, submits it and waits for it (a 16-byte readback). */
  time(encode: (pass: GPUComputePassEncoder) => void): Promise<PassTime>;
  /** Frees the query set and the buffers. */
  destroy(): void;
}

/**
 * A timer for compute passes on `device`. Every pass ends with a 16-byte readback, so
 * `wallMs` covers submit, execution and the drain of the queue; with timestamp queries,
 * `gpuMs` is the span between the pass's first and last timestamp (adapters may quantise it;
 * a zero or negative span, e.g. from a wrapped counter, is left out).
 */
export function createPassTimer(device: GPUDevice): PassTimer {
  const timestamps = device.features.has('timestamp-query');
  const qs = timestamps ? device.createQuerySet({ label: 'Bench.timestamps', type: 'timestamp', count: 2 }) : undefined;
  const resolve = timestamps ? device.createBuffer({ label: 'Bench.resolve', size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }) : undefined;
  const marker = device.createBuffer({ label: 'Bench.marker', size: 16, usage: GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ label: 'Bench.read', size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  return {
    timestamps,
    async time(encode) {
      const t0 = performance.now();
      const enc = device.createCommandEncoder({ label: 'Bench.pass' });
      const pass = enc.beginComputePass(qs
        ? { label: 'Bench.pass', timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } }
        : { label: 'Bench.pass' });
      encode(pass);
      pass.end();
      if (qs && resolve) {
        enc.resolveQuerySet(qs, 0, 2, resolve, 0);
        enc.copyBufferToBuffer(resolve, 0, read, 0, 16);
      } else {
        enc.copyBufferToBuffer(marker, 0, read, 0, 16);
      }
      device.queue.submit([enc.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const words = new BigInt64Array(read.getMappedRange().slice(0));
      read.unmap();
      const wallMs = performance.now() - t0;
      if (!qs) return { wallMs };
      const span = Number(words[1]! - words[0]!) / 1e6;
      return span > 0 ? { wallMs, gpuMs: span } : { wallMs };
    },
    destroy() {
      qs?.destroy();
      resolve?.destroy();
      marker.destroy();
      read.destroy();
    },
  };
}

/** Records `encode` `reps` times into one pass, submits, drains the queue: ms per repetition. */
export async function drainMs(device: GPUDevice, encode: (pass: GPUComputePassEncoder) => void, reps: number): Promise<number> {
  const t0 = performance.now();
  const enc = device.createCommandEncoder({ label: 'Bench.drain' });
  const pass = enc.beginComputePass({ label: 'Bench.drain' });
  for (let r = 0; r < reps; r++) encode(pass);
  pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / reps;
}

/** One warm-up drain, then the median of `runs` drains of `reps` repetitions (ms per repetition). */
export async function medianDrainMs(device: GPUDevice, encode: (pass: GPUComputePassEncoder) => void, reps: number, runs: number): Promise<number> {
  await drainMs(device, encode, 1);
  const t: number[] = [];
  for (let r = 0; r < runs; r++) t.push(await drainMs(device, encode, reps));
  return median(t);
}
