import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { cocoAp, type DetAnnotation, type GtAnnotation } from '../../src/eval/coco.js';
import { evaluateHota } from '../../src/eval/hota.js';
import { evaluateTracking, type TrackingFrame } from '../../src/eval/tracking.js';

// Inputs and reference scores written by tools/eval/crosscheck.py (pycocotools, py-motmetrics, TrackEval).
type TrackingReference = Record<string, number> & { hota: Record<string, number> };
const fx = JSON.parse(readFileSync(new URL('../fixtures/eval/crosscheck.json', import.meta.url), 'utf8')) as {
  images: Array<{ id: number }>;
  categories: Array<{ id: number }>;
  gt: GtAnnotation[];
  dt: DetAnnotation[];
  frames: TrackingFrame[];
  crossing_frames: TrackingFrame[];
  reference: Record<'bbox' | 'segm' | 'keypoints', { ap: number; ap50: number; ap75: number }> & {
    tracking: TrackingReference;
    crossing: TrackingReference;
  };
};
const imageIds = fx.images.map((i) => i.id);
const categoryIds = fx.categories.map((c) => c.id);

for (const kind of ['bbox', 'segm', 'keypoints'] as const) {
  test(`COCO ${kind} AP agrees with pycocotools to 1e-4`, () => {
    const gt = kind === 'keypoints' ? fx.gt.map((g) => ({ ...g, category_id: 1 })) : fx.gt;
    const dt = kind === 'keypoints' ? fx.dt.map((d) => ({ ...d, category_id: 1 })) : fx.dt;
    const r = cocoAp(gt, dt, kind, { imageIds, categoryIds });
    const ref = fx.reference[kind];
    assert.ok(Math.abs(r.ap - ref.ap) < 1e-4, `AP ${r.ap} vs ${ref.ap}`);
    assert.ok(Math.abs(r.ap50 - ref.ap50) < 1e-4, `AP50 ${r.ap50} vs ${ref.ap50}`);
    assert.ok(Math.abs(r.ap75 - ref.ap75) < 1e-4, `AP75 ${r.ap75} vs ${ref.ap75}`);
  });
}

for (const [name, frames, ref] of [
  ['random tracker', fx.frames, fx.reference.tracking],
  ['crossing objects with id swaps', fx.crossing_frames, fx.reference.crossing],
] as const) {
  test(`MOTA, IDF1 and event counts agree with py-motmetrics to 1e-4 (${name})`, () => {
    const r = evaluateTracking(frames);
    assert.ok(Math.abs(r.mota - ref.mota!) < 1e-4, `MOTA ${r.mota} vs ${ref.mota}`);
    assert.ok(Math.abs(r.idf1 - ref.idf1!) < 1e-4, `IDF1 ${r.idf1} vs ${ref.idf1}`);
    assert.equal(r.num_switches, ref.num_switches);
    assert.equal(r.num_misses, ref.num_misses);
    assert.equal(r.num_false_positives, ref.num_false_positives);
    assert.equal(r.num_objects, ref.num_objects);
  });

  test(`HOTA, DetA, AssA, LocA (and Re/Pr) agree with TrackEval to 1e-4 (${name})`, () => {
    const r = evaluateHota(frames);
    const keys = ['hota', 'deta', 'assa', 'loca', 'detre', 'detpr', 'assre', 'asspr'] as const;
    for (const k of keys) assert.ok(Math.abs(r[k] - ref.hota[k]!) < 1e-4, `${k} ${r[k]} vs ${ref.hota[k]}`);
    assert.ok(r.hota > 0.2 && r.hota < 0.9, `HOTA ${r.hota} is not a degenerate value`);
  });
}
