/**
 * Shutdown through the CLI, as a user meets it (issue #8 items 3 and 4):
 * - SIGTERM while the Kafka broker is down: the undelivered records are counted in a log line
 *   and in the run summary, and (file pipelines) written to the spill file, none lost silently;
 *   the CLI's own shutdown deadline makes the sinks give up and report instead of killing the
 *   process before they can.
 * - A second signal always ends the process at once (killed by SIGINT: shell status 130), even
 *   while a segment stage is busy flushing.
 * The broker being down is a real closed port: kafkajs really connects and fails.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { media, REPO, tmpDir } from '../support/media.js';
import { runCli } from '../support/pipeline.js';
import { freePort } from '../support/ports.js';
import { waitForLine, waitForLines } from '../support/wait.js';

const CLASSIFIER = path.join(REPO, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.manifest.json');

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

describe('SIGTERM with the Kafka broker down', () => {
  for (const spill of ['default', 'off'] as const) {
    it(`reports every undelivered record (spill ${spill}) and exits 1`, { timeout: 15 * 60_000 }, async () => {
      const dir = tmpDir();
      const name = `kafka-down-${spill}`;
      const copy = path.join(dir, `${name}.jsonl`);
      const spillFile = path.join(dir, `${name}.kafka.unsent.jsonl`);
      const file = path.join(dir, `${name}.yaml`);
      writeFileSync(
        file,
        `name: ${name}
shutdown_timeout_ms: 3000
sources:
  - type: file
    id: cam1
    path: ${media.testsrc(20)}
    realtime: true
stages:
  - type: classify
    id: imagenet
    model: ${CLASSIFIER}
    top_k: 1
    batch_size: 1
sinks:
  - type: kafka
    brokers: 127.0.0.1:${await freePort()}
    topic: results
    connect_timeout_ms: 500
    retry_max_ms: 500
    flush_timeout_ms: 600000
${spill === 'off' ? '    spill_path: false\n' : ''}  - type: jsonl
    path: ${copy}
`,
      );
      let waitError: unknown = null;
      const r = await runCli(['run', file], {
        env: { VIDFLOW_LOG_LEVEL: 'info' },
        onSpawn: (p) => {
          waitForLine(p.stderr!, /Running pipeline/)
            .then(() => waitForLines(copy, 5))
            .then(() => p.kill('SIGTERM'))
            .catch((err) => {
              waitError = err;
              p.kill('SIGKILL');
            });
        },
      });
      assert.equal(waitError, null);
      assert.equal(r.signal, null, r.stderr);
      assert.equal(r.code, 1, r.stderr);
      const produced = lines(copy).length;
      assert.ok(produced >= 5, `${produced} records`);
      // The count is on a log line and in the summary, and it is every record produced.
      assert.match(r.stderr, /shutdown did not finish within shutdown_timeout_ms=3000/);
      const summary = r.stderr.split('\n').find((l) => l.includes('"summary"'));
      assert.ok(summary, r.stderr);
      assert.equal(JSON.parse(summary).summary.sinks.kafka.undelivered, produced, summary);
      const final = r.stderr.split('\n').find((l) => l.startsWith('error[SINK_FLUSH_TIMEOUT]: sinks[0]'));
      assert.ok(final, r.stderr);
      assert.match(
        final,
        new RegExp(`: ${produced} record\\(s\\) could not be delivered before the shutdown deadline`),
      );
      if (spill === 'default') {
        assert.match(final, new RegExp(`${produced} written to ${spillFile.replace(/[.]/g, '\\.')}`));
        // Nothing lost: the spill holds exactly the records the other sink received.
        const spilled = lines(spillFile).map((l) => JSON.parse(l) as { frame_index: number });
        assert.deepEqual(
          spilled.map((x) => x.frame_index).sort((a, b) => a - b),
          lines(copy).map((l) => (JSON.parse(l) as { frame_index: number }).frame_index),
        );
      } else {
        assert.match(final, /they are lost \(set spill_path to keep them\)/);
        assert.equal(existsSync(spillFile), false);
      }
    });
  }
});

describe('a second signal ends the process at once (shell status 130)', () => {
  it('with a segment stage busy, three runs out of three', { timeout: 15 * 60_000 }, async () => {
    for (let run = 0; run < 3; run += 1) {
      const dir = tmpDir();
      const out = path.join(dir, `second-signal-${run}.jsonl`);
      const file = path.join(dir, `second-signal-${run}.yaml`);
      writeFileSync(
        file,
        `name: second-signal
shutdown_timeout_ms: 600000
sources:
  - type: file
    id: aisle
    path: ${media.testsrc(30, '640x360', 25)}
stages:
  - type: segment
    id: scene
    model: deeplabv3-mobilenetv2-257
    label_map: png
sinks:
  - type: jsonl
    path: ${out}
`,
      );
      let waitError: unknown = null;
      const r = await runCli(['run', file], {
        env: { VIDFLOW_LOG_LEVEL: 'info' },
        onSpawn: (p) => {
          waitForLine(p.stderr!, /Running pipeline/)
            .then(() => waitForLines(out, 3))
            .then(async () => {
              p.kill('SIGINT');
              await waitForLine(p.stderr!, /Stopping pipeline/);
              p.kill('SIGINT');
            })
            .catch((err) => {
              waitError = err;
              p.kill('SIGKILL');
            });
        },
      });
      assert.equal(waitError, null);
      // Killed by SIGINT itself (what a shell reports as 130), not an exit 0 after the flush,
      // and not onnxruntime-node's SIGABRT from tearing down a worker mid-run.
      assert.equal(r.signal, 'SIGINT', `run ${run}: code ${r.code}; ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /terminate called/);
      assert.match(r.stderr, /Second SIGINT: exiting at once/);
    }
  });
});
