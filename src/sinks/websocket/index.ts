/**
 * The WebSocket sink, one role a file:
 * - config.ts: the config schema (docs/pipeline.md is generated from it)
 * - sink.ts: the Sink contract (write, writeFrame, flush, close, health, stats) wiring the parts below,
 *   the factory `createWebSocketSink` and the component spec
 * - server.ts: the HTTP server: listen, dashboard files, /healthz, upgrade checks (path, auth, origin, max_clients)
 * - auth.ts: the bearer-token and Origin checks the server applies
 * - connections.ts: the connected clients as a group: hello, client messages, fan-out of records and frames
 * - client.ts: one client's bounded queue: backpressure, drop-oldest, frame coalescing, drop reports
 * - protocol.ts: client/server messages, decoding client messages, the subscription filter, frame encoding
 * - heartbeat.ts: ping/pong liveness checks
 * - health.ts: the sink's counters and the per-stream figures of `{type:'health'}` messages
 * - assets.ts: finding and loading the dashboard files
 * - dashboard-server.ts: `startDashboardServer`, the dashboard without a pipeline
 */
export { websocketSinkSchema, type WebSocketSinkConfig, type WebSocketSinkInput } from './config.js';
export * from './dashboard-server.js';
export * from './sink.js';
