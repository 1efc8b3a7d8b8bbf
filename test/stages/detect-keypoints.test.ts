/** `detect_keypoints` parity: Keypoint R-CNN fixture keypoints within 0.5 px of PyTorch's. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadManifest } from '../../src/models/manifest.js';
import { OnnxRunner } from '../../src/models/onnx-runner.js';
import { keypointModel } from '../../src/stages/detect-keypoints.js';
import { FIXTURES, fixtureFrame, matchDetections, readJson, type ExpectedDetection } from './helpers.js';

const dir = path.join(FIXTURES, 'tiny_keypointrcnn');
interface Expected {
  runs: Array<{
    images: Array<{
      count: number;
      detections: Array<ExpectedDetection & { keypoints: Array<[number, number, number]> }>;
    }>;
  }>;
}

describe('detect_keypoints parity: tiny_keypointrcnn', {
  skip: existsSync(path.join(dir, 'reference', 'expected.json')) ? false : 'fixture not built yet',
}, () => {
  it('17 named keypoints per person within 0.5 px, same visibility', async () => {
    const loaded = loadManifest(path.join(dir, 'tiny_keypointrcnn.manifest.json'));
    assert.equal(loaded.keypointNames?.length, 17);
    const runner = await OnnxRunner.create(loaded.modelPath);
    const model = keypointModel(loaded, runner, {
      score_threshold: 0,
      max_detections: 1000,
      min_box_area: 0,
      nms_iou: 0.5,
      filter: { allow: null, deny: new Set() },
    });
    const images = readJson<Expected>(path.join(dir, 'reference', 'expected.json')).runs.flatMap((r) => r.images);
    const frames = images.map((_, i) => fixtureFrame(path.join(dir, 'reference'), i));
    const results = await model.run(frames);
    let maxErr = 0;
    let n = 0;
    images.forEach((img, i) => {
      const got = results[i]!.detections;
      assert.equal(got.length, img.count);
      img.detections.forEach((e, k) => {
        const j = got.findIndex((g) => matchDetections([e], [g])[0]! >= 0.99);
        assert.ok(j >= 0, `image ${i} person ${k} unmatched`);
        const kps = got[j]!.keypoints;
        assert.deepEqual(
          kps.map((p) => p.name),
          loaded.keypointNames,
        );
        assert.equal(kps[0]!.name, 'nose');
        assert.equal(kps[16]!.name, 'right_ankle');
        e.keypoints.forEach(([x, y, v], q) => {
          const err = Math.max(Math.abs(kps[q]!.x - x), Math.abs(kps[q]!.y - y));
          maxErr = Math.max(maxErr, err);
          assert.ok(err <= 0.5, `image ${i} person ${k} keypoint ${q}: ${kps[q]!.x},${kps[q]!.y} vs ${x},${y}`);
          assert.equal(kps[q]!.visible, v > 0);
          n++;
        });
      });
    });
    console.log(`# tiny_keypointrcnn: ${n} keypoints, max error ${maxErr.toFixed(4)} px`);
    await model.close();
  });
});
