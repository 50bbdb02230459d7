/**
 * Target samples from pictures, for the KL-to-samples energy (docs/math.md §5; the KDE targets built from the same samples: §6): a picture becomes
 * M points y_1..y_M in R^2 drawn with probability proportional to the "ink" of each pixel.
 *
 * Browser-safe: no Node imports. Node file loading lives in `io/image.ts`.
 *
 * Coordinates: the picture is fitted, centred and with its aspect ratio kept, into the box
 * `[xmin, xmax, ymin, ymax]` (default `[-1, 1, -1, 1]`). Image rows run downwards, math y runs
 * upwards, so the rows are flipped: the top row of the picture lands at the top of the box.
 */

import { mulberry32 } from './math/random.js';

/** An axis-aligned box `[xmin, xmax, ymin, ymax]` in math coordinates (y up). */
export type Box = readonly [xmin: number, xmax: number, ymin: number, ymax: number];

/** How a pixel's weight is computed (see {@link pixelWeights}). */
export type Weighting = 'darkness' | 'alpha' | 'auto';

/** Options of {@link samplesFromPixels} and the helpers built on it. */
export interface SampleOptions {
  /** Number of samples M, a positive integer. */
  count: number;
  /** Seed of the PRNG (a 32-bit integer); same seed, same samples. Default 1. */
  seed?: number;
  /** Box `[xmin, xmax, ymin, ymax]` the picture is fitted into (aspect kept). Default `[-1, 1, -1, 1]`. */
  box?: Box;
  /**
   * `'darkness'`: weight (1 − luminance) · alpha, for dark ink on a light background.
   * `'alpha'`: weight alpha, for a shape on a transparent background (any colour).
   * `'auto'` (default): `'alpha'` when some pixel has alpha < 255, else `'darkness'`.
   */
  weighting?: Weighting;
  /** Weights below this value (in [0, 1]) count as zero, e.g. to drop JPEG noise. Default 0. */
  threshold?: number;
  /** Weights are raised to this power (> 0) after thresholding; > 1 sharpens. Default 1. */
  gamma?: number;
}

/** Options of the browser helpers: {@link SampleOptions} plus a size cap. */
export interface BrowserSampleOptions extends SampleOptions {
  /** The picture is scaled down (aspect kept) so that its longer side is at most this. Default 1024. */
  maxSide?: number;
}

const DEFAULT_BOX: Box = [-1, 1, -1, 1];

/**
 * Checks a sample array: `dim` an integer in 1..3, the length a positive multiple of `dim`
 * (so M ≥ 1), every value finite. Returns M. Throws an Error naming the problem.
 *
 * @example
 * const m = validateSamples(new Float32Array([0, 0, 1, 1]), 2); // 2
 * validateSamples(new Float32Array(0), 2); // throws: no samples
 */
export function validateSamples(samples: Float32Array | Float64Array, dim: number): number {
  if (!(samples instanceof Float32Array || samples instanceof Float64Array)) {
    throw new Error('wgflow: validateSamples: samples must be a Float32Array (or Float64Array)');
  }
  if (!Number.isInteger(dim) || dim < 1 || dim > 3) {
    throw new Error(`wgflow: validateSamples: dim must be 1, 2 or 3 (got ${dim})`);
  }
  if (samples.length === 0) throw new Error('wgflow: validateSamples: no samples (M = 0)');
  if (samples.length % dim !== 0) {
    throw new Error(
      `wgflow: validateSamples: length ${samples.length} is not a multiple of dim = ${dim}`,
    );
  }
  for (let i = 0; i < samples.length; i++) {
    if (!Number.isFinite(samples[i])) {
      throw new Error(
        `wgflow: validateSamples: sample ${Math.floor(i / dim)} has a non-finite value (${samples[i]}) at component ${i % dim}`,
      );
    }
  }
  return samples.length / dim;
}

function checkImage(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, fn: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new Error(`wgflow: ${fn}: width and height must be non-negative integers (got ${width}×${height})`);
  }
  if (width === 0 || height === 0) throw new Error(`wgflow: ${fn}: empty image (${width}×${height})`);
  if (rgba.length !== width * height * 4) {
    throw new Error(
      `wgflow: ${fn}: RGBA data has ${rgba.length} bytes, expected width·height·4 = ${width * height * 4}`,
    );
  }
}

/** True when some pixel of the RGBA data has alpha < 255. */
function hasTransparency(rgba: Uint8Array | Uint8ClampedArray): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i]! < 255) return true;
  return false;
}

/**
 * Per-pixel weights in [0, 1] (row-major, top row first), as {@link samplesFromPixels} uses
 * them. Darkness is `(1 − L) · a` with the Rec. 709 luma `L = (0.2126 R + 0.7152 G + 0.0722 B)/255`
 * of the gamma-encoded values and `a = A/255`; alpha is `a`. Then weights below `threshold`
 * become 0 and the rest are raised to `gamma`. Returns the weights and the weighting used.
 *
 * @example
 * const { weights, weighting } = pixelWeights(new Uint8Array([0, 0, 0, 255, 255, 255, 255, 255]), 2, 1);
 * // weights = [1, 0], weighting = 'darkness'
 */
export function pixelWeights(
  rgba: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  options: Pick<SampleOptions, 'weighting' | 'threshold' | 'gamma'> = {},
): { weights: Float64Array; weighting: 'darkness' | 'alpha' } {
  checkImage(rgba, width, height, 'pixelWeights');
  const mode = options.weighting ?? 'auto';
  if (mode !== 'darkness' && mode !== 'alpha' && mode !== 'auto') {
    throw new Error(`wgflow: pixelWeights: weighting must be 'darkness', 'alpha' or 'auto' (got ${String(mode)})`);
  }
  const threshold = options.threshold ?? 0;
  const gamma = options.gamma ?? 1;
  if (!(threshold >= 0 && threshold <= 1)) {
    throw new Error(`wgflow: pixelWeights: threshold must lie in [0, 1] (got ${threshold})`);
  }
  if (!(gamma > 0 && Number.isFinite(gamma))) {
    throw new Error(`wgflow: pixelWeights: gamma must be a positive finite number (got ${gamma})`);
  }
  const weighting = mode === 'auto' ? (hasTransparency(rgba) ? 'alpha' : 'darkness') : mode;
  const n = width * height;
  const weights = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    const o = 4 * p;
    const a = rgba[o + 3]! / 255;
    let w: number;
    if (weighting === 'alpha') {
      w = a;
    } else {
      // Integer luma (weights sum to 10000) so that pure white is exactly weight 0.
      const lum = 2126 * rgba[o]! + 7152 * rgba[o + 1]! + 722 * rgba[o + 2]!;
      w = ((2_550_000 - lum) / 2_550_000) * a;
    }
    if (w < threshold || w <= 0) w = 0;
    else if (gamma !== 1) w = Math.pow(w, gamma);
    weights[p] = w;
  }
  return { weights, weighting };
}

/**
 * The affine map from pixel coordinates (u right, v down, in pixels) to math coordinates:
 * `x = x0 + s·u`, `y = y0 − s·v`, fitting a `width`×`height` picture centred in `box` with its
 * aspect ratio kept.
 *
 * @example
 * const { s, x0, y0 } = pixelToBox(200, 100, [-1, 1, -1, 1]);
 * // s = 0.01, x0 = -1, y0 = 0.5: the picture covers [-1, 1] × [-0.5, 0.5]
 */
export function pixelToBox(width: number, height: number, box: Box = DEFAULT_BOX): { s: number; x0: number; y0: number } {
  if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => Number.isFinite(v))) {
    throw new Error(`wgflow: samplesFromPixels: box must be four finite numbers [xmin, xmax, ymin, ymax] (got ${JSON.stringify(box)})`);
  }
  const [xmin, xmax, ymin, ymax] = box;
  if (!(xmax > xmin && ymax > ymin)) {
    throw new Error(`wgflow: samplesFromPixels: box must have xmax > xmin and ymax > ymin (got ${JSON.stringify(box)})`);
  }
  const s = Math.min((xmax - xmin) / width, (ymax - ymin) / height);
  const cx = 0.5 * (xmin + xmax);
  const cy = 0.5 * (ymin + ymax);
  return { s, x0: cx - 0.5 * width * s, y0: cy + 0.5 * height * s };
}

/**
 * Draws `count` points (M·2 floats, interleaved x, y) from a picture: a pixel is chosen with
 * probability proportional to its weight (see {@link pixelWeights}: darkness, or alpha for
 * transparent pictures), the point is jittered uniformly inside the pixel, and the picture is
 * mapped into `box` keeping its aspect ratio and upright (image rows flipped so that y points up).
 * Deterministic for a seed (mulberry32, CDF + binary search).
 *
 * Throws on: an empty (0×0) image, RGBA data of the wrong length, a picture with no weight
 * (all white, or fully transparent with alpha weighting), `count` not a positive integer, a bad
 * box, or non-finite output.
 *
 * @example
 * // a 2×1 image: left pixel black, right pixel white -> all points in the left half
 * const rgba = new Uint8Array([0, 0, 0, 255, 255, 255, 255, 255]);
 * const y = samplesFromPixels(rgba, 2, 1, { count: 1000, seed: 3 });
 * // y.length === 2000, every y[2*i] in [-1, 0], every y[2*i+1] in [-0.5, 0.5]
 */
export function samplesFromPixels(
  rgba: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  options: SampleOptions,
): Float32Array<ArrayBuffer> {
  const count = options?.count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count <= 0) {
    throw new Error(`wgflow: samplesFromPixels: count must be a positive integer (got ${String(count)})`);
  }
  checkImage(rgba, width, height, 'samplesFromPixels');
  const { s, x0, y0 } = pixelToBox(width, height, options.box ?? DEFAULT_BOX);
  const { weights, weighting } = pixelWeights(rgba, width, height, options);

  // Cumulative weights over the pixels that carry weight only (pictures are mostly background).
  let nz = 0;
  for (let p = 0; p < weights.length; p++) if (weights[p]! > 0) nz++;
  if (nz === 0) {
    throw new Error(
      weighting === 'alpha'
        ? 'samplesFromPixels: the picture has no weight (every pixel fully transparent)'
        : 'samplesFromPixels: the picture has no weight (no dark pixel: all white or transparent); ' +
            "use weighting: 'alpha' for a light shape on a transparent background",
    );
  }
  const index = new Uint32Array(nz);
  const cdf = new Float64Array(nz);
  let acc = 0;
  for (let p = 0, j = 0; p < weights.length; p++) {
    const w = weights[p]!;
    if (w > 0) {
      acc += w;
      index[j] = p;
      cdf[j++] = acc;
    }
  }
  const total = acc;

  const rand = mulberry32(options.seed ?? 1);
  const out = new Float32Array(2 * count);
  for (let i = 0; i < count; i++) {
    const t = rand() * total;
    // First j with cdf[j] > t.
    let lo = 0;
    let hi = nz - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! > t) hi = mid;
      else lo = mid + 1;
    }
    const p = index[lo]!;
    const px = p % width;
    const py = (p - px) / width;
    out[2 * i] = x0 + s * (px + rand());
    out[2 * i + 1] = y0 - s * (py + rand());
  }
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) {
      throw new Error('wgflow: samplesFromPixels: non-finite sample (box too large for float32?)');
    }
  }
  return out;
}

/** The browser's createImageBitmap, or a clear error where it does not exist (Node). */
function getCreateImageBitmap(fn: string): typeof createImageBitmap {
  const f = (globalThis as { createImageBitmap?: typeof createImageBitmap }).createImageBitmap;
  if (typeof f !== 'function') {
    throw new Error(`wgflow: ${fn}: createImageBitmap is not available here (browser only; in Node use io/image.ts)`);
  }
  return f;
}

/**
 * Draws the samples of {@link samplesFromPixels} from an ImageBitmap (browser), rasterised
 * through an OffscreenCanvas, scaled down so its longer side is at most `maxSide` (default 1024).
 *
 * @example
 * const bitmap = await createImageBitmap(blob);
 * const targets = samplesFromImageBitmap(bitmap, { count: 20000, seed: 1 });
 */
export function samplesFromImageBitmap(bitmap: ImageBitmap, options: BrowserSampleOptions): Float32Array<ArrayBuffer> {
  const { data, width, height } = rasterise(bitmap, bitmap.width, bitmap.height, options.maxSide, 'samplesFromImageBitmap');
  return samplesFromPixels(data, width, height, options);
}

/**
 * Draws the samples of {@link samplesFromPixels} from an `<img>` element (browser), waiting
 * for it to decode first.
 *
 * @example
 * const img = document.querySelector('img')!;
 * const targets = await samplesFromImageElement(img, { count: 20000 });
 */
export async function samplesFromImageElement(
  img: HTMLImageElement,
  options: BrowserSampleOptions,
): Promise<Float32Array<ArrayBuffer>> {
  if (!img.complete || img.naturalWidth === 0) await img.decode();
  const bitmap = await getCreateImageBitmap('samplesFromImageElement')(img);
  try {
    return samplesFromImageBitmap(bitmap, options);
  } finally {
    bitmap.close();
  }
}

/**
 * Draws the samples of {@link samplesFromPixels} from an image file or Blob (browser), e.g.
 * from an `<input type="file">` or a `fetch` response.
 *
 * @example
 * const blob = await (await fetch('emblem.png')).blob();
 * const targets = await samplesFromFile(blob, { count: 20000, box: [-2, 2, -2, 2] });
 */
export async function samplesFromFile(file: Blob, options: BrowserSampleOptions): Promise<Float32Array<ArrayBuffer>> {
  if (file.size === 0) throw new Error('wgflow: samplesFromFile: the file is empty');
  let bitmap: ImageBitmap;
  try {
    bitmap = await getCreateImageBitmap('samplesFromFile')(file);
  } catch (e) {
    throw new Error(`wgflow: samplesFromFile: could not decode the image (${(e as Error).message})`);
  }
  try {
    return samplesFromImageBitmap(bitmap, options);
  } finally {
    bitmap.close();
  }
}

function rasterise(
  source: CanvasImageSource,
  srcWidth: number,
  srcHeight: number,
  maxSide: number | undefined,
  fn: string,
): { data: Uint8ClampedArray; width: number; height: number } {
  if (!(srcWidth > 0 && srcHeight > 0)) throw new Error(`wgflow: ${fn}: empty image (${srcWidth}×${srcHeight})`);
  const cap = maxSide ?? 1024;
  if (!(cap >= 1)) throw new Error(`wgflow: ${fn}: maxSide must be >= 1 (got ${cap})`);
  const scale = Math.min(1, cap / Math.max(srcWidth, srcHeight));
  const width = Math.max(1, Math.round(srcWidth * scale));
  const height = Math.max(1, Math.round(srcHeight * scale));
  if (typeof OffscreenCanvas === 'undefined') {
    throw new Error(`wgflow: ${fn}: OffscreenCanvas is not available here (browser only; in Node use io/image.ts)`);
  }
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error(`wgflow: ${fn}: could not get a 2D context`);
  ctx.clearRect(0, 0, width, height);
  ctx.drawImage(source, 0, 0, width, height);
  const { data } = ctx.getImageData(0, 0, width, height);
  return { data, width, height };
}
