/**
 * The layer order of src/: a file may import only from its own layer or a lower one.
 *   core → models, operators → stages, sources, sinks → config → runtime → scale, eval → cli → index
 * (src/cli.ts and src/index.ts are layers of their own at the top). So stages import no runtime,
 * config or cli, and operators no stages. src/operators/ holds only pure RxJS operators: they import
 * from src/core/ and nothing else of vidflow (no models, no component contracts). Every relative import in
 * every .ts file under src/ is read (static `import … from`, `export … from`, side-effect
 * `import '…'` and dynamic `import('…')`), including type-only imports: a contract a lower
 * layer needs belongs in that layer.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const SRC = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'src');

/** Layer rank by the first path segment under src/ (a file at the top is named without `.ts`). */
const LAYERS: Record<string, number> = {
  core: 0,
  models: 1,
  operators: 1,
  stages: 2,
  sources: 2,
  sinks: 2,
  config: 3,
  runtime: 4,
  scale: 5,
  eval: 5,
  cli: 6,
  index: 7,
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return filesUnder(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

function layerOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length === 1 ? rel[0]!.replace(/\.[jt]s$/, '') : rel[0]!;
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

/** Relative import specifiers of a source text (comments stripped first). */
export function relativeImports(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return [...code.matchAll(IMPORT)].map((m) => m[1]!);
}

describe('import layers', () => {
  const files = filesUnder(SRC);

  it('knows the layer of every file under src/', () => {
    const unknown = files.filter((f) => !(layerOf(f) in LAYERS)).map((f) => path.relative(SRC, f));
    assert.deepEqual(unknown, [], 'add the new folder to LAYERS in this test');
  });

  it('reads the import forms it checks', () => {
    const text = [
      "import { a } from '../core/a.js';",
      "import type { B } from './b.js';",
      "export { c } from '../sinks/c.js';",
      "import '../runtime/side.js';",
      "const d = await import('../scale/d.js');",
      "// import { e } from '../cli.js';",
      "import { z } from 'zod';",
    ].join('\n');
    assert.deepEqual(relativeImports(text), [
      '../core/a.js',
      './b.js',
      '../sinks/c.js',
      '../runtime/side.js',
      '../scale/d.js',
    ]);
  });

  it('no file imports from a higher layer', () => {
    assert.ok(files.length > 50, `read ${files.length} files`);
    const violations: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
        const target = path.resolve(path.dirname(file), spec);
        assert.ok(target.startsWith(SRC + path.sep), `${path.relative(SRC, file)} imports ${spec}, outside src/`);
        const to = layerOf(target);
        if (LAYERS[to]! > LAYERS[from]!)
          violations.push(`${path.relative(SRC, file)} (${from}) -> ${path.relative(SRC, target)} (${to})`);
      }
    }
    assert.deepEqual(violations, []);
  });

  it('operators import only from src/core/ and declare no components', () => {
    const operators = files.filter((f) => layerOf(f) === 'operators');
    assert.ok(operators.length >= 4, `read ${operators.length} operator files`);
    const violations: string[] = [];
    for (const file of operators) {
      const text = readFileSync(file, 'utf8');
      for (const spec of relativeImports(text)) {
        const target = path.resolve(path.dirname(file), spec);
        const to = layerOf(target);
        if (to !== 'core' && to !== 'operators') violations.push(`${path.relative(SRC, file)} -> ${spec}`);
        if (/core\/component\.js$/.test(spec)) violations.push(`${path.relative(SRC, file)} -> ${spec} (a component)`);
      }
    }
    assert.deepEqual(violations, []);
  });
});
