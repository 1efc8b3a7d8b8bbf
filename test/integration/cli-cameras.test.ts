/**
 * `vidflow cameras` start-up failures through the CLI, without a broker: each ends with one error line
 * and a non-zero status (docs/scaling.md, "Live cameras": exit status). The clean-stop status (0) and
 * a topic that is not compacted need a broker: test/integration/scale-cameras.test.ts.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { tmpDir } from '../support/media.js';
import { runCli } from '../support/pipeline.js';
import { freePort } from '../support/ports.js';

function pipeline(name: string, stage: string): string {
  const file = path.join(tmpDir(), `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      'sources:',
      '  - { type: camera, id: unused, url: "rtsp://127.0.0.1:1/unused" }',
      'stages:',
      `  - ${stage}`,
      'sinks:',
      `  - { type: jsonl, path: ${path.join(tmpDir(), `${name}.jsonl`)} }`,
      '',
    ].join('\n'),
  );
  return file;
}

const oneLine = (stderr: string): string => {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  return lines[0]!;
};

it('a bad pipeline file: exit 2, one line naming the file, line and field; a missing model: exit 1', async () => {
  const port = await freePort();
  const args = ['cameras', '--assignments', 'cams', '--brokers', `127.0.0.1:${port}`, '--pipeline'];
  const r = await runCli([...args, pipeline('cams-bad', '{ type: clasify, id: cls }')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    oneLine(r.stderr),
    /^error\[CONFIG_INVALID\]: .*cams-bad\.yaml\(5,\d+\) stages\[0\]\.type: unknown stage type "clasify"/,
  );
  // The stages are built before Kafka is tried: the error is the model's, not KAFKA_CONNECT (nothing
  // listens on the port).
  const m = await runCli([...args, pipeline('cams-model', '{ type: classify, id: cls, model: no-such-model }')]);
  assert.equal(m.code, 1, m.stderr);
  assert.match(oneLine(m.stderr), /^error\[MODEL_NOT_FOUND\]: stages\[0\]\.model: model "no-such-model" not found/);
});

// The same start-up failure for both Kafka-coordinated commands; `cause` is what the line must say
// after the retry count (cameras: the connection refusal itself).
for (const [cmd, topicFlag, topic, cause] of [
  ['cameras', '--assignments', 'cams', '.*ECONNREFUSED.*'],
  ['worker', '--jobs', 'jobs', '.*'],
] as const) {
  it(`vidflow ${cmd}: brokers unreachable after --connect-retries: exit 1, one KAFKA_CONNECT line`, async () => {
    const file = pipeline(`${cmd}-ok`, '{ type: classify, id: cls, model: mobilenetv2-12-int8, top_k: 1 }');
    const port = await freePort();
    const brokers = `127.0.0.1:${port}`;
    const r = await runCli([cmd, topicFlag, topic, '--brokers', brokers, '--pipeline', file, '--connect-retries', '1']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      oneLine(r.stderr),
      new RegExp(
        `^error\\[KAFKA_CONNECT\\]: ${cmd}: Kafka at 127\\.0\\.0\\.1:${port} could not be used after 1 retry: ` +
          `${cause}; check --brokers$`,
      ),
    );
  });
}

it('an assignment topic that is no Kafka topic name: exit 2, one line, before connecting', async () => {
  const file = pipeline('cams-topic', '{ type: classify, id: cls, model: mobilenetv2-12-int8, top_k: 1 }');
  const r = await runCli(['cameras', '--assignments', 'cams/door', '--brokers', '127.0.0.1:1', '--pipeline', file]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    oneLine(r.stderr),
    'error[CONFIG_INVALID]: cameras: --assignments: found "cams/door", expected a Kafka topic name (1-249 letters, ' +
      'digits, . _ -)',
  );
  const a = await runCli(['assign', 'bad topic', file, '--brokers', '127.0.0.1:1']);
  assert.equal(a.code, 2, a.stderr);
  assert.match(oneLine(a.stderr), /^error\[CONFIG_INVALID\]: assign: <topic>: found "bad topic"/);
});

it('an unknown flag: exit 2, one line', async () => {
  const r = await runCli(['cameras', '--assignment', 'cams']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(oneLine(r.stderr), /^error\[CONFIG_INVALID\]: cameras: Unknown option '--assignment'/);
});
