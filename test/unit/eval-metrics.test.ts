/** Metric code on small cases checkable by hand. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linearSumAssignment } from '../../src/eval/assignment.js';
import { boxIou, cocoAp, oks, rleFromString } from '../../src/eval/coco.js';
import { evaluateHota } from '../../src/eval/hota.js';
import { SemanticAccumulator } from '../../src/eval/semantic.js';
import { evaluateTracking } from '../../src/eval/tracking.js';

const gt = (id: number, image_id: number, bbox: [number, number, number, number]) => ({
  id,
  image_id,
  category_id: 1,
  bbox,
  area: bbox[2] * bbox[3],
});

test('box IoU: half-overlapping squares', () => {
  assert.equal(boxIou([0, 0, 10, 10], [5, 0, 10, 10], false), 50 / 150);
  assert.equal(boxIou([0, 0, 10, 10], [0, 0, 20, 20], true), 1); // crowd: intersection / detection area
});

test('AP: one perfect detection is 1, a miss halves recall, a better-scored false positive lowers precision', () => {
  const g = [gt(1, 1, [0, 0, 10, 10]), gt(2, 1, [50, 50, 10, 10])];
  assert.ok(
    Math.abs(cocoAp([g[0]!], [{ image_id: 1, category_id: 1, score: 0.9, bbox: [0, 0, 10, 10] }], 'bbox').ap - 1) <
      1e-12,
  );
  // one of two found: precision 1 up to recall 0.5 -> 51 of 101 recall points
  const half = cocoAp(g, [{ image_id: 1, category_id: 1, score: 0.9, bbox: [0, 0, 10, 10] }], 'bbox');
  assert.ok(Math.abs(half.ap50 - 51 / 101) < 1e-12);
  // false positive ranked first: precision 1/2 at recall 1 (all 101 points)
  const fp = cocoAp(
    [g[0]!],
    [
      { image_id: 1, category_id: 1, score: 0.9, bbox: [30, 30, 5, 5] },
      { image_id: 1, category_id: 1, score: 0.5, bbox: [0, 0, 10, 10] },
    ],
    'bbox',
  );
  assert.ok(Math.abs(fp.ap50 - 0.5) < 1e-12);
  // IoU 0.6 counts at 0.5, 0.55, 0.6 of the 10 thresholds
  const shifted = cocoAp(
    [gt(1, 1, [0, 0, 10, 10])],
    [{ image_id: 1, category_id: 1, score: 1, bbox: [2.5, 0, 10, 10] }],
    'bbox',
  );
  assert.ok(Math.abs(shifted.ap50 - 1) < 1e-12);
  assert.ok(Math.abs(shifted.ap - 0.3) < 1e-12, String(shifted.ap));
});

test('OKS is 1 for exact keypoints and falls with distance', () => {
  const kp = Array.from({ length: 17 }, (_, i) => [i, i, 2]).flat();
  const g = {
    id: 1,
    image_id: 1,
    category_id: 1,
    bbox: [0, 0, 20, 20] as [number, number, number, number],
    area: 400,
    keypoints: kp,
    num_keypoints: 17,
  };
  assert.equal(oks(kp, g), 1);
  const off = kp.map((v, i) => (i % 3 === 0 ? v + 5 : v));
  assert.ok(oks(off, g) < 1 && oks(off, g) > 0);
});

test('compressed RLE string decodes like pycocotools', () => {
  // pycocotools mask.encode of a 3x3 mask with only the centre pixel set gives b"414"
  assert.deepEqual(rleFromString('414'), [4, 1, 4]);
});

test('mIoU and pixel accuracy', () => {
  const acc = new SemanticAccumulator();
  acc.add(Uint8Array.from([0, 0, 1, 1, 255]), Uint8Array.from([0, 1, 1, 1, 0]));
  const r = acc.result();
  assert.equal(r.pixel_accuracy, 3 / 4);
  assert.equal(r.per_class_iou[0], 1 / 2);
  assert.equal(r.per_class_iou[1], 2 / 3);
  assert.ok(Math.abs(r.miou - 7 / 12) < 1e-12);
});

test('assignment prefers more pairs, then lower cost', () => {
  assert.deepEqual(
    linearSumAssignment([
      [1, 2],
      [NaN, 3],
    ]),
    [
      [0, 0],
      [1, 1],
    ],
  );
  assert.deepEqual(
    linearSumAssignment([
      [1, 2],
      [2, 1],
    ]),
    [
      [0, 0],
      [1, 1],
    ],
  );
});

test('MOTA counts an ID switch; IDF1 from the global assignment', () => {
  const b: [number, number, number, number] = [0, 0, 10, 10];
  const r = evaluateTracking([
    { gt: [{ id: 1, box: b }], hyp: [{ id: 7, box: b }] },
    { gt: [{ id: 1, box: b }], hyp: [{ id: 8, box: b }] },
    { gt: [{ id: 1, box: b }], hyp: [] },
  ]);
  assert.equal(r.num_switches, 1);
  assert.equal(r.num_misses, 1);
  assert.ok(Math.abs(r.mota - (1 - 2 / 3)) < 1e-12);
  assert.equal(r.idtp, 1);
  assert.ok(Math.abs(r.idf1 - 2 / 5) < 1e-12);
});

test("fragmentations: tracked → missed within a track's tracked span (motmetrics' num_fragmentations)", () => {
  const b: [number, number, number, number] = [0, 0, 10, 10];
  const far: [number, number, number, number] = [100, 100, 10, 10];
  // gt 1: tracked, missed, tracked, missed, missed, tracked → 2; gt 2: missed, tracked, tracked, missed → 0
  // (misses before the first and after the last tracked frame are not fragmentations).
  const t1 = [true, false, true, false, false, true];
  const t2 = [false, true, true, false, false, false];
  const frames = t1.map((tracked1, k) => ({
    gt: [
      { id: 1, box: b },
      { id: 2, box: far },
    ],
    hyp: [...(tracked1 ? [{ id: 7, box: b }] : []), ...(t2[k] ? [{ id: 8, box: far }] : [])],
  }));
  const r = evaluateTracking(frames);
  assert.equal(r.num_fragmentations, 2);
  assert.equal(r.num_misses, 3 + 4);
  assert.equal(evaluateTracking([{ gt: [{ id: 1, box: b }], hyp: [] }]).num_fragmentations, 0);
});

test('HOTA: perfect tracking, no predictions, and a track split in two (AssA = 0.5, HOTA = √0.5)', () => {
  const box = (t: number): [number, number, number, number] => [10 + 3 * t, 20, 30, 40];
  const perfect = Array.from({ length: 10 }, (_, t) => ({
    gt: [{ id: 1, box: box(t) }],
    hyp: [{ id: 7, box: box(t) }],
  }));
  const p = evaluateHota(perfect);
  assert.ok(Math.abs(p.hota - 1) < 1e-12 && Math.abs(p.loca - 1) < 1e-12, `perfect HOTA ${p.hota}`);
  const none = evaluateHota(perfect.map((f) => ({ gt: f.gt, hyp: [] })));
  assert.equal(none.hota, 0);
  assert.equal(none.deta, 0);
  assert.equal(none.loca, 1);
  const split = evaluateHota(perfect.map((f, t) => ({ gt: f.gt, hyp: [{ id: t < 5 ? 7 : 8, box: f.hyp[0]!.box }] })));
  assert.ok(Math.abs(split.deta - 1) < 1e-12, `DetA ${split.deta}`);
  assert.ok(Math.abs(split.assa - 0.5) < 1e-12, `AssA ${split.assa}`);
  assert.ok(Math.abs(split.hota - Math.SQRT1_2) < 1e-12, `HOTA ${split.hota}`);
  assert.equal(split.hota_per_alpha.length, 19);
});
