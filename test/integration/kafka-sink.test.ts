/**
 * Kafka sink against a REAL single-node Kafka broker (KRaft; jars from Maven Central, see
 * test/support/kafka-broker.ts). Needs `java` (17+) and, on first run, `mvn` + network.
 * Set VIDFLOW_SKIP_KAFKA=1 to skip (prints why).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { VidflowError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { RESULT_SCHEMA_VERSION, type ResultRecord, type Task } from '../../src/core/result.js';
import { kafkaSinkSpec, type KafkaSinkConfig } from '../../src/sinks/kafka-sink.js';
import type { Sink, SinkContext } from '../../src/sinks/sink.js';
import { kafkaTimings, startKafkaBroker, type KafkaBroker } from '../support/kafka-broker.js';
import { waitFor } from '../support/wait.js';
import type { KafkaSink } from '../../src/sinks/kafka-sink.js';

const stats = (s: Sink) => (s as KafkaSink).stats();

const skip = process.env.VIDFLOW_SKIP_KAFKA === '1' ? 'VIDFLOW_SKIP_KAFKA=1' : false;

function rec(stream: string, i: number, task: Task = 'detection'): ResultRecord {
  return {
    schema_version: RESULT_SCHEMA_VERSION,
    pipeline: 'it',
    stream_id: stream,
    frame_index: i,
    pts: i / 30,
    stage_id: 'det',
    model_id: 'fasterrcnn',
    task,
    frame_width: 1280,
    frame_height: 720,
    results: [{ box: [1, 2, 3, 4], label_id: 3, label: 'car', score: 0.9 }],
    latency_ms: 12.5,
  };
}

const BASE_DIR = mkdtempSync(path.join(os.tmpdir(), 'vidflow-kafka-it-'));
function ctxFor(mode: 'file' | 'live', metrics = new Metrics()): SinkContext {
  return { pipeline: 'it', configPath: 'sinks[0]', baseDir: BASE_DIR, logger: silentLogger(), metrics, mode };
}

interface Got {
  topic: string;
  partition: number;
  key: string;
  value: ResultRecord;
  headers: Record<string, string>;
}

describe('kafka sink with a real broker', { skip, timeout: 240_000 }, () => {
  let broker: KafkaBroker;
  let kafka: Kafka;

  before(async () => {
    const t0 = performance.now();
    broker = await startKafkaBroker();
    kafka = new Kafka({
      clientId: 'it-consumer',
      brokers: [broker.brokers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100 },
    });
    console.log(
      `# kafka broker ${broker.brokers} ready in ${Math.round(performance.now() - t0)} ms ` +
        `(jar resolution ${Math.round(kafkaTimings.resolveMs)} ms, format ${Math.round(kafkaTimings.formatMs)} ms, ` +
        `start ${Math.round(kafkaTimings.startMs[0] ?? 0)} ms)`,
    );
  });

  after(async () => {
    await broker?.dispose();
    if (broker) console.log(`# kafka broker start times (ms): ${kafkaTimings.startMs.map(Math.round).join(', ')}`);
  });

  async function createSink(over: Record<string, unknown>, ctx: SinkContext): Promise<Sink> {
    const config: KafkaSinkConfig = kafkaSinkSpec.schema.parse({
      type: 'kafka',
      brokers: broker.brokers,
      linger_ms: 5,
      retry_initial_ms: 100,
      retry_max_ms: 1000,
      connect_timeout_ms: 1000,
      request_timeout_ms: 5000,
      flush_timeout_ms: 30_000,
      ...over,
    });
    return kafkaSinkSpec.create(config, ctx);
  }

  async function createTopics(...topics: string[]): Promise<void> {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 3 })), waitForLeaders: true });
    await admin.disconnect();
  }

  /** Consumes `topics` from the beginning until `expectUnique` distinct (key, frame) are seen, plus a short grace
   * for duplicates. */
  async function consume(topics: string[], expectUnique: number, timeoutMs = 30_000): Promise<Got[]> {
    const consumer = kafka.consumer({
      groupId: `it-${randomUUID()}`,
      sessionTimeout: 10_000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 100,
    });
    const got: Got[] = [];
    const unique = new Set<string>();
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const value = JSON.parse(message.value!.toString()) as ResultRecord;
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        got.push({ topic, partition, key: message.key!.toString(), value, headers });
        unique.add(`${value.stream_id}/${value.frame_index}`);
        if (unique.size >= expectUnique) resolveDone();
      },
    });
    const timer = setTimeout(resolveDone, timeoutMs);
    await done;
    clearTimeout(timer);
    await new Promise((r) => setTimeout(r, 300));
    await consumer.disconnect();
    return got;
  }

  /** Per stream: frames in first-arrival order must be increasing, with no gaps from `from` to `to`. */
  function assertComplete(got: Got[], streams: string[], n: number): { duplicates: number } {
    let duplicates = 0;
    for (const s of streams) {
      const frames = got.filter((g) => g.key === s).map((g) => g.value.frame_index);
      const firsts: number[] = [];
      const seen = new Set<number>();
      for (const f of frames) {
        if (seen.has(f)) duplicates += 1;
        else {
          seen.add(f);
          firsts.push(f);
        }
      }
      assert.deepEqual(
        firsts,
        Array.from({ length: n }, (_, i) => i),
        `stream ${s}: every frame, in order`,
      );
      assert.equal(
        new Set(got.filter((g) => g.key === s).map((g) => `${g.topic}/${g.partition}`)).size,
        1,
        `stream ${s} stays on one partition`,
      );
    }
    return { duplicates };
  }

  it('delivers records: key = stream_id, JSON value, headers, per-stream order, topics_by_task', async () => {
    const topic = `res-${randomUUID().slice(0, 8)}`;
    const cls = `${topic}-cls`;
    await createTopics(topic, cls);
    const sink = await createSink(
      { topic, topics_by_task: { classification: cls }, batch_max_messages: 50, compression: 'gzip' },
      ctxFor('file'),
    );
    const streams = ['cam-a', 'cam-b', 'cam-c', 'cam-d'];
    const N = 100;
    const sent: ResultRecord[] = [];
    for (let i = 0; i < N; i++) {
      for (const s of streams) {
        const r = rec(s, i, s === 'cam-d' ? 'classification' : 'detection');
        sent.push(r);
        await sink.write(r);
      }
    }
    await sink.close();
    const got = await consume([topic, cls], sent.length);
    assert.equal(got.length, sent.length, 'no duplicates without failures');
    assertComplete(got, streams, N);
    for (const g of got) {
      assert.equal(g.key, g.value.stream_id);
      assert.equal(g.topic, g.key === 'cam-d' ? cls : topic);
      assert.deepEqual(g.headers, { schema_version: String(RESULT_SCHEMA_VERSION), pipeline: 'it' });
      assert.deepEqual(
        g.value,
        sent.find((r) => r.stream_id === g.key && r.frame_index === g.value.frame_index),
      );
    }
  });

  it('broker down at start: create succeeds, records wait, and arrive once the broker is started', async () => {
    const topic = `late-${randomUUID().slice(0, 8)}`;
    await createTopics(topic);
    await broker.stop();
    const sink = await createSink({ topic }, ctxFor('file'));
    for (let i = 0; i < 30; i++) await sink.write(rec('cam-a', i));
    await waitFor(() => stats(sink).failedAttempts >= 1, 'a failed connection attempt');
    const h = await sink.health();
    assert.equal(h.ok, false);
    assert.match(h.detail, /buffered=30\//);
    await broker.start();
    await sink.flush();
    assert.equal((await sink.health()).ok, true);
    await sink.close();
    const got = await consume([topic], 30);
    assertComplete(got, ['cam-a'], 30);
  });

  it(
    'broker killed mid-run and restarted: a file-mode sink delivers every record (duplicates only as ' + 'documented)',
    async () => {
      const topic = `outage-${randomUUID().slice(0, 8)}`;
      await createTopics(topic);
      const sink = await createSink({ topic, batch_max_messages: 20, buffer_max_records: 50 }, ctxFor('file'));
      const streams = ['cam-a', 'cam-b'];
      const N = 300;
      let writerDone = false;
      const writer = (async () => {
        for (let i = 0; i < N; i++) {
          for (const s of streams) await sink.write(rec(s, i));
          if (i % 5 === 0) await new Promise((r) => setTimeout(r, 10)); // ~1 s of writing in all
        }
        writerDone = true;
      })();
      await waitFor(() => stats(sink).sent >= 40, 'some records delivered before the crash');
      const before = (await sink.health()).detail;
      await broker.kill(); // crash: no clean shutdown
      await waitFor(
        async () => writerDone || stats(sink).state === 'retrying' || (await sink.health()).ok === false,
        'the sink noticing the outage',
      );
      const down = await sink.health();
      await broker.start(); // same port, same log dir
      await writer;
      await sink.close();
      const got = await consume([topic], N * streams.length);
      const { duplicates } = assertComplete(got, streams, N);
      console.log(
        `# outage test: before kill: ${before}; while down: ${down.detail}; received ${got.length}, duplicates ` +
          `${duplicates}`,
      );
    },
  );

  it(
    'broker down: live mode drops the oldest (counted); close() is bounded by flush_timeout_ms and reports the ' +
      'unsent count',
    async () => {
      const topic = `live-${randomUUID().slice(0, 8)}`;
      await createTopics(topic);
      await broker.stop();
      const liveMetrics = new Metrics();
      const live = await createSink({ id: 'kafka-live', topic, buffer_max_records: 5 }, ctxFor('live', liveMetrics));
      for (let i = 0; i < 20; i++) assert.equal(live.write(rec('cam-live', i)), undefined, 'live writes never block');
      assert.equal(liveMetrics.get('dropped.kafka-live.sink_overflow'), 15);

      const fileMetrics = new Metrics();
      const file = await createSink(
        { id: 'kafka-file', topic, flush_timeout_ms: 1500, spill_path: false },
        ctxFor('file', fileMetrics),
      );
      for (let i = 0; i < 12; i++) await file.write(rec('cam-file', i));
      const t0 = performance.now();
      await assert.rejects(file.close(), (err: unknown) => {
        assert.ok(err instanceof VidflowError);
        assert.equal(err.code, 'SINK_FLUSH_TIMEOUT');
        assert.match(
          err.message,
          /\b12 record\(s\) could not be delivered within flush_timeout_ms=1500 .*they are lost/,
        );
        return true;
      });
      const took = performance.now() - t0;
      assert.ok(took >= 1400 && took < 4000, `close took ${Math.round(took)} ms (flush_timeout_ms 1500)`);
      assert.equal(fileMetrics.get('dropped.kafka-file.sink_flush_timeout'), 12);
      assert.deepEqual(file.report?.(), { undelivered: 12 });

      // By default a file pipeline's undelivered records go to the spill file beside the pipeline file.
      const spillMetrics = new Metrics();
      const spilling = await createSink(
        { id: 'kafka-spill', topic, flush_timeout_ms: 1500 },
        ctxFor('file', spillMetrics),
      );
      for (let i = 0; i < 7; i++) await spilling.write(rec('cam-spill', i));
      const spillFile = path.join(BASE_DIR, 'it.kafka-spill.unsent.jsonl');
      await assert.rejects(
        spilling.close(),
        new RegExp(`7 record\\(s\\) could not be delivered.*; 7 written to ${spillFile.replace(/[.]/g, '\\.')}`),
      );
      assert.equal(spillMetrics.get('dropped.kafka-spill.sink_flush_timeout'), 0, 'spilled records are not dropped');
      assert.deepEqual(
        readFileSync(spillFile, 'utf8')
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as ResultRecord).frame_index),
        [0, 1, 2, 3, 4, 5, 6],
      );
      assert.deepEqual(spilling.report?.(), { undelivered: 7, spilled: { path: spillFile, records: 7 } });
      assert.equal(
        existsSync(path.join(BASE_DIR, 'it.kafka-file.unsent.jsonl')),
        false,
        'spill_path: false writes nothing',
      );

      await broker.start();
      await live.close();
      const got = await consume([topic], 5);
      assert.deepEqual(
        got.filter((g) => g.key === 'cam-live').map((g) => g.value.frame_index),
        [15, 16, 17, 18, 19],
        'the newest 5 survive',
      );
    },
  );
});
