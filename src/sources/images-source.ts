/**
 * `images` source: a folder (or a glob) of JPEG/PNG/WebP photos, one frame per image, each
 * decoded by its own short ffmpeg run (image2 demuxer, first frame only), emitted in sorted order
 * with the file's absolute path as `source_path`. A file-like source: it never drops, it waits for
 * a flow-gate credit. Up to `decode_ahead` images are decoded in parallel, each holding one of the
 * `max_in_flight` credits from the start of its decode, so memory stays bounded.
 *
 * `watch: true` keeps listing the folder every `poll_interval_ms` and reads new files once their
 * last modification is `settle_ms` old (a file still being written keeps changing its mtime and
 * waits; a file renamed in keeps the mtime of its writing, so one written earlier is read at the
 * next listing). Empty files wait
 * too. A file is read once, under its path; later changes to it are not read again.
 *
 * An unreadable image (corrupt, truncated, not an image, vanished) is, by default, skipped: a
 * warning naming the config path and the file, counted as `dropped.<id>.unreadable` (its index is
 * left as a gap). `on_unreadable: fail` ends the stream with SOURCE_DECODE instead (results so far
 * are flushed, the run exits 1).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { Observable, type Subscription } from 'rxjs';
import { z } from 'zod';
import type { ComponentContext, Source, SourceSpec } from '../core/component.js';
import { VidflowError } from '../core/errors.js';
import { FlowGate } from '../core/flow-gate.js';
import type { Frame } from '../core/frame.js';
import { decodeFrames } from './ffmpeg/decoder.js';
import { sortPaths } from '../core/glob.js';
import { emptyReason, imageSet, type ImageSet } from './image-files.js';

export const imagesSourceSchema = z
  .object({
    type: z.literal('images'),
    id: z.string().min(1).describe('Stream id carried by every frame and result.'),
    path: z
      .string()
      .min(1)
      .describe(
        'A folder (its .jpg, .jpeg, .png and .webp files, not its sub-folders) or a glob such as `photos/**/*.jpg` ' +
          '(`*`, `?`, `**`, `{a,b}`, `[abc]`), relative to the pipeline file. Images are read in code-unit order of ' +
          'their absolute paths; hidden files are ignored.',
      ),
    watch: z
      .boolean()
      .default(false)
      .describe(
        'Keep running and read images added later (see `settle_ms`); an empty folder is then allowed at start. Stop ' +
          'with Ctrl-C.',
      ),
    settle_ms: z
      .number()
      .int()
      .min(0)
      .default(1000)
      .describe(
        'With `watch`: a file is read once its last modification is at least this old, so a file still being written ' +
          'waits; a file renamed into the folder (write elsewhere, then `mv`) keeps the time it was written, so it ' +
          'is ' +
          'read at the next listing when that is already this old. Empty files wait.',
      ),
    poll_interval_ms: z.number().int().min(50).default(500).describe('With `watch`: how often the folder is listed.'),
    decode_ahead: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(2)
      .describe(
        'Images decoded in parallel ahead of the one being emitted (one ffmpeg each); each holds one of the ' +
          '`max_in_flight` credits.',
      ),
    max_in_flight: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(8)
      .describe(
        'Images of this source between decoder and sinks at most (decoding ones included); decoding waits beyond it, ' +
          'nothing is dropped.',
      ),
    on_unreadable: z
      .enum(['skip', 'fail'])
      .default('skip')
      .describe(
        'An image ffmpeg cannot decode: `skip` logs a warning and counts it (`dropped.<id>.unreadable`, its index ' +
          'left as a gap); `fail` ends the stream with SOURCE_DECODE and the run exits 1.',
      ),
  })
  .strict();

export type ImagesSourceConfig = z.infer<typeof imagesSourceSchema>;

export interface ImagesSourceOptions extends Omit<ImagesSourceConfig, 'type' | 'path'> {
  set: ImageSet;
  /** Files listed at start (sorted); watch mode lists again itself. */
  initial: string[];
}

/** Decodes one image file into one frame (its first frame), or resolves with the error. */
function decodeImage(
  file: string,
  stream_id: string,
  ctx: ComponentContext,
): { result: Promise<{ frame: Frame | null; error: Error | null }>; cancel(): void } {
  let sub: Subscription | null = null;
  let settle: ((v: { frame: Frame | null; error: Error | null }) => void) | null = null;
  const result = new Promise<{ frame: Frame | null; error: Error | null }>((resolve) => {
    settle = resolve;
    let st: ReturnType<typeof statSync> | null = null;
    try {
      st = statSync(file);
    } catch {
      return resolve({ frame: null, error: new Error('the file is gone (removed after it was listed)') });
    }
    if (st.size === 0) return resolve({ frame: null, error: new Error('empty file (0 bytes)') });
    let frame: Frame | null = null;
    sub = decodeFrames(
      {
        input: file,
        label: path.basename(file),
        stream_id,
        fps: null,
        start: null,
        end: null,
        start_time: 0,
        kind: 'file',
        // image2 reads exactly this file (no `%d` sequence or glob expansion of its name).
        input_options: ['-f', 'image2', '-pattern_type', 'none'],
        pts_offset: 0,
        index_offset: 0,
        stream_index: null,
        realtime: false,
        max_frames: 1,
      },
      // A private gate: the source's own credit was taken before the decode started.
      { gate: new FlowGate(1), logger: ctx.logger, metrics: ctx.metrics },
    ).subscribe({
      next: (f) => (frame ??= f),
      error: (e: Error) => resolve({ frame, error: e }),
      complete: () =>
        resolve(frame ? { frame, error: null } : { frame: null, error: new Error('ffmpeg decoded no frame') }),
    });
  });
  return {
    result,
    cancel: () => {
      (sub as Subscription | null)?.unsubscribe();
      settle?.({ frame: null, error: new Error('cancelled') });
    },
  };
}

/** The decoder's message without the stream-id prefix it starts with. */
function reasonOf(err: Error, stream_id: string): string {
  const m = err.message.replace(/\s*\n\s*/g, ' ');
  return m.startsWith(`${stream_id}: `) ? m.slice(stream_id.length + 2) : m;
}

export class ImagesSource implements Source {
  readonly kind = 'file' as const;
  readonly id: string;
  readonly maxInFlight: number;
  constructor(
    private readonly options: ImagesSourceOptions,
    private readonly ctx: ComponentContext,
  ) {
    this.id = options.id;
    this.maxInFlight = options.max_in_flight;
  }

  frames(gate: FlowGate): Observable<Frame> {
    const o = this.options;
    const ctx = this.ctx;
    const where = `${ctx.configPath}.path`;
    return new Observable<Frame>((sub) => {
      let closed = false;
      const queue: string[] = o.watch ? [] : [...o.initial];
      const seen = new Set<string>();
      const waiting = new Set<string>();
      let wake: (() => void) | null = null;
      let timer: NodeJS.Timeout | null = null;
      let nextIndex = 0;
      const inflight: Array<{ file: string; index: number; decode: ReturnType<typeof decodeImage> }> = [];

      /** Watch mode: lists the set and queues the files that have settled, sorted. */
      const scan = () => {
        if (closed) return;
        const now = Date.now();
        const ready: string[] = [];
        let files: string[] = [];
        try {
          files = o.set.list();
        } catch (e) {
          ctx.logger.warn({ stream: o.id }, `${where}: cannot list ${o.set.pattern}: ${(e as Error).message}`);
        }
        for (const f of files) {
          if (seen.has(f)) continue;
          let size = 0;
          let mtime = 0;
          try {
            const st = statSync(f);
            size = st.size;
            mtime = st.mtimeMs;
          } catch {
            continue; // gone again
          }
          if (size === 0 || now - mtime < o.settle_ms) {
            if (!waiting.has(f)) {
              waiting.add(f);
              ctx.logger.debug(
                { stream: o.id, file: f },
                `Waiting for \`${f}\` to settle (${size} bytes, modified ${Math.max(0, Math.round(now - mtime))} ms ` +
                  `ago).`,
              );
            }
            continue;
          }
          waiting.delete(f);
          seen.add(f);
          ready.push(f);
        }
        if (ready.length > 0) {
          queue.push(...sortPaths(ready));
          ctx.logger.debug(
            { stream: o.id, files: ready.length },
            `Found ${ready.length} new image(s) for \`${o.id}\`.`,
          );
          const w = wake;
          wake = null;
          w?.();
        }
      };

      const start = () => {
        const file = queue.shift()!;
        inflight.push({ file, index: nextIndex++, decode: decodeImage(file, o.id, ctx) });
      };

      const loop = async () => {
        while (!closed) {
          while (inflight.length < o.decode_ahead && queue.length > 0 && gate.tryAcquire()) start();
          if (inflight.length === 0) {
            if (queue.length > 0) {
              await gate.acquire();
              if (closed) {
                gate.release();
                return;
              }
              start();
              continue;
            }
            if (!o.watch) {
              sub.complete();
              return;
            }
            await new Promise<void>((r) => (wake = r));
            continue;
          }
          const head = inflight[0]!;
          const { frame, error } = await head.decode.result;
          if (closed) return;
          inflight.shift();
          if (error === null && frame !== null) {
            sub.next({
              ...frame,
              index: head.index,
              pts: head.index,
              decoded_at_ms: Date.now(),
              source_path: head.file,
            });
            continue;
          }
          gate.release();
          // A frame that arrived before the error was already counted as decoded.
          if (frame === null) ctx.metrics.inc(`frames.decoded.${o.id}`);
          const line = `${where}: ${head.file}: unreadable image: ${reasonOf(error ?? new Error('no frame'), o.id)}`;
          if (o.on_unreadable === 'fail') {
            closed = true;
            sub.error(new VidflowError('SOURCE_DECODE', `${line} (on_unreadable: fail)`, { where }));
            return;
          }
          ctx.metrics.drop(o.id, 'unreadable');
          ctx.logger.warn({ stream: o.id, file: head.file }, `${line}; skipped (on_unreadable: skip)`);
        }
      };

      if (o.watch) {
        scan();
        timer = setInterval(scan, o.poll_interval_ms);
        ctx.logger.info(
          { stream: o.id },
          `Watching ${o.set.pattern} for images (\`${o.id}\`): ${queue.length} now, new files once ${o.settle_ms} ms ` +
            `old.`,
        );
      }
      loop().catch((e: Error) => {
        if (!closed) sub.error(e);
      });

      return () => {
        closed = true;
        if (timer) clearInterval(timer);
        for (const it of inflight.splice(0)) {
          it.decode.cancel();
          gate.release();
        }
        const w = wake;
        wake = null;
        w?.();
      };
    });
  }
}

function resolveSet(config: Pick<ImagesSourceConfig, 'path'>, ctx: ComponentContext): ImageSet {
  const resolved = path.resolve(ctx.baseDir, config.path);
  try {
    return imageSet(resolved);
  } catch (e) {
    throw new VidflowError('SOURCE_NOT_FOUND', `${ctx.configPath}.path: ${resolved}: ${(e as Error).message}`, {
      where: `${ctx.configPath}.path`,
    });
  }
}

/** Lists the images now; throws SOURCE_NOT_FOUND (naming the config path) when none and not watching. */
function listOrThrow(
  config: Pick<ImagesSourceConfig, 'path' | 'watch'>,
  ctx: ComponentContext,
): { set: ImageSet; files: string[] } {
  const set = resolveSet(config, ctx);
  const files = set.list();
  if (files.length === 0 && !config.watch) {
    throw new VidflowError('SOURCE_NOT_FOUND', `${ctx.configPath}.path: ${set.pattern}: ${emptyReason(set)}`, {
      where: `${ctx.configPath}.path`,
    });
  }
  return { set, files };
}

export async function createImagesSource(config: ImagesSourceConfig, ctx: ComponentContext): Promise<ImagesSource> {
  const { set, files } = listOrThrow(config, ctx);
  const { type: _type, path: _path, ...rest } = config;
  ctx.logger.debug(
    { stream: config.id, images: files.length },
    `Found ${files.length} image(s) for \`${config.id}\` in ${set.pattern}.`,
  );
  return new ImagesSource({ ...rest, set, initial: files }, ctx);
}

export const imagesSourceSpec: SourceSpec<ImagesSourceConfig> = {
  type: 'images',
  summary:
    'A folder or glob of JPEG/PNG/WebP images, one frame each in sorted order with its `source_path`; never drops; ' +
    'can watch for new files.',
  schema: imagesSourceSchema,
  example: { type: 'images', id: 'photos', path: 'photos/' },
  /** validate: the folder (or the glob's base folder) exists and, unless watching, holds at least one image. Reads
   * no image. */
  async check(config, ctx) {
    listOrThrow(config, ctx);
  },
  create: (config, ctx) => createImagesSource(config, ctx),
};
