/**
 * Role: load kafkajs only when a Kafka sink first connects. The config loader registers every
 * sink type, so a static import would make every `vidflow run` pay for loading kafkajs (~0.2 s
 * of start-up here) even with no Kafka sink in the pipeline. This wrapper implements
 * `KafkaProducerClient` and imports kafkajs-client.js on the first `connect()`.
 */
import type {
  KafkaClientDeps,
  KafkaClientFactory,
  KafkaProducerClient,
  KafkaProducerConfig,
  KafkaTopicBatch,
} from './client.js';
import { KafkaClientError } from './client.js';

class LazyKafkajsClient implements KafkaProducerClient {
  private inner: KafkaProducerClient | null = null;
  private readonly listeners = new Set<(err: Error) => void>();

  constructor(
    private readonly config: KafkaProducerConfig,
    private readonly deps: KafkaClientDeps,
  ) {}

  async connect(): Promise<void> {
    if (!this.inner) {
      const { kafkajsClientFactory } = await import('./kafkajs-client.js');
      const inner = kafkajsClientFactory(this.config, this.deps);
      inner.onConnectionLost((err) => {
        for (const l of this.listeners) l(err);
      });
      this.inner = inner;
    }
    await this.inner.connect();
  }

  async send(batch: KafkaTopicBatch[]): Promise<void> {
    if (!this.inner) throw new KafkaClientError('not connected', 'connection');
    await this.inner.send(batch);
  }

  async disconnect(): Promise<void> {
    await this.inner?.disconnect();
  }

  onConnectionLost(listener: (err: Error) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The default client factory of the Kafka sink: kafkajs, imported on first connect. */
export const lazyKafkajsClientFactory: KafkaClientFactory = (config, deps) => new LazyKafkajsClient(config, deps);
