import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImage } from '../src/io/image.js';
import { csvString, lineChartSvg, logTicks, niceTicks, parseColor, scatterPng, writeCsv } from '../app/plot.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgflow-plot-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ticks', () => {
  it('picks 1-2-5 steps and rounds the bounds outward', () => {
    expect(niceTicks(0.13, 0.92, 5)).toEqual({ lo: 0, hi: 1, step: 0.2, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] });
    expect(niceTicks(-3.2, 47, 5)).toEqual({ lo: -10, hi: 50, step: 10, ticks: [-10, 0, 10, 20, 30, 40, 50] });
    expect(niceTicks(0, 1000, 4).step).toBe(200);
    expect(niceTicks(0.1, 0.3, 2).ticks).toEqual([0.1, 0.2, 0.3]);
    const flat = niceTicks(5, 5);
    expect(flat.lo).toBeLessThan(5);
    expect(flat.hi).toBeGreaterThan(5);
    expect(() => niceTicks(0, NaN)).toThrow(/non-finite/);
  });
  it('puts log ticks on decades (and 2, 5 on short ranges)', () => {
    expect(logTicks(0.003, 40).ticks).toEqual([0.001, 0.01, 0.1, 1, 10, 100]);
    expect(logTicks(1.5, 30).ticks).toEqual([1, 2, 5, 10, 20, 50, 100]);
    expect(logTicks(1e-12, 1e6).ticks.length).toBeLessThanOrEqual(10);
    expect(() => logTicks(0, 1)).toThrow(/positive/);
  });
});

describe('lineChartSvg', () => {
  it('draws axes, ticks, grid, labels, legend and escapes text', () => {
    const x = Array.from({ length: 50 }, (_, i) => i);
    const svg = lineChartSvg({
      title: 'Energy <F> & friends',
      xLabel: 'step',
      yLabel: 'F',
      series: [
        { name: 'gradient', x, y: x.map((i) => Math.exp(-i / 10)) },
        { name: 'steering', x, y: x.map((i) => Math.exp(-i / 4)), color: '#000000' },
      ],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('Energy &lt;F&gt; &amp; friends');
    expect(svg).not.toContain('<F>');
    expect(svg).toContain('>step</text>');
    expect(svg).toContain('>gradient</text>');
    expect(svg).toContain('>steering</text>');
    expect(svg).toContain('stroke="#000000"');
    expect(svg).toContain('>0.4</text>'); // a nice y tick
    expect((svg.match(/<path /g) ?? []).length).toBe(2);
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('leaves gaps at NaN and, on a log axis, at y <= 0; draws lone points as dots', () => {
    const svg = lineChartSvg({
      series: [{ name: 'residual', x: [0, 1, 2, 3, 4, 5, 6, 7], y: [1, 0.1, NaN, 0.01, 0.001, 0, 1e-5, 1e-6] }],
      logY: true,
    });
    const d = /<path [^>]*d="([^"]+)"/.exec(svg)![1]!;
    expect((d.match(/M/g) ?? []).length).toBe(3); // [0,1] [3,4] [6,7]
    expect(svg).toContain('>1e-6</text>');
    expect(svg).toContain('>1</text>');
    expect(svg).not.toMatch(/NaN|Infinity/);
    const lone = lineChartSvg({ series: [{ name: 'a', x: [0, 1, 2], y: [NaN, 3, NaN] }] });
    expect(lone).toContain('<circle');
    const none = lineChartSvg({ series: [{ name: 'a', x: [0], y: [NaN] }] });
    expect(none).toContain('no data');
    expect(() => lineChartSvg({ series: [{ name: 'a', x: [0, 1], y: [0] }] })).toThrow(/2 x values but 1 y/);
  });
});

describe('scatterPng', () => {
  it('draws particles over targets on the background, upright, aspect kept', () => {
    const points = new Float32Array([0.5, 0.5, -0.5, -0.5, NaN, 0]);
    const targets = new Float32Array([0.5, -0.5]);
    const png = scatterPng(points, 2, { width: 200, height: 100, box: [-1, 1, -1, 1], targets, color: '#ff0000', targetColor: [0, 0, 255], radius: 2, targetRadius: 2 });
    const img = decodeImage(png);
    expect([img.width, img.height]).toEqual([200, 100]);
    const at = (u: number, v: number) => Array.from(img.data.subarray(4 * (v * 200 + u), 4 * (v * 200 + u) + 4));
    // box [-1,1]^2 fitted into 200×100: scale 50 px per unit, centred at (100, 50)
    expect(at(125, 25)).toEqual([255, 0, 0, 255]); // (0.5, 0.5): upper right
    expect(at(75, 75)).toEqual([255, 0, 0, 255]); // (-0.5, -0.5): lower left
    expect(at(125, 75)).toEqual([0, 0, 255, 255]); // the target (0.5, -0.5)
    expect(at(10, 10)).toEqual([255, 255, 255, 255]);
    expect(at(100, 50)).toEqual([255, 255, 255, 255]);
  });

  it('fits the data when no box is given; handles dim 1 and 3; checks input', () => {
    const png = scatterPng(new Float64Array([10, 20, 30]), 1, { width: 64, height: 32, background: '#000' });
    const img = decodeImage(png);
    let lit = 0;
    for (let p = 0; p < 64 * 32; p++) if (img.data[4 * p + 2]! > 100) lit++;
    expect(lit).toBeGreaterThan(3);
    expect(decodeImage(scatterPng(new Float32Array([0, 0, 5, 1, 1, -5]), 3)).width).toBe(512);
    expect(() => scatterPng(new Float32Array(3), 2)).toThrow(/multiple of dim/);
    expect(() => scatterPng(new Float32Array(2), 2, { box: [1, 0, 0, 1] })).toThrow(/box/);
    expect(parseColor('#f80')).toEqual([255, 136, 0, 255]);
    expect(parseColor('#11223380')).toEqual([17, 34, 51, 128]);
    expect(() => parseColor('red')).toThrow(/expected '#rgb'/);
  });
});

describe('writeCsv', () => {
  it('writes a header and full-precision rows, and checks row lengths', async () => {
    const path = join(tmp, 'a', 'b.csv');
    await writeCsv(path, ['step', 'energy, total', 'kl'], [[0, 0.1 + 0.2, NaN], [10, -1e-20, Infinity]]);
    expect(readFileSync(path, 'utf8')).toBe('step,"energy, total",kl\n0,0.30000000000000004,NaN\n10,-1e-20,Infinity\n');
    expect(() => csvString(['a', 'b'], [[1]])).toThrow(/row 0 has 1 values/);
    expect(() => csvString([], [])).toThrow(/header/);
  });
});
