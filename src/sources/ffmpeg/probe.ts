/**
 * ffprobe wrapper: width, height, fps, duration, rotation, codec of the first video stream.
 * A crashing or hanging ffprobe becomes a clear SOURCE_PROBE error, never a hang.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { VidflowError } from '../../core/errors.js';
import { redactUrl } from '../../core/logger.js';
import { ffmpegBinaries } from './binaries.js';

export interface VideoInfo {
  /** Size of decoded frames after the rotation metadata is applied. */
  width: number;
  height: number;
  /** Size as coded, before rotation. */
  coded_width: number;
  coded_height: number;
  /** Rotation metadata in degrees (0, 90, 180, 270); ffmpeg applies it while decoding. */
  rotation: number;
  /** Average frame rate, frames per second (NaN when unknown). */
  fps: number;
  /** Seconds; NaN when unknown (live streams). */
  duration: number;
  /** Frames in the video stream as the container states them (ffprobe nb_frames); NaN when unknown. */
  nb_frames?: number;
  /** Container start time in seconds (subtracted from pts). */
  start_time: number;
  codec: string;
  pix_fmt: string;
  stream_index: number;
  has_audio: boolean;
  format: string;
}

function parseRate(rate: string | undefined): number {
  if (!rate) return Number.NaN;
  const [n, d] = rate.split('/').map(Number);
  if (n === undefined || !Number.isFinite(n)) return Number.NaN;
  if (d === undefined) return n;
  return d === 0 ? Number.NaN : n / d;
}

interface ProbeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  nb_frames?: string;
  tags?: Record<string, string>;
  side_data_list?: Array<{ rotation?: number | string }>;
  disposition?: Record<string, number>;
}

/** Rotation in degrees, normalised to 0/90/180/270. */
export function rotationOf(stream: ProbeStream): number {
  let deg = 0;
  const side = stream.side_data_list?.find((s) => s.rotation !== undefined);
  if (side) {
    // As ffprobe reports it; a ±90 either way swaps width and height, which is what matters here.
    deg = Number(side.rotation);
  } else if (stream.tags?.rotate) {
    deg = Number(stream.tags.rotate);
  }
  if (!Number.isFinite(deg)) return 0;
  return (((Math.round(deg / 90) * 90) % 360) + 360) % 360;
}

export interface ProbeOptions {
  /** What the error messages call this input (a redacted URL for cameras). */
  label?: string;
  timeout_ms?: number;
  /** Extra input options (e.g. `-rtsp_transport tcp`). */
  input_options?: string[];
}

export async function probeVideo(input: string, options: ProbeOptions = {}): Promise<VideoInfo> {
  const label = options.label ?? input;
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(input);
  if (!isUrl) {
    if (!existsSync(input)) throw new VidflowError('SOURCE_NOT_FOUND', `${label}: file does not exist`);
    if (statSync(input).isDirectory())
      throw new VidflowError('SOURCE_NOT_FOUND', `${label}: is a directory, expected a video file`);
    // ffprobe would say `moov atom not found` (MP4) or `Invalid data found` for a 0-byte file.
    if (statSync(input).size === 0)
      throw new VidflowError('SOURCE_NOT_VIDEO', `${label}: empty file (0 bytes), expected a video file`);
  }
  const { ffprobe } = ffmpegBinaries();
  const args = [
    '-v',
    'error',
    '-print_format',
    'json',
    '-show_format',
    '-show_streams',
    ...(options.input_options ?? []),
    input,
  ];
  const timeout = options.timeout_ms ?? 20_000;
  const { code, signal, stdout, stderr, timedOut } = await new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    timedOut: boolean;
  }>((resolve, reject) => {
    const proc = spawn(ffprobe.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill('SIGKILL');
    }, timeout);
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(new VidflowError('FFMPEG_NOT_FOUND', `cannot run ffprobe at ${ffprobe.path}: ${e.message}`, { cause: e }));
    });
    proc.on('close', (c, s) => {
      clearTimeout(timer);
      resolve({ code: c, signal: s, stdout: out, stderr: err, timedOut });
    });
  });
  if (timedOut)
    throw new VidflowError('SOURCE_PROBE', `${label}: ffprobe (${ffprobe.path}) did not answer within ${timeout} ms`);
  if (signal)
    throw new VidflowError(
      'SOURCE_PROBE',
      `${label}: ffprobe (${ffprobe.path}) crashed with ${signal}; set FFPROBE_PATH to a working ffprobe`,
    );
  // ffprobe repeats the input URL in its messages: strip credentials before they reach an error.
  const firstErr = redactUrl(
    stderr
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? '',
  );
  if (code !== 0) {
    if (isUrl)
      throw new VidflowError('SOURCE_CONNECT', `${label}: cannot open stream: ${firstErr || `ffprobe exit ${code}`}`);
    throw new VidflowError(
      'SOURCE_NOT_VIDEO',
      `${label}: not a readable video file (${firstErr || `ffprobe exit ${code}`})`,
    );
  }
  let parsed: { streams?: ProbeStream[]; format?: { duration?: string; start_time?: string; format_name?: string } };
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new VidflowError('SOURCE_PROBE', `${label}: ffprobe printed no readable JSON`);
  }
  const streams = parsed.streams ?? [];
  // The first real video stream; cover art (attached_pic) is not video.
  const video = streams.find(
    (s) => s.codec_type === 'video' && (s.width ?? 0) > 0 && s.disposition?.attached_pic !== 1,
  );
  if (!video?.width || !video.height) {
    const kinds = streams.map((s) => s.codec_type ?? 'unknown');
    if (kinds.length === 0) throw new VidflowError('SOURCE_NOT_VIDEO', `${label}: not a video file (no streams found)`);
    throw new VidflowError(
      'SOURCE_NO_VIDEO_STREAM',
      `${label}: has no video stream (found: ${kinds.join(', ')}); expected at least one video stream`,
    );
  }
  const rotation = rotationOf(video);
  const swap = rotation === 90 || rotation === 270;
  let fps = parseRate(video.avg_frame_rate);
  if (!Number.isFinite(fps) || fps <= 0) fps = parseRate(video.r_frame_rate);
  const duration = Number(parsed.format?.duration ?? video.duration ?? Number.NaN);
  const start = Number(parsed.format?.start_time ?? 0);
  return {
    width: swap ? video.height : video.width,
    height: swap ? video.width : video.height,
    coded_width: video.width,
    coded_height: video.height,
    rotation,
    fps,
    duration,
    nb_frames: Number(video.nb_frames ?? Number.NaN),
    start_time: Number.isFinite(start) ? start : 0,
    codec: video.codec_name ?? 'unknown',
    pix_fmt: video.pix_fmt ?? 'unknown',
    stream_index: video.index,
    has_audio: streams.some((s) => s.codec_type === 'audio'),
    format: parsed.format?.format_name ?? 'unknown',
  };
}
