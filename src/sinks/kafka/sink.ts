/**
 * Kafka sink: one message per ResultRecord, key = stream_id (a stream's results stay in order on
 * one partition), value = the record's JSON, headers `schema_version` and `pipeline`.
 *
 * Delivery is at-least-once: records wait in a bounded buffer while the broker is unreachable
 * (at start or mid-run) and are resent after reconnecting with exponential backoff. When the
 * buffer is full, a `file` pipeline's `write()` waits for room (the source pauses; nothing is
 * dropped) and a `live` pipeline drops the OLDEST buffered record (counted as `sink_overflow`).
 * `close()` flushes, bounded by `flush_timeout_ms`. See docs/sinks/kafka.md.
 *
 * The Kafka library sits behind `KafkaProducerClient` (kafka/client.ts); kafkajs is the default.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SinkSpec } from '../../core/component.js';
import { VidflowError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ResultRecord } from '../../core/result.js';
import type { Sink, SinkContext, SinkHealth } from '../../core/sink.js';
import { appendSpill, Fifo, retryDelayMs, spillPathFor, type Entry, type Waiter } from './buffer.js';
import {
  errorKind,
  type KafkaClientFactory,
  type KafkaMessage,
  type KafkaProducerClient,
  type KafkaProducerConfig,
  type KafkaTopicBatch,
} from './client.js';
import { kafkaSinkSchema, type KafkaSinkConfig } from './config.js';
import { kafkajsClientFactory } from './kafkajs-client.js';

export interface KafkaSinkOptions {
  /** Another Kafka client (librdkafka, a test fake). Default: kafkajs. */
  clientFactory?: KafkaClientFactory;
  /** Jitter source (tests). Default Math.random. */
  random?: () => number;
  /** Minimum interval between repeated warnings of one kind. Default 5000 ms. */
  warnIntervalMs?: number;
  /** Message key of a record. Default: its stream_id (a stream's results stay in order on one partition). */
  messageKey?: (record: ResultRecord) => string;
}

type State = 'connecting' | 'connected' | 'retrying' | 'closed';

export interface KafkaSink extends Sink {
  /** Counters for tests and the end-of-run report. */
  stats(): {
    state: State;
    buffered: number;
    inFlight: number;
    waitingWriters: number;
    sent: number;
    dropped: number;
    failedAttempts: number;
  };
}

function readPem(file: string | undefined, field: string, ctx: SinkContext): Buffer | undefined {
  if (file === undefined) return undefined;
  const abs = path.resolve(ctx.baseDir, file);
  try {
    return fs.readFileSync(abs);
  } catch (err) {
    throw new VidflowError(
      'SINK_PATH',
      `${ctx.configPath}.ssl.${field}: cannot read ${abs}: ${(err as Error).message}`,
      { where: `${ctx.configPath}.ssl.${field}`, cause: err },
    );
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Creates the sink and starts connecting in the background: a broker that is down at start only
 * delays delivery (records wait in the buffer). `config` must already be validated by
 * `kafkaSinkSchema` (the runtime does that; `kafkaSinkSpec.create` too).
 */
export function createKafkaSink(config: KafkaSinkConfig, ctx: SinkContext, options: KafkaSinkOptions = {}): KafkaSink {
  const id = config.id ?? 'kafka';
  const log: Logger = ctx.logger.child({ sink: id });
  const random = options.random ?? Math.random;
  const warnIntervalMs = options.warnIntervalMs ?? 5_000;
  const cap = config.buffer_max_records;

  const ssl: KafkaProducerConfig['ssl'] =
    typeof config.ssl === 'boolean'
      ? config.ssl
      : {
          rejectUnauthorized: config.ssl.reject_unauthorized,
          ca: readPem(config.ssl.ca_file, 'ca_file', ctx),
          cert: readPem(config.ssl.cert_file, 'cert_file', ctx),
          key: readPem(config.ssl.key_file, 'key_file', ctx),
        };
  const clientConfig: KafkaProducerConfig = {
    brokers: config.brokers,
    clientId: config.client_id,
    ...(config.sasl ? { sasl: config.sasl } : {}),
    ssl,
    compression: config.compression,
    acks: config.acks,
    idempotent: config.idempotent,
    connectTimeoutMs: config.connect_timeout_ms,
    requestTimeoutMs: config.request_timeout_ms,
  };
  const client: KafkaProducerClient = (options.clientFactory ?? kafkajsClientFactory)(clientConfig, {
    logger: log.child({ component: 'kafka-client' }),
  });

  const pending = new Fifo<Entry>();
  const control: Entry[] = [];
  const waiters = new Fifo<Waiter>();
  let inFlight: Entry[] = [];
  let state: State = 'connecting';
  let connected = false;
  let closing = false;
  let stopped = false;
  let flushRequests = 0;
  let attempt = 0;
  let failedAttempts = 0;
  let sent = 0;
  let dropped = 0;
  let lastError: string | null = null;
  let downSince: number | null = null;
  let everConnected = false;

  // Wakes the loop (new records, flush, close) and anything waiting for the buffer to drain.
  let wakeLoop: (() => void) | null = null;
  const drainWatchers = new Set<() => void>();
  const wake = () => {
    const w = wakeLoop;
    wakeLoop = null;
    w?.();
  };
  const notifyDrain = () => {
    for (const d of [...drainWatchers]) d();
  };
  // Health messages (control) hold up a flush only while connected: they are best-effort.
  const isDrained = () =>
    pending.length === 0 && inFlight.length === 0 && waiters.length === 0 && (control.length === 0 || !connected);
  let idleWaiting = false;
  let rejectedInBatch = 0;

  // Rate-limited warnings: one line per kind per interval, with the count of suppressed ones.
  const warned = new Map<string, { at: number; suppressed: number }>();
  const warnLimited = (kind: string, obj: Record<string, unknown>, msg: string, level: 'warn' | 'error' = 'warn') => {
    const now = Date.now();
    const w = warned.get(kind);
    if (w && now - w.at < warnIntervalMs) {
      w.suppressed += 1;
      return;
    }
    log[level]({ ...obj, ...(w && w.suppressed > 0 ? { suppressed: w.suppressed } : {}) }, msg);
    warned.set(kind, { at: now, suppressed: 0 });
  };

  const unsubscribe = client.onConnectionLost((err) => {
    if (!connected || stopped) return;
    connected = false;
    state = 'retrying';
    lastError = errMessage(err);
    downSince ??= Date.now();
    warnLimited(
      'lost',
      { err: lastError, buffered: pending.length },
      'kafka connection lost; records are buffered until it is back',
    );
    wake();
  });

  const toEntry = (record: ResultRecord): Entry => {
    let value: string;
    try {
      value = JSON.stringify(record);
    } catch (err) {
      throw new VidflowError(
        'SINK_WRITE',
        `${ctx.configPath}: record of stream ${record.stream_id} frame ${record.frame_index} is not serializable: ` +
          `${errMessage(err)}`,
        {
          where: record.stream_id,
          cause: err,
        },
      );
    }
    return {
      topic: config.topics_by_task?.[record.task] ?? config.topic,
      message: {
        key: options.messageKey ? options.messageKey(record) : record.stream_id,
        value,
        headers: { schema_version: String(record.schema_version), pipeline: String(record.pipeline ?? ctx.pipeline) },
      },
    };
  };

  const dropOverflow = () => {
    let n = 0;
    while (pending.length > cap) {
      pending.shift();
      n += 1;
    }
    if (n > 0) {
      dropped += n;
      ctx.metrics.drop(id, 'sink_overflow', n);
      warnLimited(
        'overflow',
        { dropped_total: dropped, buffer_max_records: cap, state, last_error: lastError },
        'kafka sink buffer full: dropping the oldest records (live pipeline)',
      );
    }
  };

  /** Moves blocked writers' records into the buffer while there is room (file mode). */
  const admitWaiters = () => {
    while (waiters.length > 0 && pending.length < cap) {
      const w = waiters.shift() as Waiter;
      pending.push(w.entry);
      w.resolve();
    }
  };

  const healthMessage = (event: 'connected' | 'closed', sentSoFar = sent): Entry | null => {
    if (!config.health_topic) return null;
    const value = JSON.stringify({
      kind: 'sink_health',
      event,
      pipeline: ctx.pipeline,
      sink: id,
      at: new Date().toISOString(),
      buffered: pending.length + waiters.length,
      sent: sentSoFar,
      dropped,
      failed_attempts: failedAttempts,
    });
    return {
      topic: config.health_topic,
      message: { key: ctx.pipeline, value, headers: { pipeline: ctx.pipeline } },
      control: event,
    };
  };

  /** A sleep that the cancel function handed to `register` can cut short (null once it ends). */
  const cancellableSleep = (delayMs: number, register: (cancel: (() => void) | null) => void) =>
    new Promise<void>((resolve) => {
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
  // The send loop's idle wait: a new record, flush or close wakes it (wake()).
  const sleep = (delayMs: number) => cancellableSleep(delayMs, (cancel) => (wakeLoop = cancel));

  const backoff = async (err: unknown, what: string) => {
    failedAttempts += 1;
    lastError = errMessage(err);
    downSince ??= Date.now();
    const delay = retryDelayMs(attempt, config, random);
    attempt += 1;
    const kind = errorKind(err);
    warnLimited(
      `retry-${kind}`,
      {
        err: lastError,
        kind,
        attempt,
        retry_in_ms: delay,
        buffered: pending.length,
        in_flight: inFlight.length,
        brokers: config.brokers.join(','),
      },
      kind === 'auth'
        ? `kafka ${what} failed: authentication/authorization error; retrying`
        : `kafka ${what} failed; retrying with backoff`,
      kind === 'auth' ? 'error' : 'warn',
    );
    if (!stopped) {
      // Close pending: don't sleep past the flush deadline (close() stops the loop anyway).
      await sleepUnlessStopped(delay);
    }
  };
  // A backoff sleep that close-timeout can cut short; new records must not cut it short.
  let cutSleep: (() => void) | null = null;
  const sleepUnlessStopped = (delayMs: number) => cancellableSleep(delayMs, (cancel) => (cutSleep = cancel));

  const buildBatch = (entries: Entry[]): KafkaTopicBatch[] => {
    const byTopic = new Map<string, KafkaMessage[]>();
    for (const e of entries) {
      let list = byTopic.get(e.topic);
      if (!list) byTopic.set(e.topic, (list = []));
      list.push(e.message);
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  };

  const onConnected = () => {
    const outage = downSince === null ? 0 : Date.now() - downSince;
    if (everConnected || failedAttempts > 0) {
      log.info(
        { outage_ms: outage, buffered: pending.length, failed_attempts: failedAttempts },
        everConnected ? 'kafka reconnected' : 'kafka connected after retries',
      );
    } else {
      log.info({ brokers: config.brokers.join(',') }, 'kafka connected');
    }
    everConnected = true;
    connected = true;
    state = 'connected';
    attempt = 0;
    downSince = null;
    warned.clear();
    const h = healthMessage('connected');
    if (h) {
      // Replaces an unsent older `connected` message; a pending `closed` one stays last.
      const rest = control.filter((c) => c.control !== 'connected');
      control.length = 0;
      control.push(h, ...rest);
    }
  };

  /** Sends one batch; on a record-level rejection, retries the records one by one and drops only the rejected ones. */
  const sendEntries = async (entries: Entry[]): Promise<void> => {
    try {
      await client.send(buildBatch(entries));
      return;
    } catch (err) {
      if (errorKind(err) !== 'record') throw err;
      if (entries.length === 1) {
        const e = entries[0] as Entry;
        if (!e.control) {
          dropped += 1;
          rejectedInBatch += 1;
          ctx.metrics.drop(id, 'sink_rejected');
        }
        log.error(
          { err: errMessage(err), topic: e.topic, key: e.message.key, bytes: Buffer.byteLength(e.message.value) },
          'kafka broker rejected a record; it is dropped (resending cannot succeed)',
        );
        return;
      }
    }
    for (const e of entries) await sendEntries([e]);
  };

  const loop = async () => {
    while (!stopped) {
      // Connect eagerly (health shows the real state), then wait for work.
      if (!connected) {
        state = everConnected || failedAttempts > 0 ? 'retrying' : 'connecting';
        try {
          await client.connect();
          if (stopped) break;
          onConnected();
        } catch (err) {
          if (stopped) break;
          await backoff(err, 'connect');
          continue;
        }
      }
      if (pending.length + inFlight.length + control.length === 0) {
        if (closing) break;
        idleWaiting = true;
        await sleep(60_000);
        idleWaiting = false;
        continue;
      }
      if (inFlight.length === 0) {
        // Linger for a fuller batch unless a flush/close is waiting.
        if (pending.length < config.batch_max_messages && config.linger_ms > 0 && !closing && flushRequests === 0) {
          await sleep(config.linger_ms);
          if (stopped) break;
        }
        inFlight = pending.take(config.batch_max_messages);
        admitWaiters();
      }
      // `connected` goes first; `closed` goes last, once everything else is in this batch, with fresh counts.
      const last = pending.length === 0 && waiters.length === 0;
      const heads = control.filter((c) => c.control === 'connected');
      const tails = last
        ? control.filter((c) => c.control === 'closed').map((c) => healthMessage('closed', sent + inFlight.length) ?? c)
        : [];
      const batch = [...heads, ...inFlight, ...tails];
      const nControl = heads.length + tails.length;
      if (batch.length === 0) continue;
      try {
        rejectedInBatch = 0;
        await sendEntries(batch);
        control.splice(0, nControl);
        sent += inFlight.length - rejectedInBatch;
        inFlight = [];
        attempt = 0;
        if (isDrained()) notifyDrain();
      } catch (err) {
        if (stopped) break;
        // Back to the front of the buffer, in order; reconnect before resending.
        pending.unshiftAll(inFlight);
        inFlight = [];
        if (ctx.mode === 'live') dropOverflow();
        connected = false;
        state = 'retrying';
        await client.disconnect().catch(() => undefined);
        await backoff(err, 'send');
      }
    }
  };

  let loopDone: Promise<void>;
  let loopFailure: string | null = null;
  const startLoop = () => {
    loopDone = loop().catch((err) => {
      log.error({ err: errMessage(err) }, 'kafka sink loop failed');
      loopFailure = errMessage(err);
      state = 'closed';
      stopped = true;
      for (const w of waiters.clear())
        w.reject(
          new VidflowError('SINK_WRITE', `${ctx.configPath}: kafka sink ${id} failed: ${loopFailure}`, {
            where: ctx.configPath,
          }),
        );
    });
  };
  log.info({ brokers: config.brokers.join(','), topic: config.topic, mode: ctx.mode }, 'kafka sink connecting');
  startLoop();

  // abort(): the shutdown deadline passed; every wait for delivery ends now (→ false).
  let aborted = false;
  let abortReason = '';
  const abortWatchers = new Set<() => void>();

  /** Waits until everything buffered is delivered, or `timeoutMs` passes or abort() (→ false). */
  const waitDrained = (timeoutMs: number): Promise<boolean> => {
    if (isDrained()) return Promise.resolve(true);
    if (aborted) return Promise.resolve(false);
    flushRequests += 1;
    wake(); // ends a linger
    cutSleep?.(); // one immediate attempt instead of waiting out the backoff
    return new Promise<boolean>((resolve) => {
      let settled = false;
      const done = (ok: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        drainWatchers.delete(watcher);
        abortWatchers.delete(onAbort);
        flushRequests -= 1;
        resolve(ok);
      };
      const onAbort = () => done(false);
      abortWatchers.add(onAbort);
      const watcher = () => {
        if (isDrained()) done(true);
      };
      const t = setTimeout(() => done(false), timeoutMs);
      drainWatchers.add(watcher);
    });
  };

  const unsentCount = () => pending.length + inFlight.length + waiters.length;
  let closePromise: Promise<void> | null = null;
  let closeReport: { undelivered: number; spilled?: { path: string; records: number } } = { undelivered: 0 };
  const spillFile = spillPathFor(config, ctx, id);
  const spill = (entries: Entry[]): number => appendSpill(spillFile, entries, log, id);

  const sink: KafkaSink = {
    id,

    write(record: ResultRecord): void | Promise<void> {
      if (closing)
        throw new VidflowError('SINK_WRITE', `${ctx.configPath}: write after close (kafka sink ${id})`, {
          where: ctx.configPath,
        });
      if (loopFailure !== null)
        throw new VidflowError('SINK_WRITE', `${ctx.configPath}: kafka sink ${id} failed: ${loopFailure}`, {
          where: ctx.configPath,
        });
      const entry = toEntry(record);
      if (ctx.mode === 'file') {
        // After abort() nothing waits for room: the sources have stopped, what is left is spilled.
        if (!aborted && (waiters.length > 0 || pending.length >= cap)) {
          return new Promise<void>((resolve, reject) => {
            waiters.push({ entry, resolve, reject });
            wake();
          });
        }
        pending.push(entry);
      } else {
        pending.push(entry);
        dropOverflow();
      }
      if (idleWaiting || pending.length >= config.batch_max_messages) wake();
    },

    async flush(): Promise<void> {
      if (stopped) return;
      if (!(await waitDrained(config.flush_timeout_ms))) {
        throw new VidflowError(
          'SINK_FLUSH_TIMEOUT',
          `${ctx.configPath}: kafka sink ${id}: ${unsentCount()} record(s) still undelivered after ` +
            `flush_timeout_ms=${config.flush_timeout_ms} (${lastError ?? state}); they stay buffered`,
          { where: ctx.configPath },
        );
      }
    },

    close(): Promise<void> {
      closePromise ??= (async () => {
        closing = true;
        const h = healthMessage('closed');
        if (h) control.push(h);
        const ok = await waitDrained(config.flush_timeout_ms);
        const unsent = unsentCount();
        stopped = true;
        state = 'closed';
        unsubscribe();
        wake();
        cutSleep?.();
        // In-flight first (oldest; possibly delivered with the acknowledgement lost: at-least-once).
        const left = [...inFlight, ...pending.clear(), ...waiters.snapshot().map((w) => w.entry)].filter(
          (e) => e.control === undefined,
        );
        inFlight = [];
        control.length = 0;
        const spilled = ok ? 0 : spill(left);
        // A writer still waiting for room: its record is in the spill file (resolve) or lost (reject).
        for (const w of waiters.clear()) {
          if (spilled > 0) w.resolve();
          else
            w.reject(
              new VidflowError(
                'SINK_FLUSH_TIMEOUT',
                `${ctx.configPath}: kafka sink ${id} closed before this record was accepted`,
                { where: ctx.configPath },
              ),
            );
        }
        closeReport = {
          undelivered: left.length,
          ...(spilled > 0 && spillFile ? { spilled: { path: spillFile, records: spilled } } : {}),
        };
        // Disconnecting makes an in-flight send fail fast; don't wait long for it or the loop
        // (a hung broker can keep a request open until request_timeout_ms).
        const wasConnected = connected;
        await Promise.race([
          Promise.all([client.disconnect().catch(() => undefined), loopDone]),
          new Promise((r) => setTimeout(r, 1000).unref()),
        ]);
        if (!ok && unsent > 0) {
          const lost = unsent - spilled;
          if (lost > 0) ctx.metrics.drop(id, 'sink_flush_timeout', lost);
          const within = aborted
            ? `before the shutdown deadline (${abortReason})`
            : `within flush_timeout_ms=${config.flush_timeout_ms}`;
          const fate =
            spilled > 0
              ? `; ${spilled} written to ${spillFile}${lost > 0 ? `, ${lost} lost` : ''}`
              : '; they are lost (set spill_path to keep them)';
          const msg =
            `${ctx.configPath}: kafka sink ${id}: ${unsent} record(s) could not be delivered ${within} ` +
            `(${lastError ?? (wasConnected ? 'no acknowledgement from the broker' : 'broker unreachable')}); sent ` +
            `${sent}, dropped ${dropped + lost}${fate}`;
          log.error(
            {
              unsent,
              sent,
              dropped,
              spilled,
              ...(spilled > 0 ? { spill_path: spillFile } : {}),
              last_error: lastError,
            },
            'kafka sink closed with undelivered records',
          );
          throw new VidflowError('SINK_FLUSH_TIMEOUT', msg, { where: ctx.configPath });
        }
        log.info({ sent, dropped }, 'kafka sink closed');
      })();
      return closePromise;
    },

    abort(reason: string): void {
      if (aborted) return;
      aborted = true;
      abortReason = reason;
      for (const w of waiters.clear()) {
        pending.push(w.entry);
        w.resolve();
      }
      for (const a of [...abortWatchers]) a();
    },

    report() {
      return closeReport;
    },

    async health(): Promise<SinkHealth> {
      const buffered = pending.length + waiters.length;
      const parts = [
        state === 'retrying' ? `retrying (attempt ${attempt}${lastError ? `, last error: ${lastError}` : ''})` : state,
        `buffered=${buffered}/${cap}`,
        `in_flight=${inFlight.length}`,
        `sent=${sent}`,
        `dropped=${dropped}`,
      ];
      return { ok: state === 'connected', detail: `kafka ${config.brokers.join(',')}: ${parts.join(', ')}` };
    },

    stats() {
      return {
        state,
        buffered: pending.length,
        inFlight: inFlight.length,
        waitingWriters: waiters.length,
        sent,
        dropped,
        failedAttempts,
      };
    },
  };
  return sink;
}

export const kafkaSinkSpec: SinkSpec<KafkaSinkConfig> = {
  type: 'kafka',
  summary:
    'Publishes each result record to Kafka (key = stream_id, JSON value), buffering and retrying while the broker is ' +
    'unreachable.',
  schema: kafkaSinkSchema,
  example: {
    type: 'kafka',
    brokers: 'localhost:9092',
    topic: 'vidflow.results',
    topics_by_task: { detection: 'vidflow.detections' },
    compression: 'gzip',
    buffer_max_records: 10000,
    flush_timeout_ms: 10000,
  },
  async create(config, ctx) {
    return createKafkaSink(config, ctx);
  },
};
