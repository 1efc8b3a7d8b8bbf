/** clipWindow: marble and unit tests (sliding per-stream windows, sampling, stride, completion, unsubscribe). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { map, Subject, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { clipWindow, type ClipWindowItem } from '../../src/operators/clip-window.js';

interface F {
  s: string;
  i: number;
  pts: number;
}
const f = (s: string, i: number): F => ({ s, i, pts: i / 10 });

/** A window whose slots hold frame indices; clips are arrays of indices. */
function win(clip_length: number, stride_frames: number, keep?: (x: F) => boolean) {
  let allocated = 0;
  const op = clipWindow<F, { i: number }, number[]>({
    clip_length,
    stride_frames,
    key: (x) => x.s,
    ...(keep ? { keep } : {}),
    allocate: () => {
      allocated++;
      return { i: -1 };
    },
    fill: (x, slot) => {
      slot.i = x.i;
    },
    assemble: (slots) => slots.map((s) => s.i),
  });
  return { op, allocated: () => allocated };
}

const show = (it: ClipWindowItem<F, number[]>) =>
  it.clip ? `${it.frame.s}${it.frame.i}:${it.clip.join('')}@${it.pts_start}` : `${it.frame.s}${it.frame.i}`;

function testScheduler() {
  return new TestScheduler((a, b) => assert.deepEqual(a, b));
}

describe('clipWindow (marbles)', () => {
  it('one item per frame; clips of 3 every 2 frames once full; completion passes through', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const frames = { a: f('x', 0), b: f('x', 1), c: f('x', 2), d: f('x', 3), e: f('x', 4), g: f('x', 5) };
      const src = cold('a-b-c-d-e-g|', frames);
      const { op } = win(3, 2);
      expectObservable(src.pipe(op, map(show))).toBe('a-b-c-d-e-g|', {
        a: 'x0',
        b: 'x1',
        c: 'x2:012@0',
        d: 'x3',
        e: 'x4:234@0.2',
        g: 'x5',
      });
    });
  });
  it('keeps separate windows per stream, interleaved', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const frames = { a: f('x', 0), b: f('y', 0), c: f('x', 1), d: f('y', 1), e: f('x', 2) };
      const src = cold('abcde|', frames);
      const { op } = win(2, 1);
      expectObservable(src.pipe(op, map(show))).toBe('abcde|', {
        a: 'x0',
        b: 'y0',
        c: 'x1:01@0',
        d: 'y1:01@0',
        e: 'x2:12@0.1',
      });
    });
  });
  it('sampled-out frames still yield an item and do not enter the window', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const frames = { a: f('x', 0), b: f('x', 1), c: f('x', 2), d: f('x', 3), e: f('x', 4) };
      const src = cold('abcde|', frames);
      const { op } = win(2, 1, (x) => x.i % 2 === 0);
      expectObservable(src.pipe(op, map(show))).toBe('abcde|', {
        a: 'x0',
        b: 'x1',
        c: 'x2:02@0',
        d: 'x3',
        e: 'x4:24@0.2',
      });
    });
  });
  it('errors pass through; unsubscription is propagated upstream', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('ab#', { a: f('x', 0), b: f('x', 1) });
      expectObservable(src.pipe(win(2, 2).op, map(show))).toBe('ab#', { a: 'x0', b: 'x1:01@0' });
      const src2 = cold('a-b-c-d|', { a: f('x', 0), b: f('x', 1), c: f('x', 2), d: f('x', 3) });
      expectObservable(src2.pipe(win(2, 1).op, map(show)), '^--!').toBe('a-b', { a: 'x0', b: 'x1:01@0' });
      expectSubscriptions(src2.subscriptions).toBe('^--!');
    });
  });
});

describe('clipWindow (unit)', () => {
  it('reuses its ring-buffer slots (clip_length per stream) and copies on assemble', () => {
    const { op, allocated } = win(4, 1);
    const seen: string[] = [];
    const s = new Subject<F>();
    s.pipe(op, map(show)).subscribe((x) => seen.push(x));
    for (let i = 0; i < 10; i++) s.next(f('x', i));
    assert.equal(allocated(), 4);
    assert.deepEqual(seen.slice(3), [
      'x3:0123@0',
      'x4:1234@0.1',
      'x5:2345@0.2',
      'x6:3456@0.3',
      'x7:4567@0.4',
      'x8:5678@0.5',
      'x9:6789@0.6',
    ]);
    s.complete();
  });
  it('early unsubscribe (take) stops and releases the window', () => {
    const { op } = win(2, 1);
    const seen: string[] = [];
    const s = new Subject<F>();
    let completed = false;
    s.pipe(op, take(3), map(show)).subscribe({ next: (x) => seen.push(x), complete: () => (completed = true) });
    for (let i = 0; i < 5; i++) s.next(f('x', i));
    assert.deepEqual(seen, ['x0', 'x1:01@0', 'x2:12@0.1']);
    assert.ok(completed);
    assert.equal(s.observed, false, 'upstream unsubscribed');
  });
  it("a fill error becomes that frame's item, and the stream goes on", () => {
    const op = clipWindow<F, number[], number>({
      clip_length: 1,
      stride_frames: 1,
      key: () => 'x',
      allocate: () => [0],
      fill: (x, slot) => {
        if (x.i === 1) throw new Error('bad frame');
        slot[0] = x.i;
      },
      assemble: (slots) => slots[0]![0]!,
    });
    const seen: Array<[number, number | null, string | null]> = [];
    const s = new Subject<F>();
    s.pipe(op).subscribe((it) => seen.push([it.frame.i, it.clip, it.error?.message ?? null]));
    for (let i = 0; i < 3; i++) s.next(f('x', i));
    assert.deepEqual(seen, [
      [0, 0, null],
      [1, null, 'bad frame'],
      [2, 2, null],
    ]);
  });
  it('rejects bad sizes', () => {
    assert.throws(() => win(0, 1), /clip_length/);
    assert.throws(() => win(2, 0), /stride_frames/);
  });
});
