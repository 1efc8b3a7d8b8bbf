/** Marble and unit tests of the small operators: batching, sampling, flow gate, the model stage. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Subject, lastValueFrom, toArray, from } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { FlowGate } from '../../src/core/flow-gate.js';
import type { Frame } from '../../src/core/frame.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { batchFrames } from '../../src/operators/batch.js';
import { frameSampler } from '../../src/operators/sample.js';
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

describe('batchFrames', () => {
  it('emits a full batch at once, a partial batch max_wait_ms after its first item, and flushes on completion', () => {
    const ts = new TestScheduler((a, b) => assert.deepEqual(a, b));
    ts.run(({ cold, expectObservable }) => {
      const src = cold('abc----d------e|');
      const out = src.pipe(batchFrames({ batch_size: 3, max_wait_ms: 4 }, ts));
      expectObservable(out).toBe('--x--------y---(z|)', { x: ['a', 'b', 'c'], y: ['d'], z: ['e'] });
    });
  });

  it('flushes what it holds before passing an error on, and unsubscribing cancels the timer', () => {
    const ts = new TestScheduler((a, b) => assert.deepEqual(a, b));
    ts.run(({ cold, expectObservable }) => {
      expectObservable(cold('a-#').pipe(batchFrames({ batch_size: 3, max_wait_ms: 10 }, ts))).toBe('--(x#)', {
        x: ['a'],
      });
      expectObservable(cold('a----b').pipe(batchFrames({ batch_size: 3, max_wait_ms: 10 }, ts)), '^--!').toBe('----');
    });
  });
});

describe('frameSampler', () => {
  it('keeps every n-th frame', () => {
    const keep = frameSampler({ every_n_frames: 3, fps: null });
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6].filter((i) => keep(frame('a', i))),
      [0, 3, 6],
    );
  });

  it('keeps at most fps frames per second of video time, per stream', () => {
    const keep = frameSampler({ every_n_frames: 1, fps: 2 });
    const kept = [];
    for (let i = 0; i < 20; i++) {
      if (keep(frame('a', i, i / 10))) kept.push(`a${i}`);
      if (keep(frame('b', i, i / 10 + 0.05))) kept.push(`b${i}`);
    }
    assert.deepEqual(kept, ['a0', 'b0', 'a5', 'b5', 'a10', 'b10', 'a15', 'b15']);
  });
});

describe('FlowGate', () => {
  it('grants up to max credits, queues waiters in order, tryAcquire never waits', async () => {
    const gate = new FlowGate(2);
    await gate.acquire();
    assert.equal(gate.tryAcquire(), true);
    assert.equal(gate.tryAcquire(), false);
    const order: number[] = [];
    const w1 = gate.acquire().then(() => order.push(1));
    const w2 = gate.acquire().then(() => order.push(2));
    gate.release();
    await w1;
    assert.deepEqual(order, [1]);
    gate.release();
    await w2;
    assert.deepEqual(order, [1, 2]);
    assert.equal(gate.size, 2);
  });

  it('close lets every waiter through', async () => {
    const gate = new FlowGate(1);
    await gate.acquire();
    const w = gate.acquire();
    gate.close();
    await w;
  });
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
