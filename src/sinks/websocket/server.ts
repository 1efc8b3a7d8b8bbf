/**
 * Role: the WebSocket sink's HTTP server. It listens on `host:port`, serves the dashboard files
 * and `/healthz` over HTTP, and checks every upgrade request (path, closing, auth token, origin,
 * max_clients) before handing the WebSocket to the sink; refusals are counted by reason.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { VidflowError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { type DashboardAssets, type DashboardFile, loadDashboardAssets } from './assets.js';
import { digest, normOrigin, originAllowed, tokenAuthorized } from './auth.js';
import type { WebSocketSinkConfig } from './config.js';

/** `host` as it goes into a URL: a wildcard address becomes loopback, IPv6 gets brackets. */
export function hostForUrl(host: string): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return h.includes(':') ? `[${h}]` : h;
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

export interface SinkServerOptions {
  cfg: WebSocketSinkConfig;
  /** Config path for errors (`sinks[0]`). */
  configPath: string;
  log: Logger;
  /** WebSocket URL written into the dashboard page (null: the page uses this server's own). */
  pageWsUrl: string | null;
  /** Clients connected now (for max_clients and /healthz). */
  clientCount: () => number;
  /** True once the sink is closing: upgrades are refused. */
  isClosing: () => boolean;
  /** An upgrade that passed every check. */
  onConnection: (ws: WebSocket, req: IncomingMessage) => void;
}

export class SinkServer {
  /** The bound port (after `listen`). */
  port = 0;
  listening = false;
  /** Refused upgrade requests by reason (`auth`, `origin`, `max_clients`, `path`, `closing`, `bad_url`). */
  readonly rejected: Record<string, number> = {};

  private readonly opts: SinkServerOptions;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly assets: DashboardAssets | null;
  private readonly indexHtml: Buffer | null;
  private readonly tokenDigest: Buffer | null;
  private readonly origins: Set<string> | null;
  private readonly anyOrigin: boolean;

  constructor(opts: SinkServerOptions) {
    this.opts = opts;
    const { cfg } = opts;
    this.tokenDigest = cfg.auth_token === undefined ? null : digest(cfg.auth_token);
    this.anyOrigin = cfg.allowed_origins?.includes('*') ?? false;
    this.origins = cfg.allowed_origins ? new Set(cfg.allowed_origins.map(normOrigin)) : null;
    this.assets = cfg.dashboard ? loadDashboardAssets(opts.configPath) : null;
    this.indexHtml = this.assets
      ? Buffer.from(
          this.assets.files['index.html'].body
            .toString('utf8')
            .replace(/__VIDFLOW_WS_PATH__/g, escapeAttr(cfg.path))
            .replace(/__VIDFLOW_WS_URL__/g, escapeAttr(opts.pageWsUrl ?? '')),
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

  /** Binds `host:port`; a failure is `SINK_CONNECT` naming the address. */
  async listen(): Promise<void> {
    const { cfg, configPath } = this.opts;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        this.server.off('listening', onListening);
        reject(
          new VidflowError(
            'SINK_CONNECT',
            `${configPath}: websocket sink cannot listen on ${cfg.host}:${cfg.port}: ${err.code ?? err.message}`,
            { where: configPath, cause: err },
          ),
        );
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen(cfg.port, cfg.host);
    });
    this.server.on('error', (err) => this.opts.log.error({ err }, 'websocket sink server error'));
    this.listening = true;
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting and closes every remaining HTTP connection (close the WebSockets first). */
  async close(): Promise<void> {
    this.wss.close();
    if (this.listening) {
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    }
    this.listening = false;
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
      const body = JSON.stringify({ ok: this.listening && !this.opts.isClosing(), clients: this.opts.clientCount() });
      res
        .writeHead(200, { 'Content-Type': 'application/json', ...SECURITY_HEADERS })
        .end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (pathname === this.opts.cfg.path) {
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
    this.opts.log.debug({ status, reason }, 'websocket connection refused');
    const body = `${text}\n`;
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
    );
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
    if (this.opts.isClosing()) return this.reject(socket, 503, 'Service Unavailable', 'closing');
    if (url.pathname !== this.opts.cfg.path) return this.reject(socket, 404, 'Not Found', 'path');
    if (!tokenAuthorized(req, url, this.tokenDigest))
      return this.reject(socket, 401, 'Unauthorized', 'auth', 'WWW-Authenticate: Bearer\r\n');
    if (!originAllowed(req, this.origins, this.anyOrigin)) return this.reject(socket, 403, 'Forbidden', 'origin');
    if (this.opts.clientCount() >= this.opts.cfg.max_clients)
      return this.reject(socket, 503, 'Service Unavailable', 'max_clients');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.opts.onConnection(ws, req));
  }
}
