#!/usr/bin/env node
// A tiny static HTTP server with no dependencies, for the demo and the browser test.
//
//   node scripts/serve.mjs [--port 8080] [--root <dir>]
//
// Serves <dir> (default: the repository root) on http://127.0.0.1:PORT/ only. 127.0.0.1 is a
// secure context, which WebGPU (navigator.gpu) requires; file:// and about:blank are not.
// `npm run demo` runs it with --root demo/dist (the Vite build of the demo page).
import http from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Flags that give headless Chromium (Debian's chromium 156, no GPU, no display) a working
 * WebGPU: an adapter (SwiftShader) for compute, and a WebGPU <canvas> that is composited, so
 * screenshots show what was drawn. The first eight alone give a compute adapter, but a
 * configured canvas then loses the device ("A valid external Instance reference no longer
 * exists") because the compositor (ANGLE on GL) cannot share the swap-chain image; the last
 * three put Chromium's compositor and Dawn both on Vulkan-SwiftShader, which fixes it.
 * Pass a fresh --user-data-dir as well.
 */
export const CHROMIUM_WEBGPU_ARGS = [
  '--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-angle=swiftshader',
];

/** Where Chromium is looked for: $WGFLOW_CHROMIUM, else Debian's /usr/bin/chromium. */
export const CHROMIUM_PATH = process.env.WGFLOW_CHROMIUM || '/usr/bin/chromium';

/** Content types by extension; module scripts must be served as JavaScript. */
export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
};

/**
 * Starts a static server for `root` on 127.0.0.1.
 * Directories serve their index.html (a directory URL without a trailing slash is redirected,
 * so relative imports in the page resolve). Paths outside root are refused.
 *
 * @param {{ root?: string, port?: number, host?: string, log?: boolean }} [options]
 *   root: directory to serve (default: the repository root); port: 0 picks a free one
 *   (default 0); host: default '127.0.0.1'; log: one line per request (default false).
 * @returns {Promise<{ url: string, port: number, server: import('node:http').Server, close: () => Promise<void> }>}
 * @example
 * const { url, close } = await serve({ root: 'dist-test' });
 * // ... open `${url}index.html` in a browser ...
 * await close();
 */
export async function serve(options = {}) {
  const root = resolve(options.root ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    const send = (code, text) => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return send(400, 'bad url');
    }
    let file = resolve(root, '.' + path);
    if (file !== root && !file.startsWith(root + sep)) return send(403, 'forbidden');
    let st;
    try {
      st = statSync(file);
      if (st.isDirectory()) {
        if (!path.endsWith('/')) {
          res.writeHead(301, { location: path + '/' });
          return res.end();
        }
        file = join(file, 'index.html');
        st = statSync(file);
      }
    } catch {
      if (options.log) console.log(`404 ${path}`);
      return send(404, `not found: ${path}`);
    }
    if (options.log) console.log(`200 ${path}`);
    res.writeHead(200, {
      'content-type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': st.size,
      'cache-control': 'no-store',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  await new Promise((ok, no) => {
    server.once('error', no);
    server.listen(options.port ?? 0, host, () => ok(undefined));
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const close = () => new Promise((ok) => {
    server.closeAllConnections?.();
    server.close(() => ok(undefined));
  });
  return { url: `http://${host}:${port}/`, port, server, close };
}

// CLI
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const opt = (name, def) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : def;
  };
  if (args.includes('--help') || args.includes('-h')) {
    console.log('usage: node scripts/serve.mjs [--port 8080] [--root <dir>]   (serves on 127.0.0.1 only)');
    process.exit(0);
  }
  const port = Number(opt('--port', process.env.PORT ?? '8080'));
  const s = await serve({ root: opt('--root', undefined), port, log: args.includes('--log') });
  const root = opt('--root', undefined);
  console.log(`wgflow: serving ${root ?? 'the repository root'} at ${s.url}`);
  if (root && /demo[\\/]dist[\\/]?$/.test(root)) console.log(`        the demo: ${s.url}   (built by \`npm run build\`; Ctrl-C stops the server)`);
  else console.log(`        (\`npm run demo\` builds and serves the demo page from demo/dist/)`);
  const stop = () => s.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
