/**
 * Figures drawn once and written twice: a {@link Figure} is a list of pixel-space primitives
 * (rectangles, lines, polylines, dots, text) that {@link figureSvg} writes as SVG text and
 * {@link figurePng} rasterises into PNG bytes (anti-aliased shapes, a built-in 5×8 bitmap font,
 * no dependency). On top of it: axes with ticks ({@link drawAxes}), the particle snapshot grid
 * of the seed paper's figure 3 ({@link snapshotGrid}) and log-axis line charts like its figure 4
 * ({@link lineChart}). Node only (PNG encoding through `wgflow/node`).
 */
import { encodePng } from '../src/node.js';
import { logTicks, niceTicks, PALETTE, parseColor } from './plot.js';

/** A drawing primitive in pixel coordinates (y down). */
export type Shape =
  | { kind: 'rect'; x: number; y: number; w: number; h: number; fill?: string; stroke?: string }
  | { kind: 'line'; x1: number; y1: number; x2: number; y2: number; stroke: string; width?: number; dash?: boolean }
  | { kind: 'path'; points: [number, number][]; stroke: string; width?: number }
  | { kind: 'dots'; xy: Float32Array; r: number; fill: string; clip?: [number, number, number, number] }
  | { kind: 'text'; x: number; y: number; text: string; size?: number; anchor?: 'start' | 'middle' | 'end'; bold?: boolean; fill?: string; vertical?: boolean };

/** A figure: its size, background and shapes in drawing order. */
export interface Figure {
  width: number;
  height: number;
  background?: string;
  shapes: Shape[];
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const r2 = (v: number) => (Math.round(v * 100) / 100).toString();

/**
 * The figure as a standalone SVG document.
 *
 * @example await writeFile('out/f.svg', figureSvg({ width: 100, height: 50, shapes: [{ kind: 'text', x: 50, y: 25, text: 'hi', anchor: 'middle' }] }));
 */
export function figureSvg(fig: Figure): string {
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${fig.width}" height="${fig.height}" viewBox="0 0 ${fig.width} ${fig.height}" font-family="sans-serif">`,
    `<rect width="${fig.width}" height="${fig.height}" fill="${fig.background ?? '#ffffff'}"/>`];
  let clip = 0;
  for (const s of fig.shapes) {
    if (s.kind === 'rect') {
      out.push(`<rect x="${r2(s.x)}" y="${r2(s.y)}" width="${r2(s.w)}" height="${r2(s.h)}" fill="${s.fill ?? 'none'}"${s.stroke ? ` stroke="${s.stroke}"` : ''}/>`);
    } else if (s.kind === 'line') {
      out.push(`<line x1="${r2(s.x1)}" y1="${r2(s.y1)}" x2="${r2(s.x2)}" y2="${r2(s.y2)}" stroke="${s.stroke}" stroke-width="${s.width ?? 1}"${s.dash ? ' stroke-dasharray="5 4"' : ''}/>`);
    } else if (s.kind === 'path') {
      if (s.points.length < 2) continue;
      out.push(`<path d="M${s.points.map(([x, y]) => `${r2(x)} ${r2(y)}`).join('L')}" fill="none" stroke="${s.stroke}" stroke-width="${s.width ?? 1.5}" stroke-linejoin="round"/>`);
    } else if (s.kind === 'dots') {
      // One path of zero-length round-capped segments: compact for 10⁴ dots.
      const id = `c${++clip}`;
      const d: string[] = [];
      for (let i = 0; i + 1 < s.xy.length; i += 2) if (Number.isFinite(s.xy[i]!) && Number.isFinite(s.xy[i + 1]!)) d.push(`M${r2(s.xy[i]!)} ${r2(s.xy[i + 1]!)}h0`);
      if (s.clip) out.push(`<clipPath id="${id}"><rect x="${r2(s.clip[0])}" y="${r2(s.clip[1])}" width="${r2(s.clip[2])}" height="${r2(s.clip[3])}"/></clipPath>`);
      out.push(`<path${s.clip ? ` clip-path="url(#${id})"` : ''} d="${d.join('')}" stroke="${s.fill}" stroke-width="${r2(2 * s.r)}" stroke-linecap="round"/>`);
    } else {
      const anchor = s.anchor ?? 'start';
      const rot = s.vertical ? ` transform="rotate(-90 ${r2(s.x)} ${r2(s.y)})"` : '';
      out.push(`<text x="${r2(s.x)}" y="${r2(s.y)}" font-size="${s.size ?? 12}" text-anchor="${anchor}"${s.bold ? ' font-weight="bold"' : ''} fill="${s.fill ?? '#222222'}"${rot}>${esc(s.text)}</text>`);
    }
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** 5×8 glyphs: 8 rows of 5 bits (high bit left), as 16 hex digits. Unknown characters draw as '?'. */
const FONT_5X8: Record<string, string> = {
  ' ': '0000000000000000', '!': '0404040404000400', '%': '1919020408131300', '\'': '0404000000000000',
  '(': '0204080808040200', ')': '0804020202040800', '*': '0004150e15040000', '+': '0004041f04040000',
  ',': '00000000000c0408', '-': '0000001f00000000', '.': '00000000000c0c00', '/': '0101020408101000',
  '0': '0e11131519110e00', '1': '040c040404040e00', '2': '0e11010204081f00', '3': '1f02040201110e00',
  '4': '02060a121f020200', '5': '1f101e0101110e00', '6': '0608101e11110e00', '7': '1f01020408080800',
  '8': '0e11110e11110e00', '9': '0e11110f01020c00', ':': '000c0c000c0c0000', ';': '000c0c000c040800',
  '<': '0204081008040200', '=': '00001f001f000000', '>': '0804020102040800', '?': '0e11010204000400',
  'A': '0e11111f11111100', 'B': '1e11111e11111e00', 'C': '0e11101010110e00', 'D': '1c12111111121c00',
  'E': '1f10101e10101f00', 'F': '1f10101e10101000', 'G': '0e11101711110f00', 'H': '1111111f11111100',
  'I': '0e04040404040e00', 'J': '0702020202120c00', 'K': '1112141814121100', 'L': '1010101010101f00',
  'M': '111b151511111100', 'N': '1111191513111100', 'O': '0e11111111110e00', 'P': '1e11111e10101000',
  'Q': '0e11111115120d00', 'R': '1e11111e14121100', 'S': '0f10100e01011e00', 'T': '1f04040404040400',
  'U': '1111111111110e00', 'V': '11111111110a0400', 'W': '1111111515150a00', 'X': '11110a040a111100',
  'Y': '11110a0404040400', 'Z': '1f01020408101f00', '[': '0e08080808080e00', ']': '0e02020202020e00',
  '_': '0000000000001f00', 'a': '00000e010f110f00', 'b': '1010161911111e00', 'c': '00000e1010110e00',
  'd': '01010d1311110f00', 'e': '00000e111f100e00', 'f': '0609081c08080800', 'g': '00000f11110f010e',
  'h': '1010161911111100', 'i': '04000c0404040e00', 'j': '020006020202120c', 'k': '1010121418141200',
  'l': '0c04040404040e00', 'm': '00001a1515111100', 'n': '0000161911111100', 'o': '00000e1111110e00',
  'p': '00001e11111e1010', 'q': '00000f11110f0101', 'r': '0000161910101000', 's': '00000f100e011e00',
  't': '08081c0808090600', 'u': '0000111111130d00', 'v': '00001111110a0400', 'w': '0000111115150a00',
  'x': '0000110a040a1100', 'y': '00001111110f010e', 'z': '00001f0204081f00', '|': '0404040404040400',
  'γ': '000011110a040404', 'λ': '0804040a0a111100', '×': '00110a040a110000', '·': '0000000400000000',
  '±': '04041f0404001f00', '≈': '000d16000d160000', '√': '070404140c040000', '−': '0000001f00000000',
  '→': '0004021f02040000', '≤': '0204080402001f00', '≥': '0804020408001f00', '²': '0c02040e00000000',
  '³': '0c06020c00000000', '⁴': '040c1e0400000000', '⁵': '1e18021c00000000', '⁻': '001e000000000000',
  '¹': '040c040e00000000', '⁰': '0c12120c00000000',
  'Σ': '1f10080408101f00',
  'α': '00000d1212120d00', 'η': '0000161911110101', 'σ': '00000f1211110e00', 'ρ': '00000e11111e1010',
  'κ': '0000121418141200', 'ω': '0000111115150a00',
  '^': '040a110000000000', '∝': '00000a15150a0000', '~': '0000081502000000',
};

/** Characters drawn with another glyph. */
const GLYPH_ALIAS: Record<string, string> = { '–': '-', '—': '-', '‐': '-', '⟨': '<', '⟩': '>', '’': '\'', 'µ': 'u', '…': '.' };

function glyphRows(ch: string): number[] {
  const hex = FONT_5X8[ch] ?? FONT_5X8[GLYPH_ALIAS[ch] ?? '?'] ?? FONT_5X8['?']!;
  const rows: number[] = [];
  for (let k = 0; k < 8; k++) rows.push(parseInt(hex.slice(2 * k, 2 * k + 2), 16));
  return rows;
}

/** Pixels per glyph cell at a font size (the bitmap font is scaled by whole numbers). */
function textScale(size: number): number {
  return Math.max(1, Math.round(size / 9));
}

/**
 * What the PNG renderer cannot draw as given: characters without a glyph (drawn as '?') and
 * horizontal texts that run past the figure's edges. Empty when every text is drawn whole.
 */
export function figureTextProblems(fig: Figure): string[] {
  const out: string[] = [];
  for (const s of fig.shapes) {
    if (s.kind !== 'text') continue;
    const missing = [...new Set([...s.text].filter((ch) => ch !== '?' && !(ch in FONT_5X8) && !(GLYPH_ALIAS[ch]! in FONT_5X8)))];
    if (missing.length) out.push(`no glyph for ${missing.map((c) => `'${c}'`).join(', ')} in "${s.text}"`);
    if (s.vertical) continue;
    const w = rasterTextWidth(s.text, s.size ?? 12);
    const x0 = s.anchor === 'middle' ? s.x - w / 2 : s.anchor === 'end' ? s.x - w : s.x;
    if (x0 < 0 || x0 + w > fig.width) out.push(`"${s.text}" spans x = ${Math.round(x0)}..${Math.round(x0 + w)} of a figure ${fig.width} wide`);
  }
  return out;
}

/** Width in pixels of a text in the PNG renderer (6 px per character at scale 1). */
export function rasterTextWidth(text: string, size = 12): number {
  return [...text].length * 6 * textScale(size);
}

/**
 * The figure as PNG bytes: shapes anti-aliased, text in the built-in bitmap font.
 *
 * @example await writeFile('out/f.png', figurePng(fig));
 */
export function figurePng(fig: Figure): Buffer {
  const { width: W, height: H } = fig;
  const img = new Float32Array(W * H * 3);
  const bg = parseColor(fig.background ?? '#ffffff');
  for (let p = 0; p < W * H; p++) img.set([bg[0], bg[1], bg[2]], 3 * p);
  const blend = (u: number, v: number, c: readonly number[], a: number) => {
    if (u < 0 || v < 0 || u >= W || v >= H || !(a > 0)) return;
    const o = 3 * (v * W + u), k = Math.min(1, a);
    img[o] += (c[0]! - img[o]!) * k;
    img[o + 1] += (c[1]! - img[o + 1]!) * k;
    img[o + 2] += (c[2]! - img[o + 2]!) * k;
  };
  // A segment of width w: coverage from the distance of each pixel centre to the segment.
  const segment = (x1: number, y1: number, x2: number, y2: number, w: number, c: readonly number[], dash: boolean) => {
    const half = Math.max(0.5, w / 2);
    const dx = x2 - x1, dy = y2 - y1, len2 = dx * dx + dy * dy, len = Math.sqrt(len2);
    const u0 = Math.floor(Math.min(x1, x2) - half - 1), u1 = Math.ceil(Math.max(x1, x2) + half + 1);
    const v0 = Math.floor(Math.min(y1, y2) - half - 1), v1 = Math.ceil(Math.max(y1, y2) + half + 1);
    for (let v = Math.max(0, v0); v <= Math.min(H - 1, v1); v++) {
      for (let u = Math.max(0, u0); u <= Math.min(W - 1, u1); u++) {
        const px = u + 0.5, py = v + 0.5;
        const t = len2 > 0 ? Math.max(0, Math.min(1, ((px - x1) * dx + (py - y1) * dy) / len2)) : 0;
        if (dash && len > 0 && Math.floor((t * len) / 4.5) % 2 === 1) continue;
        const d = Math.hypot(px - (x1 + t * dx), py - (y1 + t * dy));
        blend(u, v, c, half + 0.5 - d);
      }
    }
  };
  const disc = (cx: number, cy: number, r: number, c: readonly number[], box?: [number, number, number, number]) => {
    const reach = Math.ceil(r + 1);
    const ix = Math.floor(cx), iy = Math.floor(cy);
    for (let v = iy - reach; v <= iy + reach; v++) {
      for (let u = ix - reach; u <= ix + reach; u++) {
        if (box && (u < box[0] || v < box[1] || u >= box[0] + box[2] || v >= box[1] + box[3])) continue;
        blend(u, v, c, r + 0.5 - Math.hypot(u + 0.5 - cx, v + 0.5 - cy));
      }
    }
  };
  const text = (s: Extract<Shape, { kind: 'text' }>) => {
    const k = textScale(s.size ?? 12) * (s.bold ? 1 : 1);
    const c = parseColor(s.fill ?? '#222222');
    const chars = [...s.text];
    const w = chars.length * 6 * k;
    const shift = s.anchor === 'middle' ? -w / 2 : s.anchor === 'end' ? -w : 0;
    // (x, y) is the baseline start, as in SVG; glyph rows 0..6 sit above the baseline.
    chars.forEach((ch, j) => {
      const rows = glyphRows(ch);
      for (let row = 0; row < 8; row++) {
        for (let col = 0; col < 5; col++) {
          if (!((rows[row]! >> (4 - col)) & 1)) continue;
          for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
            const gx = shift + (j * 6 + col) * k + a + (s.bold ? 0 : 0), gy = (row - 7) * k + b;
            const [u, v] = s.vertical ? [Math.round(s.x + gy), Math.round(s.y - gx)] : [Math.round(s.x + gx), Math.round(s.y + gy)];
            blend(u, v, c, 1);
            if (s.bold) blend(s.vertical ? u : u + 1, s.vertical ? v - 1 : v, c, 1);
          }
        }
      }
    });
  };
  for (const s of fig.shapes) {
    if (s.kind === 'rect') {
      if (s.fill && s.fill !== 'none') {
        const c = parseColor(s.fill);
        for (let v = Math.max(0, Math.round(s.y)); v < Math.min(H, Math.round(s.y + s.h)); v++) for (let u = Math.max(0, Math.round(s.x)); u < Math.min(W, Math.round(s.x + s.w)); u++) blend(u, v, c, c[3] / 255);
      }
      if (s.stroke) {
        const c = parseColor(s.stroke);
        const [x0, y0, x1, y1] = [Math.round(s.x) + 0.5, Math.round(s.y) + 0.5, Math.round(s.x + s.w) - 0.5, Math.round(s.y + s.h) - 0.5];
        segment(x0, y0, x1, y0, 1, c, false); segment(x1, y0, x1, y1, 1, c, false);
        segment(x1, y1, x0, y1, 1, c, false); segment(x0, y1, x0, y0, 1, c, false);
      }
    } else if (s.kind === 'line') {
      segment(s.x1, s.y1, s.x2, s.y2, s.width ?? 1, parseColor(s.stroke), s.dash ?? false);
    } else if (s.kind === 'path') {
      const c = parseColor(s.stroke);
      for (let j = 1; j < s.points.length; j++) segment(s.points[j - 1]![0], s.points[j - 1]![1], s.points[j]![0], s.points[j]![1], s.width ?? 1.5, c, false);
    } else if (s.kind === 'dots') {
      const c = parseColor(s.fill);
      for (let i = 0; i + 1 < s.xy.length; i += 2) if (Number.isFinite(s.xy[i]!) && Number.isFinite(s.xy[i + 1]!)) disc(s.xy[i]!, s.xy[i + 1]!, s.r, c, s.clip);
    } else {
      text(s);
    }
  }
  const bytes = new Uint8Array(W * H * 4);
  for (let p = 0; p < W * H; p++) {
    bytes[4 * p] = Math.round(img[3 * p]!);
    bytes[4 * p + 1] = Math.round(img[3 * p + 1]!);
    bytes[4 * p + 2] = Math.round(img[3 * p + 2]!);
    bytes[4 * p + 3] = 255;
  }
  return encodePng(W, H, bytes);
}

/** A tick label: plain decimals for ordinary magnitudes, a power of ten on log axes. */
function tickLabel(v: number, step: number, log: boolean): string {
  if (v === 0) return '0';
  if (log) {
    const e = Math.log10(Math.abs(v));
    if (Math.abs(e - Math.round(e)) < 1e-9) return Math.abs(e) <= 3 ? String(Number(v.toPrecision(6))) : `1e${Math.round(e)}`;
    return v.toExponential(0).replace('e+', 'e');
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(Math.min(10, decimals));
}

/** A linear or base-10 logarithmic axis mapping data to pixels. */
export interface Axis {
  lo: number;
  hi: number;
  log: boolean;
  ticks: number[];
  /** Tick spacing (linear axes). */
  step: number;
}

/** A linear axis with nice ticks covering [min, max], or a log axis (min, max > 0). */
export function makeAxis(min: number, max: number, log = false, count = 5): Axis {
  if (log) {
    const t = logTicks(min, max);
    return { lo: t.lo, hi: t.hi, log, ticks: t.ticks, step: 1 };
  }
  const t = niceTicks(min, max, count);
  return { lo: t.lo, hi: t.hi, log, ticks: t.ticks, step: t.step };
}

function frac(a: Axis, v: number): number {
  return a.log ? (Math.log10(v) - Math.log10(a.lo)) / (Math.log10(a.hi) - Math.log10(a.lo)) : (v - a.lo) / (a.hi - a.lo);
}

/** A plot area at (x, y, w, h) with axes: the mapping from data to pixels. */
export interface Frame {
  x: number;
  y: number;
  w: number;
  h: number;
  ax: Axis;
  ay: Axis;
  px(v: number): number;
  py(v: number): number;
}

/** The frame of a plot area. */
export function frame(x: number, y: number, w: number, h: number, ax: Axis, ay: Axis): Frame {
  return { x, y, w, h, ax, ay, px: (v) => x + frac(ax, v) * w, py: (v) => y + h - frac(ay, v) * h };
}

/**
 * Draws a frame's box, grid lines, ticks with labels, and the axis labels.
 *
 * @example drawAxes(fig.shapes, frame(60, 30, 300, 200, makeAxis(0, 10), makeAxis(1e-3, 1, true)), { x: 'iteration', y: 'residual' });
 */
export function drawAxes(shapes: Shape[], f: Frame, labels: { x?: string; y?: string; title?: string } = {}, fontSize = 11): void {
  const grid = '#e6e6e6', ink = '#333333';
  for (const t of f.ax.ticks) shapes.push({ kind: 'line', x1: f.px(t), y1: f.y, x2: f.px(t), y2: f.y + f.h, stroke: grid });
  for (const t of f.ay.ticks) shapes.push({ kind: 'line', x1: f.x, y1: f.py(t), x2: f.x + f.w, y2: f.py(t), stroke: grid });
  shapes.push({ kind: 'rect', x: f.x, y: f.y, w: f.w, h: f.h, stroke: ink });
  for (const t of f.ax.ticks) {
    shapes.push({ kind: 'line', x1: f.px(t), y1: f.y + f.h, x2: f.px(t), y2: f.y + f.h + 4, stroke: ink });
    shapes.push({ kind: 'text', x: f.px(t), y: f.y + f.h + 6 + fontSize, text: tickLabel(t, f.ax.step, f.ax.log), size: fontSize, anchor: 'middle', fill: ink });
  }
  for (const t of f.ay.ticks) {
    shapes.push({ kind: 'line', x1: f.x - 4, y1: f.py(t), x2: f.x, y2: f.py(t), stroke: ink });
    shapes.push({ kind: 'text', x: f.x - 6, y: f.py(t) + fontSize * 0.35, text: tickLabel(t, f.ay.step, f.ay.log), size: fontSize, anchor: 'end', fill: ink });
  }
  if (labels.x) shapes.push({ kind: 'text', x: f.x + f.w / 2, y: f.y + f.h + 2 * fontSize + 14, text: labels.x, size: fontSize + 1, anchor: 'middle' });
  if (labels.y) shapes.push({ kind: 'text', x: f.x - 50, y: f.y + f.h / 2, text: labels.y, size: fontSize + 1, anchor: 'middle', vertical: true });
  if (labels.title) shapes.push({ kind: 'text', x: f.x + f.w / 2, y: f.y - 7, text: labels.title, size: fontSize + 1, anchor: 'middle' });
}

/** Viridis at u ∈ [0, 1] (9 stops, linear in between) as '#rrggbb'. */
export function viridis(u: number): string {
  const stops = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]];
  const x = Math.min(1, Math.max(0, u)) * (stops.length - 1);
  const k = Math.min(stops.length - 2, Math.floor(x)), t = x - k;
  const c = stops[k]!.map((a, j) => Math.round(a + (stops[k + 1]![j]! - a) * t));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** One panel of a {@link snapshotGrid}: 2-D positions (N·2) and its title. */
export interface SnapshotPanel {
  positions: Float32Array;
  title: string;
  /** Colour position u ∈ [0, 1] in the colour map (by iteration). */
  color: number;
}

/** Options of {@link snapshotGrid}. */
export interface SnapshotGridOptions {
  title: string;
  /** One row per flow: its heading (flow, h, γ) and panels, left to right. */
  rows: { heading: string; panels: (SnapshotPanel | undefined)[] }[];
  /** Region shown in every panel, [xmin, xmax, ymin, ymax]. */
  box: [number, number, number, number];
  /** Panel side in pixels. Default 210. */
  panel?: number;
  /** Dot radius. Default 1.1. */
  radius?: number;
  /** A line under the title (criterion, adapter, ...). */
  subtitle?: string;
}

/**
 * The seed paper's figure 3: per flow a row of particle snapshots (coloured by iteration),
 * every panel with the same axes, ticks and a title.
 */
export function snapshotGrid(o: SnapshotGridOptions): Figure {
  const side = o.panel ?? 210, gapX = 58, gapY = 84, left = 62, top = o.subtitle ? 84 : 62;
  const cols = Math.max(...o.rows.map((r) => r.panels.length));
  const width = left + cols * side + (cols - 1) * gapX + 24;
  const height = top + o.rows.length * (side + gapY) + 10;
  const shapes: Shape[] = [{ kind: 'text', x: width / 2, y: 24, text: o.title, size: 17, anchor: 'middle', bold: true }];
  if (o.subtitle) shapes.push({ kind: 'text', x: width / 2, y: 46, text: o.subtitle, size: 12, anchor: 'middle', fill: '#444444' });
  const [x0, x1, y0, y1] = o.box;
  o.rows.forEach((row, r) => {
    const y = top + r * (side + gapY) + 34;
    shapes.push({ kind: 'text', x: left - 50, y: y - 34, text: row.heading, size: 14, bold: true });
    row.panels.forEach((p, c) => {
      const x = left + c * (side + gapX);
      // The box exactly, with the nice ticks that fall inside it.
      const clipAxis = (a: Axis, lo: number, hi: number): Axis => ({ ...a, lo, hi, ticks: a.ticks.filter((t) => t >= lo - 1e-9 && t <= hi + 1e-9) });
      const fx = frame(x, y, side, side, clipAxis(makeAxis(x0, x1, false, 4), x0, x1), clipAxis(makeAxis(y0, y1, false, 4), y0, y1));
      drawAxes(shapes, fx, { title: p?.title ?? 'not reached (the run stopped earlier)' }, 11);
      if (!p) return;
      const xy = new Float32Array(p.positions.length);
      for (let i = 0; i + 1 < p.positions.length; i += 2) {
        xy[i] = fx.px(p.positions[i]!);
        xy[i + 1] = fx.py(p.positions[i + 1]!);
      }
      shapes.push({ kind: 'dots', xy, r: o.radius ?? 1.1, fill: viridis(p.color), clip: [x, y, side, side] });
    });
  });
  return { width, height, shapes };
}

/** One line of a {@link lineChart}. */
export interface ChartSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: string;
  dash?: boolean;
  /** Mark each point with a dot. */
  marks?: boolean;
}

/** One chart of a {@link lineChart} figure. */
export interface ChartPanel {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  logY?: boolean;
  series: ChartSeries[];
  /** Horizontal reference lines (e.g. a tolerance band). */
  hlines?: { y: number; label: string }[];
}

/**
 * Line charts side by side (the seed paper's figure 4: energy and residual against iteration),
 * with a shared legend. Non-finite points (and values ≤ 0 on a log axis) break a line.
 */
export function lineChart(o: { title: string; subtitle?: string; panels: ChartPanel[]; panelWidth?: number; panelHeight?: number }): Figure {
  const pw = o.panelWidth ?? 470, ph = o.panelHeight ?? 330, left = 92, gap = 110, top = o.subtitle ? 84 : 66;
  const width = left + o.panels.length * pw + (o.panels.length - 1) * gap + 30;
  const names = [...new Set(o.panels.flatMap((p) => p.series.map((s) => s.name)))];
  const perRow = Math.max(1, Math.min(4, Math.floor((left + o.panels.length * (pw + gap)) / (46 + 7 * Math.max(1, ...names.map((n) => n.length))))));
  const colW = Math.floor((o.panels.length * (pw + gap) - gap) / perRow);
  const legendRows = Math.ceil(names.length / perRow);
  const height = top + ph + 70 + legendRows * 20;
  const shapes: Shape[] = [{ kind: 'text', x: width / 2, y: 24, text: o.title, size: 17, anchor: 'middle', bold: true }];
  if (o.subtitle) shapes.push({ kind: 'text', x: width / 2, y: 46, text: o.subtitle, size: 12, anchor: 'middle', fill: '#444444' });
  const colorOf = (name: string, given?: string) => given ?? PALETTE[names.indexOf(name) % PALETTE.length]!;
  o.panels.forEach((p, k) => {
    const ok = (x: number, y: number) => Number.isFinite(x) && Number.isFinite(y) && (!p.logX || x > 0) && (!p.logY || y > 0);
    let [xa, xb, ya, yb] = [Infinity, -Infinity, Infinity, -Infinity];
    for (const s of p.series) for (let i = 0; i < s.x.length; i++) if (ok(s.x[i]!, s.y[i]!)) {
      xa = Math.min(xa, s.x[i]!); xb = Math.max(xb, s.x[i]!); ya = Math.min(ya, s.y[i]!); yb = Math.max(yb, s.y[i]!);
    }
    for (const l of p.hlines ?? []) if (!p.logY || l.y > 0) { ya = Math.min(ya, l.y); yb = Math.max(yb, l.y); }
    if (!(xa <= xb)) [xa, xb, ya, yb] = p.logY ? [1, 10, 1, 10] : [0, 1, 0, 1];
    const f = frame(left + k * (pw + gap), top, pw, ph, makeAxis(xa, xb, p.logX ?? false, 6), makeAxis(ya, yb, p.logY ?? false, 6));
    drawAxes(shapes, f, { x: p.xLabel, y: p.yLabel, title: p.title }, 11);
    const inside = (x: number, y: number): [number, number] => [Math.min(f.x + f.w, Math.max(f.x, f.px(x))), Math.min(f.y + f.h, Math.max(f.y, f.py(y)))];
    for (const l of p.hlines ?? []) {
      if (p.logY && !(l.y > 0)) continue;
      shapes.push({ kind: 'line', x1: f.x, y1: f.py(l.y), x2: f.x + f.w, y2: f.py(l.y), stroke: '#888888', dash: true });
      shapes.push({ kind: 'text', x: f.x + f.w - 4, y: f.py(l.y) - 4, text: l.label, size: 10, anchor: 'end', fill: '#666666' });
    }
    for (const s of p.series) {
      let run: [number, number][] = [];
      const flush = () => {
        if (run.length > 1) shapes.push({ kind: 'path', points: run, stroke: colorOf(s.name, s.color), width: 1.6 });
        run = [];
      };
      for (let i = 0; i < s.x.length; i++) {
        if (ok(s.x[i]!, s.y[i]!)) run.push(inside(s.x[i]!, s.y[i]!));
        else flush();
      }
      flush();
      if (s.marks) {
        const xy: number[] = [];
        for (let i = 0; i < s.x.length; i++) if (ok(s.x[i]!, s.y[i]!)) xy.push(...inside(s.x[i]!, s.y[i]!));
        shapes.push({ kind: 'dots', xy: Float32Array.from(xy), r: 3.2, fill: colorOf(s.name, s.color) });
      }
    }
  });
  // Legend under the charts.
  const ly = top + ph + 58;
  names.forEach((name, j) => {
    const x = left + (j % perRow) * colW, y = ly + Math.floor(j / perRow) * 20;
    const color = colorOf(name, o.panels.flatMap((p) => p.series).find((s) => s.name === name)?.color);
    shapes.push({ kind: 'line', x1: x, y1: y - 4, x2: x + 26, y2: y - 4, stroke: color, width: 3 });
    shapes.push({ kind: 'text', x: x + 32, y, text: name, size: 12 });
  });
  return { width, height, shapes };
}
