/**
 * `vidflow eval` of a clip classifier that really learned something: pipelines/eval-synth-clip.yaml (ffmpeg decode of
 * the 32 held-out synthetic motion videos in test/fixtures/eval/synth-clip → `classify_clip` with models/synth-r3d, the
 * small VideoResNet trained by tools/train/train_clip_classifier.py, 16-frame clips ending at frames 15, 23 and 31 →
 * JSONL sink) scored against the videos' clip labels. The floor sits a few points under the measured top-1
 * (docs/accuracy.md "Clip (motion) classification"), so a preprocessing or clip-assembly regression (wrong
 * mean/std, resize, crop, temporal order) fails here; and the top-1 must stay within 1 point of PyTorch's on the
 * same decoded frames and clip windows (models/synth-r3d/metrics.json, written by
 * tools/train/reference_eval_clip.py). No Python needed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO } from '../support/media.js';
import { runEvalJson } from '../support/pipeline.js';

/**
 * Measured 2026-12-03 (docs/accuracy.md "Clip (motion) classification"): clip top-1 0.3125 (30 of 96 clips),
 * top-5 0.9375; PyTorch the same, with the same top-1 label on all 96 clips. With the clip's frames in reverse
 * order (src/models/tensor-builder.ts assembleClip) the pipeline measured 0.25, without the division by std
 * (src/models/preprocess.ts normalizationTable) 0.125 (chance); both fail the floor.
 */
const FLOOR_TOP1 = 0.27;
/** PyTorch and the pipeline may differ by one clip of the 96 (1.04 points). */
const ONE_CLIP = 1 / 96 + 1e-9;

test('vidflow eval: the trained clip classifier on the held-out motion videos scores above its floor', async () => {
  const pipeline = path.join(REPO, 'pipelines', 'eval-synth-clip.yaml');
  const gt = path.join(REPO, 'test', 'fixtures', 'eval', 'synth-clip', 'ground-truth');
  const out = await runEvalJson<{
    records: number;
    clip: {
      top1: number;
      top5: number;
      records: number;
      records_outside_clips: number;
      clips: number;
      clips_with_records: number;
      per_label: Record<string, { records: number; top1: number }>;
    };
  }>(pipeline, gt);
  const c = out.clip;
  assert.equal(c.clips, 32);
  assert.equal(c.clips_with_records, 32);
  assert.equal(c.records, 96, 'three 16-frame clips (stride 8) per 32-frame video');
  assert.equal(c.records_outside_clips, 0);
  assert.equal(Object.keys(c.per_label).length, 8);
  assert.ok(c.top1 >= FLOOR_TOP1, `clip top-1 ${c.top1} < floor ${FLOOR_TOP1}`);
  assert.ok(c.top1 <= c.top5 && c.top5 <= 1);
  const pytorch = JSON.parse(readFileSync(path.join(REPO, 'models', 'synth-r3d', 'metrics.json'), 'utf8')) as {
    records: number;
    top1: number;
  };
  assert.equal(pytorch.records, 96);
  assert.ok(
    Math.abs(c.top1 - pytorch.top1) <= ONE_CLIP,
    `clip top-1 ${c.top1}, PyTorch ${pytorch.top1}: more than one clip apart`,
  );
});
