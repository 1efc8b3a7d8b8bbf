/**
 * Kafka sink logic with a fake client: buffering, backpressure (file), drop-oldest (live),
 * reconnect/resend, flush timeout, record rejection, config validation.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { VidflowError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { RESULT_SCHEMA_VERSION, type ResultRecord, type Task } from '../../src/core/result.js';
import { KafkaClientError, type KafkaProducerClient, type KafkaTopicBatch } from '../../src/sinks/kafka/client.js';
import { createKafkaSink, kafkaSinkSchema, kafkaSinkSpec, type KafkaSinkConfig } from '../../src/sinks/kafka-sink.js';
import type { SinkContext } from '../../src/sinks/sink.js';

class FakeClient implements KafkaProducerClient {
  up = true;
  connects = 0;
  disconnects = 0;
  sendDelayMs = 0;
  /** Fail the next n sends with a connection error *after* "writing" them (duplicates on resend). */
  failAfterWrite = 0;
  rejectValue: string | null = null;
  readonly batches: KafkaTopicBatch[][] = [];
  private lost = new Set<(e: Error) => void>();
  get messages() {
    return this.batches.flat().flatMap((b) => b.messages.map((m) => ({ topic: b.topic, ...m })));
  }
  async connect() {
    this.connects += 1;
    await new Promise((r) => setTimeout(r, 1));
    if (!this.up) throw new KafkaClientError('ECONNREFUSED', 'connection');
  }
  async send(batch: KafkaTopicBatch[]) {
    if (this.sendDelayMs) await new Promise((r) => setTimeout(r, this.sendDelayMs));
    if (!this.up) throw new KafkaClientError('connection closed', 'connection');
    if (this.rejectValue && batch.some((b) => b.messages.some((m) => String(m.value).includes(this.rejectValue!)))) {
      throw new KafkaClientError('MESSAGE_TOO_LARGE', 'record');
    }
    this.batches.push(structuredClone(batch));
    if (this.failAfterWrite > 0) {
      this.failAfterWrite -= 1;
      throw new KafkaClientError('connection reset after write', 'connection');
    }
  }
  async disconnect() {
    this.disconnects += 1;
  }
  onConnectionLost(l: (e: Error) => void) {
    this.lost.add(l);
    return () => this.lost.delete(l);
  }
}

function rec(stream: string, i: number, task: Task = 'classification'): ResultRecord {
  return {
    schema_version: RESULT_SCHEMA_VERSION,
    pipeline: 'p1',
    stream_id: stream,
    frame_index: i,
    pts: i / 25,
    stage_id: 'cls',
    model_id: 'resnet18',
    task,
    frame_width: 640,
    frame_height: 480,
    results: [{ label_id: 1, label: 'x', score: 0.5 }],
    latency_ms: 3,
  };
}

const BASE_DIR = mkdtempSync(path.join(os.tmpdir(), 'vidflow-kafka-unit-'));
function ctxFor(mode: 'file' | 'live', metrics = new Metrics()): SinkContext {
  return { pipeline: 'p1', configPath: 'sinks[0]', baseDir: BASE_DIR, logger: silentLogger(), metrics, mode };
}

function cfg(over: Record<string, unknown> = {}): KafkaSinkConfig {
  return kafkaSinkSchema.parse({
    type: 'kafka',
    brokers: '127.0.0.1:1',
    topic: 't',
    linger_ms: 0,
    retry_initial_ms: 5,
    retry_max_ms: 20,
    flush_timeout_ms: 2000,
    ...over,
  });
}

// Waits for a condition (an event seen through the sink's counters); `ms` is a safety net only.
const until = async (cond: () => boolean, ms = 60_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('kafka sink (fake client)', () => {
  it('sends key = stream_id, JSON value, headers; routes by task; respects batch_max_messages', async () => {
    const fake = new FakeClient();
    const sink = createKafkaSink(
      cfg({ batch_max_messages: 3, topics_by_task: { detection: 'dets' } }),
      ctxFor('file'),
      { clientFactory: () => fake },
    );
    for (let i = 0; i < 5; i++) await sink.write(rec('a', i));
    await sink.write(rec('b', 0, 'detection'));
    await sink.close();
    const msgs = fake.messages;
    assert.equal(msgs.length, 6);
    assert.deepEqual(
      msgs.filter((m) => m.key === 'a').map((m) => JSON.parse(String(m.value)).frame_index),
      [0, 1, 2, 3, 4],
    );
    const b = msgs.find((m) => m.key === 'b')!;
    assert.equal(b.topic, 'dets');
    assert.equal(msgs.find((m) => m.key === 'a')!.topic, 't');
    assert.deepEqual(b.headers, { schema_version: '1', pipeline: 'p1' });
    assert.deepEqual(JSON.parse(String(b.value)), rec('b', 0, 'detection'));
    for (const batch of fake.batches) assert.ok(batch.reduce((n, t) => n + t.messages.length, 0) <= 3);
    assert.equal(sink.stats().sent, 6);
  });

  it('does not fail at start when the broker is down; buffers, reports health, delivers once it is up', async () => {
    const fake = new FakeClient();
    fake.up = false;
    const sink = createKafkaSink(cfg(), ctxFor('file'), { clientFactory: () => fake });
    for (let i = 0; i < 4; i++) await sink.write(rec('a', i));
    await until(() => fake.connects >= 2);
    const h = await sink.health();
    assert.equal(h.ok, false);
    assert.match(h.detail, /buffered=4\/10000/);
    assert.match(h.detail, /retrying|connecting/);
    fake.up = true;
    await sink.flush();
    assert.equal(fake.messages.length, 4);
    assert.equal((await sink.health()).ok, true);
    await sink.close();
  });

  it('file mode: a full buffer makes write() wait for room; nothing is dropped, order kept', async () => {
    const fake = new FakeClient();
    fake.up = false;
    const metrics = new Metrics();
    const sink = createKafkaSink(cfg({ buffer_max_records: 3, batch_max_messages: 2 }), ctxFor('file', metrics), {
      clientFactory: () => fake,
    });
    for (let i = 0; i < 3; i++) await sink.write(rec('a', i));
    let accepted = false;
    const p = Promise.resolve(sink.write(rec('a', 3))).then(() => (accepted = true));
    const p2 = Promise.resolve(sink.write(rec('a', 4)));
    // The sink keeps failing to send (broker down) and the writers keep waiting.
    const tried = sink.stats().failedAttempts;
    await until(() => sink.stats().failedAttempts >= tried + 2);
    assert.equal(accepted, false, 'write must wait while the buffer is full');
    assert.equal(sink.stats().waitingWriters, 2);
    fake.up = true;
    await p;
    await p2;
    await sink.close();
    assert.deepEqual(
      fake.messages.map((m) => JSON.parse(String(m.value)).frame_index),
      [0, 1, 2, 3, 4],
    );
    assert.equal(metrics.totalDropped(), 0);
  });

  it('live mode: a full buffer drops the OLDEST records, counted as sink_overflow', async () => {
    const fake = new FakeClient();
    fake.up = false;
    const metrics = new Metrics();
    const sink = createKafkaSink(cfg({ id: 'k', buffer_max_records: 3 }), ctxFor('live', metrics), {
      clientFactory: () => fake,
    });
    for (let i = 0; i < 10; i++) {
      const r = sink.write(rec('a', i));
      assert.equal(r, undefined, 'live writes never block');
    }
    assert.equal(metrics.get('dropped.k.sink_overflow'), 7);
    assert.equal(sink.stats().dropped, 7);
    fake.up = true;
    await sink.close();
    assert.deepEqual(
      fake.messages.map((m) => JSON.parse(String(m.value)).frame_index),
      [7, 8, 9],
    );
  });

  it('resends a batch whose send failed (at-least-once: duplicates, never gaps) after reconnecting', async () => {
    const fake = new FakeClient();
    fake.failAfterWrite = 1;
    const sink = createKafkaSink(cfg({ batch_max_messages: 100 }), ctxFor('file'), { clientFactory: () => fake });
    for (let i = 0; i < 5; i++) await sink.write(rec('a', i));
    await sink.close();
    const idx = fake.messages.map((m) => JSON.parse(String(m.value)).frame_index as number);
    assert.deepEqual([...new Set(idx)], [0, 1, 2, 3, 4]);
    assert.ok(idx.length > 5, 'the failed batch was resent');
    assert.ok(fake.connects >= 2 && fake.disconnects >= 1, 'reconnected before resending');
  });

  it('close() with the broker down is bounded by flush_timeout_ms and reports the unsent count', async () => {
    const fake = new FakeClient();
    fake.up = false;
    const metrics = new Metrics();
    const sink = createKafkaSink(
      cfg({ id: 'k', flush_timeout_ms: 300, retry_initial_ms: 1000, retry_max_ms: 5000, spill_path: false }),
      ctxFor('file', metrics),
      {
        clientFactory: () => fake,
      },
    );
    for (let i = 0; i < 7; i++) await sink.write(rec('a', i));
    const t0 = Date.now();
    await assert.rejects(sink.close(), (err: unknown) => {
      assert.ok(err instanceof VidflowError);
      assert.equal(err.code, 'SINK_FLUSH_TIMEOUT');
      assert.match(err.message, /\b7 record\(s\) could not be delivered/);
      return true;
    });
    assert.ok(Date.now() - t0 < 1500, `close took ${Date.now() - t0} ms`);
    assert.equal(metrics.get('dropped.k.sink_flush_timeout'), 7);
    await assert.rejects(sink.close(), /SINK_FLUSH_TIMEOUT|could not be delivered/); // idempotent: same outcome
    assert.throws(() => sink.write(rec('a', 99)), /write after close/);
  });

  it(
    'abort() (shutdown deadline): waiting writers are released, close() returns at once and spills ' + 'everything',
    async () => {
      const fake = new FakeClient();
      fake.up = false;
      const metrics = new Metrics();
      const spill = path.join(BASE_DIR, 'abort.unsent.jsonl');
      const sink = createKafkaSink(
        cfg({ id: 'k', buffer_max_records: 3, flush_timeout_ms: 3_600_000, spill_path: spill }),
        ctxFor('file', metrics),
        { clientFactory: () => fake },
      );
      for (let i = 0; i < 3; i++) await sink.write(rec('a', i));
      const blocked = [3, 4].map((i) => sink.write(rec('a', i)));
      assert.ok(
        blocked.every((p) => p instanceof Promise),
        'a full buffer makes file-mode writers wait',
      );
      const closing = sink.close();
      sink.abort!('deadline');
      await Promise.all(blocked);
      await assert.rejects(
        closing,
        /5 record\(s\) could not be delivered before the shutdown deadline \(deadline\).*5 written to/,
      );
      assert.deepEqual(
        readFileSync(spill, 'utf8')
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as ResultRecord).frame_index),
        [0, 1, 2, 3, 4],
      );
      assert.deepEqual(sink.report!(), { undelivered: 5, spilled: { path: spill, records: 5 } });
      assert.equal(metrics.get('dropped.k.sink_flush_timeout'), 0);
    },
  );

  it('flush() times out without discarding; the records are sent later', async () => {
    const fake = new FakeClient();
    fake.up = false;
    const sink = createKafkaSink(cfg({ flush_timeout_ms: 100 }), ctxFor('file'), { clientFactory: () => fake });
    await sink.write(rec('a', 0));
    await assert.rejects(sink.flush(), /SINK_FLUSH_TIMEOUT|still undelivered/);
    fake.up = true;
    await sink.flush();
    assert.equal(fake.messages.length, 1);
    await sink.close();
  });

  it('a record the broker rejects is dropped alone (sink_rejected); the rest of its batch is delivered', async () => {
    const fake = new FakeClient();
    fake.rejectValue = '"frame_index":2,';
    const metrics = new Metrics();
    const sink = createKafkaSink(cfg({ id: 'k', batch_max_messages: 10, linger_ms: 50 }), ctxFor('file', metrics), {
      clientFactory: () => fake,
    });
    for (let i = 0; i < 5; i++) await sink.write(rec('a', i));
    await sink.close();
    assert.deepEqual(
      fake.messages.map((m) => JSON.parse(String(m.value)).frame_index),
      [0, 1, 3, 4],
    );
    assert.equal(metrics.get('dropped.k.sink_rejected'), 1);
  });

  it('health_topic gets sink_health messages on connect and close', async () => {
    const fake = new FakeClient();
    const sink = createKafkaSink(cfg({ health_topic: 'health' }), ctxFor('file'), { clientFactory: () => fake });
    await sink.write(rec('a', 0));
    await sink.close();
    const health = fake.messages.filter((m) => m.topic === 'health').map((m) => JSON.parse(String(m.value)));
    assert.deepEqual(
      health.map((h) => h.event),
      ['connected', 'closed'],
    );
    assert.equal(health[1].sent, 1);
    assert.equal(sink.stats().sent, 1);
  });
});

describe('kafka sink config', () => {
  it('accepts a comma string or a list of brokers and applies defaults', () => {
    const c = kafkaSinkSchema.parse({ type: 'kafka', brokers: ' a:9092, b:9093 ,', topic: 'x' });
    assert.deepEqual(c.brokers, ['a:9092', 'b:9093']);
    assert.equal(c.acks, -1);
    assert.equal(c.idempotent, true);
    assert.equal(c.compression, 'none');
    assert.equal(
      kafkaSinkSchema.parse({ type: 'kafka', brokers: ['[::1]:9092'], topic: 'x', acks: 1, idempotent: false }).acks,
      1,
    );
  });

  it('rejects invalid config', () => {
    const bad: Record<string, unknown>[] = [
      { topic: 'x' },
      { brokers: '', topic: 'x' },
      { brokers: 'nohostport', topic: 'x' },
      { brokers: 'a:1', topic: 'bad topic' },
      { brokers: 'a:1', topic: 'x', acks: 1 }, // idempotent needs acks all
      { brokers: 'a:1', topic: 'x', surprise: true },
      { brokers: 'a:1', topic: 'x', topics_by_task: { nope: 'y' } },
      { brokers: 'a:1', topic: 'x', sasl: { mechanism: 'gssapi', username: 'u', password: 'p' } },
      { brokers: 'a:1', topic: 'x', ssl: { cert_file: 'c.pem' } },
      { brokers: 'a:1', topic: 'x', retry_initial_ms: 500, retry_max_ms: 100 },
      { brokers: 'a:1', topic: 'x', buffer_max_records: 0 },
    ];
    for (const c of bad)
      assert.equal(kafkaSinkSchema.safeParse({ type: 'kafka', ...c }).success, false, JSON.stringify(c));
    assert.equal(kafkaSinkSchema.safeParse({ type: 'jsonl', brokers: 'a:1', topic: 'x' }).success, false);
  });

  it('spec: type kafka, example validates, every field is described', () => {
    assert.equal(kafkaSinkSpec.type, 'kafka');
    assert.equal(kafkaSinkSchema.safeParse(kafkaSinkSpec.example).success, true);
    const shape = (
      kafkaSinkSchema as unknown as { _def: { schema: { shape: Record<string, { description?: string }> } } }
    )._def.schema.shape;
    for (const [k, v] of Object.entries(shape)) assert.ok(v.description, `${k} has a description`);
  });

  it('a missing ssl file is a SINK_PATH error at create', () => {
    assert.throws(
      () =>
        createKafkaSink(cfg({ ssl: { ca_file: 'no-such-ca.pem' } }), ctxFor('file'), {
          clientFactory: () => new FakeClient(),
        }),
      (e: unknown) => e instanceof VidflowError && e.code === 'SINK_PATH' && /ssl\.ca_file/.test(e.message),
    );
  });
});

describe('kafka sink idle close', () => {
  it(
    'close() with nothing buffered returns at once even when the broker is down (health message is ' + 'best-effort)',
    async () => {
      const fake = new FakeClient();
      fake.up = false;
      const sink = createKafkaSink(cfg({ health_topic: 'health', flush_timeout_ms: 5000 }), ctxFor('file'), {
        clientFactory: () => fake,
      });
      await until(() => sink.stats().failedAttempts >= 1); // it tried the broker and found it down
      const t0 = Date.now();
      await sink.close();
      assert.ok(Date.now() - t0 < 1500);
      assert.equal((await sink.health()).ok, false);
    },
  );
});
