/**
 * The one progress display of the long runs of the `wgflow` command (presets, compare,
 * picture): on a terminal, a bar redrawn in place (at most every `intervalMs`, always at the
 * end of a task); on anything else (a pipe, a log file, a test), plain lines, one at the
 * start of a task, one each time it passes another 1/`lines` of its total, and one at its end.
 *
 * @example
 * const progress = createProgress();
 * for (let s = 0; s <= 100; s++) progress.update('gradient', s, 100, `energy ${e[s]}`);
 */

/** Where progress goes: process.stderr by default. `isTTY` selects the bar. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** Terminal width; a bar line is cut to fit it. */
  columns?: number;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Start of every line. Default '[wgflow]'. */
  prefix?: string;
  /** Width the task label is padded to. Default 12. */
  labelWidth?: number;
  /** Characters of the bar. Default 24. */
  barWidth?: number;
  /** Least time between two redraws of a bar, ms. Default 250. */
  intervalMs?: number;
  /** Plain lines per task (besides its first and last): one per 1/lines of the total. Default 10. */
  lines?: number;
  /** Clock in ms. Default performance.now. */
  now?: () => number;
  /**
   * Append the rate and the time left to every line: `12.5 steps/s  left 1m20s`, from the
   * steps and the time since the task's first progress (so start-up costs are not counted;
   * shown from its second progress on). Default false.
   */
  rate?: boolean;
}

/**
 * A duration in seconds as `45s`, `3m05s` or `2h07m`.
 *
 * @example
 * formatDuration(125); // '2m05s'
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A rate with three significant digits (`0.512`, `12.5`, `3.40e+4`). */
function formatRate(r: number): string {
  return r >= 1e4 ? r.toExponential(2) : r.toPrecision(3);
}

/** A progress display; see the module header. */
export interface Progress {
  /**
   * Reports that task `label` is at `step` of `total`, with a detail text (energy, ...). A
   * new label starts a new task; `step >= total` ends it. A task may go on after its end
   * with a larger total (a comparison run that is extended): that starts it again.
   */
  update(label: string, step: number, total: number, detail?: string): void;
  /** Ends a bar left open by a task that did not reach its total (no-op otherwise). */
  end(): void;
}

/** A progress display on `options.stream` (process.stderr by default); see the module header. */
export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const prefix = options.prefix ?? '[wgflow]';
  const labelWidth = options.labelWidth ?? 12;
  const barWidth = options.barWidth ?? 24;
  const intervalMs = options.intervalMs ?? 250;
  const lines = Math.max(1, Math.floor(options.lines ?? 10));
  const now = options.now ?? (() => performance.now());
  let task: string | undefined;
  let open = false;
  let lastDraw = -Infinity;
  let lastMark = -1;
  let lastStep = -1;
  let ended = ''; // label/step/total of the last task that reached its end (a repeat is not shown again)
  let t0 = 0; // time and step of the task's first progress (rate and time left; the start-up before it is not counted)
  let s0 = 0;
  let timed = false;
  const withRate = options.rate === true;

  const counter = (step: number, total: number) => `${String(step).padStart(String(total).length)}/${total}`;
  const tail = (detail: string) => (detail ? `  ${detail}` : '');
  const rateText = (step: number, total: number) => {
    if (!withRate) return '';
    if (!timed) {
      if (step > s0) { t0 = now(); s0 = step; timed = true; }
      return '';
    }
    const dt = (now() - t0) / 1000;
    if (!(step > s0) || !(dt > 0)) return '';
    const r = (step - s0) / dt;
    return `  ${formatRate(r)} steps/s  left ${formatDuration(Math.max(0, total - step) / r)}`;
  };
  const fit = (s: string) => (stream.columns && stream.columns > 1 && s.length > stream.columns - 1 ? s.slice(0, stream.columns - 1) : s);

  return {
    update(label, step, total, detail = '') {
      if (task === undefined && ended === `${label}\n${step}\n${total}`) return;
      const fresh = label !== task;
      if (fresh) {
        if (open) stream.write('\n');
        open = false;
        task = label;
        lastDraw = -Infinity;
        lastMark = -1;
        lastStep = -1;
        s0 = step;
        timed = false;
      }
      const finished = step >= total;
      const name = label.padEnd(labelWidth);
      if (tty) {
        const t = now();
        if (!fresh && !finished && t - lastDraw < intervalMs) return;
        lastDraw = t;
        const frac = total > 0 ? Math.min(1, Math.max(0, step / total)) : 1;
        const filled = Math.round(frac * barWidth);
        const bar = `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`;
        stream.write(`\r${fit(`${prefix} ${name} ${bar} ${counter(step, total)}${tail(detail)}${rateText(step, total)}`)}\x1b[K${finished ? '\n' : ''}`);
        open = !finished;
      } else {
        const mark = total > 0 ? Math.floor((Math.min(step, total) * lines) / total) : lines;
        if (step === lastStep || !(fresh || finished || mark > lastMark)) return;
        lastMark = mark;
        lastStep = step;
        stream.write(`${prefix} ${name} step ${counter(step, total)}${tail(detail)}${rateText(step, total)}\n`);
      }
      if (finished) {
        task = undefined;
        ended = `${label}\n${step}\n${total}`;
      }
    },
    end() {
      if (open) stream.write('\n');
      open = false;
      task = undefined;
      ended = '';
    },
  };
}
