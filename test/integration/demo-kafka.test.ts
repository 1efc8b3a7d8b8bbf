/**
 * The demo pipeline switched to Kafka by uncommenting its one Kafka line, run through the CLI
 * against a REAL Kafka broker; every result is consumed back. VIDFLOW_SKIP_KAFKA=1 skips it.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
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

it('pipelines/demo.yaml sends its results to Kafka when its Kafka line is uncommented', { skip, timeout: 15 * 60_000 }, async () => {
  const demo = readFileSync(path.join(REPO, 'pipelines', 'demo.yaml'), 'utf8');
  const kafkaLine = demo.split('\n').find((l) => /^\s*#\s*- \{ type: kafka/.test(l));
  assert.ok(kafkaLine, 'demo.yaml has a commented Kafka sink line');
  const switched = demo.replace(kafkaLine, kafkaLine.replace('# ', ''));
  assert.equal(switched.split('\n').filter((l, i) => l !== demo.split('\n')[i]).length, 1, 'exactly one line changed');
  const file = path.join(REPO, 'pipelines', '.demo-kafka.test.yaml');
  writeFileSync(file, switched);
  try {
    const r = await runCli(['run', file], { env: { KAFKA_BROKERS: broker!.brokers } });
    assert.equal(r.code, 0, r.stderr);
    const printed = r.stdout.trim().split('\n').length;
    assert.ok(printed >= 10, `${printed} lines printed`);

    const kafka = new Kafka({ brokers: [broker!.brokers], clientId: 'demo-test', logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `demo-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: 'vidflow.demo', fromBeginning: true });
    const got: Array<Record<string, any>> = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${printed} records consumed within ${SAFETY_NET_MS} ms`)), SAFETY_NET_MS);
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push({ key: message.key?.toString(), value: JSON.parse(message.value!.toString()), headers: message.headers });
          if (got.length === printed) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    assert.equal(got.length, printed);
    for (const m of got) {
      assert.equal(m.key, 'parking');
      assert.equal(m.value.pipeline, 'demo');
      assert.equal(m.value.task, 'classification');
      assert.equal(m.value.results.top.length, 3);
    }
    assert.deepEqual(got.map((m) => m.value.frame_index), [...Array(printed).keys()], 'in order, none missing');
  } finally {
    const { rmSync } = await import('node:fs');
    rmSync(file, { force: true });
  }
});
