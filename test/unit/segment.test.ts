/** Semantic segmentation decoding: argmax (NCHW/NHWC), label map to the frame, fractions, RLE, PNG. */
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { crc32, encodeGrayPng } from '../../src/models/decoders/png.js';
import { decodeLabelMapRle, encodeLabelMapRle } from '../../src/models/decoders/rle.js';
import {
  argmaxLabels,
  classFractions,
  labelMapToFrame,
  segmentationLayout,
} from '../../src/models/decoders/segmentation.js';
import { decodeSegmentation, labelMapPayload, segmentSchema } from '../../src/stages/segment.js';

/** Reads back an 8-bit grayscale PNG written by encodeGrayPng (filter 0 only). */
function readGrayPng(buf: Buffer): { width: number; height: number; pixels: Uint8Array } {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let p = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (p < buf.length) {
    const len = buf.readUInt32BE(p);
    const type = buf.toString('latin1', p + 4, p + 8);
    const data = buf.subarray(p + 8, p + 8 + len);
    assert.equal(
      buf.readUInt32BE(p + 8 + len),
      (crc32(buf.subarray(p + 4, p + 8 + len)) ^ 0xffffffff) >>> 0,
      `crc of ${type}`,
    );
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8);
      assert.equal(data[9], 0);
    } else if (type === 'IDAT') idat.push(data);
    p += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (width + 1)], 0);
    pixels.set(raw.subarray(y * (width + 1) + 1, (y + 1) * (width + 1)), y * width);
  }
  return { width, height, pixels };
}

describe('segmentation decoder', () => {
  // 3 classes, 2x2 pixels. Per pixel best class: [2, 0, 1, 1]
  const nchw = Float32Array.from([/* c0 */ 0, 5, 0, 0, /* c1 */ 1, 1, 3, 9, /* c2 */ 4, 1, 2, 1]);
  const nhwc = new Float32Array(12);
  for (let c = 0; c < 3; c++) for (let i = 0; i < 4; i++) nhwc[i * 3 + c] = nchw[c * 4 + i]!;
  it('argmaxes NCHW and NHWC the same way', () => {
    assert.deepEqual([...argmaxLabels(nchw, [1, 3, 2, 2], 'NCHW').labels], [2, 0, 1, 1]);
    assert.deepEqual([...argmaxLabels(nhwc, [1, 2, 2, 3], 'NHWC').labels], [2, 0, 1, 1]);
    assert.equal(segmentationLayout([1, 21, 257, 257], 21), 'NCHW');
    assert.equal(segmentationLayout([1, 257, 257, 21], 21), 'NHWC');
    assert.equal(segmentationLayout([1, 257, 257, 21], 21, 'NHWC'), 'NHWC');
  });
  it('ties keep the lower class id', () => {
    assert.deepEqual([...argmaxLabels(Float32Array.from([1, 1]), [1, 2, 1, 1], 'NCHW').labels], [0]);
  });
  it('maps the label map back to the frame with nearest and computes fractions', () => {
    const labels = Uint8Array.from([2, 0, 1, 1]);
    // frame 4x4 stretched to 2x2
    const map = labelMapToFrame(labels, 2, 2, { scale_x: 0.5, scale_y: 0.5, offset_x: 0, offset_y: 0 }, 4, 4);
    assert.deepEqual([...map], [2, 2, 0, 0, 2, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual(classFractions(map, ['bg', 'a', 'b']), { bg: 0.25, a: 0.5, b: 0.25 });
    // output smaller than the model input (stride 2): geometry folded in
    const g = { scale_x: 1, scale_y: 1, offset_x: 0, offset_y: 0, width: 4, height: 4 };
    assert.deepEqual(
      [...decodeSegmentation({ type: 'float32', dims: [1, 3, 2, 2], data: nchw }, 0, 'NCHW', g, 4, 4)],
      [...map],
    );
  });
  it('encodes label maps as row-major RLE and as PNG', () => {
    const map = Uint8Array.from([0, 0, 3, 3, 3, 1, 0, 0, 0, 0, 0, 2]);
    const rle = encodeLabelMapRle(map, 3, 4);
    assert.deepEqual(rle, {
      format: 'rle',
      size: [3, 4],
      order: 'row_major',
      values: [0, 3, 1, 0, 2],
      counts: [2, 3, 1, 5, 1],
    });
    assert.deepEqual(decodeLabelMapRle(rle), map);
    const png = readGrayPng(encodeGrayPng(map, 4, 3));
    assert.equal(png.width, 4);
    assert.equal(png.height, 3);
    assert.deepEqual(png.pixels, map);
    const payload = labelMapPayload(map, 4, 3, 'png') as { format: string; data: string };
    assert.equal(payload.format, 'png');
    assert.deepEqual(readGrayPng(Buffer.from(payload.data, 'base64')).pixels, map);
    assert.equal(labelMapPayload(map, 4, 3, 'none'), undefined);
  });
  it('schema defaults', () => {
    const c = segmentSchema.parse({ type: 'segment', id: 's', model: 'm' });
    assert.equal(c.label_map, 'none');
    assert.equal(c.include_aux, false);
    assert.throws(() => segmentSchema.parse({ type: 'segment', id: 's', model: 'm', label_map: 'jpeg' }));
  });
});
