/**
 * Role: the WebSocket sink itself (docs/sinks/websocket.md): the `Sink` contract (write,
 * writeFrame, flush, close, health, stats), wiring the parts of this folder together, and the
 * factories and component spec.
 *
 * One HTTP server (server.ts) serves the dashboard page (GET `/`) and accepts WebSocket clients
 * on `path` (default `/ws`). Every result record goes to every subscribed client as
 * `{type:'result', record}`; preview frames (`writeFrame`) go as binary messages
 * (connections.ts, protocol.ts). `write()` never waits on clients: each client has a bounded
 * queue, slow clients lose their oldest messages (counted as `client_slow` drops and announced
 * to them; client.ts), and ping/pong heartbeats terminate dead ones (heartbeat.ts).
 */
import type { SinkSpec } from '../../core/component.js';
import { VidflowError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ResultRecord } from '../../core/result.js';
import type { Sink, SinkContext, SinkHealth } from '../../core/sink.js';
import { type WebSocketSinkConfig, type WebSocketSinkInput, websocketSinkSchema } from './config.js';
import { Connections } from './connections.js';
import { newCounters, StreamHealth } from './health.js';
import { startHeartbeat } from './heartbeat.js';
import type { PreviewFrame } from './protocol.js';
import { hostForUrl, SinkServer } from './server.js';

export { decodeFrameMessage, encodeFrameMessage, type PreviewFrame, WS_PROTOCOL_VERSION } from './protocol.js';

/**
 * Optional sink capability: accepts JPEG preview frames for live views. (Will move to the Sink
 * interface as an optional `writeFrame?` method.)
 */
export interface FrameSink {
  writeFrame(frame: PreviewFrame): void;
}

export interface WebSocketSinkStats {
  clients: number;
  connections_total: number;
  rejected: Record<string, number>;
  records_in: number;
  frames_in: number;
  messages_sent: number;
  dropped_client_slow: number;
  heartbeat_terminated: number;
  client_errors: number;
}

export interface WebSocketSink extends Sink {
  writeFrame(frame: PreviewFrame): void;
  readonly host: string;
  /** The bound port (useful with `port: 0`). */
  readonly port: number;
  readonly path: string;
  /** `ws://host:port/path`. */
  readonly url: string;
  /** `http://host:port/` when the dashboard is on, else null. */
  readonly dashboardUrl: string | null;
  stats(): WebSocketSinkStats;
}

class WebSocketSinkImpl implements WebSocketSink {
  readonly id: string;
  readonly host: string;
  readonly path: string;

  private readonly cfg: WebSocketSinkConfig;
  private readonly ctx: SinkContext;
  private readonly log: Logger;
  private readonly counters = newCounters();
  private readonly connections: Connections;
  private readonly server: SinkServer;
  private readonly streamHealth: StreamHealth;
  private stopHeartbeat: () => void = () => undefined;
  private healthTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;

  constructor(cfg: WebSocketSinkConfig, ctx: SinkContext, pageWsUrl: string | null = null) {
    this.cfg = cfg;
    this.ctx = ctx;
    this.id = cfg.id ?? 'websocket';
    this.host = cfg.host;
    this.path = cfg.path;
    this.log = ctx.logger.child({ sink: this.id });
    this.streamHealth = new StreamHealth(this.id, ctx.pipeline, ctx.metrics);
    this.connections = new Connections({
      cfg,
      sinkId: this.id,
      pipeline: ctx.pipeline,
      log: this.log,
      metrics: ctx.metrics,
      counters: this.counters,
    });
    this.server = new SinkServer({
      cfg,
      configPath: ctx.configPath,
      log: this.log,
      pageWsUrl,
      clientCount: () => this.connections.size,
      isClosing: () => this.closing !== null,
      onConnection: (ws, req) => this.connections.accept(ws, req),
    });
  }

  get port(): number {
    return this.server.port;
  }

  get url(): string {
    return `ws://${hostForUrl(this.host)}:${this.port}${this.path}`;
  }

  get dashboardUrl(): string | null {
    return this.cfg.dashboard ? `http://${hostForUrl(this.host)}:${this.port}/` : null;
  }

  async listen(): Promise<void> {
    await this.server.listen();
    this.stopHeartbeat = startHeartbeat(this.connections.clients, this.cfg.heartbeat_ms, (client) => {
      this.counters.heartbeat_terminated += 1;
      this.log.debug({ client: client.id }, 'websocket client missed a heartbeat; terminating');
    });
    if (this.cfg.health_interval_ms > 0) {
      this.healthTimer = setInterval(() => this.broadcastHealth(), this.cfg.health_interval_ms);
      this.healthTimer.unref();
    }
    this.log.info({ url: this.url, dashboard: this.dashboardUrl }, `websocket sink listening on ${this.url}`);
  }

  write(record: ResultRecord): void {
    if (this.closing) return;
    this.counters.records_in += 1;
    this.streamHealth.recordSeen(record);
    this.connections.broadcastRecord(record);
  }

  writeFrame(frame: PreviewFrame): void {
    if (this.closing || !this.cfg.frames) return;
    if (!frame || typeof frame.stream_id !== 'string' || !(frame.jpeg instanceof Uint8Array)) {
      this.ctx.metrics.drop(this.id, 'bad_frame');
      return;
    }
    this.counters.frames_in += 1;
    this.streamHealth.frameSeen(frame.stream_id);
    this.connections.broadcastFrame(frame);
  }

  private broadcastHealth(): void {
    const clients = this.connections.size;
    if (this.closing || clients === 0) {
      if (clients === 0) this.streamHealth.message(clients, this.counters); // keep the per-interval rates fresh
      return;
    }
    this.connections.broadcastHealth(this.streamHealth.message(clients, this.counters));
  }

  stats(): WebSocketSinkStats {
    return { clients: this.connections.size, ...this.counters, rejected: { ...this.server.rejected } };
  }

  async flush(): Promise<void> {
    await this.connections.drained(this.cfg.flush_timeout_ms);
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.stopHeartbeat();
    if (this.healthTimer) clearInterval(this.healthTimer);
    await this.connections.drained(this.cfg.flush_timeout_ms);
    await this.connections.closeAll();
    await this.server.close();
    this.log.debug({ ...this.stats() }, 'websocket sink closed');
  }

  async health(): Promise<SinkHealth> {
    const ok = this.server.listening && !this.closing;
    return {
      ok,
      detail: ok
        ? `listening on ${this.url}; ${this.connections.size} client(s); ` +
          `${this.counters.dropped_client_slow} dropped (client_slow)`
        : 'closed',
    };
  }
}

// ---- factories -------------------------------------------------------------------------------

function parseConfig(input: unknown, where: string): WebSocketSinkConfig {
  const parsed = websocketSinkSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue && issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
    throw new VidflowError('CONFIG_INVALID', `${where}${path}: ${issue?.message ?? 'invalid websocket sink config'}`, {
      where: `${where}${path}`,
    });
  }
  return parsed.data;
}

/** Starts a WebSocket sink (config validated against `websocketSinkSchema`). */
export async function createWebSocketSink(
  config: WebSocketSinkInput,
  ctx: SinkContext,
  pageWsUrl: string | null = null,
): Promise<WebSocketSink> {
  const cfg = parseConfig({ type: 'websocket', ...config }, ctx.configPath);
  const sink = new WebSocketSinkImpl(cfg, ctx, pageWsUrl);
  await sink.listen();
  return sink;
}

export const websocketSinkSpec: SinkSpec<WebSocketSinkConfig> = {
  type: 'websocket',
  summary:
    'Serves results (and preview frames) to WebSocket clients and the live dashboard; slow clients drop, never block.',
  schema: websocketSinkSchema,
  example: {
    type: 'websocket',
    host: '127.0.0.1',
    port: 8765,
    path: '/ws',
    dashboard: true,
    client_queue_max: 256,
    heartbeat_ms: 15000,
    health_interval_ms: 1000,
  },
  create: (config, ctx) => createWebSocketSink(config, ctx),
};
