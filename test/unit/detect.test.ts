/** Detection decoders: torchvision outputs, class filter, box mapping, NMS, YOLOX. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeTorchvisionDetections, mapBox, resolveClassFilter } from '../../src/models/decoders/detection.js';
import { iou, nms } from '../../src/models/decoders/nms.js';
import { decodeYolox, yoloxRows } from '../../src/models/decoders/yolox.js';
import { VidflowError } from '../../src/core/errors.js';
import { detectSchema } from '../../src/stages/detect.js';

const LABELS = ['__background__', 'person', 'bicycle', 'car', 'N/A', 'dog'];
const ID = { scale_x: 1, scale_y: 1, offset_x: 0, offset_y: 0, width: 100, height: 80 };
const ALL = { allow: null, deny: new Set<number>() };

describe('torchvision detection decoder', () => {
  const out = {
    boxes: Float32Array.from([10, 10, 50, 60, 0, 0, 5, 5, 20, 20, 90, 70, 30, 30, 40, 40]),
    labels: BigInt64Array.from([1n, 3n, 5n, 1n]),
    scores: Float32Array.from([0.9, 0.8, 0.6, 0.3]),
  };
  it('keeps order, maps labels, applies threshold / allow / deny / area / max', () => {
    const base = { score_threshold: 0.5, max_detections: 100, min_box_area: 0, ...ALL };
    let r = decodeTorchvisionDetections(out, ID, 100, 80, LABELS, base);
    assert.deepEqual(
      r.detections.map((d) => d.label),
      ['person', 'car', 'dog'],
    );
    assert.deepEqual(r.rows, [0, 1, 2]);
    assert.deepEqual(r.detections[0], { box: [10, 10, 50, 60], label_id: 1, label: 'person', score: 0.9 });
    r = decodeTorchvisionDetections(out, ID, 100, 80, LABELS, { ...base, min_box_area: 30 });
    assert.deepEqual(r.rows, [0, 2]);
    r = decodeTorchvisionDetections(out, ID, 100, 80, LABELS, { ...base, score_threshold: 0, allow: new Set([1]) });
    assert.deepEqual(r.rows, [0, 3]);
    r = decodeTorchvisionDetections(out, ID, 100, 80, LABELS, { ...base, score_threshold: 0, deny: new Set([1]) });
    assert.deepEqual(r.rows, [1, 2]);
    r = decodeTorchvisionDetections(out, ID, 100, 80, LABELS, { ...base, max_detections: 2 });
    assert.deepEqual(r.rows, [0, 1]);
  });
  it('maps boxes back through the preprocessing geometry and clamps them to the frame', () => {
    // Frame 200x160 resized ×0.5 to 100x80.
    const g = { scale_x: 0.5, scale_y: 0.5, offset_x: 0, offset_y: 0, width: 100, height: 80 };
    const r = decodeTorchvisionDetections(out, g, 200, 160, LABELS, {
      score_threshold: 0.5,
      max_detections: 100,
      min_box_area: 0,
      ...ALL,
    });
    assert.deepEqual(r.detections[0]!.box, [20, 20, 100, 120]);
    assert.deepEqual(r.detections[2]!.box, [40, 40, 180, 140]);
    // letterbox with an offset, clamped
    assert.deepEqual(
      mapBox(-10, 5, 50, 300, { scale_x: 2, scale_y: 2, offset_x: 10, offset_y: 10, width: 0, height: 0 }, 100, 100),
      [0, 0, 20, 100],
    );
  });
});

describe('class filter', () => {
  it('resolves names, skips N/A, and names the config path in errors', () => {
    const f = resolveClassFilter(LABELS, ['person', 'dog'], ['car'], 'stages[1]');
    assert.deepEqual([...f.allow!], [1, 5]);
    assert.deepEqual([...f.deny], [3]);
    assert.equal(resolveClassFilter(LABELS, null, [], 'x').allow, null);
    assert.throws(
      () => resolveClassFilter(LABELS, ['persn'], [], 'stages[1]'),
      (e: unknown) =>
        e instanceof VidflowError &&
        e.code === 'CONFIG_INVALID' &&
        e.where === 'stages[1].classes[0]' &&
        /^stages\[1\]\.classes\[0\]: unknown class "persn".*did you mean "person"/.test(e.message),
    );
    assert.throws(
      () => resolveClassFilter(LABELS, null, ['N/A'], 'stages[2]'),
      /stages\[2\]\.exclude_classes\[0\]: unknown class "N\/A"/,
    );
  });
  it('reports every unknown class at once, each at its element with its own "did you mean" (issue #8 item 11)', () => {
    assert.throws(
      () => resolveClassFilter(LABELS, ['person', 'persn', 'dgo'], ['cra'], 'stages[1]'),
      (e: unknown) => {
        const all = (e as { all?: VidflowError[] }).all;
        assert.ok(e instanceof VidflowError && e.code === 'CONFIG_INVALID' && Array.isArray(all), String(e));
        assert.deepEqual(
          all.map((x) => [x.code, x.where]),
          [
            ['CONFIG_INVALID', 'stages[1].classes[1]'],
            ['CONFIG_INVALID', 'stages[1].classes[2]'],
            ['CONFIG_INVALID', 'stages[1].exclude_classes[0]'],
          ],
        );
        assert.match(all[0]!.message, /unknown class "persn".*did you mean "person"/);
        assert.match(all[1]!.message, /unknown class "dgo".*did you mean "dog"/);
        assert.match(all[2]!.message, /unknown class "cra".*did you mean "car"/);
        return true;
      },
    );
  });
  it('has a strict schema with named defaults', () => {
    const c = detectSchema.parse({ type: 'detect', id: 'd', model: 'm' });
    assert.equal(c.score_threshold, 0.5);
    assert.equal(c.max_detections, 100);
    assert.equal(c.classes, null);
    assert.throws(() => detectSchema.parse({ type: 'detect', id: 'd', model: 'm', score: 1 }));
  });
});

describe('nms', () => {
  it('suppresses overlaps class-agnostically or per class', () => {
    const boxes = Float32Array.from([0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30, 0, 0, 10, 9]);
    const scores = [0.9, 0.95, 0.5, 0.8];
    assert.deepEqual(nms(boxes, scores, 4, 0.5), [1, 2]);
    assert.deepEqual(nms(boxes, scores, 4, 0.5, [0, 0, 0, 1]), [1, 3, 2]);
    assert.deepEqual(nms(boxes, scores, 4, 0.5, null, 1), [1]);
    assert.ok(Math.abs(iou([0, 0, 10, 10], [5, 0, 15, 10]) - 1 / 3) < 1e-12);
  });
});

describe('yolox decoder', () => {
  it('decodes grid cells of each stride, scores obj×cls, runs NMS', () => {
    const W = 64;
    const H = 32;
    const rows = yoloxRows(W, H); // 8x4 + 4x2 + 2x1 = 42
    assert.equal(rows, 42);
    const cols = 5 + 3;
    const data = new Float32Array(rows * cols);
    const set = (r: number, v: number[]) => data.set(v, r * cols);
    // stride 8, cell (x=2, y=1): centre (2.5*8, 1.5*8) = (20, 12), w=h=8
    set(1 * 8 + 2, [0.5, 0.5, 0, 0, 0.9, 0.1, 0.8, 0.2]);
    // a duplicate of it in the next cell with a lower score (IoU high after shift of 0.25 cell)
    set(1 * 8 + 3, [-0.75, 0.5, 0, 0, 0.8, 0.1, 0.8, 0.2]);
    // stride 16 cell (x=1, y=0): centre (24, 8), w = e^1 * 16
    set(32 + 1, [0.5, 0.5, 1, 0, 0.7, 0.9, 0.1, 0.1]);
    // below threshold
    set(40, [0, 0, 0, 0, 0.2, 0.9, 0.9, 0.9]);
    const r = decodeYolox(data, 0, rows, cols, W, H, { score_threshold: 0.3, max_detections: 10, ...ALL });
    assert.equal(r.count, 2);
    assert.deepEqual([...r.labels], [1, 0]);
    assert.ok(Math.abs(r.scores[0]! - 0.72) < 1e-6);
    assert.deepEqual([...r.boxes.subarray(0, 4)], [16, 8, 24, 16]);
    const w = Math.exp(1) * 16;
    assert.ok(Math.abs(r.boxes[4]! - (24 - w / 2)) < 1e-4);
    // deny class 1: the person box takes over
    const r2 = decodeYolox(data, 0, rows, cols, W, H, {
      score_threshold: 0.3,
      max_detections: 10,
      allow: null,
      deny: new Set([1]),
    });
    assert.deepEqual([...r2.labels], [0]);
    assert.throws(
      () => decodeYolox(data, 0, rows - 1, cols, W, H, { score_threshold: 0.3, max_detections: 10, ...ALL }),
      /rows/,
    );
  });
});
