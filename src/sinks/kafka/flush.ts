/**
 * Role: the Kafka sink's flush, close and abort. `flush()` and `close()` wait for delivery at
 * most `flush_timeout_ms`; `abort()` (the shutdown deadline passed) ends every such wait at
 * once. `close()` then stops the delivery loop, writes what is left to the spill file
 * (spill.ts), settles blocked writers, counts the lost records (`sink_flush_timeout`) and fails
 * with `SINK_FLUSH_TIMEOUT` saying how many records were sent, dropped, spilled and lost.
 */
import { VidflowError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import type { Entry, RecordBuffer } from './buffer.js';
import type { KafkaProducerClient } from './client.js';
import type { KafkaSinkConfig } from './config.js';
import type { DeliveryLoop } from './delivery.js';
import { appendSpill } from './spill.js';
import type { DeliveryStatus } from './stats.js';

export interface CloseReport {
  undelivered: number;
  spilled?: { path: string; records: number };
}

export interface ShutdownDeps {
  id: string;
  configPath: string;
  config: KafkaSinkConfig;
  client: KafkaProducerClient;
  buffer: RecordBuffer;
  status: DeliveryStatus;
  loop: DeliveryLoop;
  log: Logger;
  metrics: Metrics;
  /** null: no spill file (records left at close are lost). */
  spillFile: string | null;
  healthMessage: (event: 'connected' | 'closed') => Entry | null;
}

export class Shutdown {
  /** The shutdown deadline passed (abort()): nothing waits for delivery or for room any more. */
  aborted = false;
  report: CloseReport = { undelivered: 0 };

  private readonly d: ShutdownDeps;
  private abortReason = '';
  private readonly abortWatchers = new Set<() => void>();
  private closePromise: Promise<void> | null = null;

  constructor(deps: ShutdownDeps) {
    this.d = deps;
  }

  /** Waits until everything buffered is delivered, or `timeoutMs` passes or abort() (→ false). */
  waitDrained(timeoutMs: number): Promise<boolean> {
    const { buffer, status, loop } = this.d;
    if (buffer.isDrained(status.connected)) return Promise.resolve(true);
    if (this.aborted) return Promise.resolve(false);
    loop.beginFlush();
    return new Promise<boolean>((resolve) => {
      let settled = false;
      const done = (ok: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        removeWatcher();
        this.abortWatchers.delete(onAbort);
        loop.endFlush();
        resolve(ok);
      };
      const onAbort = () => done(false);
      this.abortWatchers.add(onAbort);
      const t = setTimeout(() => done(false), timeoutMs);
      const removeWatcher = loop.onDrained(() => {
        if (buffer.isDrained(status.connected)) done(true);
      });
    });
  }

  /** Waits for delivery up to flush_timeout_ms; on timeout the records stay buffered (SINK_FLUSH_TIMEOUT). */
  async flush(): Promise<void> {
    const { loop, config, buffer, status } = this.d;
    if (loop.stopped) return;
    if (!(await this.waitDrained(config.flush_timeout_ms))) {
      throw new VidflowError(
        'SINK_FLUSH_TIMEOUT',
        `${this.d.configPath}: kafka sink ${this.d.id}: ${buffer.unsent} record(s) still undelivered after ` +
          `flush_timeout_ms=${config.flush_timeout_ms} (${status.lastError ?? status.state}); they stay buffered`,
        { where: this.d.configPath },
      );
    }
  }

  /** The shutdown deadline passed: blocked writers' records go into the buffer, every wait ends now. */
  abort(reason: string): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    const { buffer } = this.d;
    for (const w of buffer.waiters.clear()) {
      buffer.pending.push(w.entry);
      w.resolve();
    }
    for (const a of [...this.abortWatchers]) a();
  }

  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    const { config, client, buffer, status, loop, log, metrics, spillFile, id, configPath } = this.d;
    loop.closing = true;
    const h = this.d.healthMessage('closed');
    if (h) buffer.control.push(h);
    const ok = await this.waitDrained(config.flush_timeout_ms);
    const unsent = buffer.unsent;
    status.state = 'closed';
    loop.stop();
    const left = buffer.takeAllForClose();
    const spilled = ok ? 0 : appendSpill(spillFile, left, log, id);
    // A writer still waiting for room: its record is in the spill file (resolve) or lost (reject).
    for (const w of buffer.waiters.clear()) {
      if (spilled > 0) w.resolve();
      else
        w.reject(
          new VidflowError(
            'SINK_FLUSH_TIMEOUT',
            `${configPath}: kafka sink ${id} closed before this record was accepted`,
            {
              where: configPath,
            },
          ),
        );
    }
    this.report = {
      undelivered: left.length,
      ...(spilled > 0 && spillFile ? { spilled: { path: spillFile, records: spilled } } : {}),
    };
    // Disconnecting makes an in-flight send fail fast; don't wait long for it or the loop
    // (a hung broker can keep a request open until request_timeout_ms).
    const wasConnected = status.connected;
    await Promise.race([
      Promise.all([client.disconnect().catch(() => undefined), loop.done]),
      new Promise((r) => setTimeout(r, 1000).unref()),
    ]);
    const { sent, dropped, lastError } = status;
    if (!ok && unsent > 0) {
      const lost = unsent - spilled;
      if (lost > 0) metrics.drop(id, 'sink_flush_timeout', lost);
      const within = this.aborted
        ? `before the shutdown deadline (${this.abortReason})`
        : `within flush_timeout_ms=${config.flush_timeout_ms}`;
      const fate =
        spilled > 0
          ? `; ${spilled} written to ${spillFile}${lost > 0 ? `, ${lost} lost` : ''}`
          : '; they are lost (set spill_path to keep them)';
      const msg =
        `${configPath}: kafka sink ${id}: ${unsent} record(s) could not be delivered ${within} ` +
        `(${lastError ?? (wasConnected ? 'no acknowledgement from the broker' : 'broker unreachable')}); sent ` +
        `${sent}, dropped ${dropped + lost}${fate}`;
      log.error(
        { unsent, sent, dropped, spilled, ...(spilled > 0 ? { spill_path: spillFile } : {}), last_error: lastError },
        'kafka sink closed with undelivered records',
      );
      throw new VidflowError('SINK_FLUSH_TIMEOUT', msg, { where: configPath });
    }
    log.info({ sent, dropped }, 'kafka sink closed');
  }
}
