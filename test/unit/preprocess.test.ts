/** Preprocessing follows torchvision's presets: sizes, crop offsets, resampling, normalization. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { preprocessInto, resizedSize, resizeRgb, roundHalfEven, inputSize } from '../../src/models/preprocess.js';

const spec = {
  resize: { mode: 'shorter_side' as const, size: 256 },
  crop: { width: 224, height: 224 },
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406] as [number, number, number],
  std: [0.229, 0.224, 0.225] as [number, number, number],
  color: 'RGB' as const,
  interpolation: 'bilinear_antialias' as const,
};

describe('preprocess', () => {
  it('Resize(256) keeps aspect and truncates the long side like torchvision', () => {
    assert.deepEqual(resizedSize(640, 360, spec.resize), { width: 455, height: 256 });
    assert.deepEqual(resizedSize(359, 641, spec.resize), { width: 256, height: 457 });
    assert.deepEqual(resizedSize(451, 300, spec.resize), { width: 384, height: 256 });
    assert.deepEqual(resizedSize(100, 50, { mode: 'exact', width: 171, height: 128 }), { width: 171, height: 128 });
    assert.deepEqual(
      resizedSize(640, 360, { mode: 'letterbox', width: 416, height: 416, pad_value: 114, align: 'top_left' }),
      { width: 416, height: 234 },
    );
  });

  it("rounds crop offsets half to even like Python's round()", () => {
    assert.equal(roundHalfEven(0.5), 0);
    assert.equal(roundHalfEven(1.5), 2);
    assert.equal(roundHalfEven(2.5), 2);
    assert.equal(roundHalfEven(115.5), 116);
    assert.equal(roundHalfEven(3.2), 3);
  });

  it('a constant image stays constant through antialiased resize', () => {
    const src = new Uint8Array(37 * 23 * 3).fill(200);
    const out = resizeRgb(src, 37, 23, 11, 7, 'bilinear_antialias');
    assert.equal(out.length, 11 * 7 * 3);
    assert.ok(out.every((v) => v === 200));
  });

  it('downscaling by 2 averages 2×2 blocks (triangle filter, antialiased)', () => {
    // Columns alternate 0/100: a 2× downscale with antialias gives the mean, 50 (plain bilinear would too at exact
    // centers).
    const w = 8;
    const h = 2;
    const src = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) src.fill(x % 2 ? 100 : 0, (y * w + x) * 3, (y * w + x) * 3 + 3);
    const out = resizeRgb(src, w, h, 4, 1, 'bilinear_antialias');
    // Interior pixels weight neighbours 1/8, 3/8, 3/8, 1/8 → 50.
    assert.deepEqual([...out.subarray(3, 9)], [50, 50, 50, 50, 50, 50]);
  });

  it('normalizes into NCHW with mean/std and returns the crop geometry', () => {
    const w = 300;
    const h = 256;
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) {
      data[i * 3] = 255;
      data[i * 3 + 1] = 0;
      data[i * 3 + 2] = 128;
    }
    const out = new Float32Array(3 * 224 * 224);
    const g = preprocessInto(data, w, h, spec, out, 0, 'NCHW');
    assert.equal(g.width, 224);
    assert.equal(g.offset_x, -roundHalfEven((300 - 224) / 2));
    assert.ok(Math.abs(out[0]! - (1 - 0.485) / 0.229) < 1e-5);
    assert.ok(Math.abs(out[224 * 224]! - (0 - 0.456) / 0.224) < 1e-5);
    assert.ok(Math.abs(out[2 * 224 * 224]! - (128 / 255 - 0.406) / 0.225) < 1e-5);
    assert.deepEqual(inputSize(w, h, spec), { width: 224, height: 224 });
  });

  it('letterboxes top-left with the pad value and BGR order', () => {
    const data = new Uint8Array(4 * 2 * 3).fill(10);
    const out = new Float32Array(3 * 8 * 8);
    preprocessInto(
      data,
      4,
      2,
      {
        resize: { mode: 'letterbox', width: 8, height: 8, pad_value: 114, align: 'top_left' },
        crop: null,
        scale: 1,
        mean: [0, 0, 0],
        std: [1, 1, 1],
        color: 'BGR',
        interpolation: 'bilinear',
      },
      out,
      0,
      'NCHW',
    );
    assert.equal(out[0], 10); // top-left image pixel
    assert.equal(out[8 * 8 - 1], 114); // bottom-right padding
  });
  // Issue #8 item 9: enlarging read one element past the frame at the last column (NaN → 0).
  for (const interp of ['bilinear', 'bilinear_antialias'] as const) {
    it(`${interp}: a uniform 4×4 frame of 100 enlarged to 8×8 stays 100 everywhere, bottom-right included`, () => {
      const out = resizeRgb(new Uint8Array(4 * 4 * 3).fill(100), 4, 4, 8, 8, interp);
      const off: string[] = [];
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++)
          for (let c = 0; c < 3; c++)
            if (out[(y * 8 + x) * 3 + c] !== 100) off.push(`(${x},${y},${c})=${out[(y * 8 + x) * 3 + c]}`);
      assert.deepEqual(off, []);
    });

    it(`${interp}: enlarging only the width keeps the last columns equal to the last source column`, () => {
      // 3×2 horizontal ramp 0, 100, 200 in every channel, enlarged to 7×2 (height unchanged).
      const src = new Uint8Array(3 * 2 * 3);
      for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) src.fill(x * 100, (y * 3 + x) * 3, (y * 3 + x + 1) * 3);
      const out = resizeRgb(src, 3, 2, 7, 2, interp);
      // align_corners=False: dst x → src (x + 0.5) * 3/7 - 0.5, clamped to [0, 2].
      const expected = Array.from({ length: 7 }, (_, x) => Math.min(2, Math.max(0, ((x + 0.5) * 3) / 7 - 0.5)) * 100);
      for (let y = 0; y < 2; y++) {
        for (let x = 0; x < 7; x++) {
          for (let c = 0; c < 3; c++)
            assert.ok(
              Math.abs(out[(y * 7 + x) * 3 + c]! - expected[x]!) <= 0.5 + 1e-6,
              `(${x},${y},${c}) = ${out[(y * 7 + x) * 3 + c]}, expected ${expected[x]}`,
            );
        }
      }
      assert.equal(out[(1 * 7 + 6) * 3], 200); // bottom-right pixel, the one that came out black
    });

    it(`${interp}: a window over the right edge of an enlargement reads no NaN either`, () => {
      const out = resizeRgb(new Uint8Array(5 * 3 * 3).fill(77), 5, 3, 11, 9, interp, {
        x: 6,
        y: 4,
        width: 5,
        height: 5,
      });
      assert.deepEqual([...new Set(out)], [77]);
    });
  }
});
