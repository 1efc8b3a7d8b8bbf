/**
 * The demo pipeline switched to Kafka by uncommenting its one Kafka line, run through the CLI
 * against a REAL Kafka broker; every result (the `tracking` records also written to the demo's
 * JSONL) is consumed back, in order per clip. VIDFLOW_SKIP_KAFKA=1 skips it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker.js';
import { REPO } from '../support/media.js';
import { runCli } from '../support/pipeline.js';
import { SAFETY_NET_MS } from '../support/wait.js';

const skip = process.env.VIDFLOW_SKIP_KAFKA === '1' ? 'VIDFLOW_SKIP_KAFKA=1' : false;
let broker: KafkaBroker | null = null;

before(async () => {
  if (!skip) broker = await startKafkaBroker();
});
after(async () => {
  await broker?.dispose();
});

it('pipelines/demo.yaml sends its results to Kafka when its Kafka line is uncommented', {
  skip,
  timeout: 15 * 60_000,
}, async () => {
  const demo = readFileSync(path.join(REPO, 'pipelines', 'demo.yaml'), 'utf8');
  const kafkaLine = demo.split('\n').find((l) => /^\s*#\s*- \{ type: kafka/.test(l));
  assert.ok(kafkaLine, 'demo.yaml has a commented Kafka sink line');
  const switched = demo.replace(kafkaLine, kafkaLine.replace('# ', ''));
  assert.equal(switched.split('\n').filter((l, i) => l !== demo.split('\n')[i]).length, 1, 'exactly one line changed');
  const file = path.join(REPO, 'pipelines', '.demo-kafka.test.yaml');
  writeFileSync(file, switched);
  const jsonl = path.join(mkdtempSync(path.join(tmpdir(), 'vidflow-demo-kafka-')), 'demo.jsonl');
  try {
    const r = await runCli(['run', file], { env: { KAFKA_BROKERS: broker!.brokers, VIDFLOW_DEMO_JSONL: jsonl } });
    assert.equal(r.code, 0, r.stderr);
    // The terminal still gets the per-second summary lines.
    assert.match(r.stdout, /^\[dashcam 0-1 s\] in view: \d+ car/m);
    const written = readFileSync(jsonl, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(written.length, 38 + 67, 'one record per frame of both clips');

    const kafka = new Kafka({ brokers: [broker!.brokers], clientId: 'demo-test', logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `demo-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: 'vidflow.demo', fromBeginning: true });
    const got: Array<Record<string, any>> = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${got.length} of ${written.length} records consumed within ${SAFETY_NET_MS} ms`)),
        SAFETY_NET_MS,
      );
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push({
            key: message.key?.toString(),
            value: JSON.parse(message.value!.toString()),
            headers: message.headers,
          });
          if (got.length === written.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    assert.equal(got.length, written.length);
    for (const m of got) {
      assert.equal(m.key, m.value.stream_id, 'keyed by stream');
      assert.equal(m.value.pipeline, 'demo');
      assert.equal(m.value.task, 'tracking');
      assert.ok(Array.isArray(m.value.results.tracks) && Array.isArray(m.value.results.events));
    }
    for (const [stream, frames] of [
      ['dashcam', 38],
      ['aisle', 67],
    ] as const) {
      const mine = got.filter((m) => m.key === stream);
      assert.deepEqual(
        mine.map((m) => m.value.frame_index),
        [...Array(frames).keys()],
        `${stream}: in order, none missing`,
      );
      // What Kafka carries is what the JSONL holds.
      assert.deepEqual(
        mine.map((m) => m.value.results.tracks.map((t: { track_id: number }) => t.track_id)),
        written
          .filter((x) => x.stream_id === stream)
          .map((x) => x.results.tracks.map((t: { track_id: number }) => t.track_id)),
      );
    }
    assert.ok(
      got.some((m) => m.key === 'dashcam' && m.value.results.tracks.some((t: { label: string }) => t.label === 'car')),
    );
    assert.ok(
      got.some((m) => m.key === 'aisle' && m.value.results.tracks.some((t: { label: string }) => t.label === 'person')),
    );
  } finally {
    rmSync(file, { force: true });
    rmSync(path.dirname(jsonl), { recursive: true, force: true });
  }
});
