import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { Metrics } from '../../src/core/metrics.js';
import { expectedFrames, progressWanted, ProgressBars, startProgress } from '../../src/runtime/progress.js';

/** A stream that says it is a terminal and keeps what is written to it. */
function fakeTty(): Writable & { isTTY: boolean; columns: number; text: () => string } {
  let out = '';
  const w = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  });
  return Object.assign(w, { isTTY: true, columns: 120, text: () => out });
}

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

describe('progress bars', () => {
  it('renders frames done/total, fps, ETA and drops, and ends at the total', () => {
    const tty = fakeTty();
    const metrics = new Metrics();
    let now = 0;
    const bars = new ProgressBars(
      [{ id: 'lobby', info: { fps: 10, duration: 3, nb_frames: 30 }, config: { fps: null } }],
      { stream: tty, metrics, interval_ms: 0, now: () => now },
    );
    now = 1000;
    metrics.inc('frames.done.lobby', 10);
    metrics.drop('lobby', 'stale', 2);
    bars.tick();
    // the MultiBar draws on its own timer: wait for a draw by stopping at the end instead
    now = 3000;
    metrics.inc('frames.done.lobby', 20);
    bars.stop();
    const text = plain(tty.text());
    assert.match(text, /lobby \[[^\]]+\] 30\/30 frames \| 10\.0 fps \| ETA 00:00 \| dropped 2/);
    assert.ok(!/31\/|\/31/.test(text));
  });

  it('shows an intermediate count with an ETA', async () => {
    const tty = fakeTty();
    const metrics = new Metrics();
    let now = 0;
    const bars = new ProgressBars([{ id: 'a', info: { fps: 25, duration: 4, nb_frames: Number.NaN }, config: {} }], {
      stream: tty,
      metrics,
      interval_ms: 0,
      now: () => now,
    });
    now = 2000;
    metrics.inc('frames.done.a', 50);
    bars.tick();
    await new Promise((r) => setTimeout(r, 250)); // the MultiBar's redraw timer (10 fps)
    const mid = plain(tty.text());
    assert.match(mid, /a \[[^\]]+\] 50\/100 frames \| 25\.0 fps \| ETA 00:02 \| dropped 0/);
    bars.stop(false);
  });

  it('a run stopped early keeps the estimated total', () => {
    const tty = fakeTty();
    const metrics = new Metrics();
    const bars = new ProgressBars([{ id: 'a', info: { fps: 10, duration: 10, nb_frames: 100 }, config: {} }], {
      stream: tty,
      metrics,
      interval_ms: 0,
    });
    metrics.inc('frames.done.a', 40);
    bars.stop();
    assert.match(plain(tty.text()), /40\/100 frames/);
  });

  it('expected frames: nb_frames for the whole file, else duration × fps of the part read', () => {
    assert.equal(expectedFrames({ info: { fps: 30, duration: 2, nb_frames: 61 }, config: {} }), 61);
    assert.equal(expectedFrames({ info: { fps: 30, duration: 2, nb_frames: 61 }, config: { fps: 5 } }), 10);
    assert.equal(
      expectedFrames({ info: { fps: 30, duration: 10, nb_frames: 300 }, config: { start_secs: 2, end_secs: 4 } }),
      60,
    );
    assert.equal(expectedFrames({ info: { fps: 30, duration: 3 }, config: { end_secs: 99 } }), 90);
    assert.equal(expectedFrames({ info: { fps: 30, duration: 3, nb_frames: 90 }, config: { loop: true } }), null);
    assert.equal(expectedFrames({ info: { fps: 30, duration: Number.NaN }, config: {} }), null);
  });

  it('only on a TTY, with pretty logs, not turned off, and never for cameras', () => {
    assert.equal(progressWanted({ stream: { isTTY: true }, prettyLogs: true }), true);
    assert.equal(progressWanted({ stream: { isTTY: false }, prettyLogs: true }), false);
    assert.equal(progressWanted({ stream: {}, prettyLogs: true }), false);
    assert.equal(progressWanted({ stream: { isTTY: true }, prettyLogs: false }), false);
    assert.equal(progressWanted({ stream: { isTTY: true }, prettyLogs: true, disabled: true }), false);
    const tty = fakeTty();
    const metrics = new Metrics();
    const cameraOnly = startProgress(
      { sources: [{ id: 'cam', kind: 'live' }], metrics },
      [{ type: 'camera', config: { id: 'cam' } }],
      { stream: tty, prettyLogs: true },
    );
    assert.equal(cameraOnly, null);
    const mixed = startProgress(
      {
        sources: [
          { id: 'cam', kind: 'live' },
          { id: 'f', kind: 'file', info: { fps: 10, duration: 1, nb_frames: 10 } },
        ],
        metrics,
      },
      [
        { type: 'camera', config: { id: 'cam' } },
        { type: 'file', config: { id: 'f' } },
      ],
      { stream: tty, prettyLogs: true },
    );
    assert.ok(mixed);
    metrics.inc('frames.done.f', 10);
    mixed.stop();
    const text = plain(tty.text());
    assert.match(text, /f \[[^\]]+\] 10\/10 frames/);
    assert.ok(!text.includes('cam'));
  });
});
