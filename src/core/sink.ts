/**
 * The contract every sink implements. `write` may return a promise: the runtime awaits it,
 * which is how a slow sink pauses file sources (backpressure). Live pipelines pass
 * `mode: 'live'` so a sink that cannot keep up drops (counted) instead of blocking.
 */
import type { ResultRecord } from './result.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { PreviewFrame } from './preview-frame.js';

export type { PreviewFrame };

export interface SinkHealth {
  ok: boolean;
  detail: string;
}

export interface Sink {
  readonly id: string;
  /** Accepts one record. Resolve when the record is accepted (buffered or delivered). */
  write(record: ResultRecord): void | Promise<void>;
  /** Delivers everything buffered. */
  flush(): Promise<void>;
  /** Flushes and releases resources. Idempotent. */
  close(): Promise<void>;
  health(): Promise<SinkHealth>;
  /**
   * Optional: stop waiting for delivery now (the shutdown deadline passed). A pending or later
   * flush()/close() finishes promptly, counting (and spilling, where the sink can) what is left.
   */
  abort?(reason: string): void;
  /** Optional: what the sink could not deliver by the end of the run (after close()). */
  report?(): { undelivered: number; spilled?: { path: string; records: number } };
  /**
   * Optional: accepts JPEG preview frames for live views (the WebSocket dashboard). The runtime
   * encodes previews (rate-limited, best effort, never blocking) only when a sink has this.
   */
  writeFrame?(frame: PreviewFrame): void;
}

export interface SinkContext {
  pipeline: string;
  /** `sinks[i]` — prefix for error messages. */
  configPath: string;
  /** The pipeline file, for resolving relative paths. */
  baseDir: string;
  logger: Logger;
  metrics: Metrics;
  /** `file` pipelines must never drop; `live` pipelines drop rather than block. */
  mode: 'file' | 'live';
}
