/**
 * The file source against real ffmpeg, on videos generated at test time: sizes, rotation,
 * container pts, pixel formats, sampling, seeking, looping, backpressure and bad input.
 * The core cases run twice: with the system ffmpeg/ffprobe and with the npm-shipped fallback.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { lastValueFrom, toArray } from 'rxjs';
import { FlowGate } from '../../src/core/flow-gate.js';
import type { Frame } from '../../src/core/frame.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { VidflowError } from '../../src/core/errors.js';
import { resetFfmpegBinaries, ffmpegBinaries } from '../../src/sources/ffmpeg/binaries.js';
import { createFileSource, type FileSourceOptions } from '../../src/sources/file-source.js';
import { containerPts, media } from '../support/media.js';
import { waitFor } from '../support/wait.js';

function ctx() {
  return {
    pipeline: 't',
    configPath: 'sources[0]',
    baseDir: process.cwd(),
    logger: silentLogger(),
    metrics: new Metrics(),
  };
}

function opts(path: string, extra: Partial<FileSourceOptions> = {}): FileSourceOptions {
  return {
    id: 's',
    path,
    fps: null,
    start_secs: null,
    end_secs: null,
    loop: false,
    max_in_flight: 4,
    realtime: false,
    ...extra,
  };
}

/** Decodes everything into `frames`, releasing each frame's credit right away. */
async function decodeInto(path: string, extra: Partial<FileSourceOptions>, frames: Frame[]): Promise<void> {
  const src = await createFileSource(opts(path, extra), ctx());
  const gate = new FlowGate(4);
  await new Promise<void>((resolve, reject) =>
    src.frames(gate).subscribe({
      next: (f) => {
        frames.push(f);
        gate.release();
      },
      error: reject,
      complete: resolve,
    }),
  );
}

async function decodeAll(path: string, extra: Partial<FileSourceOptions> = {}): Promise<Frame[]> {
  const frames: Frame[] = [];
  await decodeInto(path, extra, frames);
  return frames;
}

/** Decodes until the end or an error; returns the frames emitted before it. */
async function decodeError(path: string): Promise<{ frames: Frame[]; error: unknown }> {
  const frames: Frame[] = [];
  try {
    await decodeInto(path, {}, frames);
    return { frames, error: null };
  } catch (error) {
    return { frames, error };
  }
}

for (const flavour of ['system', 'npm'] as const) {
  describe(`file source with ${flavour} ffmpeg/ffprobe`, () => {
    const saved = process.env.VIDFLOW_FFMPEG_PREFER;
    process.env.VIDFLOW_FFMPEG_PREFER = flavour === 'npm' ? 'npm' : '';
    resetFfmpegBinaries();
    after(() => {
      process.env.VIDFLOW_FFMPEG_PREFER = saved ?? '';
      resetFfmpegBinaries();
    });
    const use = () => {
      process.env.VIDFLOW_FFMPEG_PREFER = flavour === 'npm' ? 'npm' : '';
      resetFfmpegBinaries();
      const b = ffmpegBinaries();
      if (flavour === 'npm') assert.equal(b.ffmpeg.source, 'npm');
      else assert.notEqual(b.ffmpeg.source, 'npm');
    };

    it('decodes every frame of an MP4 with sizes, indices and container pts', async () => {
      use();
      const frames = await decodeAll(media.testsrc(2));
      assert.equal(frames.length, 50);
      assert.deepEqual(
        frames.map((f) => f.index),
        [...Array(50).keys()],
      );
      for (const f of frames) {
        assert.equal(f.width, 640);
        assert.equal(f.height, 360);
        assert.equal(f.data.length, 640 * 360 * 3);
      }
      assert.ok(Math.abs(frames[49]!.pts - 49 / 25) < 1e-3, `last pts ${frames[49]!.pts}`);
      // testsrc2 frames differ from each other (the clock moves): the bytes are real frames.
      assert.notDeepEqual(
        Buffer.from(frames[0]!.data).subarray(0, 50000),
        Buffer.from(frames[25]!.data).subarray(0, 50000),
      );
    });

    it('reads MKV and MPEG-TS containers', async () => {
      use();
      assert.equal((await decodeAll(media.mkv())).length, 25);
      const ts = await decodeAll(media.mpegts());
      assert.equal(ts.length, 25);
      assert.ok(
        Math.abs(ts[0]!.pts) < 1e-6,
        `MPEG-TS pts start at 0 after removing the container start time, got ${ts[0]!.pts}`,
      );
    });

    it('reports a truncated file after emitting the frames decoded before the damage', async () => {
      use();
      const { frames, error } = await decodeError(media.truncated(0.5));
      assert.ok(frames.length > 10 && frames.length < 100, `decoded ${frames.length} of 100 frames`);
      assert.ok(error instanceof VidflowError, String(error));
      assert.equal(error.code, 'SOURCE_DECODE');
      assert.match(error.message, /truncated|corrupt/);
      assert.doesNotMatch(error.message, /\n/);
    });
  });
}

describe('file source: formats and geometry', () => {
  it('keeps odd frame sizes (641×359)', async () => {
    const frames = await decodeAll(media.oddSize());
    assert.equal(frames.length, 25);
    assert.equal(frames[0]!.width, 641);
    assert.equal(frames[0]!.height, 359);
    assert.equal(frames[0]!.data.length, 641 * 359 * 3);
  });

  it('applies rotation metadata: a 320×240 phone-style video decodes as 240×320', async () => {
    const src = await createFileSource(opts(media.rotated()), ctx());
    assert.equal(src.info.coded_width, 320);
    assert.equal(src.info.width, 240);
    assert.equal(src.info.height, 320);
    assert.ok([90, 270].includes(src.info.rotation));
    const frames = await decodeAll(media.rotated());
    assert.equal(frames[0]!.width, 240);
    assert.equal(frames[0]!.height, 320);
  });

  it('takes pts from the container for variable frame rate video, not index/fps', async () => {
    const file = media.vfr();
    const frames = await decodeAll(file);
    const expected = containerPts(file);
    assert.equal(frames.length, expected.length);
    frames.forEach((f, i) =>
      assert.ok(Math.abs(f.pts - expected[i]!) < 1e-3, `frame ${i}: ${f.pts} vs ${expected[i]}`),
    );
    const gaps = frames.slice(1).map((f, i) => f.pts - frames[i]!.pts);
    assert.ok(Math.max(...gaps) > 3 * Math.min(...gaps), 'gaps vary');
  });

  it('converts 10-bit yuv420p10le to 8-bit RGB', async () => {
    const frames = await decodeAll(media.tenBit());
    assert.equal(frames.length, 25);
    const d = frames[0]!.data;
    let max = 0;
    for (let i = 0; i < d.length; i += 97) max = Math.max(max, d[i]!);
    assert.ok(max > 128, 'non-trivial pixels');
  });
});

describe('file source: fps, start/end, loop', () => {
  it('samples to `fps` keeping original pts', async () => {
    const frames = await decodeAll(media.testsrc(2), { fps: 5 });
    assert.equal(frames.length, 10);
    frames.forEach((f, i) => assert.ok(Math.abs(f.pts - i * 0.2) < 1e-3, `pts ${f.pts}`));
    assert.deepEqual(
      frames.map((f) => f.index),
      [...Array(10).keys()],
    );
  });

  it('decodes only [start_secs, end_secs) with container pts', async () => {
    const frames = await decodeAll(media.testsrc(4), { start_secs: 1, end_secs: 2 });
    assert.equal(frames.length, 25);
    assert.ok(Math.abs(frames[0]!.pts - 1) < 1e-3, `first pts ${frames[0]!.pts}`);
    assert.ok(frames[24]!.pts < 2);
  });

  it('loops with increasing pts and indices', async () => {
    const src = await createFileSource(opts(media.testsrc(1), { loop: true }), ctx());
    const gate = new FlowGate(4);
    const frames: Frame[] = [];
    await new Promise<void>((resolve) => {
      const sub = src.frames(gate).subscribe((f) => {
        frames.push(f);
        gate.release();
        if (frames.length === 60) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    assert.deepEqual(
      frames.map((f) => f.index),
      [...Array(60).keys()],
    );
    for (let i = 1; i < 60; i++) assert.ok(frames[i]!.pts > frames[i - 1]!.pts, `pts increase at ${i}`);
    assert.ok(Math.abs(frames[25]!.pts - 1) < 1e-3);
  });
});

describe('file source: backpressure', () => {
  it('never has more than max_in_flight frames out, pauses ffmpeg, and drops nothing', async () => {
    const src = await createFileSource(opts(media.testsrc(2)), ctx());
    const gate = new FlowGate(3);
    let outstanding = 0;
    let maxOutstanding = 0;
    const frames: Frame[] = [];
    await new Promise<void>((resolve, reject) =>
      src.frames(gate).subscribe({
        next: (f) => {
          frames.push(f);
          outstanding += 1;
          maxOutstanding = Math.max(maxOutstanding, outstanding);
          // A slow consumer: each frame takes 10 ms.
          setTimeout(() => {
            outstanding -= 1;
            gate.release();
          }, 10);
        },
        error: reject,
        complete: resolve,
      }),
    );
    assert.equal(frames.length, 50);
    assert.ok(maxOutstanding <= 3, `max outstanding ${maxOutstanding}`);
  });

  it('unsubscribing kills ffmpeg', async () => {
    const file = media.testsrc(4);
    const src = await createFileSource(opts(file), ctx());
    const gate = new FlowGate(2);
    const got = await lastValueFrom(
      new (await import('rxjs')).Observable<Frame>((sub) => {
        const s = src.frames(gate).subscribe((f) => {
          sub.next(f);
          if (f.index === 4) sub.complete();
          gate.release();
        });
        return () => s.unsubscribe();
      }).pipe(toArray()),
    );
    assert.equal(got.length, 5);
    const { execFileSync } = await import('node:child_process');
    const running = () => {
      try {
        return execFileSync('pgrep', ['-f', file], { encoding: 'utf8' }).trim();
      } catch {
        return ''; // pgrep exits 1 when nothing matches
      }
    };
    // Wait for ffmpeg to be gone (the kill is asynchronous) instead of a fixed delay; a leaked
    // ffmpeg stays paused on backpressure, so it is still there when the safety net runs out.
    await waitFor(() => running() === '', 'ffmpeg on the file to exit', 60_000, 50).catch(() => undefined);
    assert.equal(running(), '', 'no ffmpeg left running on the file');
  });
});

describe('file source: bad input is one clear line', () => {
  const cases: Array<[string, () => string, string, RegExp]> = [
    [
      'missing file',
      () => '/nonexistent/video.mp4',
      'SOURCE_NOT_FOUND',
      /\/nonexistent\/video\.mp4: file does not exist/,
    ],
    ['not a video', media.notVideo, 'SOURCE_NOT_VIDEO', /not-a-video\.mp4: not a (readable )?video file/],
    [
      'audio but no video',
      media.audioOnly,
      'SOURCE_NO_VIDEO_STREAM',
      /audio-only\.m4a: has no video stream \(found: audio\)/,
    ],
  ];
  for (const [name, file, code, re] of cases) {
    it(name, async () => {
      const { error } = await decodeError(file());
      assert.ok(error instanceof VidflowError, String(error));
      assert.equal(error.code, code);
      assert.match(error.message, re);
      assert.match(error.message, /^sources\[0\]\.path: /);
      assert.doesNotMatch(error.message, /\n/);
    });
  }
});
