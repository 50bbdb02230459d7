import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import {
  pixelToBox,
  pixelWeights,
  samplesFromFile,
  samplesFromPixels,
  validateSamples,
} from '../src/samples.js';
import { mulberry32 } from '../src/math/random.js';
import { decodeImage, encodePng, loadImage, samplesFromImageFile, sniffImageFormat, writePng } from '../src/io/image.js';

/** A width×height RGBA image filled by f(x, y) -> [r, g, b, a]. */
function image(width: number, height: number, f: (x: number, y: number) => number[]): Uint8Array {
  const d = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) d.set(f(x, y), 4 * (y * width + x));
  return d;
}

const tmp = mkdtempSync(join(tmpdir(), 'wgflow-targets-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('samplesFromPixels', () => {
  it('follows the darkness distribution (two regions, binomial tolerance)', () => {
    // left half black (weight 1), right half grey 153 (weight 1 − 0.6 = 0.4)
    const w = 40;
    const h = 20;
    const img = image(w, h, (x) => (x < w / 2 ? [0, 0, 0, 255] : [153, 153, 153, 255]));
    const count = 20000;
    const ys = samplesFromPixels(img, w, h, { count, seed: 11 });
    let left = 0;
    for (let i = 0; i < count; i++) if (ys[2 * i]! < 0) left++;
    const p = 1 / (1 + (1 - 153 / 255));
    const sd = Math.sqrt(count * p * (1 - p));
    expect(Math.abs(left - count * p)).toBeLessThan(4 * sd);
  });

  it('jitters uniformly inside pixels and keeps the aspect ratio (200×100 -> [-1,1]×[-0.5,0.5])', () => {
    const img = image(200, 100, () => [0, 0, 0, 255]);
    const ys = samplesFromPixels(img, 200, 100, { count: 20000, seed: 2 });
    let [xmin, xmax, ymin, ymax] = [Infinity, -Infinity, Infinity, -Infinity];
    let sx = 0;
    let sy = 0;
    for (let i = 0; i < 20000; i++) {
      const [x, y] = [ys[2 * i]!, ys[2 * i + 1]!];
      [xmin, xmax, ymin, ymax] = [Math.min(xmin, x), Math.max(xmax, x), Math.min(ymin, y), Math.max(ymax, y)];
      sx += x * x;
      sy += y * y;
    }
    expect(xmin).toBeGreaterThanOrEqual(-1);
    expect(xmax).toBeLessThanOrEqual(1);
    expect(ymin).toBeGreaterThanOrEqual(-0.5);
    expect(ymax).toBeLessThanOrEqual(0.5);
    expect(xmax - xmin).toBeGreaterThan(1.99);
    expect(ymax - ymin).toBeGreaterThan(0.99);
    // uniform on [-1,1]×[-0.5,0.5]: E x² = 1/3, E y² = 1/12
    expect(sx / 20000).toBeCloseTo(1 / 3, 2);
    expect(sy / 20000).toBeCloseTo(1 / 12, 2);
    // a tall image in a wide box is centred: 10×20 in [0, 4]×[0, 1] -> x in [1.75, 2.25]
    const tall = samplesFromPixels(image(10, 20, () => [0, 0, 0, 255]), 10, 20, { count: 500, box: [0, 4, 0, 1] });
    for (let i = 0; i < 500; i++) {
      expect(tall[2 * i]).toBeGreaterThanOrEqual(1.75);
      expect(tall[2 * i]).toBeLessThanOrEqual(2.25);
    }
    expect(pixelToBox(10, 20, [0, 4, 0, 1])).toEqual({ s: 0.05, x0: 1.75, y0: 1 });
  });

  it('is upright: ink in the top rows lands at positive y', () => {
    const img = image(16, 16, (_x, y) => (y < 4 ? [0, 0, 0, 255] : [255, 255, 255, 255]));
    const ys = samplesFromPixels(img, 16, 16, { count: 2000, seed: 4 });
    for (let i = 0; i < 2000; i++) expect(ys[2 * i + 1]).toBeGreaterThanOrEqual(0.5);
    // and ink in the left columns at negative x
    const img2 = image(16, 16, (x) => (x < 4 ? [0, 0, 0, 255] : [255, 255, 255, 255]));
    const ys2 = samplesFromPixels(img2, 16, 16, { count: 2000, seed: 4 });
    for (let i = 0; i < 2000; i++) expect(ys2[2 * i]).toBeLessThanOrEqual(-0.5);
  });

  it('is deterministic for a seed', () => {
    const img = image(8, 8, (x, y) => [x * 30, y * 30, 0, 255]);
    const a = samplesFromPixels(img, 8, 8, { count: 300, seed: 9 });
    const b = samplesFromPixels(img, 8, 8, { count: 300, seed: 9 });
    const c = samplesFromPixels(img, 8, 8, { count: 300, seed: 10 });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(mulberry32(3)()).toBe(mulberry32(3)());
  });

  it('weights by alpha for transparent pictures (auto), by darkness otherwise', () => {
    // white shape on a transparent background: only alpha weighting sees it
    const img = image(10, 10, (x) => (x < 5 ? [255, 255, 255, 255] : [0, 0, 0, 0]));
    expect(pixelWeights(img, 10, 10).weighting).toBe('alpha');
    const ys = samplesFromPixels(img, 10, 10, { count: 500, seed: 1 });
    for (let i = 0; i < 500; i++) expect(ys[2 * i]).toBeLessThanOrEqual(0);
    expect(() => samplesFromPixels(img, 10, 10, { count: 5, weighting: 'darkness' })).toThrow(/no weight/);
    // half-transparent black counts half in darkness mode
    const { weights } = pixelWeights(new Uint8Array([0, 0, 0, 255, 0, 0, 0, 51]), 2, 1, { weighting: 'darkness' });
    expect(weights[0]).toBe(1);
    expect(weights[1]).toBeCloseTo(0.2, 12);
    // threshold drops faint pixels, gamma sharpens
    const faint = pixelWeights(new Uint8Array([250, 250, 250, 255, 0, 0, 0, 255]), 2, 1, { threshold: 0.05 });
    expect(Array.from(faint.weights)).toEqual([0, 1]);
    const g = pixelWeights(new Uint8Array([128, 128, 128, 255]), 1, 1, { gamma: 2 });
    expect(g.weights[0]).toBeCloseTo((1 - 128 / 255) ** 2, 12);
  });

  it('throws a clear error for every bad input', () => {
    const img = image(4, 4, () => [0, 0, 0, 255]);
    expect(() => samplesFromPixels(new Uint8Array(0), 0, 0, { count: 10 })).toThrow(/empty image/);
    expect(() => samplesFromPixels(image(4, 4, () => [255, 255, 255, 255]), 4, 4, { count: 10 })).toThrow(/no weight/);
    expect(() => samplesFromPixels(image(4, 4, () => [0, 0, 0, 0]), 4, 4, { count: 10 })).toThrow(/no weight/);
    expect(() => samplesFromPixels(img, 4, 4, { count: 0 })).toThrow(/count must be a positive integer/);
    expect(() => samplesFromPixels(img, 4, 4, { count: 2.5 })).toThrow(/count must be a positive integer/);
    expect(() => samplesFromPixels(img, 4, 4, { count: NaN })).toThrow(/count must be a positive integer/);
    expect(() => samplesFromPixels(img, 4, 5, { count: 10 })).toThrow(/expected width·height·4/);
    expect(() => samplesFromPixels(img, 4, 4, { count: 10, box: [1, -1, -1, 1] })).toThrow(/xmax > xmin/);
    expect(() => samplesFromPixels(img, 4, 4, { count: 10, box: [0, NaN, 0, 1] })).toThrow(/finite/);
    expect(() => samplesFromPixels(img, 4, 4, { count: 10, box: [-1e39, 1e39, -1e39, 1e39] })).toThrow(/non-finite/);
    expect(() => samplesFromPixels(img, 4, 4, { count: 10, weighting: 'bright' as 'alpha' })).toThrow(/weighting/);
    expect(() => samplesFromPixels(img, 4, 4, { count: 10, gamma: 0 })).toThrow(/gamma/);
    expect(() => samplesFromPixels(img, 4, 4, { count: 10, threshold: 2 })).toThrow(/threshold/);
  });

  it('browser helpers fail clearly in Node', async () => {
    await expect(samplesFromFile(new Blob([new Uint8Array([1])]), { count: 1 })).rejects.toThrow(/browser only/);
    await expect(samplesFromFile(new Blob([]), { count: 1 })).rejects.toThrow(/empty/);
  });
});

describe('validateSamples', () => {
  it('returns M and throws on M = 0, bad length, bad dim, non-finite values', () => {
    expect(validateSamples(new Float32Array([0, 0, 1, 1]), 2)).toBe(2);
    expect(validateSamples(new Float32Array([0, 0, 1]), 3)).toBe(1);
    expect(() => validateSamples(new Float32Array(0), 2)).toThrow(/M = 0/);
    expect(() => validateSamples(new Float32Array(3), 2)).toThrow(/not a multiple/);
    expect(() => validateSamples(new Float32Array(4), 4)).toThrow(/dim must be/);
    expect(() => validateSamples(new Float32Array([0, Infinity]), 2)).toThrow(/non-finite/);
    expect(() => validateSamples(new Float32Array([0, 0, NaN, 1]), 2)).toThrow(/sample 1/);
    expect(() => validateSamples([0, 0] as unknown as Float32Array, 2)).toThrow(/Float32Array/);
  });
});

describe('io/image', () => {
  it('round-trips a PNG through writePng/loadImage', async () => {
    const img = image(5, 3, (x, y) => [x * 50, y * 100, 7, 200 + x]);
    const path = join(tmp, 'sub', 'dir', 'a.png');
    await writePng(path, 5, 3, img);
    const back = await loadImage(path);
    expect([back.width, back.height]).toEqual([5, 3]);
    expect(Array.from(back.data)).toEqual(Array.from(img));
    expect(sniffImageFormat(encodePng(1, 1, new Uint8Array(4)))).toBe('png');
  });

  it('loads a JPEG (approximately, it is lossy)', async () => {
    const img = image(16, 8, (x) => (x < 8 ? [0, 0, 0, 255] : [255, 255, 255, 255]));
    const enc = jpeg.encode({ width: 16, height: 8, data: img }, 95);
    const path = join(tmp, 'a.jpg');
    writeFileSync(path, enc.data);
    const back = await loadImage(path);
    expect([back.width, back.height]).toEqual([16, 8]);
    expect(back.data[0]).toBeLessThan(30);
    expect(back.data[4 * 15]).toBeGreaterThan(225);
    const ys = await samplesFromImageFile(path, { count: 1000, seed: 1, threshold: 0.2 });
    for (let i = 0; i < 1000; i++) expect(ys[2 * i]).toBeLessThan(0.01);
  });

  it('throws clear errors for missing, empty, corrupt and unsupported files', async () => {
    await expect(loadImage(join(tmp, 'nope.png'))).rejects.toThrow(/file not found/);
    mkdirSync(join(tmp, 'adir'));
    await expect(loadImage(join(tmp, 'adir'))).rejects.toThrow(/directory/);
    writeFileSync(join(tmp, 'empty.png'), new Uint8Array(0));
    await expect(loadImage(join(tmp, 'empty.png'))).rejects.toThrow(/empty/);
    const good = encodePng(4, 4, new Uint8Array(64));
    writeFileSync(join(tmp, 'trunc.png'), good.subarray(0, 30));
    await expect(loadImage(join(tmp, 'trunc.png'))).rejects.toThrow(/corrupt PNG/);
    const garbled = Buffer.from(good);
    garbled.fill(0x41, 16);
    writeFileSync(join(tmp, 'garbled.png'), garbled);
    await expect(loadImage(join(tmp, 'garbled.png'))).rejects.toThrow(/corrupt PNG/);
    writeFileSync(join(tmp, 'bad.jpg'), new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5]));
    await expect(loadImage(join(tmp, 'bad.jpg'))).rejects.toThrow(/corrupt JPEG/);
    writeFileSync(join(tmp, 'a.gif'), Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'));
    await expect(loadImage(join(tmp, 'a.gif'))).rejects.toThrow(/not a PNG or JPEG/);
    expect(() => decodeImage(new Uint8Array(0))).toThrow(/empty/);
  });

  it('the shipped emblem loads and gives upright, in-box samples', async () => {
    const { width, height } = await loadImage('assets/emblem.png');
    expect([width, height]).toEqual([256, 256]);
    const ys = await samplesFromImageFile('assets/emblem.png', { count: 4000, seed: 1 });
    expect(validateSamples(ys, 2)).toBe(4000);
    let ring = 0;
    for (let i = 0; i < 4000; i++) {
      const r = Math.hypot(ys[2 * i]!, ys[2 * i + 1]!);
      expect(r).toBeLessThanOrEqual(Math.SQRT2);
      if (Math.abs(r - 0.86) < 0.08) ring++;
    }
    // a good share of the ink is the ring, and nothing lies outside it
    expect(ring / 4000).toBeGreaterThan(0.3);
    for (let i = 0; i < 4000; i++) expect(Math.hypot(ys[2 * i]!, ys[2 * i + 1]!)).toBeLessThan(0.95);
  });
});
