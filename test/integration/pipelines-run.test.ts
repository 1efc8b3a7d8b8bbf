/**
 * Example pipelines run end to end through the CLI on the shared videos: the combined pipeline
 * (detector + keypoints + segmenter + clip classifier on two streams) and the demo.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { REPO } from '../support/media.js';
import { runCli } from '../support/pipeline.js';

it('pipelines/combined.yaml: four tasks on two file streams, every frame accounted for', { timeout: 40 * 60_000 }, async () => {
  const out = path.join(REPO, 'pipelines', 'out', 'combined.jsonl');
  rmSync(out, { force: true });
  // ~100 s on a quiet 2-core box, several times that on a loaded one: the limits are safety nets only.
  const r = await runCli(['run', path.join(REPO, 'pipelines', 'combined.yaml')], { timeout_ms: 35 * 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const recs = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const count = (stream: string, task: string) => recs.filter((x) => x.stream_id === stream && x.task === task).length;
  // office: 30 s at fps 5 = 150 frames; warehouse: 4.73 s at fps 5 = 24 frames.
  for (const [stream, frames] of [['office', 150], ['warehouse', 24]] as const) {
    assert.equal(count(stream, 'detection'), frames, `${stream} detection`);
    assert.equal(count(stream, 'keypoint_detection'), frames, `${stream} keypoints`);
    assert.equal(count(stream, 'semantic_segmentation'), Math.ceil(frames / 2), `${stream} segmentation (every 2nd frame)`);
    // Clips of 16 frames every 8: floor((frames - 16) / 8) + 1.
    assert.equal(count(stream, 'video_classification'), Math.floor((frames - 16) / 8) + 1, `${stream} clips`);
  }
  const clip = recs.find((x) => x.task === 'video_classification');
  assert.ok(clip.pts_end > clip.pts_start);
  // The real detector sees the worker in the warehouse clip.
  assert.ok(recs.some((x) => x.stream_id === 'warehouse' && x.task === 'detection' && x.results.detections.some((d: { label: string }) => d.label === 'person')));
  assert.ok(recs.some((x) => x.stream_id === 'office' && x.task === 'semantic_segmentation' && x.results.class_fractions.person > 0));
});
