/**
 * The WebSocket sink, one role a file: config.ts (schema), protocol.ts (client messages and
 * subscription filter), client.ts (one client's bounded queue), assets.ts (dashboard files),
 * sink.ts (HTTP/WebSocket server, auth check, the sink and its spec).
 */
export { websocketSinkSchema, type WebSocketSinkConfig, type WebSocketSinkInput } from './config.js';
export * from './sink.js';
