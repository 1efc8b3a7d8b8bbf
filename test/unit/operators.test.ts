/**
 * Marble tests of the pure operators of src/operators/ (batchFrames, sampleFrames, inferBatches; clipWindow in
 * clip-window.test.ts, the batcher's flush reasons in batch.test.ts) and the flow gate.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { FlowGate } from '../../src/core/flow-gate.js';
import type { Frame } from '../../src/core/frame.js';
import { batchFrames } from '../../src/operators/batch.js';
import { inferBatches, type Inferred } from '../../src/operators/infer.js';
import { frameSampler, sampleFrames } from '../../src/operators/sample.js';

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

describe('sampleFrames (marbles)', () => {
  const f = (stream_id: string, index: number) => ({ stream_id, index, pts: index / 10 });
  const tags = (o: Observable<{ frame: { stream_id: string; index: number }; keep: boolean }>) =>
    o.pipe(map((t) => `${t.frame.stream_id}${t.frame.index}${t.keep ? '+' : '-'}`));

  it('tags every frame in order, at once, keep per stream; completion passes through', () => {
    const ts = new TestScheduler((a, b) => assert.deepEqual(a, b));
    ts.run(({ cold, expectObservable }) => {
      const src = cold('a-b-c-d-e|', { a: f('a', 0), b: f('b', 0), c: f('a', 1), d: f('a', 2), e: f('b', 2) });
      expectObservable(tags(src.pipe(sampleFrames({ every_n_frames: 2, fps: null })))).toBe('a-b-c-d-e|', {
        a: 'a0+',
        b: 'b0+',
        c: 'a1-',
        d: 'a2+',
        e: 'b2+',
      });
    });
  });

  it('errors pass through; unsubscribing is propagated; each subscription samples afresh', () => {
    const ts = new TestScheduler((a, b) => assert.deepEqual(a, b));
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const errored = cold('a-#', { a: f('a', 0) });
      expectObservable(tags(errored.pipe(sampleFrames({ every_n_frames: 1, fps: null })))).toBe('a-#', { a: 'a0+' });
      // fps 2 at 10 fps: a0 kept, a1 not; a second subscription starts with an empty per-stream state.
      const src = cold('a-b-c', { a: f('a', 0), b: f('a', 1), c: f('a', 5) });
      const sampled = src.pipe(sampleFrames({ every_n_frames: 1, fps: 2 }));
      expectObservable(tags(sampled), '^--!').toBe('a-b', { a: 'a0+', b: 'a1-' });
      expectObservable(tags(sampled), '^----!').toBe('a-b-c', { a: 'a0+', b: 'a1-', c: 'a5+' });
      expectSubscriptions(src.subscriptions).toBe(['^--!', '^----!']);
    });
  });
});

describe('inferBatches (marbles)', () => {
  type Item = Inferred<string, string>;
  const brief = (o: Observable<Item>) =>
    o.pipe(map((x) => `${x.frame}:${x.dropped ? 'dropped' : x.error ? `error ${x.error.message}` : x.result}`));

  it('one batch in flight: the next waits for the previous run; one item per input, in order', () => {
    const ts = new TestScheduler((a, b) => assert.deepEqual(a, b));
    ts.run(({ cold, expectObservable }) => {
      const batches = cold('ab|', { a: ['x', 'y'], b: ['z'] });
      const started: number[] = [];
      const run = (batch: string[]) => {
        started.push(ts.now());
        return cold('-----r|', { r: batch.map((s) => s.toUpperCase()) });
      };
      expectObservable(brief(batches.pipe(inferBatches(run)))).toBe('-----(ab)-(r|)', {
        a: 'x:X',
        b: 'y:Y',
        r: 'z:Z',
      });
      ts.flush();
      assert.deepEqual(started, [0, 5], 'the second batch starts when the first one ends');
    });
  });

  it('concurrency 2: two batches run at once, a third waits for a free slot; items still leave in order', () => {
    const ts = new TestScheduler((a, b) => assert.deepEqual(a, b));
    ts.run(({ cold, expectObservable }) => {
      const batches = cold('abc|', { a: ['x'], b: ['y'], c: ['z'] });
      const started: Array<[string, number]> = [];
      const run = (batch: string[]) => {
        started.push([batch[0]!, ts.now()]);
        const r = { r: batch.map((s) => s.toUpperCase()) };
        return batch[0] === 'x' ? cold('------r|', r) : cold('--r|', r);
      };
      // y is done at 3 and z at 5, but both wait for x (done at 6).
      expectObservable(brief(batches.pipe(inferBatches(run, { concurrency: 2 })))).toBe('------(abc|)', {
        a: 'x:X',
        b: 'y:Y',
        c: 'z:Z',
      });
      ts.flush();
      assert.deepEqual(started, [
        ['x', 0],
        ['y', 1],
        ['z', 3],
      ]);
    });
  });

  it('a failing run fails its batch only; admit refuses items before they run; errors upstream pass on', () => {
    const ts = new TestScheduler((a, b) => assert.deepEqual(a, b));
    ts.run(({ cold, expectObservable }) => {
      const batches = cold('a-----b-----c-----#', { a: ['x'], b: ['bad', 'y'], c: ['late'] });
      const runs: string[][] = [];
      const run = (batch: string[]) => {
        runs.push(batch);
        if (batch.includes('bad')) return cold<string[]>('-#', undefined, new Error('boom'));
        return cold('r|', { r: batch.map((s) => s.toUpperCase()) });
      };
      const out = batches.pipe(inferBatches(run, { admit: (item) => item !== 'late' }));
      expectObservable(brief(out)).toBe('a------(bc)-d-----#', {
        a: 'x:X',
        b: 'bad:error boom',
        c: 'y:error boom',
        d: 'late:dropped',
      });
      ts.flush();
      assert.deepEqual(runs, [['x'], ['bad', 'y']], 'a refused item never reaches run');
    });
  });

  it('a run that completes without results fails its batch; unsubscribing cancels the run', () => {
    const ts = new TestScheduler((a, b) => assert.deepEqual(a, b));
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const empty = cold<string[]>('--|');
      expectObservable(brief(cold('a|', { a: ['x'] }).pipe(inferBatches(() => empty)))).toBe('--(a|)', {
        a: 'x:error inference completed without results',
      });
      const slow = cold<string[]>('-----r|', { r: ['Y'] });
      expectObservable(brief(cold('a', { a: ['y'] }).pipe(inferBatches(() => slow))), '^--!').toBe('---');
      expectSubscriptions(slow.subscriptions).toBe(['^--!']);
    });
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
