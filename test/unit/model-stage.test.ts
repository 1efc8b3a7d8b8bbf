/** The model-stage machine (src/stages/model-stage.ts): one outcome per frame, failures as records. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Subject, lastValueFrom, toArray, from } from 'rxjs';
import type { Frame } from '../../src/core/frame.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { modelStage, type FrameModel } from '../../src/stages/model-stage.js';

const frame = (stream_id: string, index: number, pts = index / 10): Frame => ({
  stream_id,
  index,
  pts,
  width: 2,
  height: 2,
  data: new Uint8Array(12),
  decoded_at_ms: Date.now(),
  captured_at_ms: Date.now(),
});

describe('modelStage', () => {
  const fakeModel = (fail = false): FrameModel<{ sum: number }> & { batches: number[] } => {
    const batches: number[] = [];
    return {
      model_id: 'fake',
      task: 'classification',
      fixed_batch: null,
      batches,
      async run(frames) {
        batches.push(frames.length);
        if (fail) throw new Error('boom');
        return frames.map((f) => ({ sum: f.index }));
      },
      close: async () => undefined,
    };
  };
  const opts = {
    pipeline: 'p',
    stage_id: 's',
    every_n_frames: 2,
    fps: null,
    batch_size: 3,
    max_wait_ms: 5,
    toPayload: (r: { sum: number }) => r,
  };

  it('emits exactly one outcome per frame: records for sampled frames, empty ones for skipped', async () => {
    const model = fakeModel();
    const frames = [0, 1, 2, 3, 4, 5, 6].map((i) => frame('a', i));
    const outcomes = await lastValueFrom(
      from(frames).pipe(modelStage(model, opts, { metrics: new Metrics(), logger: silentLogger() }), toArray()),
    );
    assert.equal(outcomes.length, 7);
    const withRecords = outcomes
      .filter((o) => o.records.length > 0)
      .map((o) => o.frame_index)
      .sort();
    assert.deepEqual(withRecords, [0, 2, 4, 6]);
    const rec = outcomes.find((o) => o.frame_index === 4)!.records[0]!;
    assert.deepEqual(rec.results, { sum: 4 });
    assert.equal(rec.schema_version, 1);
    assert.deepEqual(model.batches, [3, 1]);
  });

  it('a failing batch gives error records and the stream goes on', async () => {
    const metrics = new Metrics();
    const input = new Subject<Frame>();
    const done = lastValueFrom(
      input.pipe(
        modelStage(fakeModel(true), { ...opts, every_n_frames: 1 }, { metrics, logger: silentLogger() }),
        toArray(),
      ),
    );
    input.next(frame('a', 0));
    input.next(frame('a', 1));
    input.complete();
    const outcomes = await done;
    assert.equal(outcomes.length, 2);
    for (const o of outcomes) {
      assert.equal(o.records[0]!.results, null);
      assert.equal(o.records[0]!.error, 'boom');
    }
    assert.equal(metrics.get('errors.s'), 2);
  });
});
