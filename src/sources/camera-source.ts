/**
 * `camera` source: a live stream (rtsp://, rtsps://, http(s)://, udp://, tcp://, srt://) decoded
 * by ffmpeg. Never builds a backlog: ffmpeg's output is read continuously, and a frame is dropped
 * where it arrives when the pipeline is busy (`dropped.<id>.live_busy`) or when it is already
 * older than `latency_budget_ms` (`dropped.<id>.late_read`); every frame carries `deadline_ms`
 * so a stage drops it (`stale`) rather than process it late. A stream that ends, fails or stalls
 * (socket timeout, or no frame for `stall_timeout_ms`) reconnects with capped exponential
 * backoff with jitter; health changes (connecting, live, stalled, reconnecting, failed) are
 * logged and emitted on `health$`. Credentials never reach the logs.
 */
import { Observable, Subject } from 'rxjs';
import { z } from 'zod';
import type { ComponentContext, Source, SourceSpec } from '../core/component.js';
import { VidflowError } from '../core/errors.js';
import type { FlowGate } from '../core/flow-gate.js';
import type { Frame } from '../core/frame.js';
import { redactUrl, registerUrlSecrets } from '../core/logger.js';
import type { StreamHealthEvent, StreamState } from '../core/result.js';
import { decodeSizeField, type AutoDecodeSizeSource, type DecodeSize } from './decode-size.js';
import { hwaccelFields } from './hwaccel.js';
import { decodeFrames } from './ffmpeg/decoder.js';
import { probeVideo } from './ffmpeg/probe.js';

export const cameraSourceSchema = z
  .object({
    type: z.literal('camera'),
    id: z.string().min(1).describe('Stream id carried by every frame and result.'),
    url: z
      .string()
      .regex(
        /^(rtsps?|https?|udp|tcp|srt|rtmp):\/\//i,
        'expected a URL starting with rtsp://, rtsps://, http(s)://, udp://, tcp://, srt:// or rtmp://',
      )
      .describe('Stream URL. Put credentials in environment variables: `rtsp://${CAM_USER}:${CAM_PASS}@host/stream`.'),
    fps: z
      .number()
      .positive()
      .nullable()
      .default(null)
      .describe('Keep at most this many frames per second (null: every frame).'),
    max_in_flight: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(2)
      .describe('Frames between decoder and sinks at most; newer frames are dropped beyond it.'),
    latency_budget_ms: z
      .number()
      .int()
      .min(50)
      .default(1000)
      .describe(
        'Oldest a frame may be (capture → result) and still be processed: a frame older than this when read is ' +
          'dropped as `late_read`; a stage drops a frame whose result it expects after the budget (now + its recent ' +
          'batch time) as `stale`.',
      ),
    rtsp_transport: z.enum(['tcp', 'udp']).default('tcp').describe('RTSP transport.'),
    reconnect: z.boolean().default(true).describe('Reconnect when the stream ends, fails or stalls.'),
    reconnect_initial_ms: z
      .number()
      .int()
      .min(10)
      .default(500)
      .describe(
        'First reconnect delay; doubles per failure in a row up to reconnect_max_ms, each delay drawn in [50 %, 100 ' +
          '%] of that (jitter).',
      ),
    reconnect_max_ms: z.number().int().min(10).default(30_000).describe('Longest delay between reconnects.'),
    reconnect_reset_ms: z
      .number()
      .int()
      .min(100)
      .default(10_000)
      .describe('A connection that has delivered frames this long resets the backoff to reconnect_initial_ms.'),
    max_reconnects: z
      .number()
      .int()
      .min(0)
      .nullable()
      .default(null)
      .describe('Give up after this many reconnects in a row (null: never).'),
    connect_timeout_ms: z
      .number()
      .int()
      .min(100)
      .default(10_000)
      .describe(
        "Probe timeout when connecting; also ffmpeg's socket I/O timeout (`-timeout` for RTSP, `-rw_timeout` " +
          'otherwise).',
      ),
    stall_timeout_ms: z
      .number()
      .int()
      .min(100)
      .default(5000)
      .describe(
        'No frame read from ffmpeg for this long (connection open but silent) counts as a stall: the stream ' +
          'reconnects.',
      ),
    decode_size: decodeSizeField,
    ...hwaccelFields,
  })
  .strict();
export type CameraSourceConfig = z.infer<typeof cameraSourceSchema>;

/** Delay before reconnect number `attempt` (1-based, failures in a row): capped doubling, scaled by a jitter draw in
 * [1 − jitter, 1]. */
export function backoffDelay(
  attempt: number,
  o: { initial_ms: number; max_ms: number; jitter?: number },
  random: () => number = Math.random,
): number {
  const capped = Math.min(o.max_ms, o.initial_ms * 2 ** Math.min(Math.max(attempt, 1) - 1, 30));
  const jitter = o.jitter ?? 0.5;
  return Math.round(capped * (1 - jitter * random()));
}

/** ffmpeg input options for a camera URL: low-delay flags, RTSP transport, socket I/O timeouts. */
export function cameraInputOptions(
  c: Pick<CameraSourceConfig, 'url' | 'rtsp_transport' | 'connect_timeout_ms'>,
): string[] {
  const opts = ['-fflags', 'nobuffer', '-flags', 'low_delay'];
  const us = String(c.connect_timeout_ms * 1000);
  if (/^rtsps?:/i.test(c.url)) opts.push('-rtsp_transport', c.rtsp_transport, '-timeout', us);
  else if (!/^udp:/i.test(c.url)) opts.push('-rw_timeout', us);
  // udp: no socket timeout option that is safe for a listener; the no-frame watchdog covers it.
  return opts;
}

export class CameraSource implements Source, AutoDecodeSizeSource {
  readonly kind = 'live' as const;
  readonly id: string;
  readonly maxInFlight: number;
  /** A camera's size is known only once connected: `decode_size: auto` is chosen without it. */
  readonly knownFrameSize = null;
  /** `decode_size: auto`: the size the runtime chose (null until then: the camera's size). */
  private autoSize: DecodeSize | null = null;
  private readonly healthSubject = new Subject<StreamHealthEvent>();
  readonly health$: Observable<StreamHealthEvent> = this.healthSubject.asObservable();
  private state: StreamState | null = null;
  private reconnects = 0;

  constructor(
    private readonly config: CameraSourceConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.id = config.id;
    this.maxInFlight = config.max_in_flight;
    registerUrlSecrets(config.url);
  }

  get decodeSizeAuto(): boolean {
    return this.config.decode_size === 'auto';
  }

  applyDecodeSize(size: DecodeSize | null): void {
    this.autoSize = size;
  }

  /** Current health state (null before `frames` is subscribed). */
  get health(): { state: StreamState | null; reconnects: number } {
    return { state: this.state, reconnects: this.reconnects };
  }

  private setState(state: StreamState, reason: string | null): void {
    if (state === this.state) return;
    const e: StreamHealthEvent = {
      stream_id: this.id,
      state,
      previous: this.state,
      reconnects: this.reconnects,
      reason,
      at_ms: Date.now(),
    };
    this.state = state;
    this.ctx.metrics.inc(`health.${this.id}.${state}`);
    const line = `Stream \`${this.id}\` is ${state}${reason ? `: ${reason}` : ''} (${this.reconnects} reconnects).`;
    if (state === 'live' || state === 'connecting')
      this.ctx.logger.info({ stream: this.id, state, reconnects: this.reconnects }, line);
    else this.ctx.logger.warn({ stream: this.id, state, reconnects: this.reconnects }, line);
    this.healthSubject.next(e);
  }

  frames(gate: FlowGate): Observable<Frame> {
    const c = this.config;
    const label = redactUrl(c.url);
    const inputOptions = cameraInputOptions(c);
    let baseIndex = 0;
    let nextIndex = 0;
    let ptsOffset = 0;
    let lastPts = 0;
    let failures = 0;

    /** One connection: probe, decode, watch for silence. Errors on failure or stall, completes when the stream ends. */
    const connectOnce = (): Observable<Frame> =>
      new Observable<Frame>((sub) => {
        let closed = false;
        let decoding: { unsubscribe(): void } | null = null;
        let watchdog: NodeJS.Timeout | null = null;
        let lastArrival = 0;
        let firstArrival = 0;
        const stop = () => {
          closed = true;
          if (watchdog) clearInterval(watchdog);
          decoding?.unsubscribe();
        };
        probeVideo(c.url, { label, timeout_ms: c.connect_timeout_ms, input_options: inputOptions }).then(
          (info) => {
            if (closed) return;
            this.ctx.logger.info(
              { stream: c.id },
              `Connected to \`${c.id}\` (${label}): ${info.width}x${info.height} ${info.codec}.`,
            );
            let first = true;
            lastArrival = Date.now();
            watchdog = setInterval(
              () => {
                // Before the first frame the connection gets connect_timeout_ms (a decoder waits for a keyframe).
                const limit =
                  firstArrival === 0 ? Math.max(c.stall_timeout_ms, c.connect_timeout_ms) : c.stall_timeout_ms;
                if (closed || Date.now() - lastArrival < limit) return;
                const silent = Date.now() - lastArrival;
                this.setState('stalled', `no frame from ${label} for ${silent} ms`);
                stop();
                sub.error(
                  new VidflowError('SOURCE_DECODE', `${c.id}: ${label} stalled: no frame for ${silent} ms`, {
                    where: c.id,
                  }),
                );
              },
              Math.max(50, Math.min(1000, Math.floor(c.stall_timeout_ms / 4))),
            );
            watchdog.unref?.();
            decoding = decodeFrames(
              {
                input: c.url,
                label,
                stream_id: c.id,
                fps: c.fps,
                start: null,
                end: null,
                start_time: info.start_time,
                kind: 'live',
                input_options: inputOptions,
                pts_offset: 0,
                index_offset: 0,
                stream_index: info.stream_index,
                realtime: false,
                latency_budget_ms: c.latency_budget_ms,
                decode_size: c.decode_size === 'auto' ? this.autoSize : c.decode_size,
                hwaccel: { hwaccel: c.hwaccel, hwaccel_device: c.hwaccel_device },
              },
              {
                gate,
                logger: this.ctx.logger,
                metrics: this.ctx.metrics,
                onArrival: () => {
                  lastArrival = Date.now();
                  if (firstArrival === 0) {
                    firstArrival = lastArrival;
                    this.setState('live', null);
                  } else if (failures > 0 && lastArrival - firstArrival >= c.reconnect_reset_ms) failures = 0;
                },
              },
            ).subscribe({
              next: (f) => {
                // Keep index and pts monotonic across reconnects.
                if (first) {
                  ptsOffset = nextIndex === 0 ? -f.pts : lastPts - f.pts + 1 / Math.max(1, info.fps || 25);
                  baseIndex = nextIndex;
                  first = false;
                }
                lastPts = f.pts + ptsOffset;
                nextIndex = baseIndex + f.index + 1;
                sub.next({ ...f, index: baseIndex + f.index, pts: +lastPts.toFixed(6) });
              },
              error: (e) => {
                stop();
                sub.error(e);
              },
              complete: () => {
                stop();
                sub.complete();
              },
            });
          },
          (e: unknown) => {
            if (!closed) sub.error(e);
          },
        );
        return stop;
      });

    const loop = (): Observable<Frame> =>
      new Observable<Frame>((sub) => {
        let current: { unsubscribe(): void } | null = null;
        let timer: NodeJS.Timeout | null = null;
        let done = false;
        const attempt = () => {
          current = connectOnce().subscribe({
            next: (f) => sub.next(f),
            error: (err: Error) => retry(err),
            complete: () => retry(null),
          });
        };
        const giveUp = (err: Error | null) => {
          done = true;
          this.setState('failed', err ? err.message : 'stream ended');
          if (err) sub.error(err);
          else sub.complete();
        };
        const retry = (err: Error | null) => {
          if (done) return;
          if (!c.reconnect) return giveUp(err);
          failures += 1;
          if (c.max_reconnects !== null && failures > c.max_reconnects) return giveUp(err);
          this.reconnects += 1;
          this.ctx.metrics.inc(`reconnects.${c.id}`);
          const delay = backoffDelay(failures, { initial_ms: c.reconnect_initial_ms, max_ms: c.reconnect_max_ms });
          this.setState('reconnecting', `${err ? `failed: ${err.message}` : 'ended'}; retrying in ${delay} ms`);
          timer = setTimeout(attempt, delay);
        };
        this.setState(this.state === null ? 'connecting' : 'reconnecting', null);
        attempt();
        return () => {
          done = true;
          if (timer) clearTimeout(timer);
          current?.unsubscribe();
          this.healthSubject.complete();
        };
      });
    return loop();
  }
}

export const cameraSourceSpec: SourceSpec<CameraSourceConfig> = {
  type: 'camera',
  summary:
    'A live camera or network stream (RTSP/HTTP/UDP/…); drops frames rather than fall behind, reconnects when lost ' +
    'or ' +
    'stalled.',
  schema: cameraSourceSchema,
  example: { type: 'camera', id: 'door', url: 'rtsp://${CAM_USER}:${CAM_PASS}@192.0.2.10:554/stream1', fps: 5 },
  /** validate --deep: really opens the stream once (ffprobe, connect_timeout_ms); errors show the redacted URL. */
  async check(config, ctx) {
    if (!ctx.deep) return;
    registerUrlSecrets(config.url);
    await probeVideo(config.url, {
      label: `${ctx.configPath}.url: ${redactUrl(config.url)}`,
      timeout_ms: config.connect_timeout_ms,
      input_options: cameraInputOptions(config),
    });
  },
  create: async (config, ctx) => new CameraSource(config, ctx),
};
