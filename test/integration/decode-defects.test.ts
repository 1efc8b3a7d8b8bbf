/**
 * Decode defects seen through the CLI (issue #8 items 5, 6, 7, 8, 15), each on media made at test
 * time from the shared real videos (into a temp folder; nothing is copied into the repo):
 * truncated MPEG-TS, seeking in MPEG-TS with a non-zero start time, fps sampling, empty files.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { VidflowError } from '../../src/core/errors.js';
import { FlowGate } from '../../src/core/flow-gate.js';
import type { Frame } from '../../src/core/frame.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { ffmpegBinaries } from '../../src/sources/ffmpeg/binaries.js';
import { decodeFrames, type DecodeOptions } from '../../src/sources/ffmpeg/decoder.js';
import { createFileSource, fileSourceSpec, type FileSourceOptions } from '../../src/sources/file-source.js';
import { sharedMedia, tmpDir } from '../support/media.js';
import { decodeOptions } from '../support/decode-options.js';

const ffmpeg = () => process.env.FFMPEG_PATH ?? 'ffmpeg';
const ffprobe = () => process.env.FFPROBE_PATH ?? 'ffprobe';

/** Runs ffmpeg once per process into the temp folder. */
function make(name: string, args: string[]): string {
  const out = path.join(tmpDir(), name);
  if (!existsSync(out))
    execFileSync(ffmpeg(), ['-v', 'error', '-y', ...args, out], { stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}

const ts = {
  /**
   * people-one-by-one.mp4 (H.264 Main with B-frames, 10 fps, a keyframe every second), first 24 s
   * remuxed to MPEG-TS: the muxer's default start time is 1.5 s (1.4 s delay + one B-frame).
   */
  office: () =>
    make('office-24s.ts', [
      '-i',
      sharedMedia('videos/people-one-by-one.mp4'),
      '-t',
      '24',
      '-an',
      '-c',
      'copy',
      '-f',
      'mpegts',
    ]),
  /** parking-cars.mp4 (Baseline, 12.5 fps, a keyframe every 4.8 s) as MPEG-TS, shifted to start at 1.48 s. */
  parking: () =>
    make('parking-1.48.ts', [
      '-i',
      sharedMedia('videos/parking-cars.mp4'),
      '-t',
      '16',
      '-an',
      '-c',
      'copy',
      '-muxdelay',
      '0',
      '-output_ts_offset',
      '1.48',
      '-f',
      'mpegts',
    ]),
  /** The first `fraction` of `office()`: decodes frames, then the last one is cut. */
  truncated: (fraction: number) => {
    const out = path.join(tmpDir(), `office-truncated-${fraction}.ts`);
    if (!existsSync(out)) {
      const buf = readFileSync(ts.office());
      writeFileSync(out, buf.subarray(0, Math.floor(buf.length * fraction)));
    }
    return out;
  },
};

function ctx() {
  return {
    pipeline: 't',
    configPath: 'sources[0]',
    baseDir: process.cwd(),
    logger: silentLogger(),
    metrics: new Metrics(),
  };
}

function opts(file: string, extra: Partial<FileSourceOptions> = {}): FileSourceOptions {
  return {
    id: 's',
    path: file,
    fps: null,
    start_secs: null,
    end_secs: null,
    loop: false,
    max_in_flight: 4,
    realtime: false,
    ...extra,
  };
}

/** Decodes through the file source until the end or an error: the frames emitted and the error (or null). */
async function run(file: string, extra: Partial<FileSourceOptions> = {}): Promise<{ frames: Frame[]; error: unknown }> {
  const frames: Frame[] = [];
  try {
    const src = await createFileSource(opts(file, extra), ctx());
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
    return { frames, error: null };
  } catch (error) {
    return { frames, error };
  }
}

/** Frame times as ffprobe reads them, relative to the container start (what the source reports). */
function probeFrameTimes(file: string): number[] {
  const start = Number(
    execFileSync(ffprobe(), ['-v', 'error', '-show_entries', 'format=start_time', '-of', 'csv=p=0', file], {
      encoding: 'utf8',
    }).trim(),
  );
  const out = execFileSync(
    ffprobe(),
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', file],
    { encoding: 'utf8' },
  );
  return out
    .split('\n')
    .map((l) => l.replace(/,$/, '').trim())
    .filter(Boolean)
    .map((t) => +(Number(t) - start).toFixed(6));
}

function assertDecodeError(error: unknown, file: string): asserts error is VidflowError {
  assert.ok(error instanceof VidflowError, `expected a SOURCE_DECODE error, got ${String(error)}`);
  assert.equal(error.code, 'SOURCE_DECODE');
  assert.ok(error.message.includes(path.basename(file)), `names the file: ${error.message}`);
  assert.match(error.message, /corrupt or truncated/);
  assert.doesNotMatch(error.message, /\n|\r/);
}

describe('item 5: a truncated MPEG-TS is always an error', () => {
  // -stats_period exists from ffmpeg 4.4 on (the npm-shipped 4.1 build lacks it).
  const hasStatsPeriod = () =>
    execFileSync(ffmpegBinaries().ffmpeg.path, ['-hide_banner', '-h', 'full'], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    }).includes('stats_period');
  it('finds the decode error even when ffmpeg glues it to a \\r progress line (-stats_period 0.0001)', {
    skip: !hasStatsPeriod() && 'this ffmpeg has no -stats_period',
  }, async () => {
    const file = ts.truncated(0.5);
    // -stats re-enables the progress lines the decoder turns off, printed after every frame; with
    // one decoder thread the decoder's message comes right after the previous frame's progress
    // line, so it follows a `\r` on the same `\n` line (checked below: the case under test).
    const o: DecodeOptions = {
      input: file,
      label: file,
      stream_id: 's',
      fps: null,
      start: null,
      end: null,
      start_time: 1.5,
      kind: 'file',
      input_options: ['-stats', '-stats_period', '0.0001', '-threads', '1'],
      pts_offset: 0,
      index_offset: 0,
      stream_index: null,
      realtime: false,
    };
    const frames: Frame[] = [];
    const gate = new FlowGate(4);
    let sawGlued = false;
    const error = await new Promise<unknown>((resolve) =>
      decodeFrames(o, {
        gate,
        logger: silentLogger(),
        metrics: new Metrics(),
        onSpawn: (proc) => {
          let seen = '';
          proc.stderr.on('data', (d: Buffer | string) => {
            seen = (seen + d.toString()).slice(-4000);
            if (/\r\[[^\n]*\[error\]/.test(seen)) sawGlued = true;
          });
        },
      }).subscribe({
        next: (f) => {
          frames.push(f);
          gate.release();
        },
        error: resolve,
        complete: () => resolve(null),
      }),
    );
    assert.ok(sawGlued, 'ffmpeg printed an error right after a \\r progress line (the case under test)');
    assertDecodeError(error, file);
    assert.ok(frames.length > 10, `frames before the damage were emitted: ${frames.length}`);
    assert.match(error.message, /after frame \d+ \(pts \d+\.\d{3} s, \d+ frames decoded\)/);
  });

  it('the file source reports it every time (5 runs), after emitting the frames before the damage', async () => {
    const file = ts.truncated(0.5);
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { frames, error } = await run(file);
      assertDecodeError(error, file);
      assert.match(error.message, /^s: /);
      counts.push(frames.length);
    }
    assert.ok(
      counts.every((n) => n > 10 && n < 240),
      `frames before the damage: ${counts.join(', ')} of 240`,
    );
  });
});

describe('item 6: seeking in an intact MPEG-TS is not an error', () => {
  it('an intact MPEG-TS after a seek into a GOP is not an error, and starts exactly at start_secs', async () => {
    const file = ts.office();
    const all = probeFrameTimes(file);
    // More than the seek margin in: ffmpeg seeks into the middle of a GOP (4.3 s, 7.65 s).
    for (const start of [14.3, 17.65]) {
      const { frames, error } = await run(file, { start_secs: start, end_secs: start + 2 });
      assert.equal(error, null, `start_secs ${start}: ${String(error)}`);
      const expected = all.filter((t) => t >= start - 1e-6 && t < start + 2 - 1e-6);
      assert.equal(frames.length, expected.length, `start_secs ${start}: frames`);
      assert.ok(
        Math.abs(frames[0]!.pts - expected[0]!) < 1e-3,
        `start_secs ${start}: first pts ${frames[0]!.pts}, expected ${expected[0]}`,
      );
    }
  });

  it("the decoder's post-seek reference messages are logged at debug, not errors", async () => {
    const file = ts.office();
    // No margin: ffmpeg starts right at 14.3 s, inside a GOP with B-frames, as the CLI did on main.
    const o: DecodeOptions = decodeOptions({
      input: file,
      label: file,
      start: 14.3,
      seek_margin: 0,
      end: 16,
      start_time: 1.5,
    });
    const logged: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => void logged.push(s) });
    const gate = new FlowGate(4);
    const frames: Frame[] = [];
    const error = await new Promise<unknown>((resolve) =>
      decodeFrames(o, { gate, logger, metrics: new Metrics() }).subscribe({
        next: (f) => {
          frames.push(f);
          gate.release();
        },
        error: resolve,
        complete: () => resolve(null),
      }),
    );
    assert.equal(error, null, String(error));
    assert.ok(frames.length > 0 && frames.every((f) => f.pts >= 14.3 - 1e-3 && f.pts < 16));
    assert.ok(
      logged.some((l) => /co located POCs unavailable|mmco|reference/.test(l)),
      'ffmpeg printed post-seek reference messages (logged at debug)',
    );
  });

  it('no frame left after start_secs: a clear message, not "after frame -1"', async () => {
    const file = ts.truncated(0.5);
    // The damage is near 12 s of 24: from 16 s on there is nothing left to decode.
    const { frames, error } = await run(file, { start_secs: 16 });
    assert.equal(frames.length, 0);
    assertDecodeError(error, file);
    assert.doesNotMatch(error.message, /frame -1|pts 0 frames/);
    assert.match(error.message, /no frame decoded from 16 s/);
  });
});

describe('item 7: start_secs/end_secs in MPEG-TS with a container start time', () => {
  it('start_secs/end_secs count from the file start, once: [1, 3) of a TS starting at 1.5 s', async () => {
    const file = ts.office();
    const src = await createFileSource(opts(file), ctx());
    assert.ok(Math.abs(src.info.start_time - 1.5) < 1e-3, `container start ${src.info.start_time}`);
    const { frames, error } = await run(file, { start_secs: 1, end_secs: 3 });
    assert.equal(error, null, String(error));
    assert.equal(frames.length, 20);
    assert.ok(Math.abs(frames[0]!.pts - 1) < 1e-3, `first pts ${frames[0]!.pts}`);
    assert.ok(Math.abs(frames[19]!.pts - 2.9) < 1e-3, `last pts ${frames[19]!.pts}`);
    assert.deepEqual(
      frames.map((f) => f.index),
      [...Array(20).keys()],
    );
  });

  it('a seek target in the middle of a 4.8 s GOP (TS offset to 1.48 s) still gets its exact first frame', async () => {
    const file = ts.parking();
    const src = await createFileSource(opts(file), ctx());
    assert.ok(Math.abs(src.info.start_time - 1.48) < 1e-3, `container start ${src.info.start_time}`);
    const { frames, error } = await run(file, { start_secs: 7, end_secs: 9 });
    assert.equal(error, null, String(error));
    // 12.5 fps: frames every 0.08 s, [7, 9) holds 7.04 … 8.96 (7.00 is frame 87.5: not a frame time).
    const expected = probeFrameTimes(file).filter((t) => t >= 7 - 1e-6 && t < 9 - 1e-6);
    assert.equal(frames.length, expected.length);
    assert.ok(Math.abs(frames[0]!.pts - expected[0]!) < 1e-3 && frames[0]!.pts < 7.08, `first pts ${frames[0]!.pts}`);
    assert.ok(frames.at(-1)!.pts < 9);
  });

  it('the fps grid starts at start_secs: fps 4 over [1, 3) keeps 8 frames at 1.0, 1.25, …', async () => {
    const file = ts.office();
    const { frames, error } = await run(file, { fps: 4, start_secs: 1, end_secs: 3 });
    assert.equal(error, null, String(error));
    // 10 fps source: slots of 0.25 s starting at 1.0 keep the frames at 1.0, 1.3, 1.5, 1.8, 2.0, …
    assert.deepEqual(
      frames.map((f) => +f.pts.toFixed(3)),
      [1, 1.3, 1.5, 1.8, 2, 2.3, 2.5, 2.8],
    );
  });
});

describe('item 8: fps samples on an even time grid', () => {
  it('fps 10 on a 25 fps 4 s clip keeps 40 frames, one per 0.1 s slot (ffmpeg fps=10 gives 40)', async () => {
    const file = make('dashcam-25fps-4s.mp4', [
      '-stream_loop',
      '2',
      '-i',
      sharedMedia('videos/highway-dashcam.mp4'),
      '-t',
      '4',
      '-an',
      '-vf',
      'scale=320:180,setpts=N/(25*TB)',
      '-r',
      '25',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
    ]);
    const all = probeFrameTimes(file);
    assert.equal(all.length, 100);
    const { frames, error } = await run(file, { fps: 10 });
    assert.equal(error, null, String(error));
    assert.equal(frames.length, 40);
    frames.forEach((f, i) => assert.ok(f.pts >= i * 0.1 - 1e-6 && f.pts < i * 0.1 + 0.04, `frame ${i} pts ${f.pts}`));
    // Other rates: the count of slots [k/fps, (k+1)/fps) that hold a frame, i.e. ceil(4 × fps).
    for (const [fps, n] of [
      [5, 20],
      [3, 12],
      [7, 28],
      [12.5, 50],
      [30, 100],
    ] as const) {
      const r = await run(file, { fps });
      assert.equal(r.frames.length, n, `fps ${fps}`);
    }
  });
});

describe('item 15: an empty file', () => {
  it('is "empty file" naming the file and config path, not "moov atom not found"', async () => {
    const file = path.join(tmpDir(), 'empty.mp4');
    writeFileSync(file, '');
    const { error } = await run(file);
    assert.ok(error instanceof VidflowError, String(error));
    assert.equal(error.code, 'SOURCE_NOT_VIDEO');
    assert.match(error.message, /^sources\[0\]\.path: .*empty\.mp4: empty file \(0 bytes\)/);
    assert.doesNotMatch(error.message, /moov|\n/);
    // `vidflow validate` (without --deep) says the same.
    const check = fileSourceSpec.check!;
    await assert.rejects(
      check(
        {
          type: 'file',
          id: 's',
          path: file,
          fps: null,
          start_secs: null,
          end_secs: null,
          loop: false,
          max_in_flight: 8,
          realtime: false,
          decode_size: null,
          hwaccel: 'none',
          hwaccel_device: null,
        },
        { ...ctx(), deep: false },
      ),
      (e: unknown) =>
        e instanceof VidflowError &&
        e.code === 'SOURCE_NOT_VIDEO' &&
        /^sources\[0\]\.path: .*empty\.mp4: empty file/.test(e.message),
    );
  });
});
