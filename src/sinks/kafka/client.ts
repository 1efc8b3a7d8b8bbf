/**
 * Role: the transport contract. The small producer interface the Kafka sink talks to. kafkajs
 * is the default implementation (kafkajs-client.ts); a librdkafka-based client (or a test fake)
 * plugs in by implementing
 * `KafkaProducerClient` and passing its factory to `createKafkaSink(..., { clientFactory })`.
 * The sink owns retries, buffering, ordering and backpressure; a client only moves one batch.
 *
 * Contract for implementations:
 * - `connect()` resolves once the client can produce; it rejects (fairly quickly: bounded by
 *   `connectTimeoutMs` plus a little) when no broker is reachable — it does not retry for long.
 * - `send(batch)` resolves when every message is acknowledged as `acks` asks, and rejects
 *   otherwise (a `KafkaClientError`, ideally). Messages of one topic and key must be written in
 *   array order. After a rejected `send`, the sink calls `disconnect()` then `connect()` again,
 *   so an implementation may discard any per-session state (e.g. an idempotent producer id).
 * - `disconnect()` never rejects for an already broken connection, and may be called at any time
 *   (also while a `send` is pending, which then rejects).
 * - `onConnectionLost(listener)` reports a connection lost outside `send` where the client can
 *   tell (it is advisory: the sink also learns it from the next failing `send`).
 */

export interface KafkaMessage {
  /** Partitioning key: the sink uses the record's stream_id, so one stream stays ordered. */
  key: string | null;
  value: string | Buffer;
  headers: Record<string, string>;
}

export interface KafkaTopicBatch {
  topic: string;
  messages: KafkaMessage[];
}

export type KafkaSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface KafkaProducerConfig {
  brokers: string[];
  clientId: string;
  sasl?: { mechanism: KafkaSaslMechanism; username: string; password: string };
  /** `true`: TLS with system CAs; an object: PEM contents already read from the configured files. */
  ssl?: boolean | { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };
  compression: 'none' | 'gzip';
  /** -1 = all in-sync replicas, 1 = leader, 0 = none. */
  acks: -1 | 0 | 1;
  idempotent: boolean;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

/** Why a client call failed; decides what the sink does next. */
export type KafkaErrorKind =
  /** Broker unreachable / connection dropped / timeout: reconnect and resend. */
  | 'connection'
  /** Authentication or authorization: resend after backoff (logged as error; needs an operator). */
  | 'auth'
  /** The broker rejected the records themselves (too large, invalid): resending cannot help. */
  | 'record'
  /** Anything else: reconnect and resend. */
  | 'other';

export class KafkaClientError extends Error {
  constructor(
    message: string,
    readonly kind: KafkaErrorKind,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KafkaClientError';
  }
}

export interface KafkaProducerClient {
  connect(): Promise<void>;
  send(batch: KafkaTopicBatch[]): Promise<void>;
  disconnect(): Promise<void>;
  /** Registers a listener; returns the function that removes it. */
  onConnectionLost(listener: (err: Error) => void): () => void;
}

export interface KafkaClientDeps {
  /** Log sink for the client library's own messages (already a child logger of the sink). */
  logger: import('../../core/logger.js').Logger;
}

export type KafkaClientFactory = (config: KafkaProducerConfig, deps: KafkaClientDeps) => KafkaProducerClient;

/** The error kind of any thrown value (non-`KafkaClientError`s count as `other`). */
export function errorKind(err: unknown): KafkaErrorKind {
  return err instanceof KafkaClientError ? err.kind : 'other';
}
