// The built package, unchanged, in a real browser: headless Chromium (WebGPU through
// navigator.gpu; SwiftShader when there is no GPU) loads the compiled ESM from a static server
// on 127.0.0.1, runs small flows, and returns positions and stats; they are compared here with
// the float64 oracle. A missing Chromium or a missing WebGPU adapter fails the run.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, describe, expect, it } from 'vitest';
import { quadratic } from '../src/energies/potential.js';
import { twoQuadrants } from '../src/init.js';
import { referenceEnergy, referenceFlow } from '../src/reference/flows.js';
import { decodeImage } from '../src/io/image.js';
import { samplesFromPixels } from '../src/samples.js';
import { klReference } from '../src/energies/kl.js';
import { uniformBox } from '../src/init.js';
import { slicedWasserstein2 } from '../src/math/sliced.js';
import { readFileSync } from 'node:fs';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

interface ServeModule {
  serve(o: { root: string }): Promise<{ url: string; close: () => Promise<void> }>;
  CHROMIUM_WEBGPU_ARGS: string[];
  CHROMIUM_PATH: string;
}

/**
 * Compiles the src/index.ts graph with the project's tsconfig into `out/dist/src/*.js` (the
 * same files `npm run build` puts in dist/src), in a private directory: always fresh, never
 * racing other builds of dist/, and independent of type errors in unrelated test/bench files.
 */
function buildPackage(out: string): void {
  execFileSync(process.execPath, [join(root, 'scripts/gen-shaders.mjs')], { stdio: 'pipe' });
  const cfgPath = join(root, 'tsconfig.json');
  const cfg = ts.readConfigFile(cfgPath, ts.sys.readFile);
  if (cfg.error) throw new Error(ts.flattenDiagnosticMessageText(cfg.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, root);
  const options = { ...parsed.options, outDir: join(out, 'dist'), rootDir: root, declaration: false, noEmitOnError: true };
  const program = ts.createProgram([join(root, 'src/index.ts')], options);
  const emit = program.emit();
  const diags = [...ts.getPreEmitDiagnostics(program), ...emit.diagnostics].filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (diags.length || emit.emitSkipped) {
    const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
    throw new Error(`browser test: the package does not compile:\n${ts.formatDiagnostics(diags, host)}`);
  }
  if (!existsSync(join(out, 'dist/src/index.js'))) throw new Error('browser test: the build emitted no dist/src/index.js');
}

// The test page: it imports the compiled package exactly as a user's page would, and offers
// window.wgflowRun(cfg) to the test. Everything else (WGSL included) ships inside the JS.
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>wgflow browser test</title>
<link rel="icon" href="data:,">
<script type="module">
import * as wgflow from './dist/src/index.js';
const { getDevice, createFlow, quadratic } = wgflow;
let dev;
window.wgflowRun = async (cfg) => {
  dev ??= await getDevice();
  const { device, adapterInfo, fallback, summary } = dev;
  const out = { adapterInfo, fallback, summary, runs: [] };
  for (const method of cfg.methods) {
    device.pushErrorScope('validation');
    const energy = [quadratic(cfg.quadratic)];
    const opts = { dim: 2, positions: { kind: 'two-quadrants', n: cfg.n, seed: cfg.seed }, energy, method, h: cfg.h, gamma: cfg.gamma };
    const flow = await createFlow(device, opts);
    const x0 = await flow.positions();
    await flow.step(cfg.steps);
    const stats = await flow.stats();
    const x = await flow.positions();
    const v = await flow.velocities();
    flow.destroy();
    // The render-loop path: steps recorded into the caller's own compute pass.
    const flow2 = await createFlow(device, opts);
    const enc = device.createCommandEncoder({ label: 'test.encodeSteps' });
    const pass = enc.beginComputePass();
    flow2.encodeSteps(pass, cfg.steps);
    pass.end();
    device.queue.submit([enc.finish()]);
    const x2 = await flow2.positions();
    flow2.destroy();
    const err = await device.popErrorScope();
    out.runs.push({ method, x0: Array.from(x0), x: Array.from(x), v: Array.from(v), xEncoded: Array.from(x2), stats, validation: err ? err.message : null });
  }
  return out;
};
window.wgflowReady = true;
</script>`;

/** max_i |a_i − b_i| / max(1, max |b|), as in flow.test.ts. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0, s = 1;
  for (let k = 0; k < b.length; k++) { m = Math.max(m, Math.abs(a[k]! - b[k]!)); s = Math.max(s, Math.abs(b[k]!)); }
  return m / s;
}

interface RunResult {
  method: 'gradient' | 'accelerated' | 'steering';
  x0: number[]; x: number[]; v: number[]; xEncoded: number[];
  stats: { step: number; energy: number; kinetic: number; residual: number; mean: number[]; terms: Record<string, number> };
  validation: string | null;
}
interface PageResult {
  adapterInfo: { runtime: string; vendor: string; architecture: string };
  fallback: boolean;
  summary: string;
  runs: RunResult[];
}

const CFG = {
  methods: ['gradient', 'accelerated', 'steering'] as const,
  n: 500, seed: 3, steps: 50, h: 0.05, gamma: 0.7,
  quadratic: { center: [0.25, -0.1], scale: 0.8 },
};

describe('the package in headless Chromium (WebGPU via navigator.gpu)', () => {
  let tmp = '';
  let profile = '';
  let server: { url: string; close: () => Promise<void> } | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const requested: string[] = [];
  const pageErrors: string[] = [];
  // Set up once, lazily: every test awaits it, so a missing Chromium or adapter fails each
  // test with the reason (a throwing beforeAll would only mark them skipped).
  let setupPromise: Promise<PageResult> | undefined;
  const setup = () => (setupPromise ??= start());

  async function start(): Promise<PageResult> {
    const srv = (await import(pathToFileURL(join(root, 'scripts/serve.mjs')).href)) as ServeModule;
    if (!existsSync(srv.CHROMIUM_PATH)) {
      throw new Error(`browser test: Chromium not found at ${srv.CHROMIUM_PATH}. Install it (Debian/Ubuntu: sudo apt-get install -y chromium) or set WGFLOW_CHROMIUM to a Chromium/Chrome binary. This test fails rather than skips.`);
    }
    tmp = mkdtempSync(join(tmpdir(), 'wgflow-browser-'));
    profile = mkdtempSync(join(tmpdir(), 'wgflow-chromium-profile-'));
    buildPackage(tmp);
    writeFileSync(join(tmp, 'index.html'), PAGE);
    cpSync(join(root, 'assets/emblem.png'), join(tmp, 'emblem.png'));
    server = await srv.serve({ root: tmp });
    try {
      browser = await puppeteer.launch({
        executablePath: srv.CHROMIUM_PATH,
        headless: true,
        userDataDir: profile,
        args: srv.CHROMIUM_WEBGPU_ARGS,
        timeout: 30_000,
      });
    } catch (e) {
      throw new Error(`browser test: Chromium at ${srv.CHROMIUM_PATH} failed to start: ${(e as Error).message}`);
    }
    page = await browser.newPage();
    page.on('request', (r) => requested.push(new URL(r.url()).pathname));
    page.on('pageerror', (e) => pageErrors.push(String((e as Error).message ?? e)));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
    await page.goto(`${server.url}index.html`, { waitUntil: 'load' });
    await page.waitForFunction('window.wgflowReady === true', { timeout: 15_000 }).catch(() => {
      throw new Error(`browser test: the page did not load the package (${pageErrors.join('; ') || 'no error reported'})`);
    });
    const hasGpu = await page.evaluate('!!navigator.gpu && window.isSecureContext');
    if (!hasGpu) throw new Error('browser test: Chromium exposes no navigator.gpu on http://127.0.0.1 (is --enable-unsafe-webgpu honoured?)');
    try {
      return (await page.evaluate(`wgflowRun(${JSON.stringify(CFG)})`)) as PageResult;
    } catch (e) {
      throw new Error(`browser test: running the flows in Chromium failed (no WebGPU adapter?): ${(e as Error).message}`);
    }
  }

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close();
    for (const d of [tmp, profile]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('gets its device through navigator.gpu', async () => {
    const result = await setup();
    expect(result.adapterInfo.runtime).toBe('browser');
    expect(result.summary).toContain('browser');
    console.log(`browser adapter: ${result.summary}`);
  }, 60_000);

  it('loads only the compiled JS: no shader or other file reads at run time', async () => {
    await setup();
    const assets = requested.filter((p) => p !== '/index.html');
    expect(assets).toContain('/dist/src/index.js');
    for (const p of assets) expect(p, `unexpected request ${p}`).toMatch(/^\/dist\/src\/.*\.js$/);
    expect(pageErrors).toEqual([]);
  });

  for (const method of CFG.methods) {
    it(`${method}: N=500, 50 steps match the float64 reference (rel < 2e-4)`, async () => {
      const result = await setup();
      const run = result.runs.find((r) => r.method === method)!;
      expect(run.validation).toBeNull();
      const n = CFG.n, dim = 2;
      // Same seeded start in Node and in the browser.
      expect(run.x0).toEqual(Array.from(twoQuadrants(n, { seed: CFG.seed })));
      const energy = [quadratic(CFG.quadratic)];
      const ref = referenceFlow(Float64Array.from(run.x0), undefined, {
        dim, method, h: CFG.h, gamma: CFG.gamma, steps: CFG.steps,
        gradient: (y) => referenceEnergy(energy, y, n, dim).grad,
      });
      const ex = relErr(run.x, ref.x);
      expect(ex, `${method} positions rel error`).toBeLessThan(2e-4);
      if (method !== 'gradient') expect(relErr(run.v, ref.v), `${method} velocities rel error`).toBeLessThan(2e-4);
      // The same steps recorded with encodeSteps() into one pass give the same bits.
      expect(run.xEncoded).toEqual(run.x);
      // Stats at the final positions.
      const s = run.stats;
      const refE = referenceEnergy(energy, ref.x, n, dim).value;
      let kin = 0;
      for (const vk of ref.v) kin += vk * vk;
      kin /= 2 * n;
      expect(s.step).toBe(CFG.steps);
      expect(Math.abs(s.energy - refE) / refE, `${method} energy`).toBeLessThan(2e-4);
      if (method !== 'gradient') expect(Math.abs(s.kinetic - kin) / kin, `${method} kinetic`).toBeLessThan(2e-4);
      console.log(`browser ${method}: pos rel err ${ex.toExponential(2)}, energy ${s.energy.toPrecision(7)} vs ${refE.toPrecision(7)}`);
    });
  }

  // The demo page (built with Vite) has its own test: test/demo.test.ts.
  // Image targets from the browser's own decoders (File/Blob, ImageBitmap, <img>) equal the
  // Node path (pngjs + samplesFromPixels) on the same picture, and bad pictures give clear
  // errors; the KL-to-samples term runs through navigator.gpu and equals its float64 oracle.
  it('image targets from a File, an ImageBitmap and an <img>; KL-to-samples on the page', async () => {
    await setup();
    const p = await browser!.newPage();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(String((e as Error).message ?? e)));
    await p.goto(`${server!.url}index.html`, { waitUntil: 'load' });
    await p.waitForFunction('window.wgflowReady === true', { timeout: 15_000 });
    const opts = { count: 3000, seed: 5 };
    const n = 400;
    const x = uniformBox(n, 2, { low: -0.8, high: 0.8, seed: 9 });
    const res = (await p.evaluate(`(async () => {
      const w = await import('./dist/src/index.js');
      const opts = ${JSON.stringify(opts)};
      const blob = await (await fetch('/emblem.png')).blob();
      const fromFile = await w.samplesFromFile(blob, opts);
      const bitmap = await createImageBitmap(blob);
      const fromBitmap = w.samplesFromImageBitmap(bitmap, opts);
      const img = new Image();
      img.src = '/emblem.png';
      const fromImg = await w.samplesFromImageElement(img, opts);
      const err = async (f) => { try { await f(); return null; } catch (e) { return String(e.message); } };
      const white = new OffscreenCanvas(16, 8);
      const ctx = white.getContext('2d');
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, 16, 8);
      const whiteBlob = await white.convertToBlob({ type: 'image/png' });
      const errs = {
        empty: await err(() => w.samplesFromFile(new Blob([]), opts)),
        corrupt: await err(() => w.samplesFromFile(new Blob([new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 1, 2, 3, 4])], { type: 'image/png' }), opts)),
        white: await err(() => w.samplesFromFile(whiteBlob, opts)),
        zero: await err(() => w.samplesFromFile(blob, { count: 0 })),
      };
      const { device } = await w.getDevice();
      device.pushErrorScope('validation');
      const y = fromFile;
      const flow = await w.createFlow(device, { dim: 2, positions: new Float32Array(${JSON.stringify(Array.from(x))}),
        energy: [w.klToSamples(y, { label: 'KL' })], method: 'gradient', h: 1e-4 });
      const stats = await flow.stats();
      const grad = await flow.gradient();
      flow.destroy();
      const validation = await device.popErrorScope();
      return { fromFile: Array.from(fromFile), fromBitmap: Array.from(fromBitmap), fromImg: Array.from(fromImg), errs,
        kl: stats.terms.KL, grad: Array.from(grad), validation: validation ? validation.message : null };
    })()`)) as { fromFile: number[]; fromBitmap: number[]; fromImg: number[]; errs: Record<string, string | null>; kl: number; grad: number[]; validation: string | null };
    await p.close();
    expect(errors).toEqual([]);
    // Node: the same picture through pngjs. Opaque pixels rasterise identically, so the
    // browser's samples equal Node's up to rounding in edge pixels: compare point by point.
    const png = decodeImage(readFileSync(join(root, 'assets/emblem.png')), 'emblem.png');
    const node = samplesFromPixels(png.data, png.width, png.height, opts);
    for (const [name, got] of [['File', res.fromFile], ['ImageBitmap', res.fromBitmap], ['<img>', res.fromImg]] as const) {
      expect(got.length, name).toBe(2 * opts.count);
      let same = 0;
      for (let i = 0; i < opts.count; i++) if (got[2 * i] === node[2 * i] && got[2 * i + 1] === node[2 * i + 1]) same++;
      const sw = slicedWasserstein2(Float32Array.from(got), node, 2);
      console.log(`browser image target (${name}): ${same}/${opts.count} samples bit-identical to Node's, SW2² ${sw.toExponential(2)}`);
      expect(same / opts.count, `${name}: share of samples equal to Node's`).toBeGreaterThan(0.95);
      expect(sw, name).toBeLessThan(1e-5);
    }
    expect(res.errs.empty).toMatch(/empty/);
    expect(res.errs.corrupt).toMatch(/could not decode/);
    expect(res.errs.white).toMatch(/no dark pixel/);
    expect(res.errs.zero).toMatch(/count must be a positive integer/);
    // KL-to-samples through navigator.gpu vs the float64 oracle on the browser's samples.
    expect(res.validation).toBeNull();
    const oracle = klReference(x, Float32Array.from(res.fromFile), 2);
    expect(Math.abs(res.kl - oracle.value)).toBeLessThan(1e-5 * Math.max(1, Math.abs(oracle.value)));
    let gmax = 0, dmax = 0;
    for (let k = 0; k < oracle.grad.length; k++) { gmax = Math.max(gmax, Math.abs(oracle.grad[k]!)); dmax = Math.max(dmax, Math.abs(res.grad[k]! - oracle.grad[k]!)); }
    console.log(`browser KL: ${res.kl.toFixed(6)} vs float64 ${oracle.value.toFixed(6)}; gradient max error ${(dmax / gmax).toExponential(2)} of max |g|`);
    expect(dmax / gmax).toBeLessThan(1e-4);
  }, 60_000);
});
