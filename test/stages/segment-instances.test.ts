/** `segment_instances` parity: Mask R-CNN fixture masks (thresholded at source resolution, RLE) equal PyTorch's (IoU
 * >= 0.99). */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { VidflowError } from '../../src/core/errors.js';
import { decodeRle, maskIou } from '../../src/models/decoders/rle.js';
import { loadManifest } from '../../src/models/manifest.js';
import { OnnxRunner } from '../../src/models/onnx-runner.js';
import {
  instanceSegmentationModel,
  segmentInstancesSchema,
  segmentInstancesSpec,
} from '../../src/stages/segment-instances.js';
import {
  FIXTURES,
  fixtureFrame,
  matchDetections,
  readJson,
  REPO,
  stageContext,
  type ExpectedDetection,
} from './helpers.js';

const dir = path.join(FIXTURES, 'tiny_maskrcnn');
interface Expected {
  runs: Array<{
    images: Array<{
      count: number;
      detections: Array<ExpectedDetection & { mask_area: number }>;
      masks_thresholded: { file: string; dims: number[] };
    }>;
  }>;
}

describe('segment_instances parity: tiny_maskrcnn', {
  skip: existsSync(path.join(dir, 'reference', 'expected.json')) ? false : 'fixture not built yet',
}, () => {
  it('boxes, labels, thresholded masks (IoU >= 0.99) and areas match PyTorch', async () => {
    const loaded = loadManifest(path.join(dir, 'tiny_maskrcnn.manifest.json'));
    const runner = await OnnxRunner.create(loaded.modelPath);
    const model = instanceSegmentationModel(loaded, runner, {
      score_threshold: 0,
      max_detections: 1000,
      min_box_area: 0,
      nms_iou: 0.5,
      filter: { allow: null, deny: new Set() },
    });
    const images = readJson<Expected>(path.join(dir, 'reference', 'expected.json')).runs.flatMap((r) => r.images);
    const frames = images.map((_, i) => fixtureFrame(path.join(dir, 'reference'), i));
    const results = await model.run(frames);
    let minIou = 1;
    let n = 0;
    images.forEach((img, i) => {
      const got = results[i]!.detections;
      const f = frames[i]!;
      assert.equal(got.length, img.count);
      const [, , h, w] = img.masks_thresholded.dims as [number, number, number, number];
      assert.deepEqual([h, w], [f.height, f.width], 'masks at source resolution');
      const all = new Uint8Array(readFileSync(path.join(dir, 'reference', img.masks_thresholded.file)));
      img.detections.forEach((e, k) => {
        // match by box + label, then compare the masks
        const j = got.findIndex((g) => matchDetections([e], [g])[0]! >= 0.99);
        assert.ok(j >= 0, `image ${i} detection ${k} unmatched`);
        const mine = decodeRle(got[j]!.mask);
        const ref = all.subarray(k * h * w, (k + 1) * h * w);
        const v = maskIou(mine, ref);
        assert.ok(v >= 0.99, `image ${i} det ${k}: mask IoU ${v}`);
        assert.ok(
          Math.abs(got[j]!.area - e.mask_area) <= Math.max(1, 0.01 * e.mask_area),
          `area ${got[j]!.area} vs ${e.mask_area}`,
        );
        assert.equal(
          got[j]!.mask.counts.reduce((a, b) => a + b, 0),
          h * w,
        );
        minIou = Math.min(minIou, v);
        n++;
      });
    });
    console.log(`# tiny_maskrcnn: ${n} masks matched, min mask IoU ${minIou.toFixed(5)}`);
    await model.close();
  });
  it('a detection model for segment_instances is MODEL_TASK_MISMATCH naming the config path', async () => {
    await assert.rejects(
      segmentInstancesSpec.create(
        segmentInstancesSchema.parse({
          type: 'segment_instances',
          id: 'm',
          model: 'models/yolox-nano/yolox-nano.manifest.json',
        }),
        stageContext(REPO, 'stages[3]'),
      ),
      (e: unknown) =>
        e instanceof VidflowError &&
        e.code === 'MODEL_TASK_MISMATCH' &&
        e.message.startsWith('stages[3].model: model "yolox-nano" is a detection model'),
    );
  });
});
