// A model stage with `workers: 2` runs up to two batches at once (inferBatches concurrency,
// marble-tested in test/unit/operators.test.ts); through the CLI its records are the ones one
// worker gives, in frame order per stream, none missing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedMedia } from '../support/media.js';
import { runPipelineRecords } from '../support/pipeline.js';

interface Rec {
  stream_id: string;
  frame_index: number;
  results: { top: Array<{ label: string; score: number }> };
}

test('classify with workers 2: same records as workers 1, in order per stream', { timeout: 600_000 }, async () => {
  const video = JSON.stringify(sharedMedia('videos/people-one-by-one.mp4'));
  const body = (workers: number) => [
    'sources:',
    `  - { type: file, id: a, path: ${video}, end_secs: 3 }`,
    `  - { type: file, id: b, path: ${video}, start_secs: 5, end_secs: 8 }`,
    'stages:',
    `  - { type: classify, id: c, model: mobilenetv2-12-int8, batch_size: 2, top_k: 1, workers: ${workers}, ` +
      'intra_op_threads: 1 }',
  ];
  const one = await runPipelineRecords<Rec>('workers-1', body(1));
  const two = await runPipelineRecords<Rec>('workers-2', body(2));
  const byStream = (recs: Rec[], id: string) =>
    recs
      .filter((r) => r.stream_id === id)
      .map((r) => [r.frame_index, r.results.top[0]!.label, r.results.top[0]!.score]);
  for (const id of ['a', 'b']) {
    const got = byStream(two, id);
    assert.equal(got.length, 30, `stream ${id}`);
    assert.deepEqual(
      got.map((r) => r[0]),
      Array.from({ length: 30 }, (_, i) => i),
      `stream ${id}: frame order`,
    );
    assert.deepEqual(got, byStream(one, id), `stream ${id}: results`);
  }
});
