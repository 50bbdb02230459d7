/**
 * Checkpoint files of `wgflow run` (`--checkpoint-every K`, Ctrl-C) and `wgflow resume`: the
 * whole state of a run, so that a resumed run repeats the uninterrupted one bit for bit on the
 * same adapter.
 *
 * File layout (UTF-8):
 *
 *     wgflow-checkpoint <format version>\n
 *     {"sha256":"<hex of the payload bytes>","bytes":<payload length>}\n
 *     <payload: JSON, see {@link CheckpointPayload}>
 *
 * The payload holds the run configuration (after the command-line flags), the run's total, the
 * adapter, the finished flows' recorded rows and snapshots, and for the flow in progress its
 * recorded rows, its positions, velocities and the raw GPU State struct (step, h, α, RNG
 * counter, damping, FIRE power and restarts, last energy; base64 of the exact bytes, with the
 * decoded fields beside them for people), the kernel terms' persistent buffers (the lazy
 * neighbour grid of an entropy or KL term: its last build), and each energy term's weight and
 * annealing progress. Writes are atomic: a temporary file in the same folder, fsync, rename, fsync of the
 * folder. Reading checks the magic line, the format version, the length (truncation), the
 * SHA-256 checksum (corruption) and the payload's shape before anything runs.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { parseConfig, type RunConfig } from './config.js';

/** The format version this wgflow writes and reads. */
export const CHECKPOINT_VERSION = 1;
const MAGIC = 'wgflow-checkpoint';

/** One recorded row of a flow (every `every` steps, and the last step). */
export interface Row {
  step: number;
  energy: number;
  residual: number;
  kinetic: number;
  h: number;
  /** Energy of each term, by label. */
  terms: Record<string, number>;
}

/** The record of one flow of a run: rows, snapshots and timing. */
export interface FlowRecord {
  label: string;
  method: string;
  rows: Row[];
  /** Positions at the snapshot steps (and the last step). */
  snapshots: { step: number; positions: Float32Array }[];
  /** Wall time of the stepping, ms (not part of the bitwise comparison). */
  stepMs: number;
  /** Final diagnostics, once the flow has finished. */
  final?: Record<string, unknown>;
}

/** The flow in progress: its state for `flow.restore()`, and its terms' weights. */
export interface FlowState {
  dim: number;
  n: number;
  method: string;
  positions: Float32Array;
  velocities: Float32Array;
  /** Raw bytes of the GPU State struct. */
  state: Uint8Array;
  /** The kernel terms' persistent GPU buffers (the lazy neighbour grids), as flow.checkpoint() read them. */
  kernels: Uint8Array[];
  /** The State fields decoded (for people and messages; `state` is what is restored). */
  stateFields: Record<string, number>;
  /** Current weight of every energy term, in config order. */
  weights: number[];
  /** Annealing progress u ∈ [0, 1] of every term with a schedule, by term index. */
  anneal: { term: number; progress: number }[];
}

/** Everything a checkpoint file holds. */
export interface CheckpointPayload {
  config: RunConfig;
  /** Steps of every flow (the run's total). */
  total: number;
  /** Checkpoint interval in steps (0: only on a signal). */
  checkpointEvery: number;
  /** Output folder of the run (absolute). */
  out: string;
  adapter: { summary: string; info: Record<string, string> };
  /** Why it was written: 'interval', 'SIGINT', 'SIGTERM'. */
  reason: string;
  createdAt: string;
  /** Index in config.runs of the flow in progress (= runs.length when all are done). */
  runIndex: number;
  /** Records of the finished flows. */
  completed: FlowRecord[];
  /** The flow in progress (absent between flows). */
  current?: { record: FlowRecord; flow: FlowState };
  /** Wall time of the run so far, ms. */
  wallMs: number;
}

function b64(a: ArrayBufferView): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function fromB64(s: string, what: string, bytes?: number): Uint8Array {
  const buf = Buffer.from(s, 'base64');
  if (bytes === undefined) bytes = buf.byteLength;
  if (buf.byteLength !== bytes) throw new Error(`${what} has ${buf.byteLength} bytes, expected ${bytes}`);
  const out = new Uint8Array(bytes);
  out.set(buf);
  return out;
}

function f32(s: string, what: string, count: number): Float32Array {
  return new Float32Array(fromB64(s, what, count * 4).buffer);
}

function recordJson(r: FlowRecord) {
  return { ...r, snapshots: r.snapshots.map((s) => ({ step: s.step, positions: b64(s.positions) })) };
}

/**
 * The payload as JSON text (typed arrays as base64 of their little-endian bytes).
 *
 * @example
 * const text = payloadText(payload); // JSON, arrays as base64
 */
export function payloadText(p: CheckpointPayload): string {
  return JSON.stringify({
    ...p,
    completed: p.completed.map(recordJson),
    current: p.current && {
      record: recordJson(p.current.record),
      flow: {
        ...p.current.flow, positions: b64(p.current.flow.positions), velocities: b64(p.current.flow.velocities), state: b64(p.current.flow.state),
        kernels: p.current.flow.kernels.map(b64),
      },
    },
  });
}

/**
 * The file's bytes: magic line, header with length and checksum, payload.
 *
 * @example
 * await writeFile('x.wgflow', checkpointBytes(payload)); // not atomic: use writeCheckpoint
 */
export function checkpointBytes(p: CheckpointPayload): Buffer {
  const payload = Buffer.from(payloadText(p), 'utf8');
  const sha256 = createHash('sha256').update(payload).digest('hex');
  return Buffer.concat([Buffer.from(`${MAGIC} ${CHECKPOINT_VERSION}\n${JSON.stringify({ sha256, bytes: payload.byteLength })}\n`, 'utf8'), payload]);
}

/**
 * Writes a checkpoint atomically: `<path>.tmp` in the same folder, fsync, rename over `path`,
 * fsync of the folder. A crash leaves the previous checkpoint or the new one, never a mix.
 *
 * @example
 * await writeCheckpoint('out/q/checkpoint.wgflow', payload);
 */
export async function writeCheckpoint(path: string, p: CheckpointPayload): Promise<void> {
  const bytes = checkpointBytes(p);
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  try {
    const dir = await open(dirname(path), 'r');
    try { await dir.sync(); } finally { await dir.close(); }
  } catch {
    // Some file systems cannot fsync a directory; the rename itself is atomic.
  }
}

const num = z.number();
const ROW = z.strictObject({ step: z.number().int().min(0), energy: num, residual: num, kinetic: num, h: num, terms: z.record(z.string(), num) });
const RECORD = z.strictObject({
  label: z.string(), method: z.string(), rows: z.array(ROW), stepMs: num,
  snapshots: z.array(z.strictObject({ step: z.number().int().min(0), positions: z.string() })),
  final: z.record(z.string(), z.unknown()).optional(),
});
const PAYLOAD = z.strictObject({
  config: z.unknown(),
  total: z.number().int().min(1),
  checkpointEvery: z.number().int().min(0),
  out: z.string(),
  adapter: z.strictObject({ summary: z.string(), info: z.record(z.string(), z.string()) }),
  reason: z.string(),
  createdAt: z.string(),
  runIndex: z.number().int().min(0),
  completed: z.array(RECORD),
  current: z.strictObject({
    record: RECORD,
    flow: z.strictObject({
      dim: z.number().int(), n: z.number().int(), method: z.string(),
      positions: z.string(), velocities: z.string(), state: z.string(), kernels: z.array(z.string()),
      stateFields: z.record(z.string(), num),
      weights: z.array(num),
      anneal: z.array(z.strictObject({ term: z.number().int().min(0), progress: num })),
    }),
  }).optional(),
  wallMs: num,
});

/**
 * Reads and checks a checkpoint file; throws `wgflow: resume: <path>: <what is wrong>; <what
 * to do>` for a file that is missing, not a checkpoint, of another format version, truncated,
 * corrupt (checksum), or whose contents do not fit its configuration (dim, N, arrays). The
 * size of the State bytes is checked by `flow.restore()`.
 *
 * @example
 * const cp = await readCheckpoint('out/q/checkpoint.wgflow'); // cp.current?.flow.stateFields.step
 */
export async function readCheckpoint(path: string): Promise<CheckpointPayload> {
  const bad = (what: string, fix = 'start the run again or resume from another checkpoint'): never => {
    throw new Error(`wgflow: resume: ${path}: ${what}; ${fix}`);
  };
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    return bad(`cannot read the checkpoint (${(e as Error).message})`, 'give the path that `wgflow run` printed');
  }
  const nl1 = bytes.indexOf(10);
  const magic = (nl1 < 0 ? bytes : bytes.subarray(0, nl1)).toString('utf8');
  const m = /^wgflow-checkpoint (\d+)$/.exec(magic);
  if (!m) bad(`not a wgflow checkpoint (its first line is not '${MAGIC} <version>')`, 'give a file written by `wgflow run --checkpoint-every` or by Ctrl-C');
  const version = Number(m![1]);
  if (version !== CHECKPOINT_VERSION) bad(`checkpoint format version ${version}; this wgflow reads version ${CHECKPOINT_VERSION}`, 'resume it with the wgflow version that wrote it');
  const nl2 = bytes.indexOf(10, nl1 + 1);
  if (nl2 < 0) bad('truncated: the header line is incomplete');
  let header: { sha256?: unknown; bytes?: unknown };
  try {
    header = JSON.parse(bytes.subarray(nl1 + 1, nl2).toString('utf8')) as typeof header;
  } catch {
    return bad('corrupt header (not JSON)');
  }
  if (typeof header.sha256 !== 'string' || typeof header.bytes !== 'number') bad('corrupt header (needs sha256 and bytes)');
  const payload = bytes.subarray(nl2 + 1);
  if (payload.byteLength < (header.bytes as number)) bad(`truncated: ${payload.byteLength} of ${header.bytes} payload bytes`);
  if (payload.byteLength > (header.bytes as number)) bad(`corrupt: ${payload.byteLength - (header.bytes as number)} bytes after the payload`);
  const sha = createHash('sha256').update(payload).digest('hex');
  if (sha !== header.sha256) bad(`corrupt: the SHA-256 checksum of the payload is ${sha.slice(0, 12)}…, the header says ${(header.sha256 as string).slice(0, 12)}…`);
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString('utf8'));
  } catch {
    return bad('corrupt payload (not JSON)');
  }
  const parsed = PAYLOAD.safeParse(raw);
  if (!parsed.success) bad(`malformed payload: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  const p = parsed.data!;
  let config: RunConfig;
  try {
    config = parseConfig(p.config, `${path} (its config)`);
  } catch (e) {
    return bad((e as Error).message.replace(/^wgflow: /, ''));
  }
  const n = config.n, dim = config.dim;
  const decode = (r: z.infer<typeof RECORD>, where: string): FlowRecord => ({
    ...r,
    snapshots: r.snapshots.map((s) => ({ step: s.step, positions: f32(s.positions, `${where} snapshot at step ${s.step}`, n * dim) })),
  });
  if (p.runIndex > config.runs.length) bad(`malformed payload: runIndex ${p.runIndex} but the config has ${config.runs.length} flows`);
  if (p.completed.length !== p.runIndex) bad(`malformed payload: ${p.completed.length} finished flows but runIndex ${p.runIndex}`);
  let current: CheckpointPayload['current'];
  if (p.current) {
    const f = p.current.flow;
    const run = config.runs[p.runIndex];
    if (!run) bad(`malformed payload: a flow in progress at index ${p.runIndex}, past the config's ${config.runs.length} flows`);
    if (f.dim !== dim || f.n !== n) bad(`mismatched: the flow state is for dim = ${f.dim}, N = ${f.n}, the config says dim = ${dim}, N = ${n}`);
    if (f.method !== run!.method) bad(`mismatched: the flow state is for method ${f.method}, the config's flow ${run!.label} is ${run!.method}`);
    if (f.weights.length !== config.energy.length) bad(`mismatched: ${f.weights.length} term weights for ${config.energy.length} energy terms`);
    try {
      current = {
        record: decode(p.current.record, run!.label),
        flow: {
          ...f,
          positions: f32(f.positions, 'positions', n * dim),
          velocities: f32(f.velocities, 'velocities', n * dim),
          state: fromB64(f.state, 'the State struct'),
          kernels: f.kernels.map((k, j) => fromB64(k, `kernel buffer ${j}`)),
        },
      };
    } catch (e) {
      return bad(`mismatched: ${(e as Error).message} (N = ${n}, dim = ${dim})`);
    }
  }
  let completed: FlowRecord[];
  try {
    completed = p.completed.map((r, j) => decode(r, config.runs[j]?.label ?? `flow ${j}`));
  } catch (e) {
    return bad(`mismatched: ${(e as Error).message} (N = ${n}, dim = ${dim})`);
  }
  return { ...p, config, completed, current };
}
