/**
 * The operators' HTTP endpoint of `vidflow run` (off unless `--http-port` or the pipeline's
 * `http:` asks for it; docs/operations.md):
 *
 *   GET /metrics  Prometheus text format (prom-client; families in runtime/prometheus.ts)
 *   GET /healthz  200 while the process is alive (also while building and shutting down)
 *   GET /readyz   200 once the pipeline is built (models loaded, sinks created) and every sink's
 *                 health() is ok; 503 with a JSON reason while building, when a sink is unhealthy,
 *                 and from the moment shutdown begins (first SIGINT/SIGTERM, or the files ended)
 *
 * It starts before the pipeline is built, so a liveness probe passes during a long model load
 * and /readyz says why it is not ready yet.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { VidflowError } from '../core/errors.js';
import { redactUrl, type Logger } from '../core/logger.js';
import type { ResultRecord } from '../core/result.js';
import type { PipelineConfig } from '../config/load.js';
import { loadManifest } from '../models/manifest.js';
import { resolveModelRef } from '../models/model-store.js';
import type { SinkHealth } from '../sinks/sink.js';
import type { HttpOptions } from './http-options.js';
import { PipelineMetrics, sinkHealth, type ObservedPipeline, type PipelineMetricsOptions } from './prometheus.js';

export { httpSchema, type HttpOptions } from './http-options.js';

export type EndpointState = 'building' | 'running' | 'stopping' | 'finished';

export interface HttpEndpointOptions extends HttpOptions {
  logger: Logger;
  pipeline: string;
  version?: string;
  /** Per sink health() check of /readyz (default 2000 ms). */
  healthTimeoutMs?: number;
}

export interface ReadyReport {
  ready: boolean;
  state: EndpointState;
  reason?: string;
  sinks?: Record<string, SinkHealth>;
}

export class HttpEndpoint {
  readonly registry = new Registry();
  private state: EndpointState = 'building';
  private stopReason: string | null = null;
  private pipeline: ObservedPipeline | null = null;
  private prom: PipelineMetrics | null = null;
  private closed: Promise<void> | null = null;
  /** Scrapes of /metrics so far and how long building their text took. */
  readonly scrapes = { count: 0, total_ms: 0, max_ms: 0, last_ms: 0 };

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly options: HttpEndpointOptions,
  ) {
    collectDefaultMetrics({ register: this.registry });
    const self = this;
    new Gauge({
      name: 'vidflow_pipeline_info',
      help: 'Always 1; the pipeline name and vidflow version as labels.',
      labelNames: ['pipeline', 'version'],
      registers: [this.registry],
    }).set({ pipeline: options.pipeline, version: options.version ?? 'unknown' }, 1);
    new Gauge({
      name: 'vidflow_pipeline_ready',
      help:
        '1 while the pipeline is built and running (not building, not shutting down), else 0; /readyz also checks ' +
        'the sinks.',
      registers: [this.registry],
      collect() {
        this.set(self.state === 'running' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'vidflow_metrics_scrape_duration_seconds',
      help: "How long building the previous /metrics answer took (this process's scrape cost).",
      registers: [this.registry],
      collect() {
        this.set(self.scrapes.last_ms / 1000);
      },
    });
    new Gauge({
      name: 'vidflow_pipeline_state',
      help: '1 for the current state of the run (building, running, stopping, finished), 0 for the others.',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        for (const s of ['building', 'running', 'stopping', 'finished'] as const)
          this.set({ state: s }, s === self.state ? 1 : 0);
      },
    });
  }

  /** Listens on host:port; resolves once bound (logs the URL). */
  static async start(options: HttpEndpointOptions): Promise<HttpEndpoint> {
    const server = createServer();
    server.keepAliveTimeout = 65_000; // longer than Prometheus' scrape interval: reuse connections
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        server.off('listening', onListening);
        reject(
          new VidflowError(
            'CONFIG_INVALID',
            `http: cannot listen on ${options.host}:${options.port}: ${err.code ?? err.message}`,
            { where: 'http.port' },
          ),
        );
      };
      const onListening = () => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(options.port, options.host);
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const endpoint = new HttpEndpoint(server, `http://${host}:${addr.port}`, options);
    server.on('request', (req, res) => void endpoint.handle(req, res));
    server.on('error', (err) => options.logger.error({ err }, `http endpoint: ${err.message}`));
    options.logger.info(
      { url: endpoint.url },
      `HTTP endpoint listening on ${endpoint.url} (/metrics, /healthz, /readyz)`,
    );
    return endpoint;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The pipeline is built: its metrics are served and /readyz checks its sinks. */
  attach(pipeline: ObservedPipeline, metrics: Omit<PipelineMetricsOptions, 'registry'> = {}): void {
    this.pipeline = pipeline;
    this.prom = new PipelineMetrics(pipeline, {
      ...metrics,
      registry: this.registry,
      version: this.options.version ?? 'unknown',
    });
    if (this.state === 'building') this.state = 'running';
  }

  /** For BuildOptions.onRecord. */
  readonly onRecord = (record: ResultRecord): void => this.prom?.onRecord(record);

  /** Shutdown began (signal): /readyz answers 503 from now on. */
  stopping(reason: string): void {
    if (this.state === 'finished') return;
    this.state = 'stopping';
    this.stopReason ??= reason;
  }

  /** The run ended (files done, or the shutdown finished). */
  finished(): void {
    this.state = 'finished';
  }

  async readiness(): Promise<ReadyReport> {
    switch (this.state) {
      case 'building':
        return {
          ready: false,
          state: this.state,
          reason: 'the pipeline is being built (sources opened, models loaded, sinks created)',
        };
      case 'stopping':
        return { ready: false, state: this.state, reason: `shutting down (${this.stopReason ?? 'stop requested'})` };
      case 'finished':
        return { ready: false, state: this.state, reason: 'the pipeline has finished' };
      case 'running':
        break;
    }
    const sinks = this.pipeline!.sinks;
    const timeout = this.options.healthTimeoutMs ?? 2000;
    const hs = await Promise.all(sinks.map((s) => sinkHealth(s, timeout)));
    const report: Record<string, SinkHealth> = {};
    sinks.forEach((s, i) => (report[s.id] = { ok: hs[i]!.ok, detail: redactUrl(hs[i]!.detail) }));
    const bad = sinks.filter((_, i) => !hs[i]!.ok);
    // The state may have changed while the checks ran.
    if ((this.state as EndpointState) !== 'running') return { ...(await this.readiness()), sinks: report };
    if (bad.length > 0)
      return {
        ready: false,
        state: this.state,
        reason: bad.map((s) => `sink \`${s.id}\` is not healthy: ${report[s.id]!.detail}`).join('; '),
        sinks: report,
      };
    return { ready: true, state: this.state, sinks: report };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const json = (code: number, body: unknown) => {
      const text = `${JSON.stringify(body)}\n`;
      res.writeHead(code, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        'content-length': Buffer.byteLength(text),
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        return json(405, { error: `method ${req.method} not allowed` });
      }
      switch (url.pathname) {
        case '/healthz':
          return json(200, {
            status: 'ok',
            state: this.state,
            pipeline: this.options.pipeline,
            uptime_s: Math.round(process.uptime()),
          });
        case '/readyz': {
          const r = await this.readiness();
          return json(r.ready ? 200 : 503, r);
        }
        case '/metrics': {
          const t0 = performance.now();
          const body = await this.registry.metrics();
          const dt = performance.now() - t0;
          this.scrapes.count += 1;
          this.scrapes.last_ms = dt;
          this.scrapes.total_ms += dt;
          if (dt > this.scrapes.max_ms) this.scrapes.max_ms = dt;
          res.writeHead(200, {
            'content-type': this.registry.contentType,
            'cache-control': 'no-store',
            'content-length': Buffer.byteLength(body),
          });
          res.end(req.method === 'HEAD' ? undefined : body);
          return;
        }
        case '/':
          return json(200, { endpoints: ['/metrics', '/healthz', '/readyz'] });
        default:
          return json(404, { error: `no such endpoint ${url.pathname}; try /metrics, /healthz or /readyz` });
      }
    } catch (err) {
      this.options.logger.error({ err }, `http endpoint: ${req.url}: ${(err as Error).message}`);
      if (!res.headersSent) json(500, { error: redactUrl((err as Error).message) });
      else res.destroy();
    }
  }

  /** Stops listening and ends open connections. Idempotent. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.prom?.close();
      const s = this.scrapes;
      if (s.count > 0)
        this.options.logger.debug(
          { scrapes: s.count, mean_ms: +(s.total_ms / s.count).toFixed(2), max_ms: +s.max_ms.toFixed(2) },
          'http endpoint closed',
        );
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closed;
  }
}

/**
 * `vidflow run`'s endpoint options: `--http-port` / `--http-host` over the pipeline's `http:`;
 * null when neither asks for one (the default).
 */
export function httpOptionsFor(
  config: Pick<PipelineConfig, 'http'>,
  flags: { port?: unknown; host?: unknown },
): HttpOptions | null {
  if (flags.port === undefined && flags.host !== undefined && config.http === null)
    throw new VidflowError('CONFIG_INVALID', '--http-host: needs --http-port (or `http.port` in the pipeline)');
  if (flags.port === undefined)
    return config.http === null
      ? null
      : { ...config.http, ...(typeof flags.host === 'string' ? { host: flags.host } : {}) };
  const port = Number(flags.port);
  if (typeof flags.port !== 'string' || !/^\d+$/.test(flags.port) || port > 65535)
    throw new VidflowError(
      'CONFIG_INVALID',
      `--http-port: found "${String(flags.port)}", expected a port number 0-65535`,
    );
  const host = typeof flags.host === 'string' ? flags.host : (config.http?.host ?? '127.0.0.1');
  return { host, port };
}

/** Labels the metrics need from the config: each stage's model name, model files' names, max_in_flight. */
export function metricsOptionsFor(
  config: Pick<PipelineConfig, 'stages' | 'sources' | 'baseDir'>,
): Omit<PipelineMetricsOptions, 'registry'> {
  const stageModels: Record<string, string> = {};
  const modelNames: Record<string, string> = {};
  for (const st of config.stages) {
    const ref = (st.config as { model?: unknown }).model;
    const id = String(st.config.id);
    if (typeof ref !== 'string') continue;
    try {
      const loaded = loadManifest(resolveModelRef(ref, config.baseDir, `${st.path}.model`));
      stageModels[id] = loaded.manifest.name;
      modelNames[loaded.modelPath] = loaded.manifest.name;
    } catch {
      // a bare .onnx (no manifest) or a model the build already reported: its file name
      stageModels[id] = path.basename(ref).replace(/\.(onnx|manifest\.json|json)$/i, '');
    }
  }
  const maxInFlight: Record<string, number> = {};
  for (const s of config.sources) maxInFlight[String(s.config.id)] = Number(s.config.max_in_flight ?? 8);
  return { stageModels, modelNames, maxInFlight };
}
