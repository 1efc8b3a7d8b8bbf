/** The tensor builder: grouping by size, fixed-batch padding, NCHW/NHWC/CHW/NCTHW layouts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PreparedImage } from '../../src/models/preprocess-pool.js';
import { chwFeeds, clipBatches, fixedChunks, imageBatches } from '../../src/models/tensor-builder.js';

/** A 3×h×w image whose every value is `v` (so a tensor slot tells which image it holds). */
const img = (w: number, h: number, v: number): PreparedImage => ({
  data: new Float32Array(3 * w * h).fill(v),
  width: w,
  height: h,
  geometry: { scale_x: v, scale_y: v, offset_x: 0, offset_y: 0, width: w, height: h },
});
const slots = (data: Float32Array, per: number): number[] =>
  Array.from({ length: data.length / per }, (_, i) => data[i * per]!);

describe('tensor builder', () => {
  it('fixedChunks: one run when dynamic, padded runs of the fixed size otherwise', () => {
    assert.deepEqual(fixedChunks([0, 1, 2], null), [{ indices: [0, 1, 2], padded: [0, 1, 2] }]);
    assert.deepEqual(fixedChunks([0, 1, 2], 2), [
      { indices: [0, 1], padded: [0, 1] },
      { indices: [2], padded: [2, 2] },
    ]);
    assert.deepEqual(fixedChunks([5], 4), [{ indices: [5], padded: [5, 5, 5, 5] }]);
    assert.deepEqual(fixedChunks([], 4), []);
  });

  it('imageBatches groups images by size, keeps order within groups, NCHW dims', () => {
    const images = [img(4, 2, 1), img(2, 2, 2), img(4, 2, 3), img(2, 2, 4)];
    const runs = imageBatches(images, 'NCHW', null);
    assert.deepEqual(
      runs.map((r) => r.indices),
      [
        [0, 2],
        [1, 3],
      ],
    );
    assert.deepEqual(runs[0]!.tensor.dims, [2, 3, 2, 4]);
    assert.deepEqual(runs[1]!.tensor.dims, [2, 3, 2, 2]);
    assert.deepEqual(slots(runs[0]!.tensor.data as Float32Array, 24), [1, 3]);
    assert.deepEqual(
      runs[1]!.geometries.map((g) => (g as unknown as { scale_x: number }).scale_x),
      [2, 4],
    );
  });

  it("imageBatches pads a fixed batch with the run's first image; NHWC dims", () => {
    const images = [img(2, 3, 1), img(2, 3, 2), img(2, 3, 3)];
    const runs = imageBatches(images, 'NHWC', 2);
    assert.deepEqual(
      runs.map((r) => r.indices),
      [[0, 1], [2]],
    );
    assert.deepEqual(runs[1]!.tensor.dims, [2, 3, 2, 3]);
    assert.deepEqual(slots(runs[1]!.tensor.data as Float32Array, 18), [3, 3]);
    assert.equal(runs[1]!.geometries.length, 1, 'padding has no geometry');
  });

  it('a single image of a dynamic model is used without a copy', () => {
    const one = img(2, 2, 7);
    assert.equal(imageBatches([one], 'NCHW', null)[0]!.tensor.data, one.data);
  });

  it('chwFeeds gives one [3,H,W] tensor per input name, sizes may differ, short calls padded', () => {
    const images = [img(4, 2, 1), img(2, 6, 2), img(3, 3, 3)];
    const calls = chwFeeds(images, ['a', 'b']);
    assert.deepEqual(
      calls.map((c) => c.indices),
      [[0, 1], [2]],
    );
    assert.deepEqual(calls[0]!.feeds.a!.dims, [3, 2, 4]);
    assert.deepEqual(calls[0]!.feeds.b!.dims, [3, 6, 2]);
    assert.equal(calls[1]!.feeds.b!.data, images[2]!.data, 'the padding slot repeats the first image');
    assert.deepEqual(
      chwFeeds(images, ['x']).map((c) => c.indices),
      [[0], [1], [2]],
    );
  });

  it('clipBatches stacks clips into [N,3,T,H,W], padding fixed batches', () => {
    const per = 3 * 2 * 2 * 2;
    const clips = [1, 2, 3].map((v) => new Float32Array(per).fill(v));
    const dynamic = clipBatches(clips, [3, 2, 2, 2], null);
    assert.equal(dynamic.length, 1);
    assert.deepEqual(dynamic[0]!.tensor.dims, [3, 3, 2, 2, 2]);
    assert.deepEqual(slots(dynamic[0]!.tensor.data as Float32Array, per), [1, 2, 3]);
    const fixed = clipBatches(clips, [3, 2, 2, 2], 2);
    assert.deepEqual(
      fixed.map((r) => r.indices),
      [[0, 1], [2]],
    );
    assert.deepEqual(fixed[1]!.tensor.dims, [2, 3, 2, 2, 2]);
    assert.deepEqual(slots(fixed[1]!.tensor.data as Float32Array, per), [3, 3]);
  });
});
