/**
 * `file` source: a video file decoded by ffmpeg into RGB frames. Never drops a frame and never
 * buffers without bound: when the stages are slower, ffmpeg's output is paused (flow gate).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { defer, concat, Observable, EMPTY } from 'rxjs';
import { z } from 'zod';
import type { ComponentContext, Source, SourceSpec } from '../core/component.js';
import type { FlowGate } from '../core/flow-gate.js';
import type { Frame } from '../core/frame.js';
import { VidflowError } from '../core/errors.js';
import { decodeSizeField, type AutoDecodeSizeSource, type DecodeSize } from './decode-size.js';
import { decodeFrames, seekMarginFor } from './ffmpeg/decoder.js';
import { hwaccelFields, type HwaccelOptions } from './hwaccel.js';
import { probeVideo, type VideoInfo } from './ffmpeg/probe.js';

export const fileSourceSchema = z
  .object({
    type: z.literal('file'),
    id: z.string().min(1).describe('Stream id carried by every frame and result.'),
    path: z.string().min(1).describe('Video file, relative to the pipeline file.'),
    fps: z
      .number()
      .positive()
      .nullable()
      .default(null)
      .describe('Sample at most this many frames per second of video time (null: every frame).'),
    start_secs: z.number().min(0).nullable().default(null).describe('Start decoding at this time (seconds).'),
    end_secs: z.number().positive().nullable().default(null).describe('Stop before this time (seconds).'),
    loop: z.boolean().default(false).describe('Start again at the end (pts and frame index keep increasing).'),
    max_in_flight: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(8)
      .describe('Frames of this source between decoder and sinks at most; ffmpeg is paused beyond it.'),
    realtime: z
      .boolean()
      .default(false)
      .describe('Read at the native frame rate (ffmpeg -re), to replay a file as if it were a camera.'),
    decode_size: decodeSizeField,
    ...hwaccelFields,
  })
  .strict()
  .refine((c) => c.end_secs === null || c.start_secs === null || c.end_secs > c.start_secs, {
    message: 'end_secs must be greater than start_secs',
    path: ['end_secs'],
  });

export type FileSourceConfig = z.infer<typeof fileSourceSchema>;

export interface FileSourceOptions
  extends Omit<FileSourceConfig, 'type' | 'decode_size' | 'hwaccel' | 'hwaccel_device'>,
    Partial<HwaccelOptions> {
  /** Absolute path. */
  path: string;
  /** Scale in ffmpeg's filter graph (absent or null: decode at the source's size; `auto`: see applyDecodeSize). */
  decode_size?: FileSourceConfig['decode_size'];
}

export class FileSource implements Source, AutoDecodeSizeSource {
  readonly kind = 'file' as const;
  readonly id: string;
  readonly maxInFlight: number;
  /** `decode_size: auto`: the size the runtime chose (null until then: the source's size). */
  private autoSize: DecodeSize | null = null;
  constructor(
    private readonly options: FileSourceOptions,
    readonly info: VideoInfo,
    private readonly ctx: ComponentContext,
  ) {
    this.id = options.id;
    this.maxInFlight = options.max_in_flight;
  }

  get decodeSizeAuto(): boolean {
    return this.options.decode_size === 'auto';
  }

  get knownFrameSize(): { width: number; height: number } {
    return { width: this.info.width, height: this.info.height };
  }

  applyDecodeSize(size: DecodeSize | null): void {
    this.autoSize = size;
  }

  frames(gate: FlowGate): Observable<Frame> {
    const o = this.options;
    const decodeSize = o.decode_size === 'auto' ? this.autoSize : (o.decode_size ?? null);
    const label = path.relative(process.cwd(), o.path) || o.path;
    const pass = (round: number, indexOffset: number): Observable<Frame> =>
      defer(() => {
        let emitted = 0;
        const span = Number.isFinite(this.info.duration) ? (o.end_secs ?? this.info.duration) - (o.start_secs ?? 0) : 0;
        const frames$ = decodeFrames(
          {
            input: o.path,
            label,
            stream_id: o.id,
            fps: o.fps,
            start: o.start_secs,
            seek_margin: seekMarginFor(this.info.format),
            end: o.end_secs,
            start_time: this.info.start_time,
            kind: 'file',
            input_options: [],
            pts_offset: round * span,
            index_offset: indexOffset,
            stream_index: this.info.stream_index,
            realtime: o.realtime,
            decode_size: decodeSize,
            hwaccel: { hwaccel: o.hwaccel ?? 'none', hwaccel_device: o.hwaccel_device ?? null },
          },
          { gate, logger: this.ctx.logger, metrics: this.ctx.metrics },
        );
        const counted = new Observable<Frame>((sub) =>
          frames$.subscribe({
            next: (f) => {
              emitted += 1;
              sub.next(f);
            },
            error: (e) => sub.error(e),
            complete: () => sub.complete(),
          }),
        );
        if (!o.loop) return counted;
        return concat(
          counted,
          defer(() => (emitted === 0 ? EMPTY : pass(round + 1, indexOffset + emitted))),
        );
      });
    return pass(0, 0);
  }
}

export async function createFileSource(options: FileSourceOptions, ctx: ComponentContext): Promise<FileSource> {
  const info = await probeVideo(options.path, { label: `${ctx.configPath}.path: ${options.path}` });
  ctx.logger.debug({ stream: options.id, info }, `Probed \`${options.id}\`.`);
  return new FileSource(options, info, ctx);
}

export const fileSourceSpec: SourceSpec<FileSourceConfig> = {
  type: 'file',
  summary: 'A video file decoded by ffmpeg; never drops frames, pauses ffmpeg when the pipeline is busy.',
  schema: fileSourceSchema,
  example: { type: 'file', id: 'lobby', path: 'videos/lobby.mp4', fps: 5 },
  /** validate: the file exists (always); with --deep, ffprobe reads it. */
  async check(config, ctx) {
    const file = path.resolve(ctx.baseDir, config.path);
    const label = `${ctx.configPath}.path: ${file}`;
    if (!ctx.deep) {
      if (!existsSync(file))
        throw new VidflowError('SOURCE_NOT_FOUND', `${label}: file does not exist`, {
          where: `${ctx.configPath}.path`,
        });
      if (statSync(file).isFile() && statSync(file).size === 0)
        throw new VidflowError('SOURCE_NOT_VIDEO', `${label}: empty file (0 bytes), expected a video file`, {
          where: `${ctx.configPath}.path`,
        });
      return;
    }
    await probeVideo(file, { label });
  },
  async create(config, ctx) {
    const { type: _type, ...rest } = config;
    return createFileSource({ ...rest, path: path.resolve(ctx.baseDir, config.path) }, ctx);
  },
};
