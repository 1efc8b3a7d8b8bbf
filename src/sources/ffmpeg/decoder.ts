/**
 * The ffmpeg decode process and its lifecycle, owned by vidflow: fluent-ffmpeg only builds the
 * command line (it was archived upstream in 2025; replacing it is a change to buildDecodeArgs).
 * We spawn, cut stdout into RGB24 frames, read each frame's pts and size from the `showinfo`
 * filter on stderr, collect error lines, pause stdout when the flow gate has no credit (file
 * sources) or drop frames (live sources), and kill ffmpeg on teardown.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

type DecoderProcess = ChildProcessByStdio<null, Readable, Readable>;
import ffmpegCommand from 'fluent-ffmpeg';
import { Observable } from 'rxjs';
import { VidflowError } from '../../core/errors.js';
import { liveCaptureClock, type Frame } from '../../core/frame.js';
import type { FlowGate } from '../../core/flow-gate.js';
import { redactUrl, type Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import { ffmpegBinaries } from './binaries.js';
import { scaleFilter, type DecodeSize } from '../decode-size.js';
import { hwaccelInputOptions, isHwaccelProbeMessage, type HwaccelOptions } from '../hwaccel.js';

export interface DecodeOptions {
  /** File path or URL given to ffmpeg's -i. */
  input: string;
  /** How logs and errors name the input (cameras: URL without credentials). */
  label: string;
  stream_id: string;
  /** Keep at most this many frames per second of source time (null: every frame). */
  fps: number | null;
  /** First frame time kept, seconds from the file's start (frames with t >= start). */
  start: number | null;
  /** Seek this many seconds before `start` (containers with imprecise seeking; see seekMarginFor). */
  seek_margin?: number;
  /** Stop at this many seconds. */
  end: number | null;
  /** Container start time, subtracted so pts count from the file's start. */
  start_time: number;
  /** `file`: wait for credit (pause ffmpeg). `live`: drop the frame when no credit. */
  kind: 'file' | 'live';
  /** Extra ffmpeg input options (e.g. `-rtsp_transport tcp`). */
  input_options: string[];
  /** Added to every pts (loops). */
  pts_offset: number;
  /** First frame index (loops continue counting). */
  index_offset: number;
  /** Index of the video stream to decode (ffprobe's stream index), or null for the best one. */
  stream_index: number | null;
  /** Read input at its native rate (simulated live input from a file). */
  realtime: boolean;
  /** Live only: frames older than this (capture → now) are dropped at once (`late_read`); sets `deadline_ms`. */
  latency_budget_ms?: number | null;
  /** Stop after this many output frames (`-frames:v`; still images: 1). */
  max_frames?: number;
  /** Scale in ffmpeg's filter graph (null/absent: source size); frames then carry `source_width`/`source_height`. */
  decode_size?: DecodeSize | null;
  /** Hardware-accelerated decoding (`-hwaccel`; null/absent or `none`: software). */
  hwaccel?: HwaccelOptions | null;
}

/** How far past `end` ffmpeg reads the input (see buildDecodeArgs). */
export const READ_PAST_END_SECS = 1;

/** Slack for comparing frame times with start/end bounds: float rounding of pts × time base, far below any frame
 * interval. */
const T_EPS = 1e-4;

/**
 * How far before `start_secs` to seek in a container whose seeking is imprecise. MPEG-TS (and
 * other formats without a keyframe index) seek to a byte position, land anywhere in a GOP and
 * the decoder skips to the next keyframe, which may lie after the wanted start; seeking earlier
 * by more than a GOP and selecting `t >= start` ourselves gives the exact first frame.
 * Index-based containers (MP4/MOV, Matroska/WebM, AVI) seek to the keyframe before the target: 0.
 */
export const IMPRECISE_SEEK_MARGIN_SECS = 10;
export function seekMarginFor(format: string): number {
  const names = format.split(',');
  const indexed = ['mov', 'mp4', 'matroska', 'webm', 'avi'];
  return names.some((n) => indexed.includes(n)) ? 0 : IMPRECISE_SEEK_MARGIN_SECS;
}

/** The ffmpeg select filters for [start, end) and for fps sampling, in filter-graph order. */
export function selectFilters(o: Pick<DecodeOptions, 'start' | 'end' | 'fps' | 'start_time'>): string[] {
  const filters: string[] = [];
  const start = o.start !== null && o.start > 0 ? o.start : null;
  // With -copyts, `t` is the container's own time: bounds are offset by its start time.
  const bounds: string[] = [];
  if (start !== null) bounds.push(`gte(t\\,${(start + o.start_time - T_EPS).toFixed(6)})`);
  if (o.end !== null) bounds.push(`lt(t\\,${(o.end + o.start_time - T_EPS).toFixed(6)})`);
  if (bounds.length > 0) filters.push(`select='${bounds.join('*')}'`);
  if (o.fps !== null) {
    // An even grid of 1/fps slots from the start: keep the first frame in each slot (original pts,
    // nothing invented; a slot without a frame stays empty). 25 fps → fps 10 keeps 10 a second.
    const origin = (start ?? 0) + o.start_time - T_EPS;
    const slot = (v: string) => `floor((${v}-${origin.toFixed(6)})*${o.fps})`;
    filters.push(`select='isnan(prev_selected_t)+gt(${slot('t')}\\,${slot('prev_selected_t')})'`);
  }
  return filters;
}

/** Builds ffmpeg's argument list. */
export function buildDecodeArgs(o: DecodeOptions): string[] {
  // -nostats: no `\r`-terminated progress lines interleaved with the messages we parse.
  const inputOptions: string[] = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', '+level+info'];
  if (o.realtime) inputOptions.push('-re');
  if (o.start !== null && o.start > 0) {
    // ffmpeg already offsets input seeking by the container start time: -ss is relative to the file.
    const seek = Math.max(0, o.start - (o.seek_margin ?? 0));
    if (seek > 0) inputOptions.push('-ss', seek.toFixed(6));
  }
  // The select filter cuts at `end` exactly; -to stops ffmpeg reading a little after it, so the rest of the file is
  // not decoded (a 139 s file cut at 10 s used to deliver its last kept frame ~1 s late, after decoding to the end).
  // Like -ss it counts from the file's start; the margin covers frame reordering (B-frames are read after frames
  // shown later).
  if (o.end !== null) inputOptions.push('-to', (o.end + READ_PAST_END_SECS).toFixed(6));
  inputOptions.push('-copyts', ...hwaccelInputOptions(o.hwaccel), ...o.input_options);
  const filters = selectFilters(o);
  // A first showinfo before the scale reports each frame's source size (sourceShowinfoIndex).
  if (o.decode_size) filters.push('showinfo=checksum=0', scaleFilter(o.decode_size));
  // showinfo reports each frame's pts and size; its per-plane checksums are not needed.
  filters.push('format=rgb24', 'showinfo=checksum=0');
  const map = o.stream_index === null ? '0:v:0' : `0:${o.stream_index}`;
  const cmd = ffmpegCommand(o.input)
    .inputOptions(inputOptions)
    .outputOptions([
      '-map',
      map,
      '-an',
      '-sn',
      '-dn',
      '-vsync',
      'passthrough',
      ...(o.max_frames !== undefined ? ['-frames:v', String(o.max_frames)] : []),
      '-pix_fmt',
      'rgb24',
    ])
    .videoFilters(filters)
    .format('rawvideo')
    .output('pipe:1');
  return (cmd as unknown as { _getArguments(): string[] })._getArguments();
}

/** Filter-graph index of the showinfo before the decode-time scale (`Parsed_showinfo_<index>`), or null without one. */
export function sourceShowinfoIndex(o: Pick<DecodeOptions, 'start' | 'end' | 'fps' | 'start_time' | 'decode_size'>) {
  return o.decode_size ? selectFilters(o).length : null;
}

const SHOWINFO_RE = /Parsed_showinfo_(\d+).*\bn:\s*(\d+)\s+pts:\s*(-?\d+|NOPTS)\s+pts_time:\s*(\S+).*?\bs:(\d+)x(\d+)/;
/** `[error]`, `[fatal]` or `[panic]` after any `[component @ 0x..]` prefixes (`-loglevel +level`). */
const ERROR_LINE_RE = /^\s*(?:\[[^\]]*\]\s*)*?\[(error|fatal|panic)\]/;

/**
 * Decoder messages that follow a seek into the middle of a GOP: references from before the seek
 * point are missing. Harmless (the frames they concern come before the first kept frame, or are
 * concealed by the decoder as it recovers), so after a seek they are logged at debug, not errors.
 */
const POST_SEEK_RE = [
  /co located POCs unavailable/,
  /mmco: unref short failure/,
  /reference picture missing during reorder/,
  /Missing reference picture/,
  /number of reference frames \(.*\) exceeds max/,
  /illegal short term buffer state detected/,
  /non-existing PPS \d+ referenced/,
  /decode_slice_header error/,
  /no frame!/,
  /Could not find ref with POC/,
  /Error constructing the frame RPS/,
];

export function isErrorLine(line: string): boolean {
  return ERROR_LINE_RE.test(line);
}

export function isPostSeekMessage(line: string): boolean {
  return POST_SEEK_RE.some((re) => re.test(line));
}

/** Where an ffmpeg log message starts: its `[component @ 0x…]` prefix. */
const MESSAGE_START_RE = /(?=\[[^\]\s]+ @ 0x[0-9a-fA-F]+\])/;

/**
 * Cuts ffmpeg's stderr into messages: lines end at `\n` and `\r` (progress lines end in `\r`, so
 * a message can follow one on the same `\n` line), and a message from another thread can land in
 * the middle of a line that one component writes in several pieces (a decoder's `[h264 @ 0x…]
 * [error]` inside the filter's `showinfo` line), so a line is also cut before every
 * `[component @ 0x…]` prefix. The unfinished remainder is kept across chunks.
 */
export class StderrLines {
  private rest = '';
  push(text: string): string[] {
    const parts = (this.rest + text).split(/[\r\n]/);
    this.rest = parts.pop() ?? '';
    return parts.flatMap(splitMessages);
  }
  /** The unterminated last line, if any (at exit). */
  end(): string[] {
    const last = this.rest;
    this.rest = '';
    return splitMessages(last);
  }
}

function splitMessages(line: string): string[] {
  return line.split(MESSAGE_START_RE).filter((l) => l.length > 0);
}

export interface ShowinfoEntry {
  /** Index of the showinfo filter in the graph (`Parsed_showinfo_<filter>`). */
  filter: number;
  n: number;
  pts_time: number;
  width: number;
  height: number;
  /** The frame's size before the decode-time scale (decode_size only). */
  source?: { width: number; height: number };
}

export function parseShowinfo(line: string): ShowinfoEntry | null {
  const m = SHOWINFO_RE.exec(line);
  if (!m) return null;
  return {
    filter: Number(m[1]),
    n: Number(m[2]),
    pts_time: m[4] === 'NOPTS' ? Number.NaN : Number(m[4]),
    width: Number(m[5]),
    height: Number(m[6]),
  };
}

/** Strips ffmpeg's `[component @ 0x..] [error]` prefixes for a one-line message. */
export function cleanErrorLine(line: string): string {
  return redactUrl(line.replace(/^(\[[^\]]*\]\s*)+/, '').trim());
}

/** The one-line SOURCE_DECODE message for a stream that ffmpeg reported errors on (exit 0 or after frames). */
export function corruptMessage(
  o: Pick<DecodeOptions, 'stream_id' | 'label' | 'start'>,
  st: { emitted: number; decoded: number; lastIndex: number; lastPts: number },
  first: string,
): string {
  if (st.emitted === 0) {
    const from = o.start !== null && o.start > 0 ? ` from ${o.start} s` : '';
    return `${o.stream_id}: ${o.label} is corrupt or truncated: no frame decoded${from}: ${first}`;
  }
  const at = Number.isFinite(st.lastPts) ? `pts ${st.lastPts.toFixed(3)} s, ` : '';
  const where = `after frame ${st.lastIndex} (${at}${st.decoded} frames decoded)`;
  return `${o.stream_id}: ${o.label} is corrupt or truncated ${where}: ${first}`;
}

export interface DecodeDeps {
  gate: FlowGate;
  logger: Logger;
  metrics: Metrics;
  /** Called with the process so callers can observe it (tests). */
  onSpawn?: (proc: DecoderProcess) => void;
  /** Called for every frame read from ffmpeg, emitted or dropped (live watchdogs). */
  onArrival?: (captured_at_ms: number) => void;
}

/**
 * Decodes `o.input` into frames. Completes when ffmpeg ends cleanly; errors with SOURCE_DECODE
 * (after emitting every frame decoded before the problem) when ffmpeg reports errors.
 */
export function decodeFrames(o: DecodeOptions, deps: DecodeDeps): Observable<Frame> {
  return new Observable<Frame>((subscriber) => {
    const { ffmpeg } = ffmpegBinaries();
    const args = buildDecodeArgs(o);
    deps.logger.debug(
      { stream: o.stream_id, ffmpeg: ffmpeg.path, ffmpeg_source: ffmpeg.source },
      `Starting ffmpeg for \`${o.stream_id}\` (${o.label}).`,
    );
    const proc = spawn(ffmpeg.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    deps.onSpawn?.(proc);

    let frameSize = 0;
    let current: Buffer | null = null;
    let filled = 0;
    const pendingChunks: Buffer[] = []; // stdout bytes that arrived before the first frame's size
    const infos: ShowinfoEntry[] = [];
    /** decode_size: source sizes reported before the scale, waiting for their frame's showinfo after it. */
    const sourceIndex = sourceShowinfoIndex(o);
    const sourceSizes: Array<{ width: number; height: number }> = [];
    const ready: Buffer[] = [];
    /** When each `ready` frame's last byte was read. */
    const readyAt: number[] = [];
    const captureClock = liveCaptureClock();
    const budget = o.kind === 'live' ? (o.latency_budget_ms ?? null) : null;
    const errorLines: string[] = [];
    const stderrLines = new StderrLines();
    /** Decoding starts mid-stream: reference-frame messages are expected (see POST_SEEK_RE). */
    const seeking = o.start !== null && o.start > 0;
    let emitted = 0;
    let lastIndex = -1;
    let lastPts = Number.NaN;
    /** Frames decoded, emitted or dropped: a live source's indices show its drops as gaps. */
    let decoded = 0;
    let exited = false;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let torn = false;
    let draining = false;
    let waitingForCredit = false;

    const fail = (err: Error) => {
      if (torn) return;
      torn = true;
      subscriber.error(err);
    };

    const consume = (chunk: Buffer) => {
      let off = 0;
      while (off < chunk.length) {
        // Each frame gets its own SharedArrayBuffer: worker threads (preprocessing, inference) read it without a copy.
        if (!current) current = Buffer.from(new SharedArrayBuffer(frameSize));
        const n = Math.min(frameSize - filled, chunk.length - off);
        chunk.copy(current, filled, off, off + n);
        filled += n;
        off += n;
        if (filled === frameSize) {
          ready.push(current);
          readyAt.push(Date.now());
          current = null;
          filled = 0;
        }
      }
    };

    const emitOne = (data: Buffer, info: ShowinfoEntry, captured_at_ms: number) => {
      const rawPts = Number.isFinite(info.pts_time) ? info.pts_time - o.start_time : Number.NaN;
      const frame: Frame = {
        stream_id: o.stream_id,
        index: o.index_offset + decoded,
        pts: +(Number.isFinite(rawPts) ? rawPts + o.pts_offset : Number.NaN).toFixed(6),
        width: info.width,
        height: info.height,
        ...(info.source ? { source_width: info.source.width, source_height: info.source.height } : {}),
        data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        decoded_at_ms: Date.now(),
        captured_at_ms,
        ...(budget !== null ? { deadline_ms: captured_at_ms + budget } : {}),
      };
      emitted += 1;
      decoded += 1;
      lastIndex = frame.index;
      lastPts = frame.pts;
      subscriber.next(frame);
    };

    const maybeFinish = () => {
      if (torn || !exited || ready.length > 0 || draining) return;
      if (exitSignal && exitSignal !== 'SIGTERM' && exitSignal !== 'SIGKILL') {
        return fail(
          new VidflowError(
            'SOURCE_DECODE',
            `${o.stream_id}: ffmpeg crashed with ${exitSignal} while decoding ${o.label} after ${emitted} frames`,
            { where: o.stream_id },
          ),
        );
      }
      if (exitCode !== 0 || errorLines.length > 0) {
        const first = errorLines[0] ? cleanErrorLine(errorLines[0]) : `ffmpeg exited with code ${exitCode}`;
        if (emitted === 0 && exitCode !== 0) {
          const hw = o.hwaccel && o.hwaccel.hwaccel !== 'none' ? o.hwaccel.hwaccel : null;
          const how = hw ? ` with hwaccel ${hw}` : '';
          const hint = hw && hw !== 'auto' ? ' (hwaccel: auto falls back to software decoding; none turns it off)' : '';
          return fail(
            new VidflowError(
              'SOURCE_DECODE',
              `${o.stream_id}: ffmpeg could not decode ${o.label}${how}: ${first}${hint}`,
              {
                where: o.stream_id,
              },
            ),
          );
        }
        return fail(
          new VidflowError('SOURCE_DECODE', corruptMessage(o, { emitted, decoded, lastIndex, lastPts }, first), {
            where: o.stream_id,
          }),
        );
      }
      torn = true;
      subscriber.complete();
    };

    const drain = async () => {
      if (draining || torn) return;
      draining = true;
      try {
        while (!torn && ready.length > 0 && infos.length > 0) {
          const arrived = readyAt.shift()!;
          const captured = o.kind === 'live' ? captureClock(arrived, infos[0]!.pts_time) : arrived;
          deps.metrics.inc(`frames.decoded.${o.stream_id}`);
          deps.onArrival?.(captured);
          if (budget !== null && Date.now() - captured > budget) {
            // Waited in a pipe or socket buffer past the stream's budget: processing it would be late.
            ready.shift();
            infos.shift();
            decoded += 1;
            deps.metrics.drop(o.stream_id, 'late_read');
            continue;
          }
          if (o.kind === 'file') {
            if (!deps.gate.tryAcquire()) {
              proc.stdout.pause();
              waitingForCredit = true;
              await deps.gate.acquire();
              waitingForCredit = false;
              if (torn) {
                deps.gate.release();
                break;
              }
            }
          } else if (!deps.gate.tryAcquire()) {
            ready.shift();
            infos.shift();
            decoded += 1;
            deps.metrics.drop(o.stream_id, 'live_busy');
            continue;
          }
          emitOne(ready.shift()!, infos.shift()!, captured);
        }
      } finally {
        draining = false;
      }
      if (!torn && ready.length < 2 && !waitingForCredit) proc.stdout.resume();
      if (exited && ready.length > 0 && infos.length === 0 && !torn) {
        // stdout delivered a frame stderr never described: should not happen; say so.
        ready.length = 0;
        readyAt.length = 0;
        errorLines.push('[error] frame without showinfo line');
      }
      maybeFinish();
    };

    proc.stdout.on('data', (chunk: Buffer) => {
      if (torn) return;
      if (frameSize === 0) {
        pendingChunks.push(chunk);
        return;
      }
      consume(chunk);
      // A live source keeps reading whatever the graph does (drops happen in drain, counted).
      if (ready.length >= 2 && o.kind === 'file') proc.stdout.pause();
      void drain();
    });

    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (text: string) => {
      for (const line of stderrLines.push(text)) handleStderrLine(line);
    });

    const handleStderrLine = (line: string) => {
      const info = parseShowinfo(line);
      if (info && info.filter === sourceIndex) {
        sourceSizes.push({ width: info.width, height: info.height });
        return;
      }
      if (info) {
        if (sourceIndex !== null) {
          const source = sourceSizes.shift();
          if (!source) errorLines.push('[error] scaled frame without a source showinfo line');
          else info.source = source;
        }
        if (frameSize === 0) {
          frameSize = info.width * info.height * 3;
          for (const c of pendingChunks.splice(0)) consume(c);
          if (ready.length >= 2 && o.kind === 'file') proc.stdout.pause();
        }
        infos.push(info);
        void drain();
        return;
      }
      if (isErrorLine(line)) {
        // `-hwaccel auto` reports each method it could not set up, then falls back: not an error of the stream.
        if (o.hwaccel?.hwaccel === 'auto' && isHwaccelProbeMessage(line)) {
          deps.logger.debug({ stream: o.stream_id }, `ffmpeg (hwaccel auto probing): ${cleanErrorLine(line)}`);
          return;
        }
        // After a seek, or before the first frame of a stream that starts mid-GOP, missing references are expected.
        if (isPostSeekMessage(line) && (seeking || infos.length + decoded === 0)) {
          deps.logger.debug(
            { stream: o.stream_id },
            `ffmpeg (expected when decoding starts mid-stream): ${cleanErrorLine(line)}`,
          );
          return;
        }
        errorLines.push(line);
        deps.logger.debug({ stream: o.stream_id }, `ffmpeg: ${cleanErrorLine(line)}`);
      }
    };

    proc.on('error', (err) =>
      fail(new VidflowError('FFMPEG_NOT_FOUND', `cannot run ffmpeg at ${ffmpeg.path}: ${err.message}`, { cause: err })),
    );
    proc.on('close', (code, signal) => {
      for (const line of stderrLines.end()) handleStderrLine(line);
      exited = true;
      exitCode = code;
      exitSignal = signal;
      if (filled > 0 && !torn) errorLines.push(`[error] stream ended inside a frame (${filled} of ${frameSize} bytes)`);
      void drain();
    });

    return () => {
      torn = true;
      if (!exited) {
        proc.stdout.destroy();
        proc.kill('SIGKILL');
      }
    };
  });
}
