/**
 * `vidflow doctor <pipeline.yaml>` through the CLI: one line per model (does it load) and per
 * Kafka broker (does it accept a TCP connection); exit 1 when any fails.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { media, REPO, tmpDir } from '../support/media.js';
import { runCli } from '../support/pipeline.js';
import { freePort } from '../support/ports.js';

const MANIFEST = path.join(REPO, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.manifest.json');

function pipeline(name: string, brokers: string, extraStage = ''): string {
  const file = path.join(tmpDir(), `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
sources:
  - type: file
    id: clip
    path: ${media.testsrc(1)}
stages:
  - type: classify
    id: imagenet
    model: ${MANIFEST}
${extraStage}sinks:
  - type: kafka
    id: results
    brokers: "${brokers}"
    topic: vidflow.doctor
`,
  );
  return file;
}

describe('vidflow doctor <pipeline.yaml>', () => {
  it('says the model loads and the broker on a closed port is not reachable; exit 1', async () => {
    const port = await freePort();
    const r = await runCli(['doctor', pipeline('doctor-closed', `127.0.0.1:${port}`)]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /onnxruntime-node: /); // the environment report still comes first
    assert.match(r.stdout, /^ {2}model .*mobilenetv2-12-int8\.manifest\.json \(stage `imagenet`\): loads$/m);
    assert.match(
      r.stdout,
      new RegExp(`^  kafka broker 127\\.0\\.0\\.1:${port} \\(sink \`results\`\\): NOT reachable: ECONNREFUSED`, 'm'),
    );
  });

  it('exit 0 when every model loads and every broker answers', async () => {
    const server = net.createServer((c) => c.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const r = await runCli(['doctor', pipeline('doctor-ok', `127.0.0.1:${port}`)]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /\(stage `imagenet`\): loads$/m);
      assert.match(
        r.stdout,
        new RegExp(`kafka broker 127\\.0\\.0\\.1:${port} \\(sink \`results\`\\): reachable$`, 'm'),
      );
    } finally {
      server.close();
    }
  });

  it('a model that does not load is one line and exit 1', async () => {
    const port = await freePort();
    const broken = path.join(tmpDir(), 'doctor-broken.manifest.json');
    writeFileSync(path.join(tmpDir(), 'doctor-broken.onnx'), 'not an onnx model');
    const good = JSON.parse((await import('node:fs')).readFileSync(MANIFEST, 'utf8'));
    writeFileSync(broken, JSON.stringify({ ...good, name: 'doctor-broken', model_file: 'doctor-broken.onnx' }));
    const r = await runCli([
      'doctor',
      pipeline('doctor-broken', `127.0.0.1:${port}`, `  - type: classify\n    id: broken\n    model: ${broken}\n`),
    ]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /\(stage `imagenet`\): loads$/m);
    assert.match(r.stdout, /\(stage `broken`\): does NOT load: error\[/m);
  });
});
