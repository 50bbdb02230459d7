#!/usr/bin/env node
// Screenshots of every preset of the built demo, for docs/ and the README:
//
//   npm run demo:screenshot            (= npm run build, then this script)
//   node demo/screenshot.mjs [--out docs] [--steps 400] [--seconds 150] [--presets fokker-planck,picture] [--n 2000]
//
// Serves demo/dist/ on 127.0.0.1, opens each preset in headless Chromium (WebGPU through
// SwiftShader where there is no GPU), lets the flows run --steps iterations (at most --seconds), and writes
// <out>/demo-<preset>.png (the canvases and the energy plot). Prints, per preset, the
// iterations, energies and frame rate the page reports. Exits non-zero when the page reports
// an error or logs one.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { serve, CHROMIUM_PATH, CHROMIUM_WEBGPU_ARGS } from '../scripts/serve.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : def;
};
const outDir = resolve(opt('--out', join(root, 'docs')));
const seconds = Number(opt('--seconds', '150'));
const steps = Number(opt('--steps', '400'));
const n = opt('--n', '2000');
const presets = opt('--presets', 'fokker-planck,picture,quadratic3d,langevin,aggregation,double-well,gaussian-mixture').split(',');

if (!existsSync(join(root, 'demo/dist/index.html'))) {
  console.error('demo/dist/index.html is missing: run `npm run build` first.');
  process.exit(1);
}
if (!existsSync(CHROMIUM_PATH)) {
  console.error(`Chromium not found at ${CHROMIUM_PATH} (set WGFLOW_CHROMIUM).`);
  process.exit(1);
}
mkdirSync(outDir, { recursive: true });

const server = await serve({ root: join(root, 'demo/dist') });
const profile = mkdtempSync(join(tmpdir(), 'wgflow-demo-profile-'));
const browser = await puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, userDataDir: profile, args: CHROMIUM_WEBGPU_ARGS });
let failed = false;
try {
  for (const preset of presets) {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e?.message ?? e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.setViewport({ width: 1500, height: 1000, deviceScaleFactor: 1 });
    await page.goto(`${server.url}?preset=${preset}&n=${n}&spf=8&size=2.5&m=8000`, { waitUntil: 'load' });
    await page.waitForFunction('window.__wgflow?.ready || window.__wgflow?.message?.kind === "error"', { timeout: 60_000 });
    // The quadratic collapses to a point within ~100 iterations: show it on the way.
    const want = preset === 'quadratic3d' ? Math.min(steps, 48) : steps;
    await page.waitForFunction((k) => window.__wgflow.message?.kind === 'error' || (window.__wgflow.runs.length > 0 && window.__wgflow.runs.every((r) => r.steps >= k)), { timeout: seconds * 1000, polling: 500 }, want)
      .catch(() => console.error(`${preset}: fewer than ${want} iterations after ${seconds} s; the picture shows where the flows got`));
    await new Promise((r) => setTimeout(r, 600)); // one more stats readout for the labels and the plot
    const s = await page.evaluate(() => {
      const w = window.__wgflow;
      return { message: w.message, fps: w.fps, runs: w.runs.map((r) => ({ method: r.method, steps: r.steps, energy0: r.energy0, energy: r.energy })) };
    });
    if (preset === 'quadratic3d') await page.click('#scale'); // the log axis, F_min = 0 known
    await new Promise((r) => setTimeout(r, 400));
    const left = await page.$('#left');
    const file = join(outDir, `demo-${preset}.png`);
    await left.screenshot({ path: file, type: 'png' });
    console.log(JSON.stringify({ preset, file, ...s, errors }));
    if (errors.length || s.message?.kind === 'error') failed = true;
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
