/** Docs that are generated from code stay in step with it; example pipelines stay valid. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { loadPipelineFile } from '../../src/config/load.js';
import { renderPipelineDoc } from '../../scripts/gen-config-docs.js';
import type { z } from 'zod';
import { decoderSpecs } from '../../src/models/decoders/registry.js';
import { REPO } from '../support/media.js';

it('docs/pipeline.md matches the component schemas (run `npm run docs`)', () => {
  assert.equal(readFileSync(path.join(REPO, 'docs', 'pipeline.md'), 'utf8'), renderPipelineDoc());
});

it('every pipeline in pipelines/ validates', () => {
  const files = readdirSync(path.join(REPO, 'pipelines')).filter((f) => /^[^.].*\.(ya?ml|json)$/.test(f));
  assert.ok(files.length >= 1);
  for (const f of files) {
    assert.doesNotThrow(
      () =>
        loadPipelineFile(path.join(REPO, 'pipelines', f), {
          env: { ...process.env, CAM_USER: 'u', CAM_PASS: 'p', CAM_HOST: '127.0.0.1' },
        }),
      `pipelines/${f}`,
    );
  }
});

it('docs/manifest.md lists exactly the registered decoders, with their tasks, roles and options', () => {
  const doc = readFileSync(path.join(REPO, 'docs', 'manifest.md'), 'utf8');
  const ticks = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  const section = doc.slice(doc.indexOf('## Decoders'), doc.indexOf('\n## ', doc.indexOf('## Decoders') + 1));
  const rows = section
    .split('\n')
    .filter((l) => /^\| `[a-z_]+` \|/.test(l))
    .map((l) => l.split(' | ').map((c) => c.replace(/^\| /, '')));
  assert.deepEqual(
    rows.map((r) => ticks(r[0]!)[0]),
    decoderSpecs.map((d) => d.type),
    'Decoders table rows = registry, in order',
  );
  for (const [i, d] of decoderSpecs.entries()) {
    const [, tasks, roles, options] = rows[i]!;
    assert.deepEqual(ticks(tasks!), [...d.tasks], `${d.type}: tasks`);
    assert.deepEqual(ticks(roles!), [...d.roles, ...(d.optionalRoles ?? [])], `${d.type}: roles`);
    const shape = (d.options as unknown as z.AnyZodObject).shape as Record<string, z.ZodTypeAny>;
    const defaults = d.options.parse({}) as Record<string, unknown>;
    assert.deepEqual(
      ticks(options!),
      Object.keys(shape).flatMap((k) => [k, String(defaults[k])]),
      `${d.type}: options (default)`,
    );
  }
  const typeRow = doc.split('\n').find((l) => l.startsWith('| `decoder.type` |'))!;
  assert.deepEqual(
    ticks(typeRow)
      .slice(1)
      .filter((t) => t !== 'task'),
    decoderSpecs.map((d) => d.type),
    'the decoder.type row of the Fields table',
  );
});
