/**
 * The Kafka sink, one role a file: config.ts (schema), client.ts + kafkajs-client.ts (transport),
 * buffer.ts (buffer, retry and spill policy), sink.ts (the sink and its component spec).
 */
export { kafkaSinkSchema, type KafkaSinkConfig } from './config.js';
export { createKafkaSink, kafkaSinkSpec, type KafkaSink, type KafkaSinkOptions } from './sink.js';
