/**
 * The browser runtime of the benchmark harness: headless Chromium (puppeteer-core, the system
 * Chromium of scripts/serve.mjs) opens a page on 127.0.0.1 that imports the built package and
 * bench/workloads.js from the build folder and runs {@link runSize} through navigator.gpu, one
 * size per call; the page's progress lines are printed with a `[browser]` prefix.
 *
 * Chromium's adapter: with `--adapter swiftshader` (or llvmpipe, which is Node-only) the flags
 * of scripts/serve.mjs that force SwiftShader; otherwise WebGPU's compute flags alone, so that
 * Chromium takes the GPU it finds (SwiftShader when there is none).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';
import type { RowResult, SizeConfig, SizeResult } from './workloads.js';
import { rowOrder, WORKLOADS } from './workloads.js';

interface ServeModule {
  serve(o: { root: string }): Promise<{ url: string; close: () => Promise<void> }>;
  CHROMIUM_WEBGPU_ARGS: string[];
  CHROMIUM_PATH: string;
}

/** The page: the built package and the workloads, from the build folder (served as its root). */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>wgflow benchmark</title>
<link rel="icon" href="data:,">
<script type="module">
import { getDevice } from '../src/index.js';
import { adapterName, runSize } from './workloads.js';
let dev;
window.benchDevice = async () => {
  dev ??= await getDevice();
  const { adapterInfo, fallback, summary, device } = dev;
  return { adapterInfo, fallback, summary, adapter: adapterName(adapterInfo), timestamps: device.features.has('timestamp-query') };
};
window.benchSize = (n, config, previous) =>
  runSize(dev.device, n, config, { runtime: 'browser', adapter: adapterName(dev.adapterInfo), log: (line) => console.log(line) }, previous);
window.benchReady = true;
</script>`;

/** What {@link runInBrowser} returns. */
export interface BrowserRun {
  adapter: string;
  adapterSummary: string;
  adapterInfo: unknown;
  rows: RowResult[];
}

/** Options of {@link runInBrowser}. */
export interface BrowserOptions {
  /** The build folder (dist/), served as the root: it holds src/index.js and bench/workloads.js. */
  distRoot: string;
  /** scripts/serve.mjs. */
  servePath: string;
  sizes: number[];
  config: SizeConfig;
  /** The harness's --adapter. */
  adapter: 'auto' | 'gpu' | 'llvmpipe' | 'swiftshader';
  log: (line: string) => void;
}

/** Chromium flags for `adapter` (see the module header). */
export function chromiumArgs(all: readonly string[], adapter: BrowserOptions['adapter']): string[] {
  if (adapter === 'swiftshader' || adapter === 'llvmpipe') return [...all];
  return [...all.filter((a) => !/^--use-(vulkan|angle)=swiftshader$/.test(a) && !a.startsWith('--enable-features=')), '--enable-features=Vulkan', '--ignore-gpu-blocklist'];
}

/** Runs every size in headless Chromium (see the module header). Throws when Chromium or its WebGPU adapter is missing. */
export async function runInBrowser(o: BrowserOptions): Promise<BrowserRun> {
  const srv = (await import(pathToFileURL(o.servePath).href)) as ServeModule;
  if (!existsSync(srv.CHROMIUM_PATH)) {
    throw new Error(`wgflow: bench: Chromium not found at ${srv.CHROMIUM_PATH}; install it (Debian/Ubuntu: apt-get install -y chromium) or set WGFLOW_CHROMIUM`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'wgflow-bench-chromium-'));
  const server = await srv.serve({ root: o.distRoot });
  let browser: Browser | undefined;
  try {
    // A size may take its whole budget (and a bit more to finish the pass in flight).
    const protocolTimeout = Math.max(180_000, 3 * o.config.budgetS * 1000 + 120_000);
    browser = await puppeteer.launch({ executablePath: srv.CHROMIUM_PATH, headless: true, userDataDir: profile, args: chromiumArgs(srv.CHROMIUM_WEBGPU_ARGS, o.adapter), timeout: 60_000, protocolTimeout });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : o.log(`[browser] ${m.text()}`)));
    page.on('pageerror', (e) => errors.push(String((e as Error).message ?? e)));
    await page.setRequestInterception(true);
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/bench/page.html') void r.respond({ status: 200, contentType: 'text/html; charset=utf-8', body: PAGE });
      else void r.continue();
    });
    await page.goto(`${server.url}bench/page.html`, { waitUntil: 'load' });
    await page.waitForFunction('window.benchReady === true', { timeout: 60_000 }).catch(() => {
      throw new Error(`wgflow: bench: the page did not load the built package (${errors.join('; ') || 'no error reported'}); run npm run build`);
    });
    const dev = (await page.evaluate('benchDevice()').catch((e: Error) => {
      throw new Error(`wgflow: bench: Chromium gives no WebGPU device: ${e.message}`);
    })) as { adapter: string; summary: string; adapterInfo: unknown; fallback: boolean; timestamps: boolean };
    o.log(`browser adapter: ${dev.summary}${dev.timestamps ? '; timestamp queries' : ''}`);
    if (o.adapter === 'gpu' && dev.fallback) throw new Error(`wgflow: bench: --adapter gpu, but Chromium found no GPU adapter (it offers ${dev.summary})`);
    if (o.adapter === 'llvmpipe') o.log('browser: llvmpipe is a Node adapter (Dawn OpenGL ES); Chromium runs on SwiftShader');
    const rows: RowResult[] = [];
    let previous: SizeResult['firstStepMs'] = {};
    for (const [k, n] of o.sizes.entries()) {
      let res: SizeResult;
      try {
        res = (await page.evaluate((nn, cfg, prev) => (window as unknown as { benchSize: (a: number, b: unknown, c: unknown) => Promise<SizeResult> }).benchSize(nn, cfg, prev), n, o.config, previous)) as SizeResult;
      } catch (e) {
        // The page crashed or the protocol timed out: this size and the larger ones did not run.
        const message = `the browser page failed at N = ${n}: ${(e as Error).message}${errors.length ? ` (${errors.join('; ')})` : ''}`;
        o.log(`browser: ${message}`);
        for (const m of o.sizes.slice(k)) {
          for (const { workload, method } of rowOrder(o.config)) {
            rows.push({ workload, method, n: m, dim: WORKLOADS[workload].dim, runtime: 'browser', adapter: dev.adapter, status: 'error', reason: message, notes: [] });
          }
        }
        break;
      }
      rows.push(...res.rows);
      previous = { ...previous, ...res.firstStepMs };
    }
    if (errors.length) o.log(`browser: page errors: ${errors.join('; ')}`);
    return { adapter: dev.adapter, adapterSummary: dev.summary, adapterInfo: dev.adapterInfo, rows };
  } finally {
    await browser?.close().catch(() => undefined);
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
