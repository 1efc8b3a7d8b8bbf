/**
 * The WebSocket sink's parts on their own: decoding and answering client messages, the
 * heartbeat tick, and the per-stream health figures. The sink over real sockets is in
 * websocket-sink.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type WebSocket from 'ws';
import { Metrics } from '../../src/core/metrics.js';
import { RESULT_SCHEMA_VERSION, type ResultRecord } from '../../src/core/result.js';
import { Client } from '../../src/sinks/websocket/client.js';
import { newCounters, StreamHealth } from '../../src/sinks/websocket/health.js';
import { heartbeatTick } from '../../src/sinks/websocket/heartbeat.js';
import { answerClientMessage, decodeClientMessage, rawSize } from '../../src/sinks/websocket/protocol.js';

describe('websocket client messages', () => {
  const text = (s: string) => Buffer.from(s, 'utf8');

  it('checks size first, then binary, JSON and the schema', () => {
    const big = text(JSON.stringify({ type: 'ping', id: 'x'.repeat(100) }));
    assert.deepEqual(decodeClientMessage(big, true, 64), {
      ok: false,
      error: `message of ${big.length} bytes exceeds max_message_bytes (64)`,
    });
    assert.deepEqual(decodeClientMessage(text('{"type":"ping"}'), true, 1024), {
      ok: false,
      error: 'binary messages are not accepted; send JSON text',
    });
    const bad = decodeClientMessage(text('{nope'), false, 1024);
    assert.equal(bad.ok, false);
    assert.match((bad as { error: string }).error, /^malformed JSON: /);
    const invalid = decodeClientMessage(text('{"type":"subscribe","streams":"cam"}'), false, 1024);
    assert.equal(invalid.ok, false);
    assert.match((invalid as { error: string }).error, /^invalid message: streams: /);
    const unknown = decodeClientMessage(text('{"type":"subscribe","colour":1}'), false, 1024);
    assert.equal(unknown.ok, false);
    assert.deepEqual(decodeClientMessage(text('{"type":"ping","id":7}'), false, 1024), {
      ok: true,
      message: { type: 'ping', id: 7 },
    });
  });

  it('counts the bytes of every shape ws hands over', () => {
    assert.equal(rawSize(Buffer.from('abc')), 3);
    assert.equal(rawSize([Buffer.from('ab'), Buffer.from('cde')]), 5);
    assert.equal(rawSize(new ArrayBuffer(7)), 7);
    const fragments = decodeClientMessage([text('{"type":'), text('"ping"}')], false, 1024);
    assert.deepEqual(fragments, { ok: true, message: { type: 'ping' } });
  });

  it('answers ping with pong and subscribe with the new filter', () => {
    assert.deepEqual(answerClientMessage({ type: 'ping', id: 'a' }, 123), {
      subscription: null,
      reply: { type: 'pong', id: 'a', time_ms: 123 },
    });
    assert.deepEqual(answerClientMessage({ type: 'ping' }, 5).reply, { type: 'pong', id: null, time_ms: 5 });
    const { subscription, reply } = answerClientMessage({ type: 'subscribe', streams: ['cam'], frames: false }, 0);
    assert.deepEqual([...(subscription?.streams ?? [])], ['cam']);
    assert.equal(subscription?.frames, false);
    assert.deepEqual(reply, {
      type: 'subscribed',
      filter: { streams: ['cam'], tasks: null, labels: null, min_score: null, frames: false, health: true },
    });
  });
});

describe('websocket heartbeat', () => {
  class FakeWs {
    pings = 0;
    terminated = false;
    throwOnPing = false;
    ping(): void {
      if (this.throwOnPing) throw new Error('socket gone');
      this.pings += 1;
    }
    terminate(): void {
      this.terminated = true;
    }
  }
  const client = (id: number) => {
    const ws = new FakeWs();
    const c = new Client(id, ws as unknown as WebSocket, 'test', {
      queueMax: 4,
      maxBufferedBytes: 1024,
      onDrop: () => 0,
    });
    return { ws, c };
  };

  it('pings live clients, terminates the ones that missed the previous ping', () => {
    const a = client(1);
    const b = client(2);
    const missed: number[] = [];
    heartbeatTick([a.c, b.c], (c) => missed.push(c.id));
    assert.deepEqual([a.ws.pings, b.ws.pings], [1, 1]);
    assert.equal(a.c.alive, false);
    a.c.alive = true; // a answered (pong), b did not
    heartbeatTick([a.c, b.c], (c) => missed.push(c.id));
    assert.deepEqual(missed, [2]);
    assert.equal(b.ws.terminated, true);
    assert.equal(a.ws.terminated, false);
    assert.equal(a.ws.pings, 2);
  });

  it('terminates a client whose ping throws, without counting it as missed', () => {
    const a = client(1);
    a.ws.throwOnPing = true;
    const missed: number[] = [];
    heartbeatTick([a.c], (c) => missed.push(c.id));
    assert.equal(a.ws.terminated, true);
    assert.deepEqual(missed, []);
  });
});

describe('websocket health figures', () => {
  const record = (stream: string, frame: number, latency?: number): ResultRecord =>
    ({
      schema_version: RESULT_SCHEMA_VERSION,
      stream_id: stream,
      frame_index: frame,
      pts: frame / 10,
      stage_id: 's',
      task: 'detection',
      results: {},
      ...(latency === undefined ? {} : { latency_ms: latency }),
    }) as unknown as ResultRecord;

  it('counts records, distinct frames, frames and mean latency per stream; each message starts a new interval', () => {
    const metrics = new Metrics();
    metrics.drop('ws', 'client_slow', 3);
    const h = new StreamHealth('ws', 'demo', metrics);
    h.recordSeen(record('cam', 0, 10));
    h.recordSeen(record('cam', 0, 20)); // same frame, second stage
    h.recordSeen(record('cam', 1));
    h.frameSeen('cam');
    const counters = { ...newCounters(), records_in: 3, frames_in: 1 };
    const first = h.message(2, counters) as Record<string, any>;
    assert.equal(first.type, 'health');
    assert.equal(first.clients, 2);
    assert.equal(first.records_in, 3);
    const cam = first.streams.cam;
    assert.equal(cam.records, 3);
    assert.equal(cam.frames, 1);
    assert.equal(cam.latency_ms, 15);
    assert.equal(cam.last_latency_ms, 20);
    assert.equal(cam.last_pts, 0.1);
    assert.ok(cam.records_per_s > 0 && cam.result_fps > 0);
    assert.deepEqual(first.drops, { 'dropped.ws.client_slow': 3 });
    const second = h.message(2, counters) as Record<string, any>;
    assert.equal(second.streams.cam.records, 3);
    assert.equal(second.streams.cam.records_per_s, 0);
    assert.equal(second.streams.cam.result_fps, 0);
    assert.equal(second.streams.cam.latency_ms, null);
  });
});
