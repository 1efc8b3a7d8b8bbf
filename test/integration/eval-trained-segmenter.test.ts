/**
 * `vidflow eval` of a model that really learned something: pipelines/eval-synth-lraspp.yaml (ffmpeg decode of the
 * three held-out synthetic scene videos in test/fixtures/eval/synth-heldout → `segment` with models/synth-lraspp, the
 * LR-ASPP trained by tools/train/train_segmenter.py → JSONL sink) scored against the videos' exact ground truth. The
 * floors sit a few points under the measured scores (docs/accuracy.md "Trained models"), so a preprocessing or decoding
 * regression (wrong normalization, BGR order, resize, rotation, label map scaling) fails here; and the scores must stay
 * within 1 point of PyTorch's on the same decoded frames (models/synth-lraspp/metrics.json, written by
 * tools/train/reference_eval.py). No Python needed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO } from '../support/media.js';
import { runEvalJson } from '../support/pipeline.js';

/**
 * Measured 2026-12-03 (docs/accuracy.md): mIoU 0.5132, pixel accuracy 0.9515, person IoU 0.4689 over the 144 frames
 * (PyTorch the same to 1e-5). With RGB read as BGR the pipeline measured mIoU 0.4270, without the std division 0.1890,
 * with mean/std 0.5 0.3674, with the resize size applied to the long side 0.3278 (pixel accuracy 0.7394).
 */
const FLOORS = { miou: 0.48, pixel_accuracy: 0.93, person_iou: 0.44 };

test('vidflow eval: the trained LR-ASPP on the held-out synthetic videos scores above its floors', async () => {
  const pipeline = path.join(REPO, 'pipelines', 'eval-synth-lraspp.yaml');
  const gt = path.join(REPO, 'test', 'fixtures', 'eval', 'synth-heldout', 'ground-truth');
  const out = await runEvalJson<{
    images: number;
    matched_images: number;
    semantic: {
      miou: number;
      pixel_accuracy: number;
      images_scored: number;
      images_without_prediction: number;
      per_class_iou: Record<string, number>;
      per_class_name: Record<string, string | null>;
    };
  }>(pipeline, gt);
  assert.equal(out.images, 144);
  assert.equal(out.matched_images, 144);
  assert.equal(out.semantic.images_scored, 144);
  assert.equal(out.semantic.images_without_prediction, 0);
  const s = out.semantic;
  assert.ok(s.miou >= FLOORS.miou, `mIoU ${s.miou} < floor ${FLOORS.miou}`);
  assert.ok(s.pixel_accuracy >= FLOORS.pixel_accuracy, `pixel accuracy ${s.pixel_accuracy} < ${FLOORS.pixel_accuracy}`);
  assert.ok(s.miou <= 1 && s.pixel_accuracy <= 1);
  assert.equal(s.per_class_name['4'], 'person');
  const person = s.per_class_iou['4'];
  assert.ok(person !== undefined && person >= FLOORS.person_iou, `person IoU ${person} < ${FLOORS.person_iou}`);
  const pytorch = JSON.parse(readFileSync(path.join(REPO, 'models', 'synth-lraspp', 'metrics.json'), 'utf8')) as {
    frames: number;
    miou: number;
    pixel_accuracy: number;
  };
  assert.equal(pytorch.frames, 144);
  assert.ok(
    Math.abs(s.miou - pytorch.miou) <= 0.01,
    `mIoU ${s.miou}, PyTorch ${pytorch.miou}: more than 1 point apart`,
  );
  assert.ok(
    Math.abs(s.pixel_accuracy - pytorch.pixel_accuracy) <= 0.01,
    `pixel accuracy ${s.pixel_accuracy}, PyTorch ${pytorch.pixel_accuracy}: more than 1 point apart`,
  );
});
