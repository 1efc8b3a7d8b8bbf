/**
 * WebSocket sink and live dashboard (docs/sinks/websocket.md).
 *
 * One HTTP server serves the dashboard page (GET `/`) and accepts WebSocket clients on `path`
 * (default `/ws`). Every result record goes to every subscribed client as
 * `{type:'result', record}`; preview frames (`writeFrame`) go as binary messages. `write()`
 * never waits on clients: each client has a bounded queue, slow clients lose their oldest
 * messages (counted as `client_slow` drops and announced to them), and ping/pong heartbeats
 * terminate dead ones.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { digest, normOrigin, originAllowed, tokenAuthorized } from './auth.js';
import { websocketSinkSchema, type WebSocketSinkConfig, type WebSocketSinkInput } from './config.js';
import type { SinkSpec } from '../../core/component.js';
import { VidflowError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { RESULT_SCHEMA_VERSION, type ResultRecord } from '../../core/result.js';
import type { Sink, SinkContext, SinkHealth } from '../../core/sink.js';
import { Client } from './client.js';
import { loadDashboardAssets, type DashboardAssets, type DashboardFile } from './assets.js';
import {
  WS_PROTOCOL_VERSION,
  clientMessageSchema,
  describeSubscription,
  describeZodError,
  encodeFrameMessage,
  filterPayload,
  matchesRecord,
  subscriptionFrom,
  type PreviewFrame,
} from './protocol.js';

export { WS_PROTOCOL_VERSION, decodeFrameMessage, encodeFrameMessage, type PreviewFrame } from './protocol.js';

/**
 * Optional sink capability: accepts JPEG preview frames for live views. (Will move to the Sink
 * interface as an optional `writeFrame?` method.)
 */
export interface FrameSink {
  writeFrame(frame: PreviewFrame): void;
}

// ---- the sink --------------------------------------------------------------------------------

interface StreamStats {
  records: number;
  frames: number;
  /** Distinct frame indices seen in records (for fps). */
  resultFrames: number;
  lastResultIndex: number;
  latencySum: number;
  latencyCount: number;
  lastLatency: number | null;
  lastPts: number | null;
  // values at the previous health tick
  prevRecords: number;
  prevFrames: number;
  prevResultFrames: number;
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

function hostForUrl(host: string): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return h.includes(':') ? `[${h}]` : h;
}

function rawSize(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self' ws: " +
    "wss:; frame-ancestors 'none'",
};

class WebSocketSinkImpl implements WebSocketSink {
  readonly id: string;
  readonly host: string;
  readonly path: string;
  port = 0;

  private readonly cfg: WebSocketSinkConfig;
  private readonly ctx: SinkContext;
  private readonly log: Logger;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();
  private readonly assets: DashboardAssets | null;
  private readonly indexHtml: Buffer | null;
  private readonly tokenDigest: Buffer | null;
  private readonly origins: Set<string> | null;
  private readonly anyOrigin: boolean;
  private readonly streams = new Map<string, StreamStats>();
  private readonly startedAt = Date.now();
  private lastHealthAt = Date.now();
  private nextClientId = 1;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private listening = false;
  private warnedUnserializable = false;
  private readonly counters = {
    connections_total: 0,
    records_in: 0,
    frames_in: 0,
    messages_sent: 0,
    dropped_client_slow: 0,
    heartbeat_terminated: 0,
    client_errors: 0,
  };
  private readonly rejected: Record<string, number> = {};

  constructor(cfg: WebSocketSinkConfig, ctx: SinkContext, pageWsUrl: string | null = null) {
    this.cfg = cfg;
    this.ctx = ctx;
    this.id = cfg.id ?? 'websocket';
    this.host = cfg.host;
    this.path = cfg.path;
    this.log = ctx.logger.child({ sink: this.id });
    this.tokenDigest = cfg.auth_token === undefined ? null : digest(cfg.auth_token);
    this.anyOrigin = cfg.allowed_origins?.includes('*') ?? false;
    this.origins = cfg.allowed_origins ? new Set(cfg.allowed_origins.map(normOrigin)) : null;
    this.assets = cfg.dashboard ? loadDashboardAssets(ctx.configPath) : null;
    this.indexHtml = this.assets
      ? Buffer.from(
          this.assets.files['index.html'].body
            .toString('utf8')
            .replace(/__VIDFLOW_WS_PATH__/g, escapeAttr(cfg.path))
            .replace(/__VIDFLOW_WS_URL__/g, escapeAttr(pageWsUrl ?? '')),
          'utf8',
        )
      : null;
    this.server = createServer((req, res) => this.onHttp(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: Math.max(cfg.max_message_bytes * 16, 64 * 1024),
    });
    this.wss.on('wsClientError', (_err, socket) => socket.destroy());
  }

  get url(): string {
    return `ws://${hostForUrl(this.host)}:${this.port}${this.path}`;
  }

  get dashboardUrl(): string | null {
    return this.cfg.dashboard ? `http://${hostForUrl(this.host)}:${this.port}/` : null;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        this.server.off('listening', onListening);
        reject(
          new VidflowError(
            'SINK_CONNECT',
            `${this.ctx.configPath}: websocket sink cannot listen on ${this.host}:${this.cfg.port}: ` +
              `${err.code ?? err.message}`,
            { where: this.ctx.configPath, cause: err },
          ),
        );
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen(this.cfg.port, this.cfg.host);
    });
    this.server.on('error', (err) => this.log.error({ err }, 'websocket sink server error'));
    this.listening = true;
    this.port = (this.server.address() as AddressInfo).port;
    if (this.cfg.heartbeat_ms > 0) {
      this.heartbeatTimer = setInterval(() => this.heartbeat(), this.cfg.heartbeat_ms);
      this.heartbeatTimer.unref();
    }
    if (this.cfg.health_interval_ms > 0) {
      this.healthTimer = setInterval(() => this.broadcastHealth(), this.cfg.health_interval_ms);
      this.healthTimer.unref();
    }
    this.log.info({ url: this.url, dashboard: this.dashboardUrl }, `websocket sink listening on ${this.url}`);
  }

  // ---- HTTP -----------------------------------------------------------------------------------

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' })
        .end('method not allowed\n');
      return;
    }
    if (pathname === '/healthz') {
      const body = JSON.stringify({ ok: this.listening && !this.closing, clients: this.clients.size });
      res
        .writeHead(200, { 'Content-Type': 'application/json', ...SECURITY_HEADERS })
        .end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (pathname === this.path) {
      res
        .writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket' })
        .end('WebSocket endpoint: connect with a WebSocket client\n');
      return;
    }
    let file: DashboardFile | null = null;
    if (pathname === '/' || pathname === '/index.html') file = 'index.html';
    else if (pathname === '/dashboard.js') file = 'dashboard.js';
    else if (pathname === '/dashboard.css') file = 'dashboard.css';
    if (!file || !this.assets) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    const body = file === 'index.html' ? this.indexHtml! : this.assets.files[file].body;
    res.writeHead(200, {
      'Content-Type': this.assets.files[file].contentType,
      'Content-Length': String(body.length),
      ...SECURITY_HEADERS,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  // ---- upgrade: path, capacity, auth, origin ---------------------------------------------------

  private reject(socket: Duplex, status: number, text: string, reason: string, extra = ''): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
    this.log.debug({ status, reason }, 'websocket connection refused');
    const body = `${text}\n`;
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
    );
  }

  private authorized(req: IncomingMessage, url: URL): boolean {
    return tokenAuthorized(req, url, this.tokenDigest);
  }

  private originAllowed(req: IncomingMessage): boolean {
    return originAllowed(req, this.origins, this.anyOrigin);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      this.reject(socket, 400, 'Bad Request', 'bad_url');
      return;
    }
    if (this.closing) return this.reject(socket, 503, 'Service Unavailable', 'closing');
    if (url.pathname !== this.path) return this.reject(socket, 404, 'Not Found', 'path');
    if (!this.authorized(req, url))
      return this.reject(socket, 401, 'Unauthorized', 'auth', 'WWW-Authenticate: Bearer\r\n');
    if (!this.originAllowed(req)) return this.reject(socket, 403, 'Forbidden', 'origin');
    if (this.clients.size >= this.cfg.max_clients)
      return this.reject(socket, 503, 'Service Unavailable', 'max_clients');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  }

  // ---- connections ----------------------------------------------------------------------------

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const client = new Client(this.nextClientId++, ws, remote, {
      queueMax: this.cfg.client_queue_max,
      maxBufferedBytes: this.cfg.max_buffered_bytes,
      onDrop: (n) => {
        this.counters.dropped_client_slow += n;
        this.ctx.metrics.drop(this.id, 'client_slow', n);
      },
    });
    this.clients.add(client);
    this.counters.connections_total += 1;
    this.log.debug({ client: client.id, remote }, 'websocket client connected');
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      try {
        this.onClientMessage(client, data, isBinary);
      } catch (err) {
        this.log.warn({ err, client: client.id }, 'websocket client message handling failed');
        this.replyError(client, 'internal error handling the message');
      }
    });
    ws.on('error', (err) => {
      this.counters.client_errors += 1;
      this.log.debug({ err, client: client.id }, 'websocket client error');
    });
    ws.on('close', (code) => {
      this.clients.delete(client);
      client.dispose();
      this.log.debug(
        { client: client.id, code, sent: client.sent, dropped: client.dropped },
        'websocket client disconnected',
      );
    });
    client.sendControl(
      JSON.stringify({
        type: 'hello',
        protocol: WS_PROTOCOL_VERSION,
        schema_version: RESULT_SCHEMA_VERSION,
        pipeline: this.ctx.pipeline,
        sink_id: this.id,
        client_id: client.id,
        filter: describeSubscription(client.subscription),
        limits: {
          max_message_bytes: this.cfg.max_message_bytes,
          client_queue_max: this.cfg.client_queue_max,
          heartbeat_ms: this.cfg.heartbeat_ms,
          health_interval_ms: this.cfg.health_interval_ms,
        },
        frames: this.cfg.frames,
      }),
    );
  }

  private control(client: Client, msg: Record<string, unknown>): void {
    if (!client.sendControl(JSON.stringify(msg))) {
      this.log.debug({ client: client.id }, 'websocket client does not read replies; closing');
      client.ws.close(1008, 'too many unread replies');
    }
  }

  private replyError(client: Client, message: string): void {
    this.control(client, { type: 'error', message });
  }

  private onClientMessage(client: Client, data: RawData, isBinary: boolean): void {
    client.alive = true;
    const size = rawSize(data);
    if (size > this.cfg.max_message_bytes) {
      this.replyError(client, `message of ${size} bytes exceeds max_message_bytes (${this.cfg.max_message_bytes})`);
      return;
    }
    if (isBinary) {
      this.replyError(client, 'binary messages are not accepted; send JSON text');
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawText(data));
    } catch (err) {
      this.replyError(client, `malformed JSON: ${(err as Error).message}`);
      return;
    }
    const msg = clientMessageSchema.safeParse(parsed);
    if (!msg.success) {
      this.replyError(client, `invalid message: ${describeZodError(msg.error)}`);
      return;
    }
    if (msg.data.type === 'ping') {
      this.control(client, { type: 'pong', id: msg.data.id ?? null, time_ms: Date.now() });
      return;
    }
    client.subscription = subscriptionFrom(msg.data);
    this.control(client, { type: 'subscribed', filter: describeSubscription(client.subscription) });
  }

  private heartbeat(): void {
    for (const client of this.clients) {
      if (!client.alive) {
        this.counters.heartbeat_terminated += 1;
        this.log.debug({ client: client.id }, 'websocket client missed a heartbeat; terminating');
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      try {
        client.ws.ping();
      } catch {
        client.ws.terminate();
      }
    }
  }

  // ---- data -----------------------------------------------------------------------------------

  private streamStats(id: string): StreamStats {
    let s = this.streams.get(id);
    if (!s) {
      s = {
        records: 0,
        frames: 0,
        resultFrames: 0,
        lastResultIndex: Number.NaN,
        latencySum: 0,
        latencyCount: 0,
        lastLatency: null,
        lastPts: null,
        prevRecords: 0,
        prevFrames: 0,
        prevResultFrames: 0,
      };
      this.streams.set(id, s);
    }
    return s;
  }

  write(record: ResultRecord): void {
    if (this.closing) return;
    this.counters.records_in += 1;
    const stream = typeof record.stream_id === 'string' ? record.stream_id : String(record.stream_id);
    const s = this.streamStats(stream);
    s.records += 1;
    if (record.frame_index !== s.lastResultIndex) {
      s.resultFrames += 1;
      s.lastResultIndex = record.frame_index;
    }
    if (typeof record.latency_ms === 'number' && Number.isFinite(record.latency_ms)) {
      s.latencySum += record.latency_ms;
      s.latencyCount += 1;
      s.lastLatency = record.latency_ms;
    }
    if (typeof record.pts === 'number') s.lastPts = record.pts;
    if (this.clients.size === 0) return;
    // One serialisation per distinct payload filter, not per client.
    const cache = new Map<string, string | null>();
    for (const client of this.clients) {
      const sub = client.subscription;
      if (!matchesRecord(sub, record)) continue;
      let text = cache.get(sub.payloadKey);
      if (text === undefined) {
        const filtered = filterPayload(sub, record);
        try {
          text = filtered === null ? null : JSON.stringify({ type: 'result', record: filtered });
        } catch (err) {
          this.ctx.metrics.drop(this.id, 'unserializable');
          if (!this.warnedUnserializable) {
            this.warnedUnserializable = true;
            this.log.warn(
              { err, stream_id: stream, stage_id: record.stage_id },
              'websocket sink cannot serialise a record; dropping it',
            );
          }
          return;
        }
        cache.set(sub.payloadKey, text);
      }
      if (text === null) continue;
      client.send(text);
      this.counters.messages_sent += 1;
    }
  }

  writeFrame(frame: PreviewFrame): void {
    if (this.closing || !this.cfg.frames) return;
    if (!frame || typeof frame.stream_id !== 'string' || !(frame.jpeg instanceof Uint8Array)) {
      this.ctx.metrics.drop(this.id, 'bad_frame');
      return;
    }
    this.counters.frames_in += 1;
    this.streamStats(frame.stream_id).frames += 1;
    let data: Buffer | null = null;
    for (const client of this.clients) {
      const sub = client.subscription;
      if (!sub.frames) continue;
      if (sub.streams && !sub.streams.has(frame.stream_id)) continue;
      data ??= encodeFrameMessage({
        ...frame,
        jpeg: Buffer.isBuffer(frame.jpeg) ? frame.jpeg : Buffer.from(frame.jpeg),
      });
      client.sendFrame(frame.stream_id, data);
      this.counters.messages_sent += 1;
    }
  }

  private healthPayload(): Record<string, unknown> {
    const now = Date.now();
    const dt = Math.max(1, now - this.lastHealthAt) / 1000;
    this.lastHealthAt = now;
    const streams: Record<string, unknown> = {};
    for (const [id, s] of this.streams) {
      streams[id] = {
        records: s.records,
        frames: s.frames,
        records_per_s: +((s.records - s.prevRecords) / dt).toFixed(2),
        frames_per_s: +((s.frames - s.prevFrames) / dt).toFixed(2),
        result_fps: +((s.resultFrames - s.prevResultFrames) / dt).toFixed(2),
        latency_ms: s.latencyCount > 0 ? +(s.latencySum / s.latencyCount).toFixed(1) : null,
        last_latency_ms: s.lastLatency,
        last_pts: s.lastPts,
      };
      s.prevRecords = s.records;
      s.prevFrames = s.frames;
      s.prevResultFrames = s.resultFrames;
      s.latencySum = 0;
      s.latencyCount = 0;
    }
    const pipelineDrops: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.ctx.metrics.snapshot().counters))
      if (k.startsWith('dropped.')) pipelineDrops[k] = v;
    return {
      type: 'health',
      sink_id: this.id,
      pipeline: this.ctx.pipeline,
      time_ms: now,
      uptime_s: +((now - this.startedAt) / 1000).toFixed(1),
      clients: this.clients.size,
      records_in: this.counters.records_in,
      frames_in: this.counters.frames_in,
      dropped_client_slow: this.counters.dropped_client_slow,
      streams,
      drops: pipelineDrops,
    };
  }

  private broadcastHealth(): void {
    if (this.closing || this.clients.size === 0) {
      if (this.clients.size === 0) this.healthPayload(); // keep the per-interval rates fresh
      return;
    }
    const base = this.healthPayload();
    for (const client of this.clients) {
      if (!client.subscription.health) continue;
      client.send(
        JSON.stringify({ ...base, client: { id: client.id, dropped: client.dropped, queued: client.queueLength } }),
      );
    }
  }

  stats(): WebSocketSinkStats {
    return { clients: this.clients.size, ...this.counters, rejected: { ...this.rejected } };
  }

  async flush(): Promise<void> {
    await Promise.all([...this.clients].map((c) => c.drained(this.cfg.flush_timeout_ms)));
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    await Promise.all([...this.clients].map((c) => c.drained(this.cfg.flush_timeout_ms)));
    const open = [...this.clients];
    await Promise.all(
      open.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.ws.readyState === WebSocket.CLOSED) return resolve();
            const timer = setTimeout(() => {
              c.ws.terminate();
              resolve();
            }, 1000);
            timer.unref();
            c.ws.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            c.ws.close(1001, 'server shutting down');
          }),
      ),
    );
    this.wss.close();
    if (this.listening) {
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    }
    this.listening = false;
    const s = this.stats();
    this.log.debug({ ...s }, 'websocket sink closed');
  }

  async health(): Promise<SinkHealth> {
    const ok = this.listening && !this.closing;
    return {
      ok,
      detail: ok
        ? `listening on ${this.url}; ${this.clients.size} client(s); ${this.counters.dropped_client_slow} dropped ` +
          `(client_slow)`
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

export interface DashboardServerOptions extends Omit<WebSocketSinkInput, 'dashboard' | 'type'> {
  logger?: Logger;
  metrics?: Metrics;
  /** Pipeline name shown in the page. Default `dashboard`. */
  pipeline?: string;
  /**
   * WebSocket URL the page connects to instead of this server's own endpoint, e.g. the
   * `websocket` sink of a running pipeline (`ws://127.0.0.1:8765/ws`). That sink must allow this
   * page's origin (`allowed_origins`). A `?ws=` parameter in the page URL still wins.
   */
  connect_url?: string;
}

/**
 * Starts the dashboard server on its own (for `vidflow dashboard`): the page on GET `/` and the
 * WebSocket endpoint on `path`. The returned object is a full WebSocket sink: hand it records
 * (`write`) and preview frames (`writeFrame`), or add it to a runtime's sinks.
 */
export async function startDashboardServer(options: DashboardServerOptions = {}): Promise<WebSocketSink> {
  const { logger, metrics, pipeline, connect_url, ...config } = options;
  if (connect_url !== undefined && !/^wss?:\/\/[^\s]+$/.test(connect_url)) {
    throw new VidflowError(
      'CONFIG_INVALID',
      `dashboard: connect_url must be a ws:// or wss:// URL, found "${connect_url}"`,
    );
  }
  const ctx: SinkContext = {
    pipeline: pipeline ?? 'dashboard',
    configPath: 'dashboard',
    baseDir: process.cwd(),
    logger: logger ?? silentLogger(),
    metrics: metrics ?? new Metrics(),
    mode: 'live',
  };
  return createWebSocketSink({ ...config, dashboard: true }, ctx, connect_url ?? null);
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
