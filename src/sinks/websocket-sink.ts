/** The WebSocket sink lives in sinks/websocket/ (see its index.ts); this path re-exports it. */
export * from './websocket/index.js';
