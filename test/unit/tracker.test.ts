/** The SORT-style tracker: assignment, crossing objects, occlusion gaps, events, majority class. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hungarian, Tracker, type TrackerDetection } from '../../src/stages/tracker.js';
import type { Box } from '../../src/models/decoders/nms.js';

const det = (box: Box, label = 'person', label_id = 1, score = 0.9): TrackerDetection => ({
  box,
  label,
  label_id,
  score,
});
const boxAt = (cx: number, cy: number, w = 40, h = 80): Box => [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];

describe('hungarian', () => {
  it('finds the minimum-cost assignment (square and rectangular)', () => {
    // greedy would take (0,0)=1 then (1,1)=10: 11; optimum is 2+3=5
    const c = Float64Array.from([1, 2, 3, 10]);
    assert.deepEqual([...hungarian(c, 2, 2)], [1, 0]);
    const r = Float64Array.from([5, 1, 9, 2, 8, 0.5]); // 2x3
    assert.deepEqual([...hungarian(r, 2, 3)], [1, 2]);
    const t = Float64Array.from([5, 2, 1, 8, 9, 0.5]); // 3x2 → transposed path
    assert.deepEqual([...hungarian(t, 3, 2)], [-1, 0, 1]);
    assert.deepEqual([...hungarian(new Float64Array(0), 0, 3)], []);
  });
});

describe('Tracker', () => {
  it('keeps ids stable for one moving object and reports it after min_hits', () => {
    const tr = new Tracker({ max_age_frames: 3, min_hits: 3, iou_threshold: 0.3 });
    const outs = [];
    for (let f = 0; f < 6; f++) outs.push(tr.update([det(boxAt(100 + f * 5, 100))], f));
    assert.deepEqual(
      outs.map((o) => o.tracks.length),
      [0, 0, 1, 1, 1, 1],
    );
    assert.deepEqual(outs[2]!.events, [{ type: 'start', track_id: 1, label: 'person', pts: 0 }]);
    assert.deepEqual(
      outs.map((o) => o.track_ids[0]),
      [null, null, 1, 1, 1, 1],
    );
    const t = outs[5]!.tracks[0]!;
    assert.equal(t.hits, 6);
    assert.equal(t.age, 6);
    assert.ok(Math.abs((t.box[0] + t.box[2]) / 2 - 125) < 3, `centre ${t.box}`);
  });

  it('two objects crossing keep their ids (constant velocity carries them through)', () => {
    const tr = new Tracker({ max_age_frames: 5, min_hits: 2, iou_threshold: 0.1 });
    const idsA: Array<number | null> = [];
    const idsB: Array<number | null> = [];
    // A moves right, B moves left on the same row, crossing at frame 10; different heights so
    // that they are distinguishable only by motion. Detections are listed in alternating order.
    for (let f = 0; f <= 20; f++) {
      const a = det(boxAt(100 + f * 10, 100, 40, 80));
      const b = det(boxAt(300 - f * 10, 104, 40, 80), 'car', 3);
      const dets = f % 2 ? [a, b] : [b, a];
      const u = tr.update(dets, f);
      idsA.push(u.track_ids[f % 2 ? 0 : 1]!);
      idsB.push(u.track_ids[f % 2 ? 1 : 0]!);
    }
    const a = new Set(idsA.slice(1));
    const b = new Set(idsB.slice(1));
    assert.equal(a.size, 1, `A ids ${idsA}`);
    assert.equal(b.size, 1, `B ids ${idsB}`);
    assert.notDeepEqual([...a], [...b]);
  });

  it('an occlusion gap up to max_age keeps the id; a longer one ends the track and starts a new one', () => {
    const run = (gap: number) => {
      const tr = new Tracker({ max_age_frames: 4, min_hits: 2, iou_threshold: 0.3 });
      const events = [];
      const ids: Array<number | null> = [];
      let f = 0;
      for (; f < 5; f++) {
        const u = tr.update([det(boxAt(100 + f * 4, 100))], f);
        events.push(...u.events);
        ids.push(u.track_ids[0]!);
      }
      for (let g = 0; g < gap; g++, f++) events.push(...tr.update([], f).events);
      for (let k = 0; k < 3; k++, f++) {
        const u = tr.update([det(boxAt(100 + f * 4, 100))], f);
        events.push(...u.events);
        ids.push(u.track_ids[0]!);
      }
      return { ids, events };
    };
    const short = run(4);
    assert.deepEqual(short.ids, [null, 1, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual(short.events, [{ type: 'start', track_id: 1, label: 'person', pts: 0 }]);
    const long = run(5);
    assert.deepEqual(long.ids, [null, 1, 1, 1, 1, null, 2, 2]);
    assert.deepEqual(long.events, [
      { type: 'start', track_id: 1, label: 'person', pts: 0 },
      { type: 'end', track_id: 1, label: 'person', pts: 4 },
      { type: 'start', track_id: 2, label: 'person', pts: 10 },
    ]);
  });

  it('takes the majority label and ignores low-IoU pairs', () => {
    const tr = new Tracker({ max_age_frames: 2, min_hits: 1, iou_threshold: 0.5 });
    tr.update([det(boxAt(50, 50), 'dog', 18)], 0);
    tr.update([det(boxAt(50, 50), 'cat', 17)], 1);
    const u = tr.update([det(boxAt(50, 50), 'cat', 17)], 2);
    assert.equal(u.tracks[0]!.label, 'cat');
    // a far-away detection is a new track, not a match
    const v = tr.update([det(boxAt(400, 400), 'cat', 17)], 3);
    assert.deepEqual(v.track_ids, [2]);
    assert.deepEqual(
      tr
        .flush()
        .map((e) => e.track_id)
        .sort(),
      [1, 2],
    );
  });
});

describe('Tracker ids (issue #8 item 10)', () => {
  it('reported ids start at 1 and stay consecutive when tentative tracks die before min_hits', () => {
    const tr = new Tracker({ max_age_frames: 1, min_hits: 3, iou_threshold: 0.3 });
    const starts: number[] = [];
    const seen = new Set<number>();
    // Frame 0: a one-frame false positive far away; frames 1..4: a real object; frames 5..6: two
    // more one-frame blips; frames 8..11: a second real object elsewhere.
    const frames: Box[][] = [
      [boxAt(500, 500)],
      [boxAt(100, 100)],
      [boxAt(102, 100)],
      [boxAt(104, 100)],
      [boxAt(106, 100)],
      [boxAt(700, 300)],
      [boxAt(300, 700)],
      [],
      [boxAt(400, 100)],
      [boxAt(402, 100)],
      [boxAt(404, 100)],
      [boxAt(406, 100)],
    ];
    frames.forEach((boxes, f) => {
      const u = tr.update(
        boxes.map((b) => det(b)),
        f,
      );
      for (const e of u.events) if (e.type === 'start') starts.push(e.track_id);
      for (const id of u.track_ids) if (id !== null) seen.add(id);
      for (const t of u.tracks) seen.add(t.track_id);
    });
    assert.deepEqual(starts, [1, 2]);
    assert.deepEqual([...seen].sort(), [1, 2]);
  });
});
