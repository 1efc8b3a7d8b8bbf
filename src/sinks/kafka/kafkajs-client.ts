/**
 * Role: the default transport, kafkajs. It implements the small `KafkaProducerClient` interface of
 * client.ts and nothing more — the sink owns retries and buffering, so kafkajs' own retries are
 * kept short (one connect attempt; a couple of quick retries inside a send, which an idempotent
 * kafkajs producer requires and which ride out a partition leader change).
 *
 * Every `connect()` creates a fresh kafkajs producer: after a failed send the sink reconnects, and
 * a new idempotent producer id avoids kafkajs' stuck-sequence-number failure mode (at the cost of
 * possible duplicates of the batch being resent — see docs/sinks/kafka.md).
 */
import {
  CompressionTypes,
  Kafka,
  Partitioners,
  logLevel as KafkaLogLevel,
  type KafkaConfig,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import type { Logger } from '../../core/logger.js';
import {
  KafkaClientError,
  type KafkaClientDeps,
  type KafkaClientFactory,
  type KafkaErrorKind,
  type KafkaProducerClient,
  type KafkaProducerConfig,
  type KafkaTopicBatch,
} from './client.js';

const CONNECTION_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
]);
const AUTH_TYPES = /AUTHORIZATION_FAILED|SASL_AUTHENTICATION_FAILED|ILLEGAL_SASL_STATE|UNSUPPORTED_SASL_MECHANISM/;
const RECORD_TYPES = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TIMESTAMP',
]);

/** Classifies a kafkajs error (walking `cause`, `originalError` and aggregate `errors`). */
export function classifyKafkajsError(err: unknown): KafkaErrorKind {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  let kind: KafkaErrorKind = 'other';
  while (queue.length > 0) {
    const e = queue.shift() as {
      name?: string;
      type?: string;
      cause?: unknown;
      originalError?: unknown;
      errors?: unknown[];
    } | null;
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    if (e.name === 'KafkaJSSASLAuthenticationError' || (e.type !== undefined && AUTH_TYPES.test(e.type))) return 'auth';
    if (e.type !== undefined && RECORD_TYPES.has(e.type)) return 'record';
    if (e.name !== undefined && CONNECTION_ERRORS.has(e.name)) kind = 'connection';
    queue.push(e.cause, e.originalError, ...(Array.isArray(e.errors) ? e.errors : []));
  }
  return kind;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const inner = cause instanceof Error && cause.message !== err.message ? ` (${cause.message})` : '';
    return `${err.message}${inner}`;
  }
  return String(err);
}

/** kafkajs log lines go to the sink's logger at debug level: the sink logs outages itself, rate-limited. */
function logCreator(logger: Logger): KafkaConfig['logCreator'] {
  return () =>
    ({ namespace, level, log }) => {
      const {
        message,
        timestamp: _t,
        logger: _l,
        ...rest
      } = log as { message: string; timestamp?: string; logger?: string; [k: string]: unknown };
      logger.debug({ kafkajs: namespace, kafkajs_level: KafkaLogLevel[level], ...rest }, message);
    };
}

class KafkajsProducerClient implements KafkaProducerClient {
  private readonly kafka: Kafka;
  private producer: Producer | null = null;
  private readonly listeners = new Set<(err: Error) => void>();
  private closingOnPurpose = false;

  constructor(
    private readonly config: KafkaProducerConfig,
    private readonly deps: KafkaClientDeps,
  ) {
    const kcfg: KafkaConfig = {
      clientId: config.clientId,
      brokers: config.brokers,
      connectionTimeout: config.connectTimeoutMs,
      authenticationTimeout: config.connectTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      // One attempt per connect(): the sink retries with its own backoff.
      retry: { retries: 0 },
      logLevel: KafkaLogLevel.INFO,
      logCreator: logCreator(deps.logger),
    };
    if (config.ssl !== undefined && config.ssl !== false) {
      kcfg.ssl =
        config.ssl === true
          ? true
          : {
              rejectUnauthorized: config.ssl.rejectUnauthorized,
              ...(config.ssl.ca ? { ca: [config.ssl.ca] } : {}),
              ...(config.ssl.cert ? { cert: config.ssl.cert } : {}),
              ...(config.ssl.key ? { key: config.ssl.key } : {}),
            };
    }
    if (config.sasl)
      kcfg.sasl = {
        mechanism: config.sasl.mechanism,
        username: config.sasl.username,
        password: config.sasl.password,
      } as SASLOptions;
    this.kafka = new Kafka(kcfg);
  }

  async connect(): Promise<void> {
    await this.disconnect();
    const producer = this.kafka.producer({
      idempotent: this.config.idempotent,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    producer.on(producer.events.DISCONNECT, () => {
      if (this.producer === producer && !this.closingOnPurpose)
        this.emitLost(new KafkaClientError('kafka producer disconnected', 'connection'));
    });
    this.producer = producer;
    try {
      await producer.connect();
    } catch (err) {
      this.producer = null;
      await producer.disconnect().catch(() => undefined);
      throw new KafkaClientError(
        `connect to ${this.config.brokers.join(',')} failed: ${describe(err)}`,
        classifyKafkajsError(err),
        { cause: err },
      );
    }
  }

  async send(batch: KafkaTopicBatch[]): Promise<void> {
    const producer = this.producer;
    if (!producer) throw new KafkaClientError('not connected', 'connection');
    try {
      await producer.sendBatch({
        acks: this.config.acks,
        timeout: this.config.requestTimeoutMs,
        compression: this.config.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
        topicMessages: batch.map((b) => ({
          topic: b.topic,
          messages: b.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
        })),
      });
    } catch (err) {
      const kind = classifyKafkajsError(err);
      const e = new KafkaClientError(`send failed: ${describe(err)}`, kind, { cause: err });
      if (kind === 'connection') this.emitLost(e);
      throw e;
    }
  }

  async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    if (!producer) return;
    this.closingOnPurpose = true;
    try {
      await producer.disconnect();
    } catch {
      /* already broken */
    } finally {
      this.closingOnPurpose = false;
    }
  }

  onConnectionLost(listener: (err: Error) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emitLost(err: Error): void {
    for (const l of this.listeners) {
      try {
        l(err);
      } catch (e) {
        this.deps.logger.warn({ err: e }, 'kafka connection-lost listener threw');
      }
    }
  }
}

/** The default `KafkaClientFactory`. */
export const kafkajsClientFactory: KafkaClientFactory = (config, deps) => new KafkajsProducerClient(config, deps);
