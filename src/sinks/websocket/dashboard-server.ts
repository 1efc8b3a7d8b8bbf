/**
 * Role: the dashboard server on its own (`vidflow dashboard`): a WebSocket sink with the
 * dashboard on and a context of its own, for use without a pipeline.
 */
import { VidflowError } from '../../core/errors.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import type { SinkContext } from '../../core/sink.js';
import type { WebSocketSinkInput } from './config.js';
import { createWebSocketSink, type WebSocketSink } from './sink.js';

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
