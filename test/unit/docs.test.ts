/** Docs that are generated from code stay in step with it; example pipelines stay valid. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { loadPipelineFile } from '../../src/config/load.js';
import { renderPipelineDoc } from '../../scripts/gen-config-docs.js';
import { REPO } from '../support/media.js';

it('docs/pipeline.md matches the component schemas (run `npm run docs`)', () => {
  assert.equal(readFileSync(path.join(REPO, 'docs', 'pipeline.md'), 'utf8'), renderPipelineDoc());
});

it('every pipeline in pipelines/ validates', () => {
  const files = readdirSync(path.join(REPO, 'pipelines')).filter((f) => /^[^.].*\.(ya?ml|json)$/.test(f));
  assert.ok(files.length >= 1);
  for (const f of files) {
    assert.doesNotThrow(() => loadPipelineFile(path.join(REPO, 'pipelines', f), { env: { ...process.env, CAM_USER: 'u', CAM_PASS: 'p', CAM_HOST: '127.0.0.1' } }), `pipelines/${f}`);
  }
});
