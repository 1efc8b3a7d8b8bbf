/**
 * JPEG previews of decoded frames for sinks that show video (the WebSocket dashboard).
 * One long-lived ffmpeg per stream turns raw RGB frames into MJPEG (downscaled to `max_width`);
 * at most `fps` previews per second of wall time per stream, and at most one frame waiting in
 * an encoder: previews are best effort and never slow the pipeline.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { previewSchema, type PreviewOptions } from '../config/preview-options.js';
import type { Frame } from '../core/frame.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { PreviewFrame } from '../core/preview-frame.js';
import { ffmpegBinaries } from '../sources/ffmpeg/binaries.js';

export { previewSchema, type PreviewOptions };

type EncoderProcess = ChildProcessByStdio<Writable, Readable, null>;

class StreamEncoder {
  private proc: EncoderProcess | null = null;
  private pending: Array<Pick<Frame, 'stream_id' | 'index' | 'pts' | 'width' | 'height'>> = [];
  private chunks: Buffer[] = [];
  private closed = false;

  constructor(
    readonly width: number,
    readonly height: number,
    private readonly options: PreviewOptions,
    private readonly emit: (p: PreviewFrame) => void,
    private readonly logger: Logger,
  ) {}

  get busy(): boolean {
    return this.pending.length > 0;
  }

  private start(): EncoderProcess {
    const { ffmpeg } = ffmpegBinaries();
    const scale = this.width > this.options.max_width ? ['-vf', `scale=${this.options.max_width}:-2`] : [];
    const proc = spawn(
      ffmpeg.path,
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        '-s',
        `${this.width}x${this.height}`,
        '-i',
        'pipe:0',
        ...scale,
        '-f',
        'image2pipe',
        '-c:v',
        'mjpeg',
        '-threads',
        '1',
        '-q:v',
        String(this.options.quality),
        '-flush_packets',
        '1',
        'pipe:1',
      ],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    proc.stdin.on('error', () => undefined);
    proc.stdout.on('data', (d: Buffer) => this.onData(d));
    proc.on('close', () => {
      this.proc = null;
      this.pending = [];
    });
    proc.on('error', (e) => this.logger.debug(`Preview encoder failed: ${e.message}`));
    return proc;
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    let buf = Buffer.concat(this.chunks);
    // Each JPEG ends with FFD9 (EOI); MJPEG from ffmpeg carries no embedded thumbnails.
    // (-threads 1 and -flush_packets 1 make ffmpeg write each JPEG as soon as its frame is in.)
    for (;;) {
      const end = buf.indexOf(Buffer.from([0xff, 0xd9]));
      if (end < 0) break;
      const jpeg = buf.subarray(0, end + 2);
      buf = buf.subarray(end + 2);
      const meta = this.pending.shift();
      if (meta)
        this.emit({
          stream_id: meta.stream_id,
          index: meta.index,
          pts: meta.pts,
          width: meta.width,
          height: meta.height,
          jpeg: Buffer.from(jpeg),
        });
    }
    this.chunks = buf.length > 0 ? [buf] : [];
  }

  encode(frame: Frame): void {
    if (this.closed) return;
    if (!this.proc) this.proc = this.start();
    this.pending.push({
      stream_id: frame.stream_id,
      index: frame.index,
      pts: frame.pts,
      width: frame.width,
      height: frame.height,
    });
    this.proc.stdin.write(frame.data);
  }

  close(): void {
    this.closed = true;
    this.proc?.stdin.end();
    const p = this.proc;
    if (p) setTimeout(() => p.kill('SIGKILL'), 2000).unref();
  }
}

export class PreviewEncoder {
  private readonly encoders = new Map<string, StreamEncoder>();
  private readonly lastAt = new Map<string, number>();

  constructor(
    private readonly options: PreviewOptions,
    private readonly emit: (p: PreviewFrame) => void,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** Offers a frame; encodes it when the stream's rate allows and its encoder is idle. */
  offer(frame: Frame): void {
    const now = Date.now();
    const last = this.lastAt.get(frame.stream_id) ?? 0;
    if (now - last < 1000 / this.options.fps) return;
    let enc = this.encoders.get(frame.stream_id);
    if (enc && (enc.width !== frame.width || enc.height !== frame.height)) {
      enc.close();
      enc = undefined;
    }
    if (!enc) {
      enc = new StreamEncoder(frame.width, frame.height, this.options, this.emit, this.logger);
      this.encoders.set(frame.stream_id, enc);
    }
    if (enc.busy) {
      this.metrics.inc(`preview.skipped.${frame.stream_id}`);
      return;
    }
    this.lastAt.set(frame.stream_id, now);
    enc.encode(frame);
  }

  close(): void {
    for (const e of this.encoders.values()) e.close();
    this.encoders.clear();
  }
}
