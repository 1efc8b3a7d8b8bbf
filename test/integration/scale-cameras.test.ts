/**
 * `vidflow cameras` + `vidflow assign` (docs/scaling.md, "Live cameras") against the REAL Kafka
 * broker and REAL RTSP servers: 6 cameras assigned on a compacted 6-partition topic, 2 instances
 * in one consumer group (short session timeout). All six deliver; one instance is SIGKILLed and
 * all six deliver again from the survivor; it restarts and cameras come back to two instances
 * (the restarted one delivers some, and the survivor stops those). Every step waits for records
 * or log lines, never a fixed delay. Exit status: 0 after SIGTERM; 2 for an assignment topic that is
 * not compacted. VIDFLOW_SKIP_KAFKA=1 skips it.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker.js';
import { runCli, type CliResult } from '../support/pipeline.js';
import { startRtspServer, type RtspServer } from '../support/rtsp-server.js';
import { waitFor } from '../support/wait.js';

const skip = process.env.VIDFLOW_SKIP_KAFKA === '1' ? 'VIDFLOW_SKIP_KAFKA=1' : false;
const CAMS = ['cam0', 'cam1', 'cam2', 'cam3', 'cam4', 'cam5'];

let broker: KafkaBroker | null = null;
let dir: string;
const servers: RtspServer[] = [];

before(async () => {
  if (skip) return;
  dir = mkdtempSync(path.join(tmpdir(), 'vidflow-cams-'));
  for (let i = 0; i < CAMS.length; i++) servers.push(await startRtspServer({ fps: 5, width: 160, height: 120 }));
  broker = await startKafkaBroker();
});
after(async () => {
  await Promise.allSettled(servers.map((s) => s.stop()));
  await broker?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Camera ids of the (non-health) records in `file` from line `from` on. */
function camsIn(file: string, from = 0): Map<string, number> {
  const seen = new Map<string, number>();
  if (!existsSync(file)) return seen;
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  for (const l of lines.slice(from)) {
    const r = JSON.parse(l) as { stream_id: string; task: string };
    if (r.task !== 'stream_health') seen.set(r.stream_id, (seen.get(r.stream_id) ?? 0) + 1);
  }
  return seen;
}
const lineCount = (file: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;

interface Instance {
  proc: ChildProcess;
  done: Promise<CliResult>;
  out: string;
  stderr: () => string;
}

function startInstance(name: string, topic: string, extra: string[] = []): Instance {
  const out = path.join(dir, `${name}.jsonl`);
  const pipeline = path.join(dir, `${name}.yaml`);
  writeFileSync(
    pipeline,
    [
      `name: ${name}`,
      'sources:',
      '  - { type: camera, id: unused, url: "rtsp://127.0.0.1:1/unused" }',
      'stages:',
      '  - { type: classify, id: cls, model: mobilenetv2-12-int8, top_k: 1 }',
      'sinks:',
      `  - { type: jsonl, path: ${out} }`,
      '',
    ].join('\n'),
  );
  let proc!: ChildProcess;
  let err = '';
  const done = runCli(
    [
      'cameras',
      '--assignments',
      topic,
      '--brokers',
      broker!.brokers,
      '--pipeline',
      pipeline,
      '--instance-id',
      name,
      '--session-timeout-ms',
      '6000',
      ...extra,
    ],
    {
      env: { VIDFLOW_LOG_LEVEL: 'info' },
      onSpawn: (p) => {
        proc = p;
        p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      },
    },
  );
  return { proc, done, out, stderr: () => err };
}

const has6 = (m: Map<string, number>, n = 2) => CAMS.every((c) => (m.get(c) ?? 0) >= n);

describe('live cameras over a Kafka consumer group (real broker, real RTSP servers)', { skip }, () => {
  it('2 instances, 6 cameras: all deliver; SIGKILL one: all six from the survivor; restart: back on two instances', {
    timeout: 15 * 60_000,
  }, async () => {
    const topic = 'cams';
    const camsFile = path.join(dir, 'cameras.yaml');
    writeFileSync(
      camsFile,
      `${CAMS.map(
        (id, i) => `- { id: ${id}, url: "${servers[i]!.url()}", fps: 2, max_in_flight: 1, reconnect_initial_ms: 200 }`,
      ).join('\n')}\n`,
    );
    const assigned = await runCli(['assign', topic, camsFile, '--brokers', broker!.brokers]);
    assert.equal(assigned.code, 0, assigned.stderr);
    assert.equal(assigned.stdout.trim().split('\n').length, 6);

    const a = startInstance('a', topic);
    const b = startInstance('b', topic);
    try {
      // Both instances own some cameras, and the six together deliver.
      await waitFor(
        () => camsIn(a.out).size > 0 && camsIn(b.out).size > 0 && has6(new Map([...camsIn(a.out), ...camsIn(b.out)])),
        'records of all six cameras from both instances',
      );
      const mark = lineCount(b.out);
      a.proc.kill('SIGKILL');
      await a.done;
      await waitFor(() => has6(camsIn(b.out, mark)), 'records of all six cameras from the survivor after the kill');

      // Restart: some cameras move back; the survivor stops exactly those.
      const a2 = startInstance('a2', topic);
      try {
        const moved = await waitFor(() => {
          const m = [...camsIn(a2.out).keys()];
          return m.length > 0 && m.every((c) => new RegExp(`Camera ${c} stopped on b`).test(b.stderr())) ? m : null;
        }, 'cameras delivered by the restarted instance and stopped on the survivor');
        assert.ok(moved.length < 6, `the restarted instance owns some cameras, not all: ${moved.join(',')}`);
        const markB = lineCount(b.out);
        const markA = lineCount(a2.out);
        await waitFor(() => {
          const all = new Map([...camsIn(a2.out, markA), ...camsIn(b.out, markB)]);
          return has6(all) && camsIn(b.out, markB).size > 0;
        }, 'all six cameras deliver from two instances after the restart');
        // markB was taken after the survivor logged those cameras stopped (stop waits for their sinks): none of them
        // since.
        const still = [...camsIn(b.out, markB).keys()].filter((c) => moved.includes(c));
        assert.deepEqual(still, [], 'moved cameras are not still on the survivor');
      } finally {
        a2.proc.kill('SIGTERM');
        assert.equal((await a2.done).code, 0, a2.stderr().slice(-3000));
      }
    } finally {
      b.proc.kill('SIGTERM');
      a.proc.kill('SIGKILL');
      await Promise.allSettled([a.done, b.done]);
    }
    assert.equal((await b.done).code, 0, 'SIGTERM: cameras stopped, sinks flushed, exit 0');
  });

  it('exit status: 0 after SIGTERM; 2 with one error line for an assignment topic that is not compacted', {
    timeout: 5 * 60_000,
  }, async () => {
    const kafka = new Kafka({ brokers: [broker!.brokers], clientId: 'cams-exit', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'cams.plain', numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const plain = startInstance('plain', 'cams.plain');
    const r = await plain.done;
    assert.equal(r.code, 2, r.stderr);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error['));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(
      errors[0]!,
      /^error\[CONFIG_INVALID\]: assignment topic `cams\.plain` has cleanup\.policy=delete, expected a compacted topic/,
    );

    // An instance with no camera assigned (a fresh compacted topic) stops cleanly on SIGTERM.
    const idle = startInstance('idle', 'cams.empty');
    await waitFor(() => /Cameras instance idle running/.test(idle.stderr()), 'the instance running');
    idle.proc.kill('SIGTERM');
    const done = await idle.done;
    assert.equal(done.code, 0, done.stderr.slice(-3000));
    assert.match(done.stderr, /Cameras instance idle left group/);
    assert.doesNotMatch(done.stderr, /error\[/);
  });
});
