/**
 * `vidflow eval` on the Mask R-CNN trained on synthetic data (models/synth-maskrcnn: torchvision's MaskRCNN class on
 * the synth-frcnn MobileNetV3-Small FPN backbone with a small mask head, tools/train/train_mask_rcnn.py, exported by
 * tools/train/export_mask_rcnn.py with the project's export tool). The committed held-out scene clip of
 * tools/synth/generate.py that the detector test uses (never trained on; stored with a 90-degree rotation tag) runs
 * through the CLI as a user runs it (ffmpeg decode → `segment_instances` → records with RLE masks) and its mask AP
 * against the exact ground truth (RLE of the visible pixels) must stay above a floor a few points under the measured
 * score: a regression in decoding, preprocessing, mask thresholding or mask placement drops it. The measured
 * numbers and the PyTorch reference are in docs/accuracy.md "Instance masks".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runEvalJson } from '../support/pipeline.js';
import { SYNTH_DETECT_GROUND_TRUTH, synthDetectPipeline } from '../support/synth-detect.js';

// measured with `vidflow eval` on this clip (docs/accuracy.md "Instance masks"):
// mask AP@0.5 0.3199, mask AP@[.5:.95] 0.1953 (box AP@0.5 0.4869)
const FLOOR_MASK_AP50 = 0.27;
const FLOOR_MASK_AP = 0.16;

test('vidflow eval: the trained synth-maskrcnn keeps its mask AP on a held-out synthetic clip', async () => {
  const pipeline = synthDetectPipeline('eval-trained-masks', 'p.yaml', [
    'type: segment_instances',
    'id: masks',
    'model: synth-maskrcnn',
    'score_threshold: 0',
  ]);
  const out = await runEvalJson<{
    images: number;
    matched_images: number;
    segm?: { ap50: number; ap: number };
  }>(pipeline, SYNTH_DETECT_GROUND_TRUTH, 240_000);
  assert.equal(out.matched_images, out.images);
  assert.ok(out.images >= 48, `images ${out.images}`);
  assert.ok(out.segm, 'no mask (segm) scores: the stage returned no masks');
  assert.ok(out.segm.ap50 >= FLOOR_MASK_AP50, `mask AP@0.5 ${out.segm.ap50} below the floor ${FLOOR_MASK_AP50}`);
  assert.ok(out.segm.ap >= FLOOR_MASK_AP, `mask AP@[.5:.95] ${out.segm.ap} below the floor ${FLOOR_MASK_AP}`);
});
