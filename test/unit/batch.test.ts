/** Marble tests of the dynamic batcher's flush reasons (full, preferred, deadline, end_of_stream). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { batchFrames } from '../../src/operators/batch.js';

describe('batchFrames (dynamic batcher flush reasons)', () => {
  const withReason = (b: string[] & { reason?: string }) => ({ items: [...b], reason: b.reason });
  it('full, deadline, end_of_stream', () => {
    const ts = new TestScheduler((a, b) => assert.deepEqual(a, b));
    ts.run(({ cold, expectObservable }) => {
      const out = cold('abc----d------e|').pipe(batchFrames({ batch_size: 3, max_wait_ms: 4 }, ts), map(withReason));
      expectObservable(out).toBe('--x--------y---(z|)', {
        x: { items: ['a', 'b', 'c'], reason: 'full' },
        y: { items: ['d'], reason: 'deadline' },
        z: { items: ['e'], reason: 'end_of_stream' },
      });
    });
  });
  it(
    'preferred: the largest preferred size that fits, once the same-turn items joined; the rest waits for its ' +
      'deadline',
    () => {
      const ts = new TestScheduler((a, b) => assert.deepEqual(a, b));
      ts.run(({ cold, expectObservable }) => {
        const out = cold('(abcde)------|').pipe(
          batchFrames({ batch_size: 8, max_wait_ms: 5, preferred_batch_sizes: [2, 4] }, ts),
          map(withReason),
        );
        expectObservable(out).toBe('(x)--y-------|', {
          x: { items: ['a', 'b', 'c', 'd'], reason: 'preferred' },
          y: { items: ['e'], reason: 'deadline' },
        });
      });
    },
  );
  it('error flushes first (end_of_stream); unsubscribing emits nothing', () => {
    const ts = new TestScheduler((a, b) => assert.deepEqual(a, b));
    ts.run(({ cold, expectObservable }) => {
      expectObservable(
        cold('a-#').pipe(
          batchFrames({ batch_size: 3, max_wait_ms: 10, preferred_batch_sizes: [2] }, ts),
          map(withReason),
        ),
      ).toBe('--(x#)', { x: { items: ['a'], reason: 'end_of_stream' } });
      expectObservable(cold('ab---c').pipe(batchFrames({ batch_size: 3, max_wait_ms: 10 }, ts)), '^--!').toBe('----');
    });
  });
});
