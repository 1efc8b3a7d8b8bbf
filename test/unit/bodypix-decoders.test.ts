/** The BodyPix decoders on hand-made grids: keypoint position = cell*stride + offset, sigmoid scores, box and mask
 * mapping. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { bodypixKeypointsDecoder } from '../../src/models/decoders/bodypix-keypoints.js';
import { bodypixPersonMaskDecoder } from '../../src/models/decoders/bodypix-person-mask.js';
import type { Tensor } from '../../src/models/runner.js';

// 33x33 input (16*2+1) → 3x3 grid; frame 66x66 (scale 0.5).
const geometry = { scale_x: 0.5, scale_y: 0.5, offset_x: 0, offset_y: 0, width: 33, height: 33 };
const filter = { score_threshold: 0.3, max_detections: 100, min_box_area: 0, allow: null, deny: new Set<number>() };

it(
  'bodypix_keypoints: best cell + short offset per keypoint, mean sigmoid score, box over the confident ' + 'keypoints',
  () => {
    const k = 2;
    const heat = new Float32Array(9 * k).fill(-10);
    const off = new Float32Array(9 * 2 * k);
    heat[(1 * 3 + 2) * k + 0] = 10; // keypoint 0 at cell (y1, x2)
    off[(1 * 3 + 2) * 2 * k + 0] = 3; // y offset
    off[(1 * 3 + 2) * 2 * k + k + 0] = -2; // x offset
    heat[(2 * 3 + 0) * k + 1] = 0; // keypoint 1 at cell (y2, x0), score 0.5
    const outputs: Record<string, Tensor> = {
      heatmaps: { type: 'float32', dims: [1, 3, 3, k], data: heat },
      short_offsets: { type: 'float32', dims: [1, 3, 3, 2 * k], data: off },
    };
    const ctx = {
      labels: ['person'],
      geometry,
      frameWidth: 66,
      frameHeight: 66,
      inputWidth: 33,
      inputHeight: 33,
      filter,
      nmsIou: undefined,
      options: bodypixKeypointsDecoder.options.parse({}),
    };
    const r = bodypixKeypointsDecoder.decode(outputs, 0, ctx);
    assert.equal(r.detections.length, 1);
    const [a, b] = r.keypoints![0]!;
    assert.deepEqual([a!.x, a!.y, a!.visible], [(2 * 16 - 2) / 0.5, (16 + 3) / 0.5, true]);
    assert.ok(Math.abs(a!.score - 1 / (1 + Math.exp(-10))) < 1e-6);
    assert.deepEqual([b!.x, b!.y, b!.score, b!.visible], [0, 64, 0.5, true]);
    assert.ok(Math.abs(r.detections[0]!.score - (a!.score + 0.5) / 2) < 1e-6);
    assert.deepEqual(r.detections[0]!.box, [0, 38, 60, 64]);
    // Below the stage's threshold: no person.
    assert.equal(
      bodypixKeypointsDecoder.decode(outputs, 0, { ...ctx, filter: { ...filter, score_threshold: 0.9 } }).detections
        .length,
      0,
    );
  },
);

it(
  'bodypix_person_mask: sigmoid > 0.5 per cell, frame pixels take the nearest cell centre (cell i at input pixel 16 ' +
    'i)',
  () => {
    const seg = new Float32Array(9).fill(-1);
    seg[0] = 2; // cell (0,0): input pixels 0..8 → frame pixels 0..16
    const map = bodypixPersonMaskDecoder.decode({ out: { type: 'float32', dims: [1, 3, 3, 1], data: seg } }, 0, {
      classes: 2,
      geometry,
      frameWidth: 66,
      frameHeight: 66,
      role: 'out',
      options: bodypixPersonMaskDecoder.options.parse({}),
    });
    assert.equal(map.length, 66 * 66);
    // Frame pixel i centre → input u = (i + 0.5) * 0.5 - 0.5; cell 0 while u < 8, i.e. i <= 16.
    assert.equal(map[16 * 66 + 16], 1);
    assert.equal(map[16 * 66 + 17], 0);
    assert.equal(map[17 * 66 + 0], 0);
    let ones = 0;
    for (const v of map) ones += v;
    assert.equal(ones, 17 * 17);
  },
);
