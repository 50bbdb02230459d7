/**
 * `wgflow run` and `wgflow resume`: every flow of a run configuration (app/config.ts) for
 * `total` steps, one after the other from the same start, headless, with a progress display
 * (step, energy, steps/s, time left), checkpoints (app/checkpoint.ts) and the outputs:
 *
 * - `energy.csv` and `energy.json`: step, energy, residual ⟨|g|²⟩, kinetic energy, h and each
 *   term's energy of every flow, every `every` steps and at the last step;
 * - `energy.svg` (energy against iteration; energy − fMin on a log axis when fMin is known) and
 *   `residual.svg`;
 * - `snapshots.png` and `.svg`: per flow the particles at the config's snapshot steps and at the
 *   end, with axes (dim 3: the (x, y) projection; dim 1: on a line);
 * - `summary.json`: the adapter, the parameters (the config, the total, the intervals), the
 *   timings and `final`, per flow the final diagnostics (flow.stats(), flow.diagnostics(),
 *   and the preset's float64 check where it has one).
 *
 * A resumed run repeats the uninterrupted one bit for bit (positions, CSV and JSON rows): the
 * flow state is restored exactly (flow.restore), the steps are cut at the same places (multiples
 * of `every`, of the checkpoint interval, and the total), and annealed weights depend on the
 * step alone. A non-finite energy or position stops the run naming the step; a device loss
 * stops it with the last checkpoint named; SIGINT / SIGTERM write a checkpoint and stop.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createFlow, type Flow, type FlowStats } from '../src/index.js';
import { buildEnergy, configPositions, termWeightAt, type RunConfig, type RunSpec } from './config.js';
import { writeCheckpoint, type CheckpointPayload, type FlowRecord, type FlowState, type Row } from './checkpoint.js';
import { csvString, lineChartSvg } from './plot.js';
import { figurePng, figureSvg, snapshotGrid } from './figure.js';
import { createProgress, type Progress } from './progress.js';

/** Exit code of a run stopped by SIGINT (128 + 2). */
export const EXIT_SIGINT = 130;
/** Exit code of a run stopped by SIGTERM (128 + 15). */
export const EXIT_SIGTERM = 143;
/** Exit code of a run stopped by a blow-up (non-finite energy or position). */
export const EXIT_BLOWUP = 3;
/** Exit code of a run stopped by the loss of the GPU device. */
export const EXIT_DEVICE_LOST = 4;

/**
 * An error that ends the command with a given exit code (the CLI prints its message).
 *
 * @example
 * try { await runConfig(config, o); } catch (e) { if (e instanceof RunStop) process.exitCode = e.exitCode; }
 */
export class RunStop extends Error {
  constructor(message: string, readonly exitCode: number, readonly checkpoint?: string) {
    super(message);
    this.name = 'RunStop';
  }
}

/** Options of {@link runConfig}. */
export interface RunConfigOptions {
  device: GPUDevice;
  /** Adapter summary and identity, written to the checkpoints and the summary. */
  adapter: { summary: string; info: Record<string, string> };
  /** Output folder (created). */
  out: string;
  /** Steps of every flow. Default config.steps. */
  total?: number;
  /** Write a checkpoint every this many steps of a flow (0: only on SIGINT / SIGTERM). */
  checkpointEvery: number;
  /** The checkpoint file. Default `<out>/checkpoint.wgflow`. */
  checkpointPath?: string;
  /** A checkpoint to continue from (wgflow resume). */
  resume?: CheckpointPayload;
  /** Extra float64 figures of the final positions (the preset's finalCheck). */
  finalCheck?: (x: Float32Array) => Record<string, number>;
  /** Stop on SIGINT / SIGTERM with a checkpoint (the command line). Default false. */
  signals?: boolean;
  /** Progress display. Default a rate-showing one on stderr. */
  progress?: Progress;
  /** Lines for people. Default console.log. */
  log?: (line: string) => void;
  /** Test hook: destroy the device once the flow in progress reaches this step (env WGFLOW_TEST_LOSE_DEVICE_AT). */
  loseDeviceAt?: number;
  /** Test hook: stop as if SIGINT arrived once the flow in progress reaches this step. */
  interruptAt?: number;
}

/** What {@link runConfig} returns. */
export interface RunResult {
  records: FlowRecord[];
  files: string[];
  wallMs: number;
  checkpoint?: string;
}

const nextMultiple = (s: number, k: number) => (Math.floor(s / k) + 1) * k;

/** Most steps of one flow.step() call of the run loop. */
const MAX_CHUNK = 256;

function rowOf(s: FlowStats): Row {
  return { step: s.step, energy: s.energy, residual: s.residual, kinetic: s.kinetic, h: s.h, terms: { ...s.terms } };
}

/** createFlow's options of one flow of the config. */
function flowOptions(config: RunConfig, run: RunSpec, x0: Float32Array) {
  return {
    dim: config.dim, positions: x0, energy: buildEnergy(config.energy), method: run.method, h: run.h,
    ...(run.gamma !== undefined ? { gamma: run.gamma } : {}),
    ...(run.temperature !== undefined ? { temperature: run.temperature } : {}),
    ...(run.seed !== undefined ? { seed: run.seed } : {}),
    ...(run.restart !== undefined ? { restart: run.restart } : {}),
    ...(run.maxDisplacement !== undefined ? { maxDisplacement: run.maxDisplacement } : {}),
    label: `wgflow.run.${config.name}.${run.label}`,
  };
}

function decodeState(state: Uint8Array): Record<string, number> {
  const dv = new DataView(state.buffer, state.byteOffset, state.byteLength);
  const u = (k: number) => (state.byteLength >= 4 * (k + 1) ? dv.getUint32(4 * k, true) : NaN);
  const f = (k: number) => (state.byteLength >= 4 * (k + 1) ? dv.getFloat32(4 * k, true) : NaN);
  // The first fields of the State struct (src/gpu/layout.ts STATE_FIELDS), for people.
  return { step: u(0), h: f(1), alpha: f(2), nPos: u(3), rngCounter: u(4), gamma: f(5), s: f(6), power: f(7), restarts: u(8), lastEnergy: f(9) };
}

/**
 * Runs (or resumes) a configuration; see the module header. Throws {@link RunStop} for a
 * signal, a blow-up or a device loss (with the exit code), other errors as they come.
 *
 * @example
 * const { files } = await runConfig(PRESETS.quadratic.config!, { device, adapter: { summary, info: {} }, out: 'out/quadratic', checkpointEvery: 100 });
 */
export async function runConfig(config: RunConfig, o: RunConfigOptions): Promise<RunResult> {
  const { device } = o;
  const total = o.total ?? config.steps;
  const every = config.every;
  const cpEvery = o.checkpointEvery;
  const log = o.log ?? ((l: string) => console.log(l));
  const progress = o.progress ?? createProgress({ rate: true });
  const cpPath = o.checkpointPath ?? join(o.out, 'checkpoint.wgflow');
  await mkdir(o.out, { recursive: true });
  const t0 = performance.now();
  const wallBefore = o.resume?.wallMs ?? 0;
  const completed: FlowRecord[] = o.resume ? [...o.resume.completed] : [];
  let lastCheckpoint: { path: string; label: string; step: number } | undefined;
  let lost: string | undefined;
  void device.lost.then((info) => { lost = `${info.reason}: ${info.message || 'no message'}`; });

  let signal: 'SIGINT' | 'SIGTERM' | undefined;
  const onSignal = (s: 'SIGINT' | 'SIGTERM') => () => {
    if (signal) process.exit(s === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM); // a second signal: stop now
    signal = s;
    progress.end();
    log(`[wgflow] ${s}: stopping after the current steps and writing a checkpoint (send it again to stop at once)`);
  };
  const handlers = { SIGINT: onSignal('SIGINT'), SIGTERM: onSignal('SIGTERM') };
  if (o.signals) for (const [s, h] of Object.entries(handlers)) process.on(s, h);

  const x0 = configPositions(config, config.n);
  const snapSteps = new Set(config.snapshots ?? [0]);
  const checkpointText = () => (lastCheckpoint ? `the last checkpoint is ${lastCheckpoint.path} (flow ${lastCheckpoint.label}, step ${lastCheckpoint.step}); resume with: wgflow resume ${lastCheckpoint.path}` : `no checkpoint was written (use --checkpoint-every K)`);

  try {
    for (let ri = o.resume?.runIndex ?? 0; ri < config.runs.length; ri++) {
      const run = config.runs[ri]!;
      const resumed = o.resume && ri === o.resume.runIndex ? o.resume.current : undefined;
      let flow: Flow | undefined;
      try {
        flow = await createFlow(device, flowOptions(config, run, x0));
        const f = flow;
        const record: FlowRecord = resumed ? resumed.record : { label: run.label, method: run.method, rows: [], snapshots: [], stepMs: 0 };
        const weights = config.energy.map((t) => t.weight ?? 1);
        const setWeights = (step: number) => {
          config.energy.forEach((t, j) => {
            if (!t.anneal) return;
            const w = termWeightAt(t, step, every);
            if (w !== weights[j]) { f.setWeight(j, w); weights[j] = w; }
          });
        };
        const where = () => `${config.name} flow ${run.label}`;
        const stats = async (step: number): Promise<FlowStats> => {
          let s: FlowStats;
          try {
            s = await f.stats();
          } catch (e) {
            throw await classify(e as Error, step);
          }
          if (!Number.isFinite(s.energy) || !s.mean.every(Number.isFinite)) throw blowUp(`the energy is ${s.energy} at step ${step}`, step);
          return s;
        };
        const blowUp = (what: string, step: number) => new RunStop(
          `wgflow: run: ${where()}: the flow blew up: ${what} (method ${run.method}, h = ${run.h}); ${checkpointText()}; ` +
          `use a smaller step (e.g. --h ${typeof run.h === 'number' ? run.h / 10 : 0.001})${run.method !== 'langevin' ? ' or the automatic step --h auto (it needs an entropy term)' : ''}`, EXIT_BLOWUP, lastCheckpoint?.path);
        const classify = async (e: Error, step: number, from?: number): Promise<Error> => {
          // device.lost resolves a little after the failing call: give it a moment.
          if (!lost) await Promise.race([device.lost, new Promise((r) => setTimeout(r, 250))]);
          if (lost) return deviceLost(step, from);
          const m = /non-finite position or velocity at step (\d+)/.exec(e.message);
          if (m) return blowUp(`a non-finite position or velocity at step ${m[1]}`, Number(m[1]));
          const nan = /stats at step (\d+): (the energy terms? .* evaluated to NaN)/.exec(e.message);
          if (nan) return blowUp(`${nan[2]} at step ${nan[1]}`, Number(nan[1]));
          return e;
        };
        const deviceLost = (step: number, from?: number) => new RunStop(
          `wgflow: run: ${where()}: the GPU device was lost ${from !== undefined && from < step ? `during steps ${from} to ${step}` : `at step ${step}`} (${lost ?? 'destroyed'}); ${checkpointText()}`, EXIT_DEVICE_LOST, lastCheckpoint?.path);

        let step = 0;
        if (resumed) {
          try {
            f.restore({ dim: resumed.flow.dim, n: resumed.flow.n, method: run.method, positions: resumed.flow.positions, velocities: resumed.flow.velocities, state: resumed.flow.state, kernels: resumed.flow.kernels });
          } catch (e) {
            throw new Error(`wgflow: resume: mismatched checkpoint: ${(e as Error).message.replace(/^wgflow: /, '')}; resume with the wgflow version that wrote it`);
          }
          resumed.flow.weights.forEach((w, j) => { if (w !== weights[j]) { f.setWeight(j, w); weights[j] = w; } });
          step = resumed.flow.stateFields.step!;
          if (step > total) throw new Error(`wgflow: resume: the checkpoint's flow ${run.label} is at step ${step}, past --steps ${total}; give --steps ≥ ${step}`);
        } else {
          const s = await stats(0);
          record.rows.push(rowOf(s));
          if (snapSteps.has(0)) record.snapshots.push({ step: 0, positions: await f.positions() });
        }
        progress.update(run.label, step, total, record.rows.length ? `energy ${record.rows.at(-1)!.energy.toPrecision(6)}` : '');

        const writeCp = async (reason: string) => {
          const cp = await f.checkpoint();
          const flowState: FlowState = {
            dim: cp.dim, n: cp.n, method: cp.method, positions: cp.positions, velocities: cp.velocities, state: cp.state, kernels: cp.kernels ?? [],
            stateFields: decodeState(cp.state), weights: [...weights],
            anneal: config.energy.flatMap((t, j) => (t.anneal ? [{ term: j, progress: Math.min(1, (Math.floor(step / every) * every) / t.anneal.steps) }] : [])),
          };
          const payload: CheckpointPayload = {
            config, total, checkpointEvery: cpEvery, out: resolve(o.out), adapter: o.adapter, reason, createdAt: new Date().toISOString(),
            runIndex: ri, completed, current: { record, flow: flowState }, wallMs: wallBefore + (performance.now() - t0),
          };
          await writeCheckpoint(cpPath, payload);
          lastCheckpoint = { path: cpPath, label: run.label, step };
        };

        while (step < total) {
          if (step % every === 0) setWeights(step);
          // At most MAX_CHUNK steps per call, so that a signal is answered soon (cuts do not change results).
          let next = Math.min(nextMultiple(step, every), total, step + MAX_CHUNK);
          if (cpEvery > 0) next = Math.min(next, nextMultiple(step, cpEvery));
          for (const at of [o.loseDeviceAt, o.interruptAt]) if (at !== undefined && step < at && next > at) next = at;
          const ts = performance.now();
          try {
            if (o.loseDeviceAt !== undefined && step === o.loseDeviceAt) device.destroy();
            await f.step(next - step);
          } catch (e) {
            throw await classify(e as Error, next, step);
          }
          if (lost) throw deviceLost(next, step);
          record.stepMs += performance.now() - ts;
          step = next;
          if (step % every === 0 || step === total) {
            const s = await stats(step);
            record.rows.push(rowOf(s));
            progress.update(run.label, step, total, `energy ${s.energy.toPrecision(6)}`);
          }
          if (snapSteps.has(step) && step < total) record.snapshots.push({ step, positions: await f.positions() });
          if (step === o.interruptAt) signal ??= 'SIGINT';
          if (signal) {
            await writeCp(signal);
            progress.end();
            throw new RunStop(`wgflow: run: stopped by ${signal} at ${where()} step ${step}; checkpoint written to ${cpPath}; resume with: wgflow resume ${cpPath}`,
              signal === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM, cpPath);
          }
          if (cpEvery > 0 && step % cpEvery === 0 && step < total) await writeCp('interval');
        }
        // The end of the flow: final positions, diagnostics.
        const fs = await stats(step);
        const finalPositions = await f.positions();
        record.snapshots.push({ step, positions: finalPositions });
        const diag = await f.diagnostics();
        record.final = {
          step: fs.step, energy: fs.energy, terms: fs.terms, residual: fs.residual, kinetic: fs.kinetic, h: fs.h, gamma: fs.gamma,
          mean: fs.mean, covariance: fs.covariance, s: fs.s, alpha: fs.alpha, power: fs.power, restarts: fs.restarts,
          kernels: diag.terms, nonFiniteStep: diag.nonFiniteStep,
          ...(o.finalCheck ? { check: o.finalCheck(finalPositions) } : {}),
        };
        completed.push(record);
      } finally {
        flow?.destroy();
      }
    }
  } finally {
    if (o.signals) for (const [s, h] of Object.entries(handlers)) process.off(s, h);
    progress.end();
  }
  const wallMs = wallBefore + (performance.now() - t0);
  const files = await writeOutputs(config, completed, o, total, wallMs);
  log(`[wgflow] wrote ${files.join(', ')}`);
  return { records: completed, files, wallMs, checkpoint: lastCheckpoint?.path };
}

/**
 * The recorded rows of every flow as a wide CSV: step, then per flow energy, residual, kinetic, h and each term.
 *
 * @example
 * await writeFile('energy.csv', energyCsv(result.records));
 */
export function energyCsv(records: readonly FlowRecord[]): string {
  const termNames = (r: FlowRecord) => Object.keys(r.rows[0]?.terms ?? {});
  const header = ['step', ...records.flatMap((r) => [`energy_${r.label}`, `residual_${r.label}`, `kinetic_${r.label}`, `h_${r.label}`, ...termNames(r).map((t) => `${t}_${r.label}`)])];
  const rows = (records[0]?.rows ?? []).map((row, k) => [row.step, ...records.flatMap((r) => {
    const x = r.rows[k]!;
    return [x.energy, x.residual, x.kinetic, x.h, ...termNames(r).map((t) => x.terms[t]!)];
  })]);
  return csvString(header, rows);
}

/**
 * The recorded rows as the JSON of energy.json.
 *
 * @example
 * await writeFile('energy.json', energyJson(config, result.records));
 */
export function energyJson(config: RunConfig, records: readonly FlowRecord[]): string {
  return `${JSON.stringify({ name: config.name, every: config.every, flows: records.map((r) => ({ label: r.label, method: r.method, rows: r.rows })) }, null, 1)}\n`;
}

function xy(positions: Float32Array, dim: number): Float32Array {
  const n = positions.length / dim;
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i] = positions[i * dim]!;
    out[2 * i + 1] = dim === 1 ? 0 : positions[i * dim + 1]!;
  }
  return out;
}

/**
 * The snapshot figure: per flow a row of panels (snapshot steps, then the end), with axes.
 *
 * @example
 * await writeFile('snapshots.png', figurePng(snapshotsFigure(config, result.records, summary)));
 */
export function snapshotsFigure(config: RunConfig, records: readonly FlowRecord[], adapter: string) {
  const steps = [...new Set(records.flatMap((r) => r.snapshots.map((s) => s.step)))].sort((a, b) => a - b);
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  const pts = records.map((r) => r.snapshots.map((s) => ({ step: s.step, xy: xy(s.positions, config.dim) })));
  for (const row of pts) for (const s of row) for (let i = 0; i + 1 < s.xy.length; i += 2) {
    const a = s.xy[i]!, b = s.xy[i + 1]!;
    if (!Number.isFinite(a) || !Number.isFinite(b)) continue;
    x0 = Math.min(x0, a); x1 = Math.max(x1, a); y0 = Math.min(y0, b); y1 = Math.max(y1, b);
  }
  if (!(x0 <= x1)) [x0, x1, y0, y1] = [-1, 1, -1, 1];
  const span = Math.max(x1 - x0, y1 - y0, 1e-6);
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, half = 0.55 * span;
  const last = Math.max(...steps, 1);
  return snapshotGrid({
    title: `${config.name}: particles by iteration${config.dim === 3 ? ' (x, y projection)' : config.dim === 1 ? ' (on a line)' : ''}`,
    subtitle: `N = ${config.n}; adapter ${adapter.split(/[:(]/)[0]!.trim()}`,
    box: [cx - half, cx + half, cy - half, cy + half],
    panel: 200,
    rows: records.map((r, j) => ({
      heading: `${r.label}${r.label !== r.method ? ` (${r.method})` : ''}: h = ${config.runs.find((x) => x.label === r.label)?.h ?? '?'}`,
      panels: steps.map((st) => {
        const s = pts[j]!.find((p) => p.step === st);
        return s ? { positions: s.xy, title: `iteration ${st}`, color: st / last } : undefined;
      }),
    })),
  });
}

async function writeOutputs(config: RunConfig, records: FlowRecord[], o: RunConfigOptions, total: number, wallMs: number): Promise<string[]> {
  const out = o.out;
  const files: string[] = [];
  const put = async (name: string, data: string | Buffer) => {
    await writeFile(join(out, name), data);
    files.push(join(out, name));
  };
  await put('energy.csv', energyCsv(records));
  await put('energy.json', energyJson(config, records));
  const fMin = config.fMin;
  await put('energy.svg', lineChartSvg({
    title: `${config.name}: energy against iteration`, xLabel: 'iteration', yLabel: fMin !== undefined ? `energy − ${fMin}` : 'energy', logY: fMin !== undefined,
    series: records.map((r) => ({ name: r.label, x: r.rows.map((x) => x.step), y: r.rows.map((x) => (fMin !== undefined ? x.energy - fMin : x.energy)) })),
  }));
  await put('residual.svg', lineChartSvg({
    title: `${config.name}: residual ⟨|g|²⟩ against iteration`, xLabel: 'iteration', yLabel: 'mean |g|²', logY: true,
    series: records.map((r) => ({ name: r.label, x: r.rows.map((x) => x.step), y: r.rows.map((x) => x.residual) })),
  }));
  const fig = snapshotsFigure(config, records, o.adapter.summary);
  await put('snapshots.png', figurePng(fig));
  await put('snapshots.svg', figureSvg(fig));
  const summary = {
    name: config.name,
    adapter: o.adapter,
    parameters: { config, steps: total, every: config.every, checkpointEvery: o.checkpointEvery, resumed: Boolean(o.resume) },
    timings: {
      wallMs: Math.round(wallMs),
      flows: records.map((r) => ({ flow: r.label, stepMs: Math.round(r.stepMs), stepsPerSecond: r.stepMs > 0 ? (total / r.stepMs) * 1000 : null, nsPerParticleStep: r.stepMs > 0 ? (r.stepMs * 1e6) / (total * config.n) : null })),
    },
    final: Object.fromEntries(records.map((r) => [r.label, r.final ?? {}])),
  };
  await put('summary.json', `${JSON.stringify(summary, null, 2)}\n`);
  return files;
}
