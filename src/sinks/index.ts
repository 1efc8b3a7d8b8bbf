/** The sink components, listed explicitly. */
import type { SinkSpec } from '../core/component.js';
import { jsonlSinkSpec } from './jsonl-sink.js';
import { kafkaSinkSpec } from './kafka-sink.js';
import { stdoutSinkSpec } from './stdout-sink.js';
import { summarySinkSpec } from './summary-sink.js';
import { websocketSinkSpec } from './websocket-sink.js';

export const sinkSpecs: readonly SinkSpec[] = [
  stdoutSinkSpec,
  summarySinkSpec,
  jsonlSinkSpec,
  kafkaSinkSpec,
  websocketSinkSpec,
];
