/**
 * Role: the Kafka sink's delivery loop, the one place that talks to the client. It connects
 * (eagerly, so health shows the real state), lingers for a fuller batch (`linger_ms`,
 * `batch_max_messages`), sends the batch with the health messages around it, splits a batch the
 * broker rejects to drop only the rejected records, and on a failure puts the batch back at the
 * front of the buffer, reconnects and waits as the retry policy says (retry-policy.ts).
 */
import { VidflowError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import type { Entry, RecordBuffer } from './buffer.js';
import type { KafkaMessage, KafkaProducerClient, KafkaTopicBatch } from './client.js';
import type { KafkaSinkConfig } from './config.js';
import { errMessage } from './encoder.js';
import type { RateLimitedLog } from './rate-limited-log.js';
import { isResendable, type RetryPolicy, retryLogLine } from './retry-policy.js';
import type { DeliveryStatus } from './stats.js';

export interface DeliveryDeps {
  id: string;
  configPath: string;
  mode: 'file' | 'live';
  config: KafkaSinkConfig;
  client: KafkaProducerClient;
  buffer: RecordBuffer;
  status: DeliveryStatus;
  retry: RetryPolicy;
  warnings: RateLimitedLog;
  log: Logger;
  metrics: Metrics;
  /** A `sink_health` message (null without health_topic); `sentSoFar` defaults to the sent count. */
  healthMessage: (event: 'connected' | 'closed', sentSoFar?: number) => Entry | null;
}

/** Groups messages by topic, keeping their order within each topic. */
export function batchByTopic(entries: Entry[]): KafkaTopicBatch[] {
  const byTopic = new Map<string, KafkaMessage[]>();
  for (const e of entries) {
    let list = byTopic.get(e.topic);
    if (!list) byTopic.set(e.topic, (list = []));
    list.push(e.message);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/** A sleep that the cancel function handed to `register` can cut short (null once it ends). */
function cancellableSleep(delayMs: number, register: (cancel: (() => void) | null) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      register(null);
      resolve();
    }, delayMs);
    register(() => {
      clearTimeout(t);
      register(null);
      resolve();
    });
  });
}

export class DeliveryLoop {
  /** close() has begun: no lingering, and the loop ends once everything is sent. */
  closing = false;
  /** The loop has ended or must end now. */
  stopped = false;
  /** Why the loop itself failed (then every write fails), else null. */
  failure: string | null = null;
  /** True while the loop waits for work (a write should wake it). */
  idleWaiting = false;
  /** Resolves when the loop has ended. */
  done: Promise<void> = Promise.resolve();

  private readonly d: DeliveryDeps;
  private flushRequests = 0;
  private rejectedInBatch = 0;
  /** Ends the idle wait or the linger (new records, flush, close). */
  private wakeLoop: (() => void) | null = null;
  /** Ends a backoff sleep (flush, close); new records must not cut it short. */
  private cutSleep: (() => void) | null = null;
  private readonly drainWatchers = new Set<() => void>();
  private unsubscribe: () => void = () => undefined;

  constructor(deps: DeliveryDeps) {
    this.d = deps;
  }

  /** Starts the loop in the background and listens for lost connections. */
  start(): void {
    const { client, status, buffer, log } = this.d;
    this.unsubscribe = client.onConnectionLost((err) => {
      if (!status.connected || this.stopped) return;
      status.connected = false;
      status.state = 'retrying';
      status.lastError = errMessage(err);
      status.downSince ??= Date.now();
      this.d.warnings.warn(
        'lost',
        { err: status.lastError, buffered: buffer.pending.length },
        'kafka connection lost; records are buffered until it is back',
      );
      this.wake();
    });
    this.done = this.run().catch((err) => {
      log.error({ err: errMessage(err) }, 'kafka sink loop failed');
      this.failure = errMessage(err);
      status.state = 'closed';
      this.stopped = true;
      for (const w of buffer.waiters.clear())
        w.reject(
          new VidflowError('SINK_WRITE', `${this.d.configPath}: kafka sink ${this.d.id} failed: ${this.failure}`, {
            where: this.d.configPath,
          }),
        );
    });
  }

  /** Wakes the loop from its idle wait or linger. */
  wake(): void {
    const w = this.wakeLoop;
    this.wakeLoop = null;
    w?.();
  }

  /** A flush is waiting: no lingering, and one immediate attempt instead of waiting out the backoff. */
  beginFlush(): void {
    this.flushRequests += 1;
    this.wake();
    this.cutSleep?.();
  }

  endFlush(): void {
    this.flushRequests -= 1;
  }

  /** Calls `listener` after each batch that leaves the buffer drained; returns the function that removes it. */
  onDrained(listener: () => void): () => void {
    this.drainWatchers.add(listener);
    return () => this.drainWatchers.delete(listener);
  }

  /** Ends the loop: stops listening, ends any wait. An in-flight send ends when the client disconnects. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    this.wake();
    this.cutSleep?.();
  }

  private sleep(delayMs: number): Promise<void> {
    return cancellableSleep(delayMs, (cancel) => (this.wakeLoop = cancel));
  }

  private async backoff(err: unknown, what: string): Promise<void> {
    const { status, buffer, config } = this.d;
    const delay = this.d.retry.failed();
    status.lastError = errMessage(err);
    status.downSince ??= Date.now();
    const line = retryLogLine(err, what);
    this.d.warnings.warn(
      `retry-${line.kind}`,
      {
        err: status.lastError,
        kind: line.kind,
        attempt: this.d.retry.attempt,
        retry_in_ms: delay,
        buffered: buffer.pending.length,
        in_flight: buffer.inFlight.length,
        brokers: config.brokers.join(','),
      },
      line.message,
      line.level,
    );
    // Close pending: don't sleep past the flush deadline (close() stops the loop anyway).
    if (!this.stopped) await cancellableSleep(delay, (cancel) => (this.cutSleep = cancel));
  }

  private onConnected(): void {
    const { status, buffer, retry, config, log } = this.d;
    const outage = status.downSince === null ? 0 : Date.now() - status.downSince;
    if (status.everConnected || retry.failedAttempts > 0) {
      log.info(
        { outage_ms: outage, buffered: buffer.pending.length, failed_attempts: retry.failedAttempts },
        status.everConnected ? 'kafka reconnected' : 'kafka connected after retries',
      );
    } else {
      log.info({ brokers: config.brokers.join(',') }, 'kafka connected');
    }
    status.everConnected = true;
    status.connected = true;
    status.state = 'connected';
    retry.succeeded();
    status.downSince = null;
    this.d.warnings.clear();
    const h = this.d.healthMessage('connected');
    if (h) buffer.putConnectedMessage(h);
  }

  /** Sends one batch; on a record-level rejection, retries the records one by one and drops only the rejected ones. */
  private async sendEntries(entries: Entry[]): Promise<void> {
    try {
      await this.d.client.send(batchByTopic(entries));
      return;
    } catch (err) {
      if (isResendable(err)) throw err;
      if (entries.length === 1) {
        const e = entries[0] as Entry;
        if (!e.control) {
          this.d.status.dropped += 1;
          this.rejectedInBatch += 1;
          this.d.metrics.drop(this.d.id, 'sink_rejected');
        }
        this.d.log.error(
          { err: errMessage(err), topic: e.topic, key: e.message.key, bytes: Buffer.byteLength(e.message.value) },
          'kafka broker rejected a record; it is dropped (resending cannot succeed)',
        );
        return;
      }
    }
    for (const e of entries) await this.sendEntries([e]);
  }

  private async run(): Promise<void> {
    const { client, config, buffer, status, retry } = this.d;
    while (!this.stopped) {
      // Connect eagerly (health shows the real state), then wait for work.
      if (!status.connected) {
        status.state = status.everConnected || retry.failedAttempts > 0 ? 'retrying' : 'connecting';
        try {
          await client.connect();
          if (this.stopped) break;
          this.onConnected();
        } catch (err) {
          if (this.stopped) break;
          await this.backoff(err, 'connect');
          continue;
        }
      }
      if (buffer.empty) {
        if (this.closing) break;
        this.idleWaiting = true;
        await this.sleep(60_000);
        this.idleWaiting = false;
        continue;
      }
      if (buffer.inFlight.length === 0) {
        // Linger for a fuller batch unless a flush/close is waiting.
        if (
          buffer.pending.length < config.batch_max_messages &&
          config.linger_ms > 0 &&
          !this.closing &&
          this.flushRequests === 0
        ) {
          await this.sleep(config.linger_ms);
          if (this.stopped) break;
        }
        buffer.takeBatch(config.batch_max_messages);
      }
      // `connected` goes first; `closed` goes last, once everything else is in this batch, with fresh counts.
      const last = buffer.pending.length === 0 && buffer.waiters.length === 0;
      const heads = buffer.control.filter((c) => c.control === 'connected');
      const tails = last
        ? buffer.control
            .filter((c) => c.control === 'closed')
            .map((c) => this.d.healthMessage('closed', status.sent + buffer.inFlight.length) ?? c)
        : [];
      const batch = [...heads, ...buffer.inFlight, ...tails];
      const nControl = heads.length + tails.length;
      if (batch.length === 0) continue;
      try {
        this.rejectedInBatch = 0;
        await this.sendEntries(batch);
        buffer.control.splice(0, nControl);
        status.sent += buffer.inFlight.length - this.rejectedInBatch;
        buffer.inFlight = [];
        retry.succeeded();
        if (buffer.isDrained(status.connected)) for (const d of [...this.drainWatchers]) d();
      } catch (err) {
        if (this.stopped) break;
        // Back to the front of the buffer, in order; reconnect before resending.
        buffer.requeueInFlight();
        if (this.d.mode === 'live') buffer.dropOverflow();
        status.connected = false;
        status.state = 'retrying';
        await client.disconnect().catch(() => undefined);
        await this.backoff(err, 'send');
      }
    }
  }
}
