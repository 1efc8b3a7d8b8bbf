/** Role: the WebSocket sink's config schema (the sink section of docs/pipeline.md is generated from it). */
import { z } from 'zod';

const intervalMs = (def: number, what: string) =>
  z
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .refine((n) => n === 0 || n >= 50, { message: `${what} must be 0 (off) or at least 50 ms` })
    .default(def);

export const websocketSinkSchema = z
  .object({
    type: z.literal('websocket').describe('Component type: `websocket`.'),
    id: z
      .string()
      .min(1)
      .optional()
      .describe('Sink id (default: `websocket`); used in logs and drop counters (`dropped.<id>.client_slow`).'),
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('Interface to listen on. Default `127.0.0.1` (local only); `0.0.0.0` for all.'),
    port: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(8765)
      .describe(
        'TCP port. `0` picks a free port (the bound port is logged and exposed as `sink.port`). Default `8765`.',
      ),
    path: z
      .string()
      .regex(/^\/[^\s?#]*$/, 'must start with `/` and hold no spaces, `?` or `#`')
      .default('/ws')
      .describe('URL path of the WebSocket endpoint. Default `/ws`.'),
    dashboard: z
      .boolean()
      .default(true)
      .describe('Serve the live dashboard page on GET `/` of the same server. Default `true`.'),
    frames: z
      .boolean()
      .default(true)
      .describe('Forward JPEG preview frames (binary messages) to clients that want them. Default `true`.'),
    auth_token: z
      .string()
      .min(8, 'use at least 8 characters')
      .optional()
      .describe(
        'If set, clients must send `Authorization: Bearer <token>` or `?token=<token>` on the WebSocket URL. ' +
          'Default: ' +
          'no auth.',
      ),
    allowed_origins: z
      .array(z.string().min(1))
      .optional()
      .describe(
        'Browser origins (e.g. `http://localhost:3000`) allowed to connect; `*` allows any. Requests without an ' +
          '`Origin` header (non-browser clients) and same-origin requests (the built-in dashboard) are always ' +
          'allowed. Default: same-origin only.',
      ),
    max_clients: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(64)
      .describe('Connections beyond this are refused with HTTP 503. Default `64`.'),
    client_queue_max: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(256)
      .describe(
        'Messages queued per client beyond the socket buffer; when full the oldest is dropped (`client_slow`). ' +
          'Default `256`.',
      ),
    max_buffered_bytes: z
      .number()
      .int()
      .min(1024)
      .default(4 * 1024 * 1024)
      .describe(
        'Stop handing messages to a client socket while its `bufferedAmount` is at least this; they wait in the ' +
          'queue. Default 4 MiB.',
      ),
    max_message_bytes: z
      .number()
      .int()
      .min(64)
      .max(1024 * 1024)
      .default(16 * 1024)
      .describe(
        'Largest client → server message accepted; larger ones get an error frame (beyond 16× this the connection ' +
          'is closed with 1009). Default 16 KiB.',
      ),
    heartbeat_ms: intervalMs(15_000, 'heartbeat_ms').describe(
      'Ping interval; a client that has not answered the previous ping is terminated. `0` = off. Default `15000`.',
    ),
    health_interval_ms: intervalMs(1_000, 'health_interval_ms').describe(
      'Interval of `{type:"health"}` messages to clients. `0` = off. Default `1000`.',
    ),
    flush_timeout_ms: z
      .number()
      .int()
      .min(0)
      .max(600_000)
      .default(2_000)
      .describe(
        'How long `flush()`/`close()` wait for client queues to drain before giving up on slow clients. Default ' +
          '`2000`.',
      ),
  })
  .strict();

export type WebSocketSinkConfig = z.infer<typeof websocketSinkSchema>;
/** Config as written by a user; `type` may be left out when calling the factory directly. */
export type WebSocketSinkInput = Omit<z.input<typeof websocketSinkSchema>, 'type'> & { type?: 'websocket' };
