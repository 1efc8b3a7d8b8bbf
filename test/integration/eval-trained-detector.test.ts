/**
 * `vidflow eval` on the detector trained on synthetic data (models/synth-frcnn: torchvision's FasterRCNN class on a
 * narrow MobileNetV3-Small FPN, tools/train/train_detector.py, exported by tools/train/export_detector.py with the
 * project's export tool). One committed held-out scene clip of tools/synth/generate.py (never trained on) runs
 * through the CLI as a user runs it (ffmpeg decode → `detect` → records) and its box AP against the exact ground
 * truth must stay above a floor a few points under the measured score: a decoding or preprocessing regression
 * (channel order, scale, resize, box mapping) drops it. The measured numbers and the PyTorch reference are in
 * docs/accuracy.md "Detection and tracking".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runEvalJson } from '../support/pipeline.js';
import { SYNTH_DETECT_GROUND_TRUTH, synthDetectPipeline } from '../support/synth-detect.js';

// measured with `vidflow eval` on this clip (docs/accuracy.md "Detection and tracking"):
// AP@0.5 0.4494, AP@[.5:.95] 0.2625
const FLOOR_AP50 = 0.4;
const FLOOR_AP = 0.22;

test('vidflow eval: the trained synth-frcnn detector keeps its box AP on a held-out synthetic clip', async () => {
  const pipeline = synthDetectPipeline('eval-trained-detector', 'p.yaml', [
    'type: detect',
    'id: shapes',
    'model: synth-frcnn',
    'score_threshold: 0',
  ]);
  const out = await runEvalJson<{
    images: number;
    matched_images: number;
    bbox: { ap50: number; ap: number };
  }>(pipeline, SYNTH_DETECT_GROUND_TRUTH, 240_000);
  assert.equal(out.matched_images, out.images);
  assert.ok(out.images >= 48, `images ${out.images}`);
  assert.ok(out.bbox.ap50 >= FLOOR_AP50, `box AP@0.5 ${out.bbox.ap50} below the floor ${FLOOR_AP50}`);
  assert.ok(out.bbox.ap >= FLOOR_AP, `box AP@[.5:.95] ${out.bbox.ap} below the floor ${FLOOR_AP}`);
});

// py-motmetrics 1.4.0 on this video's `track` records (tools/train/track_motmetrics.py; docs/accuracy.md
// "Detection and tracking", per-video table): MOTA 0.2791, 11 ID switches, 9 fragmentations.
test("vidflow eval: track on synth-frcnn gives py-motmetrics' MOTA, switches and fragmentations", async () => {
  const pipeline = synthDetectPipeline('eval-trained-track', 't.yaml', [
    'type: track',
    'id: objects',
    'model: synth-frcnn',
    'score_threshold: 0.5',
    'max_age_frames: 10',
    'min_hits: 2',
    'iou_threshold: 0.3',
  ]);
  const out = await runEvalJson<{
    tracking: { mota: number; num_switches: number; num_fragmentations: number };
  }>(pipeline, SYNTH_DETECT_GROUND_TRUTH, 240_000);
  assert.ok(Math.abs(out.tracking.mota - 0.2791) < 1e-4, `MOTA ${out.tracking.mota}`);
  assert.equal(out.tracking.num_switches, 11);
  assert.equal(out.tracking.num_fragmentations, 9);
});
