/** The sink contract lives in core (core/sink.ts); re-exported here for the sinks. */
export type { Sink, SinkContext, SinkHealth, PreviewFrame } from '../core/sink.js';
