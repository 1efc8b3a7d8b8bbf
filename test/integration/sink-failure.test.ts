/**
 * A sink whose writes fail (a `jsonl` sink on /dev/full) must fail loudly and promptly, naming the
 * sink, the path and the errno, while a healthy second sink in the same pipeline still receives
 * every record. Through the CLI, with real ffmpeg and the real classifier: batches of 25 records of top-10 labels
 * overfill the file stream's buffer before the first write's ENOSPC arrives.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { media, REPO, tmpDir } from '../support/media.js';
import { runCli } from '../support/pipeline.js';

const MANIFEST = path.join(REPO, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.manifest.json');

it('a jsonl sink on /dev/full: error named at once, the other sink gets every record, exit 1', {
  skip: !existsSync('/dev/full'),
  timeout: 120_000,
}, async () => {
  const video = media.testsrc(2, '320x240', 25); // 50 frames
  const good = path.join(tmpDir(), 'sink-failure-good.jsonl');
  const file = path.join(tmpDir(), 'sink-failure.yaml');
  writeFileSync(
    file,
    `name: sink-failure
sources:
  - type: file
    id: cam1
    path: ${video}
    max_in_flight: 50
stages:
  - type: classify
    id: imagenet
    model: ${MANIFEST}
    top_k: 10
    batch_size: 25
    max_wait_ms: 60000
sinks:
  - type: jsonl
    id: full
    path: /dev/full
  - type: jsonl
    id: good
    path: ${good}
`,
  );
  // A hang is the bug: the safety net is generous, and the assertion is on the exit code.
  const r = await runCli(['run', file], { timeout_ms: 60_000 });
  assert.equal(r.signal, null, `killed by the safety timeout (hung); stderr: ${r.stderr}`);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(existsSync(good), r.stderr);
  const recs = readFileSync(good, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(recs.length, 50, 'the healthy sink receives every record');
  // The failure is logged as it happens (sink id, path, errno) and named in the final lines.
  assert.match(r.stderr, /sink `full`.*\/dev\/full.*ENOSPC/);
  assert.match(r.stderr, /error\[SINK_WRITE\]: sink `full`/);
});
