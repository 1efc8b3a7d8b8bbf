/** Keypoint decoding. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePersonKeypoints } from '../../src/stages/detect-keypoints.js';

describe('keypoint decoder', () => {
  it('names keypoints, maps them to frame pixels, keeps visibility and score', () => {
    const names = ['nose', 'left_eye'];
    const kp = Float32Array.from([/* person 0 */ 1, 2, 1, 3, 4, 0, /* person 1 */ 10, 20, 1, 30, 40, 1]);
    const sc = Float32Array.from([0.1, 0.2, 5.5, -1.25]);
    const out = decodePersonKeypoints(
      {
        detections: [{ box: [0, 0, 1, 1], label_id: 1, label: 'person', score: 0.9 }],
        rows: [1],
        geometry: { scale_x: 0.5, scale_y: 0.5, offset_x: 0, offset_y: 0, width: 0, height: 0 },
        outputs: {
          keypoints: { type: 'float32', dims: [2, 2, 3], data: kp },
          keypoints_scores: { type: 'float32', dims: [2, 2], data: sc },
        },
      },
      names,
    );
    assert.deepEqual(out[0]!.keypoints, [
      { name: 'nose', x: 20, y: 40, visible: true, score: 5.5 },
      { name: 'left_eye', x: 60, y: 80, visible: true, score: -1.25 },
    ]);
    assert.throws(
      () =>
        decodePersonKeypoints(
          {
            detections: [],
            rows: [],
            geometry: { scale_x: 1, scale_y: 1, offset_x: 0, offset_y: 0, width: 0, height: 0 },
            outputs: { keypoints: { type: 'float32', dims: [2, 2, 3], data: kp } },
          },
          ['nose'],
        ),
      /2 keypoints/,
    );
  });
});
