/** The Kafka sink lives in sinks/kafka/ (see its index.ts); this path re-exports it. */
export * from './kafka/index.js';
