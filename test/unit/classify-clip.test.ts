/** classify_clip: clip assembly layout, per-frame preprocessing, and the stage operator's outcome contract. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import type { Frame } from '../../src/core/frame.js';
import { assembleClip, classifyClipSchema, clipStage, type ClipModel } from '../../src/stages/classify-clip.js';
import { stageDeps } from '../support/fakes.js';

const { metrics, logger } = stageDeps();

function frame(stream_id: string, index: number): Frame {
  return {
    stream_id,
    index,
    pts: index * 0.5,
    width: 4,
    height: 2,
    data: new Uint8Array(24).fill(index),
    decoded_at_ms: Date.now(),
    captured_at_ms: Date.now(),
  };
}

/** A fake model over 1-pixel "planes": each slot holds the frame index in all 3 channels. */
function fakeModel(T: number, calls: number[][]): ClipModel {
  return {
    model_id: 'fake',
    clip_length: T,
    fixed_batch: null,
    planeSize: 1,
    fill(f, slot) {
      slot.fill(f.index);
    },
    async run(clips) {
      calls.push(clips.map((c) => c.length));
      // top-1 label = index of the clip's last frame (channel 0, last t)
      return clips.map((c) => ({ top: [{ label_id: c[T - 1]!, label: `L${c[T - 1]}`, score: 1 }] }));
    },
    async close() {},
  };
}

describe('classify_clip', () => {
  it('assembles C×T×H×W from per-frame C×H×W slots', () => {
    const plane = 2;
    const slots = [0, 1, 2].map((t) => Float32Array.from({ length: 3 * plane }, (_, i) => t * 100 + i));
    const clip = assembleClip(slots, plane);
    // c=1, t=2 → slot 2, elements [2,3]
    assert.deepEqual([...clip.subarray((1 * 3 + 2) * plane, (1 * 3 + 2) * plane + plane)], [202, 203]);
    assert.deepEqual([...clip.subarray(0, 6)], [0, 1, 100, 101, 200, 201]);
  });

  it('emits exactly one outcome per frame; clips carry pts_start / pts_end; streams interleave', async () => {
    const calls: number[][] = [];
    const op = clipStage(
      fakeModel(3, calls),
      { id: 'act', pipeline: 'p', every_n_frames: 1, fps: null, batch_size: 4, max_wait_ms: 0, stride_frames: 2 },
      { metrics, logger },
    );
    const frames: Frame[] = [];
    for (let i = 0; i < 7; i++) frames.push(frame('a', i), frame('b', i));
    const outcomes = await lastValueFrom(from(frames).pipe(op, toArray()));
    assert.equal(outcomes.length, frames.length);
    const keys = outcomes.map((o) => `${o.stream_id}#${o.frame_index}`).sort();
    assert.deepEqual(keys, frames.map((f) => `${f.stream_id}#${f.index}`).sort());
    const recs = outcomes.flatMap((o) => o.records);
    // clips end at frames 2, 4, 6 of each stream
    assert.deepEqual(recs.map((r) => `${r.stream_id}${r.frame_index}`).sort(), ['a2', 'a4', 'a6', 'b2', 'b4', 'b6']);
    const a4 = recs.find((r) => r.stream_id === 'a' && r.frame_index === 4)!;
    assert.equal(a4.task, 'video_classification');
    assert.equal(a4.pts_start, 1);
    assert.equal(a4.pts_end, 2);
    assert.equal(a4.pts, 2);
    assert.deepEqual(a4.results, { top: [{ label_id: 4, label: 'L4', score: 1 }] });
    assert.ok(
      calls.flat().every((len) => len === 3 * 3),
      'clips are 3×T×1',
    );
  });

  it('samples frames into the window with every_n_frames', async () => {
    const op = clipStage(
      fakeModel(2, []),
      { id: 'act', pipeline: 'p', every_n_frames: 2, fps: null, batch_size: 1, max_wait_ms: 0, stride_frames: null },
      { metrics, logger },
    );
    const frames = Array.from({ length: 9 }, (_, i) => frame('a', i));
    const outcomes = await lastValueFrom(from(frames).pipe(op, toArray()));
    assert.equal(outcomes.length, 9);
    const recs = outcomes.flatMap((o) => o.records);
    // sampled 0,2,4,6,8; non-overlapping clips of 2 → end at 2 and 6
    assert.deepEqual(
      recs.map((r) => [r.frame_index, r.pts_start]),
      [
        [2, 0],
        [6, 2],
      ],
    );
  });

  it('failure records carry error_code MODEL_RUN, for a failing frame and a failing clip', async () => {
    const model = fakeModel(2, []);
    const fill = model.fill.bind(model);
    model.fill = (f, slot) => {
      if (f.index === 1) throw new Error('bad frame');
      fill(f, slot);
    };
    model.run = async () => {
      throw new Error('bad clip');
    };
    const op = clipStage(
      model,
      { id: 'act', pipeline: 'p', every_n_frames: 1, fps: null, batch_size: 1, max_wait_ms: 0, stride_frames: null },
      { metrics, logger },
    );
    const outcomes = await lastValueFrom(from([0, 1, 2, 3].map((i) => frame('a', i))).pipe(op, toArray()));
    const failed = outcomes.flatMap((o) => o.records).filter((r) => r.error !== undefined);
    assert.ok(
      failed.some((r) => r.error === 'bad frame'),
      'the failing frame gets a record',
    );
    assert.ok(
      failed.some((r) => r.error === 'bad clip'),
      'the failing clip gets a record',
    );
    for (const r of failed) {
      assert.equal(r.error_code, 'MODEL_RUN');
      assert.equal(r.results, null);
    }
  });

  it('runs on the model-stage machine: batch metrics, timing stamps, stale live clips dropped', async () => {
    const deps = stageDeps();
    const op = clipStage(
      fakeModel(2, []),
      { id: 'act', pipeline: 'p', every_n_frames: 1, fps: null, batch_size: 1, max_wait_ms: 0, stride_frames: null },
      deps,
    );
    const past = Date.now() - 1000;
    const frames = [0, 1, 2, 3].map((i) => ({ ...frame('a', i), ...(i === 3 ? { deadline_ms: past } : {}) }));
    const outcomes = await lastValueFrom(from(frames).pipe(op, toArray()));
    assert.equal(outcomes.length, 4);
    const recs = outcomes.flatMap((o) => o.records);
    assert.deepEqual(
      recs.map((r) => r.frame_index),
      [1],
      'the clip ending at frame 3 is live and past its deadline',
    );
    assert.equal(deps.metrics.get('dropped.a.stale'), 1);
    assert.equal(deps.metrics.get('batch_flush.act.full'), 2);
    const timing = recs[0]!.timing as { queued: number | null; infer_start: number | null; infer_end: number | null };
    assert.ok(timing.queued !== null && timing.infer_start !== null && timing.infer_end !== null, 'stamped');
  });

  it('schema defaults', () => {
    const c = classifyClipSchema.parse({ type: 'classify_clip', id: 'a', model: 'r3d_18' });
    assert.equal(c.stride_frames, null);
    assert.equal(c.top_k, 5);
  });
});
