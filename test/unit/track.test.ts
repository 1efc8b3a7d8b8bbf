/** The `track` stage's per-stream tracking step and schema. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trackingStep, trackSchema } from '../../src/stages/track.js';

describe('track stage', () => {
  it('keeps one tracker per stream and puts track_id on detections', () => {
    const step = trackingStep({ max_age_frames: 2, min_hits: 2, iou_threshold: 0.3 });
    const d = { box: [10, 10, 50, 90] as [number, number, number, number], label_id: 1, label: 'person', score: 0.8 };
    assert.deepEqual(step({ detections: [d] }, { stream_id: 'a', pts: 0 }).detections, [d]);
    assert.deepEqual(step({ detections: [d] }, { stream_id: 'b', pts: 0 }).detections, [d]);
    const a1 = step({ detections: [d] }, { stream_id: 'a', pts: 0.1 });
    assert.deepEqual(a1.detections, [{ ...d, track_id: 1 }]);
    assert.deepEqual(a1.events, [{ type: 'start', track_id: 1, label: 'person', pts: 0 }]);
    assert.equal(a1.tracks[0]!.track_id, 1);
    const b1 = step({ detections: [d] }, { stream_id: 'b', pts: 0.1 });
    assert.equal(b1.detections[0]!.track_id, 1, 'ids are per stream');
  });
  it('schema has named defaults and is strict', () => {
    const c = trackSchema.parse({ type: 'track', id: 't', model: 'yolox-nano' });
    assert.equal(c.max_age_frames, 15);
    assert.equal(c.min_hits, 3);
    assert.equal(c.iou_threshold, 0.3);
    assert.throws(() => trackSchema.parse({ type: 'track', id: 't', model: 'm', max_age: 3 }));
  });
});
