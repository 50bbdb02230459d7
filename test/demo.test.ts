// The demo page (demo/, built with Vite) and the README's embedding example, in headless
// Chromium with WebGPU (SwiftShader where there is no GPU), served on 127.0.0.1.
//
// The package is compiled from src/ into a private directory and the demo is built by Vite
// from that compiled package (vite.config.mjs with WGFLOW_PACKAGE_DIR / WGFLOW_DEMO_OUT), so the
// test is never stale and never races `npm run build`; `npm test` works on a fresh clone.
// Any page error or console error fails the test that saw it, and is printed.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

interface ServeModule {
  serve(o: { root: string }): Promise<{ url: string; close: () => Promise<void> }>;
  CHROMIUM_WEBGPU_ARGS: string[];
  CHROMIUM_PATH: string;
}

/** Compiles the src/index.ts graph into `out/dist/src` (as `npm run build` does into dist/src). */
function buildPackage(out: string): void {
  execFileSync(process.execPath, [join(root, 'scripts/gen-shaders.mjs')], { stdio: 'pipe' });
  const cfg = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, root);
  const options = { ...parsed.options, outDir: join(out, 'dist'), rootDir: root, declaration: false, sourceMap: false, noEmitOnError: true };
  const program = ts.createProgram([join(root, 'src/index.ts')], options);
  const emit = program.emit();
  const diags = [...ts.getPreEmitDiagnostics(program), ...emit.diagnostics].filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (diags.length || emit.emitSkipped) {
    const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
    throw new Error(`demo test: the package does not compile:\n${ts.formatDiagnostics(diags, host)}`);
  }
}

/** Builds the demo with Vite from the package compiled into `pkgDir`, into `outDir`. */
function buildDemo(pkgDir: string, outDir: string): void {
  const vite = join(root, 'node_modules/vite/bin/vite.js');
  execFileSync(process.execPath, [vite, 'build', '--config', join(root, 'vite.config.mjs')], {
    cwd: root, stdio: 'pipe', env: { ...process.env, WGFLOW_PACKAGE_DIR: pkgDir, WGFLOW_DEMO_OUT: outDir },
  });
  if (!existsSync(join(outDir, 'index.html'))) throw new Error('demo test: vite build wrote no index.html');
}

/** The README's embedding example (the ```html block after `<!-- embed-example -->`). */
function readmeExample(): string {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const m = /<!-- embed-example -->\s*```html\n([\s\S]*?)```/.exec(text);
  if (!m) throw new Error('demo test: README.md has no ```html block after <!-- embed-example -->');
  return m[1]!;
}

/** Pixels of a PNG screenshot brighter than the page's background. */
function litPixels(png: Buffer): { lit: number; data: Buffer; width: number; height: number } {
  const img = PNG.sync.read(png);
  let lit = 0;
  for (let k = 0; k < img.data.length; k += 4) if (img.data[k]! + img.data[k + 1]! + img.data[k + 2]! > 150) lit++;
  return { lit, data: img.data, width: img.width, height: img.height };
}
function changedPixels(a: Buffer, b: Buffer): number {
  let c = 0;
  for (let k = 0; k < Math.min(a.length, b.length); k += 4) {
    if (Math.abs(a[k]! - b[k]!) + Math.abs(a[k + 1]! - b[k + 1]!) + Math.abs(a[k + 2]! - b[k + 2]!) > 30) c++;
  }
  return c;
}

interface RunState { method: string; steps: number; energy0: number; energy: number; points: number }
interface DemoState {
  ready: boolean; preset: string; n: number; maxN: number; frames: number; statsRounds?: number; restarts: number;
  scale: string; message: { kind: string; text: string } | null; lostReason: string | null;
  target: { name: string; first: number[] } | null; runs: RunState[];
}
const STATE = `(() => { const w = window.__wgflow; return { ready: w.ready, preset: w.preset, n: w.n, maxN: w.maxN, frames: w.frames,
  statsRounds: w.statsRounds, restarts: w.restarts, scale: w.scale, message: w.message, lostReason: w.lostReason,
  target: w.target && { name: w.target.name, first: Array.from(w.target.samples.slice(0, 8)) },
  runs: w.runs.map((r) => ({ method: r.method, steps: r.steps, energy0: r.energy0, energy: r.energy, points: r.points.length })) }; })()`;

const N = 400;
const PRESETS = ['fokker-planck', 'picture', 'quadratic3d', 'langevin', 'aggregation', 'double-well', 'gaussian-mixture'];

describe('the demo page in headless Chromium (built with Vite from the package)', () => {
  let tmp = '', profile = '';
  let server: { url: string; close: () => Promise<void> } | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const errors: string[] = [];
  const requested: string[] = [];
  let setupPromise: Promise<void> | undefined;
  const setup = () => (setupPromise ??= start());

  async function start(): Promise<void> {
    const srv = (await import(pathToFileURL(join(root, 'scripts/serve.mjs')).href)) as ServeModule;
    if (!existsSync(srv.CHROMIUM_PATH)) {
      throw new Error(`demo test: Chromium not found at ${srv.CHROMIUM_PATH}. Install it (Debian/Ubuntu: sudo apt-get install -y chromium) or set WGFLOW_CHROMIUM. This test fails rather than skips.`);
    }
    tmp = mkdtempSync(join(tmpdir(), 'wgflow-demo-'));
    profile = mkdtempSync(join(tmpdir(), 'wgflow-demo-profile-'));
    buildPackage(tmp);
    cpSync(join(root, 'package.json'), join(tmp, 'package.json'));
    buildDemo(tmp, join(tmp, 'demo'));
    // The README example, with an import map standing in for the user's bundler.
    mkdirSync(join(tmp, 'embed'));
    const example = readmeExample().replace('<script type="module">', '<script type="importmap">{"imports":{"wgflow":"/dist/src/index.js"}}</script>\n<script type="module">');
    writeFileSync(join(tmp, 'embed/index.html'), example);
    // Pictures for the file input: one with no dark pixel, an empty file, a corrupt one.
    const white = new PNG({ width: 16, height: 16 });
    white.data.fill(255);
    writeFileSync(join(tmp, 'white.png'), PNG.sync.write(white));
    writeFileSync(join(tmp, 'empty.png'), Buffer.alloc(0));
    writeFileSync(join(tmp, 'corrupt.png'), Buffer.from('this is not a PNG file at all'));
    writeFileSync(join(tmp, 'favicon.ico'), Buffer.alloc(0)); // the README page has no <link rel="icon">
    server = await srv.serve({ root: tmp });
    browser = await puppeteer.launch({ executablePath: srv.CHROMIUM_PATH, headless: true, userDataDir: profile, args: srv.CHROMIUM_WEBGPU_ARGS, timeout: 30_000 });
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(`pageerror: ${String((e as Error).message ?? e)}`));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console.error: ${m.text()}`); });
    page.on('request', (r) => requested.push(new URL(r.url()).pathname));
    await page.setViewport({ width: 1200, height: 900, deviceScaleFactor: 1 });
    await page.goto(`${server.url}demo/?preset=fokker-planck&n=${N}&spf=4&size=3&m=1000`, { waitUntil: 'load' });
    await waitState((s) => s.ready && s.runs.length === 4, 'the demo did not start');
  }

  /** Waits until `pred` holds for the page's state; fails with the state and the errors. */
  async function waitState(pred: (s: DemoState) => boolean, what: string, timeoutMs = 90_000): Promise<DemoState> {
    const t0 = Date.now();
    let s = (await page.evaluate(STATE)) as DemoState;
    const before = s.message?.text; // an error shown before the wait (e.g. a refused picture) is not a new failure
    while (Date.now() - t0 < timeoutMs) {
      s = (await page.evaluate(STATE)) as DemoState;
      if (pred(s)) return s;
      if (s.message?.kind === 'error' && s.message.text !== before && !what.includes('message')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`demo test: ${what}; state ${JSON.stringify(s)}; errors ${JSON.stringify(errors)}`);
  }
  function expectNoErrors(): void {
    if (errors.length) console.log(`page errors:\n${errors.join('\n')}`);
    expect(errors).toEqual([]);
  }
  async function canvasShot(method: string): Promise<Buffer> {
    const el = await page.$(`#canvas-${method}`);
    if (!el) throw new Error(`demo test: no canvas for ${method}`);
    return Buffer.from(await el.screenshot({ type: 'png' }));
  }

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close();
    for (const d of [tmp, profile]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('loads only the bundle: JS chunks and the emblem, no shader or source file', async () => {
    await setup();
    const own = requested.filter((p) => p.startsWith('/demo/'));
    expect(own).toContain('/demo/');
    for (const p of own) expect(p, `unexpected request ${p}`).toMatch(/^\/demo\/(|assets\/[\w.-]+\.(js|png))$/);
    expect(requested.some((p) => p.startsWith('/dist/'))).toBe(false);
    expectNoErrors();
  }, 240_000);

  for (const preset of PRESETS) {
    it(`${preset}: every canvas drawn, moving, and the energy going down`, async () => {
      await setup();
      if ((await page.evaluate(STATE) as DemoState).preset !== preset) {
        await page.select('#preset', preset);
      }
      const s0 = await waitState((s) => s.preset === preset && s.runs.length > 0 && s.runs.every((r) => r.points >= 2 && r.steps >= 8), `${preset} did not run`);
      expect(s0.n).toBe(N);
      const methods = s0.runs.map((r) => r.method);
      expect(methods).toEqual(preset === 'langevin' ? ['langevin', 'gradient'] : ['gradient', 'accelerated', 'steering', 'fire']);
      const first = await Promise.all(methods.map(canvasShot));
      const at = Math.max(...s0.runs.map((r) => r.steps));
      const s1 = await waitState((s) => s.runs.every((r) => r.steps >= at + 8 && r.points >= 4), `${preset} did not advance`);
      const second = await Promise.all(methods.map(canvasShot));
      methods.forEach((m, i) => {
        const a = litPixels(first[i]!), b = litPixels(second[i]!);
        expect(a.lit, `${preset}/${m}: lit pixels`).toBeGreaterThan(30);
        expect(b.lit, `${preset}/${m}: lit pixels`).toBeGreaterThan(30);
        expect(changedPixels(a.data, b.data), `${preset}/${m}: pixels changed between frames`).toBeGreaterThan(10);
      });
      // Every flow here decreases its energy (Langevin's F = ∫Uρ + T·H, noisy but far from equilibrium at the start).
      for (const r of s1.runs) {
        expect(Number.isFinite(r.energy), `${preset}/${r.method}: energy finite`).toBe(true);
        expect(r.energy, `${preset}/${r.method}: energy ${r.energy0} → ${r.energy}`).toBeLessThan(r.energy0);
      }
      console.log(`${preset}: ${s1.runs.map((r) => `${r.method} ${r.steps} it, F ${r.energy0.toPrecision(4)} → ${r.energy.toPrecision(4)}`).join('; ')}`);
      expectNoErrors();
    }, 180_000);
  }

  it('switching methods off and on, and the log axis', async () => {
    await setup();
    await page.select('#preset', 'quadratic3d');
    await waitState((s) => s.preset === 'quadratic3d' && s.runs.length === 4 && s.runs.every((r) => r.points >= 2), 'quadratic3d did not start');
    await page.click('#method-fire');
    let s = await waitState((x) => x.runs.length === 3 && x.runs.every((r) => r.points >= 2), 'unticking fire did not restart with three flows');
    expect(s.runs.map((r) => r.method)).toEqual(['gradient', 'accelerated', 'steering']);
    expect(await page.$$eval('#stages canvas', (c) => c.length)).toBe(3);
    await page.click('#method-fire');
    s = await waitState((x) => x.runs.length === 4 && x.runs.every((r) => r.points >= 2), 'ticking fire did not bring it back');
    expect(s.runs.map((r) => r.method)).toContain('fire');
    await page.click('#scale');
    expect(((await page.evaluate(STATE)) as DemoState).scale).toBe('log');
    await page.click('#scale');
    expect(((await page.evaluate(STATE)) as DemoState).scale).toBe('linear');
    // Drag on a canvas orbits the 3-D camera: the picture changes while paused.
    await page.click('#play');
    await new Promise((r) => setTimeout(r, 500));
    const before = await canvasShot('gradient');
    const box = (await (await page.$('#canvas-gradient'))!.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2 + 30, { steps: 5 });
    await page.mouse.up();
    await new Promise((r) => setTimeout(r, 800));
    const after = await canvasShot('gradient');
    expect(changedPixels(litPixels(before).data, litPixels(after).data), 'orbiting changed the 3-D view').toBeGreaterThan(10);
    await page.click('#play');
    expectNoErrors();
  }, 180_000);

  it('N beyond the device limits: the message gives the limit and the largest N', async () => {
    await setup();
    await page.evaluate(() => {
      const sel = document.getElementById('n') as HTMLSelectElement;
      sel.add(new Option('too many', '4000000000'));
      sel.value = '4000000000';
      sel.dispatchEvent(new Event('change'));
    });
    const s = await waitState((x) => x.message?.kind === 'warn' && /largest N allowed/.test(x.message.text), 'no message about N beyond the limits');
    expect(s.message!.text).toContain(s.maxN.toLocaleString('en'));
    expect(s.message!.text).toMatch(/4,000,000,000 is beyond this device's limits/);
    // Back to the small N (the flows at maxN are not run to completion here).
    await page.select('#n', String(N));
    await waitState((x) => x.n === N && x.message === null && x.runs.length > 0, 'did not return to the small N');
    expectNoErrors();
  }, 180_000);

  it('a dropped picture becomes the target; bad files get a message with their name', async () => {
    await setup();
    await page.select('#preset', 'picture');
    const s0 = await waitState((s) => s.preset === 'picture' && s.target?.name === 'emblem.png' && s.runs.length === 4 && s.runs.every((r) => r.points >= 2), 'the picture preset did not start on the emblem');
    // A synthetic drop of a PNG drawn in the page: a black ring on white.
    await page.evaluate(async () => {
      const c = new OffscreenCanvas(64, 64);
      const g = c.getContext('2d')!;
      g.fillStyle = '#fff'; g.fillRect(0, 0, 64, 64);
      g.strokeStyle = '#000'; g.lineWidth = 8; g.beginPath(); g.arc(32, 32, 22, 0, 2 * Math.PI); g.stroke();
      const file = new File([await c.convertToBlob({ type: 'image/png' })], 'ring.png', { type: 'image/png' });
      const dt = new DataTransfer();
      dt.items.add(file);
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    const s1 = await waitState((s) => s.target?.name === 'ring.png' && s.runs.length === 4 && s.runs.every((r) => r.points >= 2), 'the dropped picture did not become the target');
    expect(s1.target!.first).not.toEqual(s0.target!.first);
    // The ring's samples lie on the ring: radius 22/32 ± 4/32 of the unit box.
    const r0 = Math.hypot(s1.target!.first[0]!, s1.target!.first[1]!);
    expect(r0).toBeGreaterThan(0.5);
    expect(r0).toBeLessThan(0.85);
    const input = (await page.$('#file'))!;
    for (const [file, why] of [['white.png', /no dark pixel/], ['empty.png', /empty/], ['corrupt.png', /could not decode/]] as const) {
      await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(join(tmp, file));
      const s = await waitState((x) => x.message?.kind === 'error' && x.message.text.includes(`"${file}"`), `no message for ${file}`);
      expect(s.message!.text).toMatch(why);
      expect(s.target!.name, 'the previous target is kept').toBe('ring.png');
    }
    // The errors above are messages in the page, not console errors.
    expectNoErrors();
  }, 180_000);

  it('device lost: the reason and a Restart button that restarts the flows', async () => {
    await setup();
    await page.select('#preset', 'quadratic3d');
    await waitState((s) => s.preset === 'quadratic3d' && s.runs.length === 4 && s.runs.every((r) => r.points >= 2), 'quadratic3d did not start');
    await page.evaluate(() => (window as unknown as { __wgflow: { device: GPUDevice } }).__wgflow.device.destroy());
    const s = await waitState((x) => x.lostReason !== null && /device was lost/.test(x.message?.text ?? ''), 'no device-lost message');
    expect(s.message!.text).toContain(`reason: ${s.lostReason}`);
    expect(await page.$('#restartDevice')).not.toBeNull();
    await page.click('#restartDevice');
    const s2 = await waitState((x) => x.restarts === 1 && x.message === null && x.runs.length === 4 && x.runs.every((r) => r.steps >= 8 && r.points >= 2), 'Restart did not bring the flows back');
    expect(s2.runs.every((r) => r.energy < r.energy0)).toBe(true);
    expectNoErrors();
  }, 180_000);

  it('no WebGPU: the page says what to do in each major browser', async () => {
    await setup();
    const p = await browser!.newPage();
    const errs: string[] = [];
    p.on('pageerror', (e) => errs.push(String((e as Error).message ?? e)));
    p.on('console', (m) => { if (m.type() === 'error') errs.push(m.text()); });
    await p.evaluateOnNewDocument(() => { Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }); });
    await p.goto(`${server!.url}demo/`, { waitUntil: 'load' });
    await p.waitForFunction('window.__wgflow?.error === "no-webgpu"', { timeout: 30_000 });
    const text = await p.$eval('#message', (el) => (el as HTMLElement).innerText);
    for (const browserName of ['Chrome', 'Edge', 'Firefox', 'Safari']) expect(text).toContain(browserName);
    expect(text).toMatch(/secure context/);
    expect(await p.$eval('#message', (el) => getComputedStyle(el).display)).not.toBe('none');
    expect(errs).toEqual([]);
    await p.close();
  }, 60_000);

  it("the README's embedding example draws a moving flow with createParticleRenderer", async () => {
    await setup();
    const p = await browser!.newPage();
    const errs: string[] = [];
    p.on('pageerror', (e) => errs.push(String((e as Error).message ?? e)));
    p.on('console', (m) => { if (m.type() === 'error') errs.push(m.text()); });
    await p.setViewport({ width: 600, height: 600, deviceScaleFactor: 1 });
    await p.goto(`${server!.url}embed/`, { waitUntil: 'load' });
    const shot = async () => Buffer.from(await (await p.$('canvas'))!.screenshot({ type: 'png' }));
    let a = litPixels(await shot());
    for (let t = 0; t < 120 && a.lit < 200 && !errs.length; t++) { await new Promise((r) => setTimeout(r, 500)); a = litPixels(await shot()); }
    // h: 'auto' takes small steps at first: wait (up to a minute on a CPU adapter) for the particles to move.
    let b = litPixels(await shot());
    for (let t = 0; t < 60 && changedPixels(a.data, b.data) <= 20 && !errs.length; t++) { await new Promise((r) => setTimeout(r, 1000)); b = litPixels(await shot()); }
    if (errs.length) console.log(errs.join('\n'));
    expect(errs).toEqual([]);
    expect(a.lit, 'particles drawn').toBeGreaterThan(200);
    expect(changedPixels(a.data, b.data), 'the particles move').toBeGreaterThan(20);
    await p.close();
  }, 180_000);
});
