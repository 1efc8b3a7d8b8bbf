/**
 * Role: the WebSocket sink's connected clients as a group. Accepts a connection (its `hello`,
 * its events), answers what a client sends (subscribe, ping), fans each result record and
 * preview frame out to the clients subscribed to it (one serialisation per distinct payload
 * filter, not per client), and closes them all at shutdown. Each client's own bounded queue,
 * coalescing and drop reports are in client.ts.
 */
import type { IncomingMessage } from 'node:http';
import WebSocket, { type RawData } from 'ws';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import { RESULT_SCHEMA_VERSION, type ResultRecord } from '../../core/result.js';
import { Client } from './client.js';
import type { WebSocketSinkConfig } from './config.js';
import type { WebSocketSinkCounters } from './health.js';
import {
  WS_PROTOCOL_VERSION,
  answerClientMessage,
  decodeClientMessage,
  describeSubscription,
  encodeFrameMessage,
  filterPayload,
  matchesRecord,
  type PreviewFrame,
} from './protocol.js';

export interface ConnectionsOptions {
  cfg: WebSocketSinkConfig;
  sinkId: string;
  pipeline: string;
  log: Logger;
  metrics: Metrics;
  /** Shared with the sink; this class counts connections, sends, slow-client drops and client errors. */
  counters: WebSocketSinkCounters;
}

export class Connections {
  readonly clients = new Set<Client>();
  private readonly opts: ConnectionsOptions;
  private nextClientId = 1;
  private warnedUnserializable = false;

  constructor(opts: ConnectionsOptions) {
    this.opts = opts;
  }

  get size(): number {
    return this.clients.size;
  }

  /** A WebSocket that passed the server's checks: wires its events and says hello. */
  accept(ws: WebSocket, req: IncomingMessage): void {
    const { cfg, counters, log } = this.opts;
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const client = new Client(this.nextClientId++, ws, remote, {
      queueMax: cfg.client_queue_max,
      maxBufferedBytes: cfg.max_buffered_bytes,
      onDrop: (n) => {
        counters.dropped_client_slow += n;
        this.opts.metrics.drop(this.opts.sinkId, 'client_slow', n);
      },
    });
    this.clients.add(client);
    counters.connections_total += 1;
    log.debug({ client: client.id, remote }, 'websocket client connected');
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      try {
        this.onClientMessage(client, data, isBinary);
      } catch (err) {
        log.warn({ err, client: client.id }, 'websocket client message handling failed');
        this.replyError(client, 'internal error handling the message');
      }
    });
    ws.on('error', (err) => {
      counters.client_errors += 1;
      log.debug({ err, client: client.id }, 'websocket client error');
    });
    ws.on('close', (code) => {
      this.clients.delete(client);
      client.dispose();
      log.debug(
        { client: client.id, code, sent: client.sent, dropped: client.dropped },
        'websocket client disconnected',
      );
    });
    client.sendControl(
      JSON.stringify({
        type: 'hello',
        protocol: WS_PROTOCOL_VERSION,
        schema_version: RESULT_SCHEMA_VERSION,
        pipeline: this.opts.pipeline,
        sink_id: this.opts.sinkId,
        client_id: client.id,
        filter: describeSubscription(client.subscription),
        limits: {
          max_message_bytes: cfg.max_message_bytes,
          client_queue_max: cfg.client_queue_max,
          heartbeat_ms: cfg.heartbeat_ms,
          health_interval_ms: cfg.health_interval_ms,
        },
        frames: cfg.frames,
      }),
    );
  }

  /** Sends `record` to every client whose subscription wants it. */
  broadcastRecord(record: ResultRecord): void {
    if (this.clients.size === 0) return;
    const cache = new Map<string, string | null>();
    for (const client of this.clients) {
      const sub = client.subscription;
      if (!matchesRecord(sub, record)) continue;
      let text = cache.get(sub.payloadKey);
      if (text === undefined) {
        const filtered = filterPayload(sub, record);
        try {
          text = filtered === null ? null : JSON.stringify({ type: 'result', record: filtered });
        } catch (err) {
          this.opts.metrics.drop(this.opts.sinkId, 'unserializable');
          if (!this.warnedUnserializable) {
            this.warnedUnserializable = true;
            this.opts.log.warn(
              { err, stream_id: String(record.stream_id), stage_id: record.stage_id },
              'websocket sink cannot serialise a record; dropping it',
            );
          }
          return;
        }
        cache.set(sub.payloadKey, text);
      }
      if (text === null) continue;
      client.send(text);
      this.opts.counters.messages_sent += 1;
    }
  }

  /** Sends a preview frame to the frame subscribers of its stream (encoded once, only if someone wants it). */
  broadcastFrame(frame: PreviewFrame): void {
    let data: Buffer | null = null;
    for (const client of this.clients) {
      const sub = client.subscription;
      if (!sub.frames) continue;
      if (sub.streams && !sub.streams.has(frame.stream_id)) continue;
      data ??= encodeFrameMessage({
        ...frame,
        jpeg: Buffer.isBuffer(frame.jpeg) ? frame.jpeg : Buffer.from(frame.jpeg),
      });
      client.sendFrame(frame.stream_id, data);
      this.opts.counters.messages_sent += 1;
    }
  }

  /** Sends a health message to the clients that want them, each with its own queue figures. */
  broadcastHealth(base: Record<string, unknown>): void {
    for (const client of this.clients) {
      if (!client.subscription.health) continue;
      client.send(
        JSON.stringify({ ...base, client: { id: client.id, dropped: client.dropped, queued: client.queueLength } }),
      );
    }
  }

  /** Waits for every client's queue to drain, each for at most `timeoutMs`. */
  async drained(timeoutMs: number): Promise<void> {
    await Promise.all([...this.clients].map((c) => c.drained(timeoutMs)));
  }

  /** Closes every client with 1001, terminating one that has not closed within a second. */
  async closeAll(): Promise<void> {
    await Promise.all(
      [...this.clients].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.ws.readyState === WebSocket.CLOSED) return resolve();
            const timer = setTimeout(() => {
              c.ws.terminate();
              resolve();
            }, 1000);
            timer.unref();
            c.ws.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            c.ws.close(1001, 'server shutting down');
          }),
      ),
    );
  }

  private control(client: Client, msg: Record<string, unknown>): void {
    if (!client.sendControl(JSON.stringify(msg))) {
      this.opts.log.debug({ client: client.id }, 'websocket client does not read replies; closing');
      client.ws.close(1008, 'too many unread replies');
    }
  }

  private replyError(client: Client, message: string): void {
    this.control(client, { type: 'error', message });
  }

  private onClientMessage(client: Client, data: RawData, isBinary: boolean): void {
    client.alive = true;
    const decoded = decodeClientMessage(data, isBinary, this.opts.cfg.max_message_bytes);
    if (!decoded.ok) {
      this.replyError(client, decoded.error);
      return;
    }
    const { subscription, reply } = answerClientMessage(decoded.message, Date.now());
    if (subscription) client.subscription = subscription;
    this.control(client, reply);
  }
}
