/** Every error code is documented in docs/errors.md, and every documented code exists. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { ERROR_CODES, VidflowError } from '../../src/core/errors.js';
import { REPO } from '../support/media.js';

it('docs/errors.md documents exactly the codes in src/core/errors.ts', () => {
  const doc = readFileSync(path.join(REPO, 'docs', 'errors.md'), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!));
  const codes = new Set(Object.keys(ERROR_CODES));
  assert.deepEqual(
    [...codes].filter((c) => !documented.has(c)),
    [],
    'undocumented codes',
  );
  assert.deepEqual(
    [...documented].filter((c) => !codes.has(c)),
    [],
    'documented codes that do not exist',
  );
});

it('an error prints as one line with its code', () => {
  const e = new VidflowError('SOURCE_DECODE', 'cam1: broken\n  at frame 3');
  assert.equal(e.toLine(), 'error[SOURCE_DECODE]: cam1: broken at frame 3');
  assert.equal(e.kind, 'source');
});
