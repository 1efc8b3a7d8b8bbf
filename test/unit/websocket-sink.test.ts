/**
 * WebSocket sink: real `ws` clients against the sink on 127.0.0.1 (ephemeral ports).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { VidflowError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { RESULT_SCHEMA_VERSION, type ResultRecord, type Task } from '../../src/core/result.js';
import type { SinkContext } from '../../src/sinks/sink.js';
import {
  createWebSocketSink,
  decodeFrameMessage,
  startDashboardServer,
  websocketSinkSpec,
  type WebSocketSink,
  type WebSocketSinkInput,
} from '../../src/sinks/websocket-sink.js';
import { Client } from '../../src/sinks/websocket/client.js';
import { DEFAULT_SUBSCRIPTION, filterPayload, subscriptionFrom } from '../../src/sinks/websocket/protocol.js';

// ---- helpers ---------------------------------------------------------------------------------

type Msg = Record<string, any>;

function makeCtx(metrics = new Metrics()): SinkContext {
  return {
    pipeline: 'test',
    configPath: 'sinks[0]',
    baseDir: process.cwd(),
    logger: silentLogger(),
    metrics,
    mode: 'live',
  };
}

const sinks: WebSocketSink[] = [];
after(async () => {
  await Promise.all(sinks.map((s) => s.close()));
});

async function startSink(cfg: WebSocketSinkInput = {}, metrics = new Metrics()): Promise<WebSocketSink> {
  const sink = await createWebSocketSink(
    { port: 0, heartbeat_ms: 0, health_interval_ms: 0, dashboard: false, ...cfg },
    makeCtx(metrics),
  );
  sinks.push(sink);
  return sink;
}

function rec(
  stream_id: string,
  task: Task | string,
  results: unknown,
  frame_index = 0,
  extra: Record<string, unknown> = {},
): ResultRecord {
  return {
    schema_version: RESULT_SCHEMA_VERSION,
    pipeline: 'test',
    stream_id,
    frame_index,
    pts: frame_index / 25,
    stage_id: `${task}-stage`,
    model_id: 'm',
    task: task as Task,
    frame_width: 640,
    frame_height: 480,
    results,
    latency_ms: 12,
    ...extra,
  };
}

/** A client that records every message; `next()` waits for one matching a predicate. */
class TestClient {
  readonly ws: WebSocket;
  readonly messages: Msg[] = [];
  private waiters: Array<{ pred: (m: Msg) => boolean; resolve: (m: Msg) => void }> = [];
  private seen = 0;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data, isBinary) => {
      const m: Msg = isBinary ? { type: 'frame', ...decodeFrameMessage(data as Buffer) } : JSON.parse(String(data));
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
    this.ws.on('error', () => {});
  }

  static async open(url: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
    const c = new TestClient(url, options);
    await new Promise<void>((resolve, reject) => {
      c.ws.once('open', () => resolve());
      c.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      c.ws.once('error', reject);
    });
    await c.next((m) => m.type === 'hello');
    return c;
  }

  /** Resolves with the first message (already received or future) matching `pred`. */
  next(pred: (m: Msg) => boolean, timeoutMs = 60_000): Promise<Msg> {
    const found = this.messages.slice(this.seen).find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting; got ${JSON.stringify(this.messages.slice(-3)).slice(0, 300)}`)),
        timeoutMs,
      );
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  send(x: unknown): void {
    this.ws.send(typeof x === 'string' ? x : JSON.stringify(x));
  }

  async subscribe(sub: Record<string, unknown>): Promise<Msg> {
    this.seen = this.messages.length;
    this.send({ type: 'subscribe', ...sub });
    return this.next((m) => m.type === 'subscribed');
  }

  results(): ResultRecord[] {
    return this.messages.filter((m) => m.type === 'result').map((m) => m.record as ResultRecord);
  }

  closed(): Promise<number> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
    return new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Resolves with the HTTP status of a refused upgrade, or 101 when it opened. */
function upgradeStatus(url: string, options: WebSocket.ClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('error', (err) => {
      if (ws.readyState !== WebSocket.CLOSED) reject(err);
    });
  });
}

// ---- payload filter (pure) -------------------------------------------------------------------

describe('filterPayload', () => {
  const det = rec('a', 'detection', {
    detections: [
      { box: [0, 0, 1, 1], label_id: 1, label: 'person', score: 0.9 },
      { box: [0, 0, 1, 1], label_id: 3, label: 'car', score: 0.8 },
      { box: [0, 0, 1, 1], label_id: 1, label: 'person', score: 0.3 },
    ],
  });

  it('returns the record untouched without a payload filter', () => {
    assert.equal(filterPayload(DEFAULT_SUBSCRIPTION, det), det);
  });

  it('keeps items by label and min score, without mutating the input', () => {
    const out = filterPayload(subscriptionFrom({ type: 'subscribe', labels: ['person'], min_score: 0.5 }), det);
    assert.ok(out);
    assert.deepEqual(
      (out.results as any).detections.map((d: any) => [d.label, d.score]),
      [['person', 0.9]],
    );
    assert.equal((det.results as any).detections.length, 3);
  });

  it('drops a record whose lists end up empty', () => {
    assert.equal(filterPayload(subscriptionFrom({ type: 'subscribe', labels: ['dog'] }), det), null);
  });

  it('filters classification top, tracks/events and class fractions; passes label maps and unknown payloads', () => {
    const sub = subscriptionFrom({ type: 'subscribe', labels: ['person', 'road'], min_score: 0.5 });
    const cls = filterPayload(
      sub,
      rec('a', 'classification', {
        top: [
          { label_id: 1, label: 'person', score: 0.7 },
          { label_id: 2, label: 'cat', score: 0.2 },
        ],
      }),
    );
    assert.deepEqual(
      (cls!.results as any).top.map((t: any) => t.label),
      ['person'],
    );
    const trk = filterPayload(
      sub,
      rec('a', 'tracking', {
        tracks: [
          { track_id: 1, label: 'person', box: [0, 0, 1, 1], age: 3, hits: 3 },
          { track_id: 2, label: 'car', box: [0, 0, 1, 1], age: 1, hits: 1 },
        ],
        events: [{ type: 'start', track_id: 2, label: 'car' }],
      }),
    );
    assert.deepEqual(
      (trk!.results as any).tracks.map((t: any) => t.track_id),
      [1],
    );
    assert.deepEqual((trk!.results as any).events, []);
    const labelMap = { size: [2, 2], format: 'rle', counts: [0, 4] };
    const seg = filterPayload(
      sub,
      rec('a', 'semantic_segmentation', { class_fractions: { road: 0.6, sky: 0.4 }, label_map: labelMap }),
    );
    assert.deepEqual((seg!.results as any).class_fractions, { road: 0.6 });
    assert.equal((seg!.results as any).label_map, labelMap);
    const odd = rec('a', 'health' as Task, { fps: 3 });
    assert.equal(filterPayload(sub, odd), odd);
  });
});

// ---- per-client queue (fake socket) ----------------------------------------------------------

/** Just enough of a ws socket: `bufferedAmount` is set by the test, sends complete on `flushAll`. */
class FakeSocket {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  sent: Array<string | Buffer> = [];
  private callbacks: Array<() => void> = [];
  send(data: string | Buffer, cb: () => void): void {
    this.sent.push(data);
    this.callbacks.push(cb);
  }
  flushAll(): void {
    this.bufferedAmount = 0;
    for (const cb of this.callbacks.splice(0)) cb();
  }
}

describe('client queue', () => {
  function make(queueMax: number) {
    const sock = new FakeSocket();
    let drops = 0;
    const c = new Client(1, sock as unknown as WebSocket, 'test', {
      queueMax,
      maxBufferedBytes: 100,
      onDrop: (n) => (drops += n),
    });
    return { sock, c, drops: () => drops };
  }
  const texts = (sock: FakeSocket) => sock.sent.map((d) => String(d));

  it(
    'sends while the socket buffer has room, then queues, drops the oldest and reports before the next ' + 'message',
    () => {
      const { sock, c, drops } = make(3);
      c.send('a');
      sock.bufferedAmount = 1000; // socket full from here on
      for (const m of ['b', 'c', 'd', 'e', 'f']) c.send(m);
      assert.deepEqual(texts(sock), ['a']);
      assert.equal(c.queueLength, 3);
      assert.equal(drops(), 2);
      sock.flushAll();
      c.pump();
      assert.deepEqual(texts(sock), ['a', '{"type":"dropped","count":2,"reason":"client_slow"}', 'd', 'e', 'f']);
      assert.equal(c.queueLength, 0);
    },
  );

  it('never drops control replies, and refuses more than queueMax unread ones', () => {
    const { sock, c } = make(2);
    sock.bufferedAmount = 1000;
    assert.equal(c.sendControl('ctl1'), true);
    c.send('x');
    c.send('y');
    c.send('z'); // drops x
    assert.equal(c.sendControl('ctl2'), true);
    assert.equal(c.sendControl('ctl3'), false);
    sock.flushAll();
    c.pump();
    assert.deepEqual(texts(sock), ['{"type":"dropped","count":1,"reason":"client_slow"}', 'ctl1', 'y', 'z', 'ctl2']);
  });

  it('replaces a queued frame of the same stream with the newer one', () => {
    const { sock, c, drops } = make(10);
    sock.bufferedAmount = 1000;
    c.sendFrame('a', Buffer.from('a1'));
    c.sendFrame('b', Buffer.from('b1'));
    c.sendFrame('a', Buffer.from('a2'));
    assert.equal(c.queueLength, 2);
    assert.equal(drops(), 1);
    sock.flushAll();
    c.pump();
    assert.deepEqual(texts(sock).slice(1), ['a2', 'b1']);
  });

  it('keeps its queue array bounded while a client is stuck', () => {
    const { sock, c } = make(4);
    sock.bufferedAmount = 1000;
    c.sendControl('ctl');
    for (let i = 0; i < 10_000; i++) c.send(`m${i}`);
    assert.equal(c.queueLength, 5);
    assert.ok(((c as any).queue as unknown[]).length < 100, 'dead entries are compacted');
    sock.flushAll();
    c.pump();
    assert.deepEqual(texts(sock), [
      '{"type":"dropped","count":9996,"reason":"client_slow"}',
      'ctl',
      'm9996',
      'm9997',
      'm9998',
      'm9999',
    ]);
  });
});

// ---- config ----------------------------------------------------------------------------------

describe('websocket sink config', () => {
  it('spec: type, strict schema with described fields, example parses', () => {
    assert.equal(websocketSinkSpec.type, 'websocket');
    const parsed = websocketSinkSpec.schema.parse(websocketSinkSpec.example);
    assert.equal(parsed.host, '127.0.0.1');
    assert.equal(parsed.path, '/ws');
    assert.equal(websocketSinkSpec.schema.safeParse({ ...websocketSinkSpec.example, bogus: 1 }).success, false);
    const shape = (websocketSinkSpec.schema as any).shape as Record<string, { description?: string }>;
    for (const [k, v] of Object.entries(shape)) assert.ok(v.description, `field ${k} has a description`);
  });

  it('rejects bad values with CONFIG_INVALID naming the field', async () => {
    await assert.rejects(createWebSocketSink({ port: 70000 }, makeCtx()), (err: unknown) => {
      assert.ok(err instanceof VidflowError);
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, /^sinks\[0\]\.port: /);
      return true;
    });
    await assert.rejects(createWebSocketSink({ path: 'ws' }, makeCtx()), /sinks\[0\]\.path/);
    await assert.rejects(createWebSocketSink({ heartbeat_ms: 10 }, makeCtx()), /heartbeat_ms/);
  });

  it('a taken port is SINK_CONNECT', async () => {
    const a = await startSink();
    await assert.rejects(createWebSocketSink({ port: a.port, dashboard: false }, makeCtx()), (err: unknown) => {
      assert.ok(err instanceof VidflowError);
      assert.equal(err.code, 'SINK_CONNECT');
      assert.match(err.message, /EADDRINUSE/);
      return true;
    });
  });
});

// ---- protocol --------------------------------------------------------------------------------

describe('websocket sink', () => {
  it('says hello, exposes the bound port, reports health, closes idempotently', async () => {
    const sink = await startSink({ id: 'ws-a' });
    assert.ok(sink.port > 0);
    assert.equal(sink.url, `ws://127.0.0.1:${sink.port}/ws`);
    const c = await TestClient.open(sink.url);
    const hello = c.messages[0]!;
    assert.equal(hello.type, 'hello');
    assert.equal(hello.protocol, 1);
    assert.equal(hello.schema_version, RESULT_SCHEMA_VERSION);
    assert.equal(hello.sink_id, 'ws-a');
    assert.deepEqual(await sink.health(), {
      ok: true,
      detail: `listening on ${sink.url}; 1 client(s); 0 dropped (client_slow)`,
    });
    const closed = c.closed();
    await Promise.all([sink.close(), sink.close()]);
    assert.equal(await closed, 1001);
    assert.equal((await sink.health()).ok, false);
    sink.write(rec('a', 'detection', { detections: [] })); // after close: ignored, no throw
  });

  it('subscribe filters by stream, task, label and min score; frames go to frame subscribers', async () => {
    const sink = await startSink();
    const all = await TestClient.open(sink.url);
    const byStream = await TestClient.open(sink.url);
    const byLabel = await TestClient.open(sink.url);
    const ack = await byStream.subscribe({ streams: ['cam1'], frames: false });
    assert.deepEqual(ack.filter.streams, ['cam1']);
    assert.equal(ack.filter.frames, false);
    await byLabel.subscribe({ tasks: ['detection', 'tracking'], labels: ['person'], min_score: 0.5 });

    sink.write(
      rec(
        'cam1',
        'detection',
        {
          detections: [
            { box: [1, 2, 3, 4], label_id: 1, label: 'person', score: 0.9 },
            { box: [1, 2, 3, 4], label_id: 3, label: 'car', score: 0.95 },
            { box: [1, 2, 3, 4], label_id: 1, label: 'person', score: 0.2 },
          ],
        },
        0,
      ),
    );
    sink.write(
      rec('cam2', 'detection', { detections: [{ box: [1, 2, 3, 4], label_id: 3, label: 'car', score: 0.9 }] }, 0),
    );
    sink.write(rec('cam2', 'classification', { top: [{ label_id: 7, label: 'person', score: 0.8 }] }, 0));
    sink.write(rec('cam1', 'semantic_segmentation', { class_fractions: { person: 0.2, road: 0.8 } }, 0));
    sink.write(rec('cam1', 'health', { ok: true }, 0));
    sink.writeFrame({
      stream_id: 'cam2',
      index: 0,
      pts: 0,
      width: 4,
      height: 2,
      jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xd9]),
    });
    // End marker every client wants.
    sink.write(
      rec('cam1', 'detection', { detections: [{ box: [0, 0, 9, 9], label_id: 1, label: 'person', score: 0.99 }] }, 1),
    );
    const isEnd = (m: Msg) => m.type === 'result' && m.record.frame_index === 1;
    await Promise.all([all.next(isEnd), byStream.next(isEnd), byLabel.next(isEnd)]);

    const sig = (c: TestClient) => c.results().map((r) => `${r.stream_id}/${r.task}/${r.frame_index}`);
    assert.deepEqual(sig(all), [
      'cam1/detection/0',
      'cam2/detection/0',
      'cam2/classification/0',
      'cam1/semantic_segmentation/0',
      'cam1/health/0',
      'cam1/detection/1',
    ]);
    assert.deepEqual(sig(byStream), [
      'cam1/detection/0',
      'cam1/semantic_segmentation/0',
      'cam1/health/0',
      'cam1/detection/1',
    ]);
    assert.deepEqual(sig(byLabel), ['cam1/detection/0', 'cam1/detection/1']);
    const first = byLabel.results()[0]!.results as any;
    assert.deepEqual(
      first.detections.map((d: any) => [d.label, d.score]),
      [['person', 0.9]],
    );
    assert.equal((all.results()[0]!.results as any).detections.length, 3, 'unfiltered clients get the whole payload');

    const frame = all.messages.find((m) => m.type === 'frame')!;
    assert.equal(frame.header.stream_id, 'cam2');
    assert.equal(frame.header.width, 4);
    assert.deepEqual([...frame.jpeg], [0xff, 0xd8, 0xff, 0xd9]);
    assert.equal(
      byStream.messages.some((m) => m.type === 'frame'),
      false,
    );
    assert.equal(
      byLabel.messages.some((m) => m.type === 'frame'),
      true,
    );
    for (const c of [all, byStream, byLabel]) c.close();
  });

  it('sends health messages with the sink counters', async () => {
    const metrics = new Metrics();
    metrics.drop('cam1', 'live_busy', 4);
    const sink = await startSink({ health_interval_ms: 100 }, metrics);
    const c = await TestClient.open(sink.url);
    for (let i = 0; i < 5; i++) sink.write(rec('cam1', 'detection', { detections: [] }, i));
    const h = await c.next((m) => m.type === 'health' && m.records_in === 5);
    assert.equal(h.clients, 1);
    assert.equal(h.streams.cam1.records, 5);
    assert.equal(h.streams.cam1.latency_ms, 12);
    assert.equal(h.drops['dropped.cam1.live_busy'], 4);
    assert.deepEqual(h.client, { id: h.client.id, dropped: 0, queued: 0 });
    await c.subscribe({ health: false });
    const n = c.messages.length;
    // Three health ticks seen by a second client (events, not a fixed delay) and none reach `c`.
    const watcher = await TestClient.open(sink.url);
    for (let tick = 0; tick < 3; tick++) {
      const seen = watcher.messages.filter((m) => m.type === 'health').length;
      await watcher.next(
        (m) => m.type === 'health' && watcher.messages.filter((x) => x.type === 'health').length > seen,
      );
    }
    assert.equal(
      c.messages.slice(n).some((m) => m.type === 'health'),
      false,
      'health: false turns them off',
    );
    watcher.close();
    c.close();
  });

  it('a slow client never blocks write() or other clients, and gets a drop report when it catches up', async () => {
    const metrics = new Metrics();
    const sink = await startSink({ id: 'ws', client_queue_max: 8, max_buffered_bytes: 64 * 1024 }, metrics);
    const fast = await TestClient.open(sink.url);
    const slow = await TestClient.open(sink.url);
    slow.ws.pause(); // stops reading its socket: the kernel buffers fill, then the sink's queue
    const N = 200;
    const blob = 'x'.repeat(64 * 1024);
    let maxWriteMs = 0;
    let totalWriteMs = 0;
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      sink.write(rec('cam1', 'detection', { detections: [], blob }, i));
      const dt = performance.now() - t0;
      totalWriteMs += dt;
      maxWriteMs = Math.max(maxWriteMs, dt);
      if (i % 4 === 3) await sleep(1); // pace like a pipeline so the fast client keeps up
    }
    const isLast = (m: Msg) => m.type === 'result' && m.record.frame_index === N - 1;
    await fast.next(isLast, 10_000);
    assert.equal(fast.results().length, N, 'the fast client got every record');
    assert.deepEqual(
      fast.results().map((r) => r.frame_index),
      [...Array(N).keys()],
    );
    assert.equal(
      fast.messages.some((m) => m.type === 'dropped'),
      false,
    );

    const dropped = sink.stats().dropped_client_slow;
    assert.ok(dropped > 0, 'the slow client dropped');
    assert.equal(metrics.get('dropped.ws.client_slow'), dropped);
    assert.ok(maxWriteMs < 250, `write() stayed fast (max ${maxWriteMs.toFixed(2)} ms)`);

    slow.ws.resume();
    await slow.next(isLast, 10_000);
    const reports = slow.messages.filter((m) => m.type === 'dropped');
    assert.ok(reports.length >= 1, 'the slow client was told about its drops');
    assert.equal(reports[0]!.reason, 'client_slow');
    const reported = reports.reduce((n, m) => n + m.count, 0);
    assert.equal(reported, dropped, 'every drop is reported');
    assert.equal(slow.results().length + reported, N, 'received + dropped = written');
    const idx = slow.results().map((r) => r.frame_index);
    assert.deepEqual(
      idx,
      [...idx].sort((a, b) => a - b),
      'order is kept',
    );
    console.log(
      `# slow client: ${N} × 64 KiB records, write() total ${totalWriteMs.toFixed(1)} ms, max ` +
        `${maxWriteMs.toFixed(2)} ms; slow client dropped ${dropped}, received ${slow.results().length}`,
    );
    fast.close();
    slow.close();
  });

  it('coalesces queued preview frames of a stream for a slow client', async () => {
    const sink = await startSink({ client_queue_max: 64, max_buffered_bytes: 64 * 1024 });
    const slow = await TestClient.open(sink.url);
    slow.ws.pause();
    const jpeg = Buffer.alloc(256 * 1024, 7);
    for (let i = 0; i < 60; i++) {
      sink.writeFrame({ stream_id: 'cam1', index: i, pts: i / 25, width: 2, height: 2, jpeg });
      if (i % 10 === 9) await sleep(5);
    }
    sink.write(rec('cam1', 'detection', { detections: [] }, 99));
    slow.ws.resume();
    await slow.next((m) => m.type === 'result' && m.record.frame_index === 99, 10_000);
    const frames = slow.messages.filter((m) => m.type === 'frame').map((m) => m.header.index as number);
    const reported = slow.messages.filter((m) => m.type === 'dropped').reduce((n, m) => n + m.count, 0);
    assert.ok(frames.length < 60, `some frames were replaced (${frames.length} delivered)`);
    assert.equal(frames.length + reported, 60);
    assert.equal(frames.at(-1), 59, 'the newest frame is delivered');
    slow.close();
  });

  it('heartbeat terminates clients that stop answering pings, keeps live ones', async () => {
    const sink = await startSink({ heartbeat_ms: 100 });
    const live = await TestClient.open(sink.url);
    const dead = await TestClient.open(sink.url, { autoPong: false });
    const t0 = performance.now();
    const code = await dead.closed();
    const ms = performance.now() - t0;
    assert.equal(code, 1006, 'terminated without a close handshake');
    // A safety net only (heartbeat_ms 100: about 200 ms when the machine is idle).
    assert.ok(ms < 30_000, `terminated after ${ms.toFixed(0)} ms`);
    // The live client keeps answering: wait for two more pings (events), it is still open.
    await new Promise<void>((resolve) => {
      let pings = 0;
      live.ws.on('ping', () => (pings += 1) === 2 && resolve());
    });
    assert.equal(live.ws.readyState, WebSocket.OPEN);
    assert.equal(sink.stats().heartbeat_terminated, 1);
    assert.equal(sink.stats().clients, 1);
    live.close();
  });

  it('auth token: header or ?token=, others get 401', async () => {
    const sink = await startSink({ auth_token: 's3cret-token' });
    assert.equal(await upgradeStatus(sink.url), 401);
    assert.equal(await upgradeStatus(`${sink.url}?token=wrong-token`), 401);
    assert.equal(await upgradeStatus(sink.url, { headers: { Authorization: 'Bearer nope' } }), 401);
    assert.equal(await upgradeStatus(sink.url, { headers: { Authorization: 'Bearer s3cret-token' } }), 101);
    assert.equal(await upgradeStatus(`${sink.url}?token=s3cret-token`), 101);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${sink.port}/elsewhere?token=s3cret-token`), 404);
    assert.equal(sink.stats().rejected.auth, 3);
  });

  it('origins: same-origin and non-browser always; others only when allowed', async () => {
    const strict = await startSink();
    assert.equal(await upgradeStatus(strict.url, { origin: 'http://evil.example' }), 403);
    assert.equal(await upgradeStatus(strict.url, { origin: `http://127.0.0.1:${strict.port}` }), 101);
    assert.equal(await upgradeStatus(strict.url), 101);
    const listed = await startSink({ allowed_origins: ['http://good.example:3000/'] });
    assert.equal(await upgradeStatus(listed.url, { origin: 'http://good.example:3000' }), 101);
    assert.equal(await upgradeStatus(listed.url, { origin: 'http://evil.example' }), 403);
    const any = await startSink({ allowed_origins: ['*'] });
    assert.equal(await upgradeStatus(any.url, { origin: 'http://evil.example' }), 101);
    assert.equal(strict.stats().rejected.origin, 1);
  });

  it('malformed, invalid, binary and oversized messages get error frames; the server keeps serving', async () => {
    const sink = await startSink({ max_message_bytes: 256 });
    const c = await TestClient.open(sink.url);
    const err = async (payload: string | Buffer): Promise<string> => {
      const n = c.messages.length;
      c.ws.send(payload);
      const m = await c.next((x) => x.type === 'error' && c.messages.indexOf(x) >= n);
      return m.message as string;
    };
    assert.match(await err('{not json'), /^malformed JSON/);
    assert.match(await err('[1,2]'), /^invalid message/);
    assert.match(await err(JSON.stringify({ type: 'nope' })), /^invalid message: type/);
    assert.match(await err(JSON.stringify({ type: 'subscribe', streams: 'cam1' })), /^invalid message: streams/);
    assert.match(await err(JSON.stringify({ type: 'subscribe', min_score: 2 })), /^invalid message: min_score/);
    assert.match(await err(JSON.stringify({ type: 'subscribe', extra: true })), /^invalid message/);
    assert.match(await err(Buffer.from([1, 2, 3])), /binary messages are not accepted/);
    assert.match(
      await err(JSON.stringify({ type: 'subscribe', labels: ['x'.repeat(400)] })),
      /exceeds max_message_bytes \(256\)/,
    );
    // Still serving this client.
    c.send({ type: 'ping', id: 7 });
    assert.equal((await c.next((m) => m.type === 'pong')).id, 7);
    await c.subscribe({ streams: ['cam1'] });
    sink.write(rec('cam1', 'detection', { detections: [] }, 5));
    await c.next((m) => m.type === 'result' && m.record.frame_index === 5);
    // Far beyond the limit (> 16×): the connection is closed with 1009, the server lives on.
    const huge = await TestClient.open(sink.url);
    const closed = huge.closed();
    huge.ws.send('x'.repeat(256 * 1024));
    assert.equal(await closed, 1009);
    const again = await TestClient.open(sink.url);
    sink.write(rec('cam1', 'detection', { detections: [] }, 6));
    await again.next((m) => m.type === 'result' && m.record.frame_index === 6);
    assert.equal(c.ws.readyState, WebSocket.OPEN);
    c.close();
    again.close();
  });

  it('refuses connections beyond max_clients with 503', async () => {
    const sink = await startSink({ max_clients: 1 });
    const a = await TestClient.open(sink.url);
    assert.equal(await upgradeStatus(sink.url), 503);
    a.close();
  });

  it('serves the dashboard over HTTP with the WebSocket path filled in (startDashboardServer)', async () => {
    const dash = await startDashboardServer({ port: 0, path: '/live', heartbeat_ms: 0 });
    sinks.push(dash);
    assert.equal(dash.dashboardUrl, `http://127.0.0.1:${dash.port}/`);
    const page = await fetch(dash.dashboardUrl!);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    const html = await page.text();
    assert.match(html, /<meta name="vidflow-ws-path" content="\/live">/);
    for (const [file, type] of [
      ['dashboard.js', /javascript/],
      ['dashboard.css', /css/],
    ] as const) {
      const res: Response = await fetch(`${dash.dashboardUrl}${file}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type')!, type);
      assert.ok((await res.text()).length > 100);
    }
    assert.equal((await fetch(`${dash.dashboardUrl}nope`)).status, 404);
    assert.equal((await fetch(`${dash.dashboardUrl}`, { method: 'POST' })).status, 405);
    assert.deepEqual(await (await fetch(`${dash.dashboardUrl}healthz`)).json(), { ok: true, clients: 0 });
    const c = await TestClient.open(dash.url);
    dash.write(rec('s', 'classification', { top: [] }));
    await c.next((m) => m.type === 'result');
    c.close();

    const remote = await startDashboardServer({ port: 0, heartbeat_ms: 0, connect_url: 'ws://10.0.0.5:8765/ws' });
    sinks.push(remote);
    assert.match(
      await (await fetch(remote.dashboardUrl!)).text(),
      /<meta name="vidflow-ws-url" content="ws:\/\/10.0.0.5:8765\/ws">/,
    );
    await assert.rejects(startDashboardServer({ port: 0, connect_url: 'http://x' }), /connect_url/);

    const plain = await startSink({ dashboard: false });
    assert.equal((await fetch(`http://127.0.0.1:${plain.port}/`)).status, 404);
  });
});
