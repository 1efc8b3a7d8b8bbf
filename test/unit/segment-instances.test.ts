/** COCO RLE of instance masks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeRle,
  encodeBinaryRle,
  encodeMaskRle,
  maskIou,
  nearestIndexMap,
  rleArea,
} from '../../src/models/decoders/rle.js';
import { decodeInstanceMasks } from '../../src/stages/segment-instances.js';

describe('COCO RLE', () => {
  it('is column-major and starts with a zero-run', () => {
    // 3x2 (h=3, w=2): column 0 = [1,0,1], column 1 = [1,1,0]
    const bits = Uint8Array.from([1, 1, 0, 1, 1, 0]);
    const rle = encodeBinaryRle(bits, 3, 2);
    assert.deepEqual(rle, { size: [3, 2], counts: [0, 1, 1, 3, 1] });
    assert.deepEqual(decodeRle(rle), bits);
    assert.equal(rleArea(rle), 4);
    assert.deepEqual(encodeBinaryRle(new Uint8Array(6), 3, 2).counts, [6]);
  });
  it('thresholds probabilities (>= threshold) at frame resolution', () => {
    const probs = Float32Array.from([0, 0.5, 0.49, 0.9, 0.1, 1]); // 2 rows x 3 cols
    const { rle, area } = encodeMaskRle(probs, 0, 3, 0.5, 3, 2);
    assert.deepEqual(decodeRle(rle), Uint8Array.from([0, 1, 0, 1, 0, 1]));
    assert.equal(area, 3);
    // upsample x2 with nearest maps
    const rows = nearestIndexMap(4, 2, 0.5, 0);
    const cols = nearestIndexMap(6, 3, 0.5, 0);
    const up = encodeMaskRle(probs, 0, 3, 0.5, 6, 4, rows, cols);
    assert.equal(up.area, 12);
    assert.deepEqual(up.rle.size, [4, 6]);
  });
  it('round-trips random masks', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let k = 0; k < 20; k++) {
      const h = 1 + Math.floor(rnd() * 20);
      const w = 1 + Math.floor(rnd() * 20);
      const bits = Uint8Array.from({ length: h * w }, () => (rnd() < 0.4 ? 1 : 0));
      const rle = encodeBinaryRle(bits, h, w);
      assert.deepEqual(decodeRle(rle), bits);
      assert.equal(
        rle.counts.reduce((a, b) => a + b, 0),
        h * w,
      );
      assert.equal(maskIou(bits, decodeRle(rle)), 1);
    }
  });
  it('decodes the masks of kept detections only', () => {
    const masks = new Float32Array(2 * 2 * 3);
    masks.set([1, 1, 0, 0, 0, 0], 0);
    masks.set([0, 0, 0, 0, 1, 1], 6);
    const out = decodeInstanceMasks(
      {
        detections: [{ box: [0, 0, 1, 1], label_id: 1, label: 'person', score: 0.9 }],
        rows: [1],
        geometry: { scale_x: 1, scale_y: 1, offset_x: 0, offset_y: 0, width: 3, height: 2 },
        outputs: { masks: { type: 'float32', dims: [2, 1, 2, 3], data: masks } },
      },
      { width: 3, height: 2 },
      0.5,
    );
    assert.equal(out[0]!.area, 2);
    assert.deepEqual(decodeRle(out[0]!.mask), Uint8Array.from([0, 0, 0, 0, 1, 1]));
  });
});
