/**
 * `camera` source: a live stream (rtsp://, rtsps://, http(s)://, udp://, tcp://, srt://) decoded
 * by ffmpeg. Never builds a backlog: when the pipeline is busy the newest decoded frame is
 * dropped (counted as `dropped.<id>.live_busy`), so latency stays bounded by `max_in_flight`.
 * A lost camera reconnects with exponential backoff; credentials never reach the logs.
 */
import { Observable, defer, timer, concat, ignoreElements } from 'rxjs';
import { z } from 'zod';
import type { ComponentContext, Source, SourceSpec } from '../core/component.js';
import type { FlowGate } from '../core/flow-gate.js';
import type { Frame } from '../core/frame.js';
import { redactUrl } from '../core/logger.js';
import { decodeFrames } from './ffmpeg/decoder.js';
import { probeVideo } from './ffmpeg/probe.js';

export const cameraSourceSchema = z
  .object({
    type: z.literal('camera'),
    id: z.string().min(1).describe('Stream id carried by every frame and result.'),
    url: z
      .string()
      .regex(/^(rtsps?|https?|udp|tcp|srt|rtmp):\/\//i, 'expected a URL starting with rtsp://, rtsps://, http(s)://, udp://, tcp://, srt:// or rtmp://')
      .describe('Stream URL. Put credentials in environment variables: `rtsp://${CAM_USER}:${CAM_PASS}@host/stream`.'),
    fps: z.number().positive().nullable().default(null).describe('Keep at most this many frames per second (null: every frame).'),
    max_in_flight: z.number().int().min(1).max(64).default(2).describe('Frames between decoder and sinks at most; newer frames are dropped beyond it.'),
    rtsp_transport: z.enum(['tcp', 'udp']).default('tcp').describe('RTSP transport.'),
    reconnect: z.boolean().default(true).describe('Reconnect when the stream ends or fails.'),
    reconnect_initial_ms: z.number().int().min(10).default(500).describe('First reconnect delay; doubles up to reconnect_max_ms.'),
    reconnect_max_ms: z.number().int().min(10).default(30_000).describe('Longest delay between reconnects.'),
    max_reconnects: z.number().int().min(0).nullable().default(null).describe('Give up after this many reconnects in a row (null: never).'),
    connect_timeout_ms: z.number().int().min(100).default(10_000).describe('Probe timeout when connecting.'),
  })
  .strict();
export type CameraSourceConfig = z.infer<typeof cameraSourceSchema>;

export class CameraSource implements Source {
  readonly kind = 'live' as const;
  readonly id: string;
  constructor(
    private readonly config: CameraSourceConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.id = config.id;
  }

  private inputOptions(): string[] {
    const c = this.config;
    const opts = ['-fflags', 'nobuffer', '-flags', 'low_delay'];
    if (/^rtsps?:/i.test(c.url)) opts.push('-rtsp_transport', c.rtsp_transport);
    return opts;
  }

  frames(gate: FlowGate): Observable<Frame> {
    const c = this.config;
    const label = redactUrl(c.url);
    let baseIndex = 0;
    let nextIndex = 0;
    let ptsOffset = 0;
    let lastPts = 0;
    let failures = 0;
    const connectOnce = (): Observable<Frame> =>
      defer(async () => probeVideo(c.url, { label, timeout_ms: c.connect_timeout_ms, input_options: this.inputOptions() })).pipe((probe$) =>
        new Observable<Frame>((sub) => {
          let inner: { unsubscribe(): void } | null = null;
          const outer = probe$.subscribe({
            next: (info) => {
              this.ctx.logger.info({ stream: c.id }, `Connected to \`${c.id}\` (${label}): ${info.width}x${info.height} ${info.codec}.`);
              failures = 0;
              let first = true;
              inner = decodeFrames(
                { input: c.url, label, stream_id: c.id, fps: c.fps, start: null, end: null, start_time: info.start_time, kind: 'live', input_options: this.inputOptions(), pts_offset: 0, index_offset: 0, stream_index: info.stream_index, realtime: false },
                { gate, logger: this.ctx.logger, metrics: this.ctx.metrics },
              ).subscribe({
                next: (f) => {
                  // Keep pts monotonic across reconnects.
                  if (first) {
                    ptsOffset = nextIndex === 0 ? -f.pts : lastPts - f.pts + 1 / Math.max(1, info.fps || 25);
                    baseIndex = nextIndex;
                    first = false;
                  }
                  lastPts = f.pts + ptsOffset;
                  nextIndex = baseIndex + f.index + 1;
                  sub.next({ ...f, index: baseIndex + f.index, pts: +lastPts.toFixed(6) });
                },
                error: (e) => sub.error(e),
                complete: () => sub.complete(),
              });
            },
            error: (e) => sub.error(e),
          });
          return () => {
            outer.unsubscribe();
            inner?.unsubscribe();
          };
        }),
      );
    const loop = (): Observable<Frame> =>
      new Observable<Frame>((sub) => {
        const s = connectOnce().subscribe({
          next: (f) => sub.next(f),
          error: (err: Error) => retry(err),
          complete: () => retry(null),
        });
        let next: { unsubscribe(): void } | null = null;
        const retry = (err: Error | null) => {
          if (!c.reconnect) return err ? sub.error(err) : sub.complete();
          failures += 1;
          this.ctx.metrics.inc(`reconnects.${c.id}`);
          if (c.max_reconnects !== null && failures > c.max_reconnects) return err ? sub.error(err) : sub.complete();
          const delay = Math.min(c.reconnect_max_ms, c.reconnect_initial_ms * 2 ** Math.min(failures - 1, 16));
          this.ctx.logger.warn({ stream: c.id }, `Stream \`${c.id}\` (${label}) ${err ? `failed: ${err.message}` : 'ended'}; reconnecting in ${delay} ms.`);
          next = concat(timer(delay).pipe(ignoreElements()), loop()).subscribe(sub);
        };
        return () => {
          s.unsubscribe();
          next?.unsubscribe();
        };
      });
    return loop();
  }
}

export const cameraSourceSpec: SourceSpec<CameraSourceConfig> = {
  type: 'camera',
  summary: 'A live camera or network stream (RTSP/HTTP/UDP/…); drops frames rather than fall behind, reconnects when lost.',
  schema: cameraSourceSchema,
  example: { type: 'camera', id: 'door', url: 'rtsp://${CAM_USER}:${CAM_PASS}@192.0.2.10:554/stream1', fps: 5 },
  create: async (config, ctx) => new CameraSource(config, ctx),
};
