#!/usr/bin/env node
// Headless screenshot of the demo (and a smoke check that it runs):
//
//   npm run build && node demo/screenshot.mjs [--out demo/screenshot.png] [--seconds 3]
//       [--methods gradient,accelerated,steering] [--query "h=0.02&gamma=0.5&n=10000"]
//
// Serves the repository root on 127.0.0.1, opens /demo/ in headless Chromium (WebGPU through
// SwiftShader where there is no GPU), runs each method for --seconds from the same start (so
// the energy plot holds one curve per method), and writes a PNG. Prints the demo's own numbers
// (steps, stats read, fps, adapter) as JSON. Exits non-zero when the demo reports an error.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
const out = resolve(opt('--out', join(root, 'demo/screenshot.png')));
const seconds = Number(opt('--seconds', '3'));
const query = opt('--query', 'h=0.02&gamma=0.5');
const methods = opt('--methods', 'gradient,accelerated,steering').split(',');

if (!existsSync(join(root, 'dist/src/index.js'))) {
  console.error('dist/src/index.js is missing: run `npm run build` first.');
  process.exit(1);
}
if (!existsSync(CHROMIUM_PATH)) {
  console.error(`Chromium not found at ${CHROMIUM_PATH} (set WGFLOW_CHROMIUM).`);
  process.exit(1);
}

const server = await serve({ root });
const profile = mkdtempSync(join(tmpdir(), 'wgflow-demo-profile-'));
const browser = await puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, userDataDir: profile, args: CHROMIUM_WEBGPU_ARGS });
let failed = false;
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1120, height: 900, deviceScaleFactor: 1 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e?.message ?? e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const state = () => page.evaluate(() => {
    const d = window.wgflowDemo;
    return d && { ready: d.ready, steps: d.steps, statsCount: d.statsCount, fps: d.fps, stepsPerSecond: d.stepsPerSecond, adapter: d.adapter, error: d.error };
  });

  const runs = {};
  await page.goto(`${server.url}demo/?method=${methods[0]}${query ? `&${query}` : ''}`, { waitUntil: 'load' });
  for (const [i, method] of methods.entries()) {
    // Each later method restarts the flow from the same start; earlier curves stay on the plot.
    if (i > 0) await page.select('#method', method);
    await page.waitForFunction(() => window.wgflowDemo?.ready || window.wgflowDemo?.error, { timeout: 30_000 }).catch((e) => {
      throw new Error(`the demo did not start (${method}): ${errors.join('; ') || e.message}`);
    });
    await sleep(seconds * 1000);
    runs[method] = await state();
  }
  // Pause and step once, so that the particles, the plot and the status show the same step.
  await page.click('#stepOnce');
  await sleep(1500);
  runs.final = await state();
  await page.screenshot({ path: out });
  console.log(JSON.stringify({ out, runs, pageErrors: errors }, null, 2));
  failed = errors.length > 0 || Object.values(runs).some((r) => !r || r.error || !r.statsCount || !r.steps);
} finally {
  await browser.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
