/**
 * Node-only image I/O: decoding PNG (pngjs) and JPEG (jpeg-js) into RGBA, writing PNG, and
 * drawing target samples straight from an image file. The browser equivalents live in
 * `samples.ts` (samplesFromFile, samplesFromImageBitmap).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { samplesFromPixels, type SampleOptions } from '../samples.js';

const { PNG } = pngjs;

/** A decoded picture: RGBA bytes, row-major, top row first. */
export interface RgbaImage {
  width: number;
  height: number;
  /** width·height·4 bytes, R G B A per pixel. */
  data: Uint8Array;
}

/** Image formats {@link decodeImage} recognises by their magic bytes. */
export type ImageFormat = 'png' | 'jpeg';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * The format of encoded image bytes from their magic bytes, or undefined when unknown.
 *
 * @example
 * sniffImageFormat(readFileSync('assets/emblem.png')); // 'png'
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/**
 * Decodes PNG or JPEG bytes (chosen by magic bytes) into RGBA. `name` only labels errors.
 * Throws a clear Error on empty, unsupported or corrupt data.
 *
 * @example
 * const { width, height, data } = decodeImage(readFileSync('picture.jpg'));
 */
export function decodeImage(bytes: Uint8Array, name = 'image'): RgbaImage {
  if (bytes.length === 0) throw new Error(`wgflow: decodeImage: ${name} is empty (0 bytes)`);
  const format = sniffImageFormat(bytes);
  if (!format) {
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(
      `wgflow: decodeImage: ${name} is not a PNG or JPEG file (unsupported format; first bytes: ${head})`,
    );
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let img: RgbaImage;
  try {
    if (format === 'png') {
      const png = PNG.sync.read(buf);
      img = { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    } else {
      const j = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      img = { width: j.width, height: j.height, data: j.data };
    }
  } catch (e) {
    throw new Error(`wgflow: decodeImage: ${name} is a corrupt ${format.toUpperCase()} file (${(e as Error).message})`);
  }
  if (!(img.width > 0 && img.height > 0) || img.data.length !== img.width * img.height * 4) {
    throw new Error(`wgflow: decodeImage: ${name} is a corrupt ${format.toUpperCase()} file (decoded ${img.width}×${img.height}, ${img.data.length} bytes)`);
  }
  return img;
}

/**
 * Reads a PNG or JPEG file into RGBA. Throws a clear Error for a missing, empty, corrupt or
 * unsupported file.
 *
 * @example
 * const { width, height, data } = await loadImage('assets/emblem.png');
 */
export async function loadImage(path: string): Promise<RgbaImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`wgflow: loadImage: file not found: ${path}`);
    if (code === 'EISDIR') throw new Error(`wgflow: loadImage: ${path} is a directory, not an image file`);
    throw new Error(`wgflow: loadImage: cannot read ${path} (${(e as Error).message})`);
  }
  return decodeImage(bytes, path);
}

/**
 * Loads a picture and draws target samples from it with {@link samplesFromPixels}
 * (darkness- or alpha-weighted, upright, aspect kept, in `box`). Returns M·2 floats.
 *
 * @example
 * const targets = await samplesFromImageFile('assets/emblem.png', { count: 20000, seed: 1 });
 */
export async function samplesFromImageFile(path: string, options: SampleOptions): Promise<Float32Array<ArrayBuffer>> {
  const { width, height, data } = await loadImage(path);
  return samplesFromPixels(data, width, height, options);
}

/**
 * Encodes RGBA bytes (width·height·4, top row first) as PNG bytes.
 *
 * @example
 * const bytes = encodePng(1, 1, new Uint8Array([255, 0, 0, 255])); // one red pixel
 */
export function encodePng(width: number, height: number, rgba: Uint8Array | Uint8ClampedArray): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`wgflow: encodePng: width and height must be positive integers (got ${width}×${height})`);
  }
  if (rgba.length !== width * height * 4) {
    throw new Error(`wgflow: encodePng: RGBA data has ${rgba.length} bytes, expected ${width * height * 4}`);
  }
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return PNG.sync.write(png);
}

/**
 * Writes RGBA bytes as a PNG file, creating missing parent directories.
 *
 * @example
 * await writePng('out/red.png', 1, 1, new Uint8Array([255, 0, 0, 255]));
 */
export async function writePng(
  path: string,
  width: number,
  height: number,
  rgba: Uint8Array | Uint8ClampedArray,
): Promise<void> {
  const bytes = encodePng(width, height, rgba);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}
