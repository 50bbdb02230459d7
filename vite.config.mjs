// Vite builds the demo page (demo/) into demo/dist/. `wgflow` resolves through this package's
// own package.json "exports" (the "import" condition of "."), i.e. to the compiled
// dist/src/index.js of `npm run build`, exactly what a user's bundler would load: no source
// files, no file reads, no `?raw` imports.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, defineConfig } from 'vite';

const root = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
// WGFLOW_PACKAGE_DIR: where the compiled package lies (default: this repository, i.e. dist/src
// of `npm run build`); WGFLOW_DEMO_OUT: the output directory (default demo/dist). The browser
// test sets both to private directories so that it never races a build of dist/.
const packageDir = process.env.WGFLOW_PACKAGE_DIR ? resolve(process.env.WGFLOW_PACKAGE_DIR) : root;
const entry = resolve(packageDir, pkg.exports['.'].import);

// The package's Node-only paths (Dawn through the `webgpu` package, node:fs/os/path for the
// adapter search) are dynamic imports that never run in a browser; Vite replaces the node:
// modules with empty stubs and says so once per module. Those notices are dropped, nothing else.
const logger = createLogger('warn');
const warn = logger.warn.bind(logger);
logger.warn = (msg, options) => {
  if (/has been externalized for browser compatibility, imported by ".*(dist[\\/]src[\\/]gpu[\\/]device\.js|node_modules[\\/]webgpu[\\/])/.test(msg)) return;
  warn(msg, options);
};

export default defineConfig({
  customLogger: logger,
  root: resolve(root, 'demo'),
  base: './',
  publicDir: false,
  resolve: { alias: { wgflow: entry } },
  build: {
    outDir: process.env.WGFLOW_DEMO_OUT ? resolve(process.env.WGFLOW_DEMO_OUT) : resolve(root, 'demo/dist'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
    // The package's Node path imports Dawn's `webgpu` package dynamically; a browser never
    // takes it, so it stays an (unloaded) external instead of being bundled.
    rolldownOptions: { external: ['webgpu'] },
  },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
  logLevel: 'warn',
});
