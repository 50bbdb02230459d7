/**
 * Plain output for experiments and the CLI, with no charting dependency: line charts as SVG
 * text, particle scatters as PNG bytes (through pngjs), and CSV files. Node-safe; only
 * {@link writeCsv} touches the file system.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Box } from '../samples.js';
import { encodePng } from './image.js';

/** A colour: CSS hex (`'#rgb'`, `'#rrggbb'`, `'#rrggbbaa'`) or `[r, g, b]` / `[r, g, b, a]` in 0..255. */
export type Color = string | readonly [number, number, number] | readonly [number, number, number, number];

/** One line of a {@link lineChartSvg}. */
export interface LineSeries {
  /** Legend entry. */
  name: string;
  x: ArrayLike<number>;
  /** Same length as x. Non-finite values (and y ≤ 0 on a log axis) leave gaps in the line. */
  y: ArrayLike<number>;
  /** Line colour; defaults to the next colour of a 10-colour palette. */
  color?: string;
}

/** Options of {@link lineChartSvg}. */
export interface LineChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  series: LineSeries[];
  /** Logarithmic y axis (base 10). Default false. */
  logY?: boolean;
  /** Pixels. Default 720. */
  width?: number;
  /** Pixels. Default 440. */
  height?: number;
}

/**
 * Default line colours (Tableau 10), used in order by {@link lineChartSvg}.
 *
 * @example
 * lineChartSvg({ series: [{ name: 'a', x: [0, 1], y: [1, 2], color: PALETTE[3] }] });
 */
export const PALETTE = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f',
  '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
] as const;

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Rounds away binary noise (0.30000000000000004 → 0.3) at a given number of decimals. */
function clean(v: number, decimals: number): number {
  const r = Number(v.toFixed(Math.min(20, Math.max(0, decimals))));
  return Object.is(r, -0) ? 0 : r;
}

/**
 * "Nice" axis ticks covering [min, max]: a step of 1, 2 or 5 times a power of ten giving about
 * `count` intervals, and the bounds `lo ≤ min`, `hi ≥ max` rounded outward to the step.
 * A degenerate range (min = max) is widened around the value.
 *
 * @example
 * niceTicks(0.13, 0.92, 5); // { lo: 0, hi: 1, step: 0.2, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] }
 */
export function niceTicks(min: number, max: number, count = 5): { lo: number; hi: number; step: number; ticks: number[] } {
  if (!Number.isFinite(min) || !Number.isFinite(max)) throw new Error(`niceTicks: non-finite range [${min}, ${max}]`);
  if (min > max) [min, max] = [max, min];
  if (max === min) {
    const d = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= d;
    max += d;
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  const nice = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
  const step = nice * mag;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const lo = clean(Math.floor(min / step + 1e-9) * step, decimals);
  const hi = clean(Math.ceil(max / step - 1e-9) * step, decimals);
  const ticks: number[] = [];
  const n = Math.round((hi - lo) / step);
  for (let i = 0; i <= n; i++) ticks.push(clean(lo + i * step, decimals));
  return { lo, hi, step, ticks };
}

/**
 * Ticks of a base-10 log axis covering [min, max] (both > 0): whole decades, thinned to at
 * most ~8 labels, plus 2× and 5× ticks when the range spans two decades or fewer.
 *
 * @example
 * logTicks(0.003, 40).ticks; // [0.001, 0.01, 0.1, 1, 10, 100]
 */
export function logTicks(min: number, max: number): { lo: number; hi: number; ticks: number[] } {
  if (!(min > 0 && max > 0 && Number.isFinite(min) && Number.isFinite(max))) {
    throw new Error(`logTicks: range must be positive and finite (got [${min}, ${max}])`);
  }
  if (min > max) [min, max] = [max, min];
  let a = Math.floor(Math.log10(min) + 1e-9);
  let b = Math.ceil(Math.log10(max) - 1e-9);
  if (b <= a) b = a + 1;
  const decades = b - a;
  const every = Math.max(1, Math.ceil(decades / 8));
  a = Math.floor(a / every) * every;
  b = Math.ceil(b / every) * every;
  const ticks: number[] = [];
  for (let e = a; e <= b; e += every) {
    const p = Number(`1e${e}`);
    ticks.push(p);
    if (decades <= 2 && e < b) ticks.push(Number(`2e${e}`), Number(`5e${e}`));
  }
  return { lo: Number(`1e${a}`), hi: Number(`1e${b}`), ticks };
}

/** Tick label: plain decimals for ordinary magnitudes, exponent notation otherwise. */
function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  const av = Math.abs(v);
  if (av >= 1e6 || av < 1e-4 || step < 1e-5) {
    return v.toExponential(Math.max(0, Math.min(6, Math.round(Math.log10(av / step))))).replace(/\.?0+e/, 'e').replace('e+', 'e');
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(Math.min(20, decimals));
}

let clipCounter = 0;

function fmt(v: number): string {
  return (Math.round(v * 100) / 100).toString();
}

/**
 * A line chart as a standalone SVG string: axes with nice ticks and grid lines, axis labels, a
 * title and a legend. Non-finite points (and y ≤ 0 on a log axis) break a line into pieces;
 * a lone finite point is drawn as a dot.
 *
 * @example
 * const svg = lineChartSvg({
 *   title: 'Energy', xLabel: 'step', yLabel: 'F', logY: true,
 *   series: [{ name: 'steering', x: [0, 1, 2], y: [1, 0.1, 0.01] }],
 * });
 * await writeFile('energy.svg', svg);
 */
export function lineChartSvg(options: LineChartOptions): string {
  const width = options.width ?? 720;
  const height = options.height ?? 440;
  const logY = options.logY ?? false;
  if (!(width > 0 && height > 0)) throw new Error(`lineChartSvg: width and height must be positive (got ${width}×${height})`);
  const series = options.series ?? [];
  for (const s of series) {
    if (s.x.length !== s.y.length) {
      throw new Error(`lineChartSvg: series '${s.name}' has ${s.x.length} x values but ${s.y.length} y values`);
    }
  }
  const ok = (x: number, y: number) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0);

  // Data range.
  let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i], y = s.y[i];
      if (!ok(x, y)) continue;
      xmin = Math.min(xmin, x); xmax = Math.max(xmax, x);
      ymin = Math.min(ymin, y); ymax = Math.max(ymax, y);
    }
  }
  const empty = xmin > xmax;
  if (empty) {
    [xmin, xmax] = [0, 1];
    [ymin, ymax] = logY ? [1, 10] : [0, 1];
  }
  const xt = niceTicks(xmin, xmax, Math.max(2, Math.round(width / 110)));
  let yTicks: number[];
  let ylo: number, yhi: number;
  let yStep = 1;
  if (logY) {
    const t = logTicks(ymin, ymax);
    [ylo, yhi, yTicks] = [t.lo, t.hi, t.ticks];
  } else {
    const t = niceTicks(ymin, ymax, Math.max(2, Math.round(height / 70)));
    [ylo, yhi, yTicks, yStep] = [t.lo, t.hi, t.ticks, t.step];
  }

  // Layout.
  const ml = 72, mr = 28, mt = options.title ? 36 : 14, mb = options.xLabel ? 52 : 34;
  const pw = Math.max(10, width - ml - mr);
  const ph = Math.max(10, height - mt - mb);
  const sx = (x: number) => ml + ((x - xt.lo) / (xt.hi - xt.lo)) * pw;
  const sy = logY
    ? (y: number) => mt + ph - ((Math.log10(y) - Math.log10(ylo)) / (Math.log10(yhi) - Math.log10(ylo))) * ph
    : (y: number) => mt + ph - ((y - ylo) / (yhi - ylo)) * ph;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  );
  if (options.title) {
    out.push(`<text x="${fmt(ml + pw / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`);
  }
  // Grid and ticks.
  out.push('<g class="grid" stroke="#e3e3e3" stroke-width="1">');
  for (const t of xt.ticks) out.push(`<line x1="${fmt(sx(t))}" y1="${mt}" x2="${fmt(sx(t))}" y2="${mt + ph}"/>`);
  for (const t of yTicks) out.push(`<line x1="${ml}" y1="${fmt(sy(t))}" x2="${ml + pw}" y2="${fmt(sy(t))}"/>`);
  out.push('</g>');
  out.push(`<rect x="${ml}" y="${mt}" width="${pw}" height="${ph}" fill="none" stroke="#333333"/>`);
  out.push('<g class="xticks" text-anchor="middle" fill="#333333">');
  for (const t of xt.ticks) {
    out.push(`<line x1="${fmt(sx(t))}" y1="${mt + ph}" x2="${fmt(sx(t))}" y2="${mt + ph + 5}" stroke="#333333"/>`);
    out.push(`<text x="${fmt(sx(t))}" y="${mt + ph + 18}">${escapeXml(formatTick(t, xt.step))}</text>`);
  }
  out.push('</g>');
  out.push('<g class="yticks" text-anchor="end" fill="#333333">');
  for (const t of yTicks) {
    const label = logY ? formatTick(t, t) : formatTick(t, yStep);
    out.push(`<line x1="${ml - 5}" y1="${fmt(sy(t))}" x2="${ml}" y2="${fmt(sy(t))}" stroke="#333333"/>`);
    out.push(`<text x="${ml - 8}" y="${fmt(sy(t) + 4)}">${escapeXml(label)}</text>`);
  }
  out.push('</g>');
  if (options.xLabel) {
    out.push(`<text x="${fmt(ml + pw / 2)}" y="${height - 12}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  }
  if (options.yLabel) {
    const cy = mt + ph / 2;
    out.push(`<text x="16" y="${fmt(cy)}" text-anchor="middle" transform="rotate(-90 16 ${fmt(cy)})">${escapeXml(options.yLabel)}</text>`);
  }
  if (empty) {
    out.push(`<text x="${fmt(ml + pw / 2)}" y="${fmt(mt + ph / 2)}" text-anchor="middle" fill="#888888">no data</text>`);
  }

  // Lines, clipped to the plot area.
  const clipId = `wgflow-plot-${++clipCounter}`;
  out.push(`<clipPath id="${clipId}"><rect x="${ml}" y="${mt}" width="${pw}" height="${ph}"/></clipPath>`);
  out.push(`<g class="series" clip-path="url(#${clipId})" fill="none" stroke-width="1.8" stroke-linejoin="round" stroke-linecap="round">`);
  series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length];
    const pieces: string[] = [];
    const dots: string[] = [];
    let run: string[] = [];
    const flush = () => {
      if (run.length === 1) dots.push(run[0]);
      else if (run.length > 1) pieces.push('M' + run.join('L'));
      run = [];
    };
    for (let i = 0; i < s.x.length; i++) {
      if (ok(s.x[i], s.y[i])) run.push(`${fmt(sx(s.x[i]))} ${fmt(sy(s.y[i]))}`);
      else flush();
    }
    flush();
    if (pieces.length) out.push(`<path stroke="${escapeXml(color)}" d="${pieces.join('')}"/>`);
    for (const d of dots) {
      const [cx, cy] = d.split(' ');
      out.push(`<circle cx="${cx}" cy="${cy}" r="2.2" fill="${escapeXml(color)}" stroke="none"/>`);
    }
  });
  out.push('</g>');

  // Legend, top right inside the plot area.
  if (series.length) {
    const lw = 36 + 7 * Math.max(...series.map((s) => s.name.length));
    const lh = 8 + 18 * series.length;
    const lx = ml + pw - lw - 8;
    const ly = mt + 8;
    out.push(`<g class="legend"><rect x="${fmt(lx)}" y="${ly}" width="${lw}" height="${lh}" fill="#ffffff" fill-opacity="0.85" stroke="#bbbbbb"/>`);
    series.forEach((s, k) => {
      const color = s.color ?? PALETTE[k % PALETTE.length];
      const y = ly + 13 + 18 * k;
      out.push(`<line x1="${fmt(lx + 6)}" y1="${y}" x2="${fmt(lx + 26)}" y2="${y}" stroke="${escapeXml(color)}" stroke-width="2.5"/>`);
      out.push(`<text x="${fmt(lx + 31)}" y="${y + 4}">${escapeXml(s.name)}</text>`);
    });
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/**
 * Parses a {@link Color} into `[r, g, b, a]` bytes.
 *
 * @example
 * parseColor('#f80'); // [255, 136, 0, 255]
 */
export function parseColor(c: Color): [number, number, number, number] {
  if (typeof c === 'string') {
    const m = /^#([0-9a-f]{3}|[0-9a-f]{6}|[0-9a-f]{8})$/i.exec(c.trim());
    if (!m) throw new Error(`parseColor: expected '#rgb', '#rrggbb' or '#rrggbbaa' (got '${c}')`);
    let h = m[1];
    if (h.length === 3) h = h.replace(/./g, (d) => d + d);
    if (h.length === 6) h += 'ff';
    return [0, 2, 4, 6].map((i) => parseInt(h.slice(i, i + 2), 16)) as [number, number, number, number];
  }
  if (Array.isArray(c) && (c.length === 3 || c.length === 4) && c.every((v) => Number.isFinite(v) && v >= 0 && v <= 255)) {
    return [c[0], c[1], c[2], c.length === 4 ? c[3]! : 255];
  }
  throw new Error(`parseColor: expected a hex string or [r, g, b(, a)] in 0..255 (got ${JSON.stringify(c)})`);
}

/** Options of {@link scatterPng}. */
export interface ScatterOptions {
  /** Pixels. Default 512. */
  width?: number;
  /** Pixels. Default 512. */
  height?: number;
  /**
   * Region shown, `[xmin, xmax, ymin, ymax]`, fitted into the picture with its aspect kept
   * (y up). Default: the bounds of the points (and targets) plus a 5% margin.
   */
  box?: Box;
  /** Particle colour. Default '#1f3b73'. */
  color?: Color;
  /** Background. Default '#ffffff'. */
  background?: Color;
  /** Dot radius in pixels (anti-aliased). Default 1.5. */
  radius?: number;
  /** Target samples (same dim), drawn first, in `targetColor`. */
  targets?: Float32Array | Float64Array;
  /** Default '#f3b3a6' (light). */
  targetColor?: Color;
  /** Default 1. */
  targetRadius?: number;
}

/**
 * Draws particles (and optionally target samples) as anti-aliased dots and returns PNG bytes.
 * dim 1 draws on the horizontal middle line, dim 3 shows the (x, y) projection. Non-finite
 * points are skipped.
 *
 * @example
 * // positions: N·2 floats read back from a flow; targets: M·2 samples
 * const png = scatterPng(positions, 2, { box: [-1, 1, -1, 1], targets });
 * await writeFile('particles.png', png);
 */
export function scatterPng(points: Float32Array | Float64Array, dim: number, options: ScatterOptions = {}): Buffer {
  if (!Number.isInteger(dim) || dim < 1 || dim > 3) throw new Error(`scatterPng: dim must be 1, 2 or 3 (got ${dim})`);
  if (points.length % dim !== 0) throw new Error(`scatterPng: points length ${points.length} is not a multiple of dim = ${dim}`);
  const targets = options.targets;
  if (targets && targets.length % dim !== 0) throw new Error(`scatterPng: targets length ${targets.length} is not a multiple of dim = ${dim}`);
  const width = options.width ?? 512;
  const height = options.height ?? 512;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`scatterPng: width and height must be positive integers (got ${width}×${height})`);
  }
  const px = (a: ArrayLike<number>, i: number) => a[i * dim];
  const py = (a: ArrayLike<number>, i: number) => (dim === 1 ? 0 : a[i * dim + 1]);

  let box = options.box;
  if (!box) {
    let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
    for (const a of targets ? [points, targets] : [points]) {
      for (let i = 0; i < a.length / dim; i++) {
        const x = px(a, i), y = py(a, i);
        if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
        [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), Math.max(y1, y)];
      }
    }
    if (x0 > x1) [x0, x1, y0, y1] = [-1, 1, -1, 1];
    const span = Math.max(x1 - x0, y1 - y0, 1e-9);
    const m = 0.05 * span;
    box = [x0 - m, x1 + m, y0 - m, y1 + m];
    if (x1 - x0 < 1e-9) box = [x0 - span / 2 - m, x0 + span / 2 + m, box[2], box[3]];
    if (y1 - y0 < 1e-9) box = [box[0], box[1], y0 - span / 2 - m, y0 + span / 2 + m];
  }
  const [bx0, bx1, by0, by1] = box;
  if (![bx0, bx1, by0, by1].every(Number.isFinite) || !(bx1 > bx0 && by1 > by0)) {
    throw new Error(`scatterPng: box must be finite with xmax > xmin and ymax > ymin (got ${JSON.stringify(box)})`);
  }
  const s = Math.min(width / (bx1 - bx0), height / (by1 - by0));
  const ox = width / 2 - s * 0.5 * (bx0 + bx1);
  const oy = height / 2 + s * 0.5 * (by0 + by1);

  const bg = parseColor(options.background ?? '#ffffff');
  const data = new Float32Array(width * height * 4);
  for (let p = 0; p < width * height; p++) data.set(bg, 4 * p);

  const draw = (a: Float32Array | Float64Array, color: Color, radius: number) => {
    if (!(radius > 0)) throw new Error(`scatterPng: radius must be > 0 (got ${radius})`);
    const [r, g, b, alpha] = parseColor(color);
    const op = alpha / 255;
    const reach = Math.ceil(radius + 1);
    for (let i = 0; i < a.length / dim; i++) {
      const x = px(a, i), y = py(a, i);
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const cx = ox + s * x;
      const cy = oy - s * y;
      const ix = Math.floor(cx), iy = Math.floor(cy);
      for (let v = iy - reach; v <= iy + reach; v++) {
        if (v < 0 || v >= height) continue;
        for (let u = ix - reach; u <= ix + reach; u++) {
          if (u < 0 || u >= width) continue;
          const d = Math.hypot(u + 0.5 - cx, v + 0.5 - cy);
          const c = Math.min(1, Math.max(0, radius + 0.5 - d)) * op;
          if (c <= 0) continue;
          const o = 4 * (v * width + u);
          data[o] += (r - data[o]) * c;
          data[o + 1] += (g - data[o + 1]) * c;
          data[o + 2] += (b - data[o + 2]) * c;
          data[o + 3] += (255 - data[o + 3]) * c;
        }
      }
    }
  };
  if (targets) draw(targets, options.targetColor ?? '#f3b3a6', options.targetRadius ?? 1);
  draw(points, options.color ?? '#1f3b73', options.radius ?? 1.5);

  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) bytes[i] = Math.round(data[i]);
  return encodePng(width, height, bytes);
}

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * CSV text: a header row, then one row per entry; numbers are written in full precision
 * (shortest round-trip form), NaN as `NaN`, infinities as `Infinity`/`-Infinity`.
 *
 * @example
 * csvString(['step', 'energy'], [[0, 1.5], [10, 0.25]]); // 'step,energy\n0,1.5\n10,0.25\n'
 */
export function csvString(header: string[], rows: ArrayLike<number>[]): string {
  if (header.length === 0) throw new Error('csvString: the header is empty');
  const lines = [header.map(csvCell).join(',')];
  rows.forEach((row, i) => {
    if (row.length !== header.length) {
      throw new Error(`csvString: row ${i} has ${row.length} values, the header has ${header.length}`);
    }
    lines.push(Array.from(row, (v) => String(v)).join(','));
  });
  return lines.join('\n') + '\n';
}

/**
 * Writes {@link csvString} to a file, creating missing parent directories.
 *
 * @example
 * await writeCsv('out/energy.csv', ['step', 'energy'], history.map((h) => [h.step, h.energy]));
 */
export async function writeCsv(path: string, header: string[], rows: ArrayLike<number>[]): Promise<void> {
  const text = csvString(header, rows);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}
