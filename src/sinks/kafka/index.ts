/**
 * The Kafka sink, one role a file:
 * - config.ts: the config schema (docs/pipeline.md is generated from it)
 * - sink.ts: the Sink contract (write, flush, close, abort, report, health, stats) wiring the parts below,
 *   the factory `createKafkaSink` and the component spec
 * - client.ts: the small producer interface the sink talks to, and the error kinds
 * - kafkajs-client.ts: the default client (kafkajs); producer-config.ts: sink config → client config (TLS files)
 * - delivery.ts: the delivery loop: connect, linger, batch, send, split rejected batches, requeue and reconnect
 * - retry-policy.ts: the retry policy: backoff delays, what is resent and what is given up, failure log levels
 * - buffer.ts: the buffer policy: bounded FIFO, drop-oldest (live), blocked writers (file), health messages
 * - flush.ts: flush/close/abort bounded by flush_timeout_ms, the close report and error
 * - spill.ts: the spill file of records undelivered at close
 * - encoder.ts: record → Kafka message, `sink_health` messages
 * - stats.ts: delivery status, `stats()` and the `health()` line; rate-limited-log.ts: rate-limited warnings
 */
export { kafkaSinkSchema, type KafkaSinkConfig } from './config.js';
export { createKafkaSink, kafkaSinkSpec, type KafkaSink, type KafkaSinkOptions } from './sink.js';
