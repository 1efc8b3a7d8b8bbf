/**
 * Role: the Kafka sink itself: the `Sink` contract (write, flush, close, abort, report, health,
 * stats) wiring the parts of this folder together, and the component spec. See
 * docs/sinks/kafka.md.
 *
 * One message per ResultRecord, key = stream_id (a stream's results stay in order on one
 * partition), value = the record's JSON, headers `schema_version` and `pipeline` (encoder.ts).
 * Delivery is at-least-once: records wait in a bounded buffer while the broker is unreachable
 * (at start or mid-run) and are resent after reconnecting with exponential backoff
 * (delivery.ts, retry-policy.ts). When the buffer is full, a `file` pipeline's `write()` waits
 * for room (the source pauses; nothing is dropped) and a `live` pipeline drops the OLDEST
 * buffered record (counted as `sink_overflow`; buffer.ts). `close()` flushes, bounded by
 * `flush_timeout_ms` (flush.ts, spill.ts).
 *
 * The Kafka library sits behind `KafkaProducerClient` (kafka/client.ts); kafkajs is the default.
 */
import type { SinkSpec } from '../../core/component.js';
import { VidflowError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ResultRecord } from '../../core/result.js';
import type { Sink, SinkContext, SinkHealth } from '../../core/sink.js';
import { type Entry, RecordBuffer } from './buffer.js';
import type { KafkaClientFactory, KafkaProducerClient } from './client.js';
import { type KafkaSinkConfig, kafkaSinkSchema } from './config.js';
import { DeliveryLoop } from './delivery.js';
import { encodeHealth, encodeRecord } from './encoder.js';
import { Shutdown } from './flush.js';
import { lazyKafkajsClientFactory } from './lazy-client.js';
import { producerConfigFor } from './producer-config.js';
import { RateLimitedLog } from './rate-limited-log.js';
import { RetryPolicy } from './retry-policy.js';
import { spillPathFor } from './spill.js';
import { DeliveryStatus, type KafkaSinkStats, sinkHealth, sinkStats } from './stats.js';

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

export interface KafkaSink extends Sink {
  /** Counters for tests and the end-of-run report. */
  stats(): KafkaSinkStats;
}

/**
 * Creates the sink and starts connecting in the background: a broker that is down at start only
 * delays delivery (records wait in the buffer). `config` must already be validated by
 * `kafkaSinkSchema` (the runtime does that; `kafkaSinkSpec.create` too).
 */
export function createKafkaSink(config: KafkaSinkConfig, ctx: SinkContext, options: KafkaSinkOptions = {}): KafkaSink {
  const id = config.id ?? 'kafka';
  const log: Logger = ctx.logger.child({ sink: id });
  const warnings = new RateLimitedLog(log, options.warnIntervalMs ?? 5_000);
  const client: KafkaProducerClient = (options.clientFactory ?? lazyKafkajsClientFactory)(
    producerConfigFor(config, ctx),
    {
      logger: log.child({ component: 'kafka-client' }),
    },
  );
  const status = new DeliveryStatus();
  const retry = new RetryPolicy(config, options.random ?? Math.random);
  const buffer = new RecordBuffer(config.buffer_max_records, (n) => {
    status.dropped += n;
    ctx.metrics.drop(id, 'sink_overflow', n);
    warnings.warn(
      'overflow',
      {
        dropped_total: status.dropped,
        buffer_max_records: config.buffer_max_records,
        state: status.state,
        last_error: status.lastError,
      },
      'kafka sink buffer full: dropping the oldest records (live pipeline)',
    );
  });
  const healthMessage = (event: 'connected' | 'closed', sentSoFar = status.sent): Entry | null =>
    config.health_topic
      ? encodeHealth(
          config.health_topic,
          event,
          { pipeline: ctx.pipeline, sink: id },
          { buffered: buffer.buffered, sent: sentSoFar, dropped: status.dropped, failedAttempts: retry.failedAttempts },
        )
      : null;
  const common = { id, configPath: ctx.configPath, config, client, buffer, status, log, metrics: ctx.metrics };
  const loop = new DeliveryLoop({ ...common, mode: ctx.mode, retry, warnings, healthMessage });
  const shutdown = new Shutdown({ ...common, loop, spillFile: spillPathFor(config, ctx, id), healthMessage });

  log.info({ brokers: config.brokers.join(','), topic: config.topic, mode: ctx.mode }, 'kafka sink connecting');
  loop.start();

  return {
    id,

    write(record: ResultRecord): void | Promise<void> {
      if (loop.closing)
        throw new VidflowError('SINK_WRITE', `${ctx.configPath}: write after close (kafka sink ${id})`, {
          where: ctx.configPath,
        });
      if (loop.failure !== null)
        throw new VidflowError('SINK_WRITE', `${ctx.configPath}: kafka sink ${id} failed: ${loop.failure}`, {
          where: ctx.configPath,
        });
      const entry = encodeRecord(record, config, ctx, options.messageKey);
      if (ctx.mode === 'file') {
        // After abort() nothing waits for room: the sources have stopped, what is left is spilled.
        if (!shutdown.aborted && buffer.mustWait) {
          return new Promise<void>((resolve, reject) => {
            buffer.waiters.push({ entry, resolve, reject });
            loop.wake();
          });
        }
        buffer.pending.push(entry);
      } else {
        buffer.pending.push(entry);
        buffer.dropOverflow();
      }
      if (loop.idleWaiting || buffer.pending.length >= config.batch_max_messages) loop.wake();
    },

    flush: () => shutdown.flush(),
    close: () => shutdown.close(),
    abort: (reason: string) => shutdown.abort(reason),
    report: () => shutdown.report,
    health: async (): Promise<SinkHealth> => sinkHealth(status, buffer, retry, config.brokers),
    stats: () => sinkStats(status, buffer, retry),
  };
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
