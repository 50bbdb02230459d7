// Import directions of src/reference/ (the float64 test oracles): it imports nothing outside
// itself (no product code, no package), and no product module imports it. The import lines of
// every src/**.ts are parsed with the TypeScript pre-processor (static, type-only, re-exports
// and dynamic imports).
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Repository-relative path with '/' separators. */
const rel = (p: string) => relative(ROOT, p).split(sep).join('/');

const isReference = (path: string) => path.startsWith('src/reference/');

/** The import specifiers of a TypeScript source, and the repository path each relative one resolves to. */
function imports(file: string, text: string): { spec: string; target?: string }[] {
  return ts.preProcessFile(text, true, true).importedFiles.map(({ fileName: spec }) => {
    if (!spec.startsWith('.')) return { spec };
    return { spec, target: rel(resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts') };
  });
}

/** The layering violations of one file (path relative to the repository root). */
function violations(file: string, text: string): string[] {
  const out: string[] = [];
  for (const { spec, target } of imports(file, text)) {
    if (isReference(file)) {
      if (!target || !isReference(target)) out.push(`${file} (an oracle) imports '${spec}' from outside src/reference/`);
    } else if (target && isReference(target)) {
      out.push(`${file} (product code) imports the oracle '${spec}'`);
    }
  }
  return out;
}

describe('src/reference/ is for tests only', () => {
  const files = tsFiles(join(ROOT, 'src')).map((p) => ({ file: rel(p), text: readFileSync(p, 'utf8') }));

  it('the checker sees the import lines and flags both directions', () => {
    const specs = files.flatMap(({ file, text }) => imports(file, text));
    expect(files.some(({ file }) => isReference(file))).toBe(true);
    expect(specs.filter((s) => s.target).length).toBeGreaterThan(50);
    // Multi-line, type-only and re-export forms all count.
    const sample = `import {\n  a,\n  b,\n} from '../reference/kl.js';\nimport type { T } from './types.js';\nexport { c } from '../reference/knn.js';\n`;
    expect(violations('src/energies/x.ts', sample)).toHaveLength(2);
    expect(violations('src/reference/x.ts', `import type { EnergyTerm } from '../energies/types.js';\nimport { knn } from './knn.js';`)).toHaveLength(1);
    expect(violations('src/reference/x.ts', `import { readFileSync } from 'node:fs';`)).toHaveLength(1);
  });

  it('no product module imports src/reference/, and src/reference/ imports only itself', () => {
    expect(files.flatMap(({ file, text }) => violations(file, text))).toEqual([]);
  });
});
