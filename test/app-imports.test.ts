// The applications (app/) use only the public API: their imports of the library are the two
// entry points, src/index.ts (`wgflow`) and src/node.ts (`wgflow/node`). In the other
// direction only src/node.ts re-exports from app/ (the plotting helpers and the picture preset
// that `wgflow/node` offers); the browser-safe entry and the rest of the library never import it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function tsFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** The module specifiers of the import and export-from statements of a file. */
function specifiers(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+'([^']+)'|^\s*import\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/gm)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

describe('layering of the applications', () => {
  const app = tsFiles('app');

  it('finds the application modules and their imports', () => {
    expect(app.map((f) => relative('app', f)).sort()).toEqual(['args.ts', 'checkpoint.ts', 'cli.ts', 'compare.ts', 'config.ts', 'converge.ts', 'emblem.ts', 'figure.ts', 'main-job.ts', 'plot.ts', 'presets.ts', 'progress.ts', 'run.ts']);
    expect(specifiers('app/cli.ts')).toContain('../src/index.js');
  });

  it('app/ imports the library only through src/index.ts and src/node.ts', () => {
    for (const file of app) {
      for (const spec of specifiers(file)) {
        // node: built-ins, app/'s own modules and npm packages (zod) are not the library.
        if (spec.startsWith('node:') || spec.startsWith('./') || !spec.startsWith('.')) continue;
        expect(['../src/index.js', '../src/node.js'], `${file} imports ${spec}`).toContain(spec);
      }
    }
  });

  it('only src/node.ts imports app/', () => {
    for (const file of tsFiles('src')) {
      const fromApp = specifiers(file).filter((s) => s.includes('app/'));
      if (file === join('src', 'node.ts')) expect(fromApp.sort()).toEqual(['../app/emblem.js', '../app/plot.js']);
      else expect(fromApp, file).toEqual([]);
    }
  });
});
