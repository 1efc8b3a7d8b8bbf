/**
 * The live `camera` source against a REAL RTSP server (GStreamer gst-rtsp-server with Basic auth):
 * frames arrive, a slow stage makes the source drop frames (counted) instead of building a
 * backlog, a lost camera reconnects, and credentials never reach logs or errors.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { VidflowError } from '../../src/core/errors.js';
import type { Frame } from '../../src/core/frame.js';
import { Metrics } from '../../src/core/metrics.js';
import type { ResultRecord } from '../../src/core/result.js';
import { assemble } from '../../src/runtime/run.js';
import type { Sink } from '../../src/sinks/sink.js';
import { CameraSource, cameraSourceSchema, cameraSourceSpec } from '../../src/sources/camera-source.js';
import { probeVideo } from '../../src/sources/ffmpeg/probe.js';
import { startRtspServer, type RtspServer } from '../support/rtsp-server.js';
import { slowStage } from '../support/stages.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO, tmpDir } from '../support/media.js';
import { runCli } from '../support/pipeline.js';
import { waitFor } from '../support/wait.js';
import { sourceEntry } from '../support/fakes.js';

const PASSWORD = 'pa55-w0rd-xyz';
let server: RtspServer;
let logText = '';
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk, _enc, cb) {
      logText += chunk.toString();
      cb();
    },
  }),
);

before(async () => {
  server = await startRtspServer({ user: 'cam', password: PASSWORD, fps: 25 });
});
after(async () => {
  await server?.stop();
});

function camera(extra: Record<string, unknown> = {}) {
  const config = cameraSourceSchema.parse({
    type: 'camera',
    id: 'door',
    url: server.url('cam', PASSWORD),
    max_in_flight: 2,
    reconnect_initial_ms: 200,
    ...extra,
  });
  return new CameraSource(config, {
    pipeline: 'live',
    configPath: 'sources[0]',
    baseDir: '/',
    logger,
    metrics: new Metrics(),
  });
}

class CollectSink implements Sink {
  readonly id = 'collect';
  records: ResultRecord[] = [];
  write(r: ResultRecord) {
    this.records.push(r);
  }
  async flush() {}
  async close() {}
  async health() {
    return { ok: true, detail: '' };
  }
}

describe('camera source over RTSP', () => {
  it('probes the stream through auth', async () => {
    const info = await probeVideo(server.url('cam', PASSWORD), { input_options: ['-rtsp_transport', 'tcp'] });
    assert.equal(info.codec, 'h264');
    assert.equal(info.width, 320);
  });

  it('decode_size: ffmpeg scales the live frames, which carry the camera size', async () => {
    const info = await probeVideo(server.url('cam', PASSWORD), { input_options: ['-rtsp_transport', 'tcp'] });
    const src = camera({ decode_size: { max_width: 160 } });
    const { FlowGate } = await import('../../src/core/flow-gate.js');
    const gate = new FlowGate(4);
    const frames: Frame[] = [];
    await new Promise<void>((resolve, reject) => {
      const sub = src.frames(gate).subscribe({
        next: (f) => {
          frames.push(f);
          gate.release();
          if (frames.length === 5) {
            sub.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
    });
    for (const f of frames) {
      assert.deepEqual(
        [f.width, f.height, f.source_width, f.source_height],
        [160, Math.trunc(info.height * (160 / 320)), 320, info.height],
      );
      assert.equal(f.data.length, f.width * f.height * 3);
    }
  });

  it('drops frames (counted) instead of building a backlog when a stage is slower than the camera', async () => {
    const src = camera();
    const metrics = new Metrics();
    (src as unknown as { ctx: { metrics: Metrics } }).ctx.metrics = metrics;
    const seen: Frame[] = [];
    const sink = new CollectSink();
    const p = assemble(
      {
        name: 'live',
        sources: [sourceEntry(cameraSourceSpec, { type: 'camera', id: 'door', max_in_flight: 2 }, 'sources[0]')],
      },
      [src],
      [slowStage('live', 120, (f) => seen.push(f))],
      [sink],
      { logger, metrics },
    );
    const done = p.run();
    await waitFor(() => seen.length >= 12, '12 frames through the slow stage');
    p.stop('test over');
    const summary = await done;
    const dropped = metrics.get('dropped.door.live_busy');
    assert.ok(dropped > 0, `dropped ${dropped}`);
    assert.equal(summary.dropped, dropped);
    // Processed frames skip ahead in the stream: the stage saw fresh frames, not a queue.
    const gaps = seen.slice(1).map((f, i) => f.index - seen[i]!.index);
    assert.ok(
      gaps.every((g) => g >= 1),
      'indices increase',
    );
    assert.ok(
      gaps.some((g) => g > 1),
      `frames were skipped: ${gaps.join(',')}`,
    );
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.pts > seen[i - 1]!.pts);
    assert.equal(
      sink.records.filter((r) => r.task !== 'stream_health').length,
      seen.length,
      'every processed frame reached the sink',
    );
  });

  it('reconnects when the camera goes away and comes back; pts stay monotonic', async () => {
    const src = camera();
    const frames: Frame[] = [];
    const { FlowGate } = await import('../../src/core/flow-gate.js');
    const gate = new FlowGate(4);
    let restarted = false;
    await new Promise<void>((resolve, reject) => {
      const sub = src.frames(gate).subscribe({
        next: (f) => {
          frames.push(f);
          gate.release();
          if (frames.length === 10 && !restarted) {
            restarted = true;
            void server.stop().then(() => setTimeout(() => void server.start(), 500));
          }
          if (restarted && frames.length >= 30) {
            sub.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
    });
    assert.ok((src as unknown as { ctx: { metrics: Metrics } }).ctx.metrics.get('reconnects.door') >= 1);
    for (let i = 1; i < frames.length; i++) {
      assert.ok(frames[i]!.index > frames[i - 1]!.index, `index increases at ${i}`);
      assert.ok(
        frames[i]!.pts > frames[i - 1]!.pts,
        `pts monotonic at ${i}: ${frames[i - 1]!.pts} → ${frames[i]!.pts}`,
      );
    }
  });

  it('a wrong password is a one-line error without the password, and credentials never appear in logs', async () => {
    const src = camera({ url: server.url('cam', `WRONG-${PASSWORD}`), reconnect: false });
    const { FlowGate } = await import('../../src/core/flow-gate.js');
    const err = await new Promise<unknown>((resolve) =>
      src.frames(new FlowGate(2)).subscribe({ error: resolve, complete: () => resolve(null) }),
    );
    assert.ok(err instanceof VidflowError, String(err));
    assert.equal(err.code, 'SOURCE_CONNECT');
    assert.match(err.message, /rtsp:\/\/\*\*\*@127\.0\.0\.1:\d+\/test: cannot open stream: .*401/);
    assert.doesNotMatch(err.message, new RegExp(PASSWORD));
    assert.ok(logText.length > 0, 'logs were written at debug level');
    assert.doesNotMatch(logText, new RegExp(PASSWORD), 'password in logs');
    assert.match(logText, /rtsp:\/\/\*\*\*@127\.0\.0\.1/);
  });
});

describe('vidflow run with a camera source (CLI, real RTSP server, real classifier)', () => {
  it('streams results until SIGINT, flushes them, exits 0, and never logs the password', {
    timeout: 15 * 60_000,
  }, async () => {
    const out = path.join(tmpDir(), 'camera.jsonl');
    const file = path.join(tmpDir(), 'camera.yaml');
    const manifest = path.join(REPO, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.manifest.json');
    writeFileSync(
      file,
      `name: cam\nsources:\n  - { type: camera, id: door, url: ` +
        `"rtsp://\${CAM_USER}:\${CAM_PASS}@127.0.0.1:${server.port}/test", fps: 5 }\nstages:\n  - { type: classify, ` +
        `id: scene, model: ${manifest} }\nsinks:\n  - { type: jsonl, path: ${out} }\n`,
    );
    let waitError: unknown = null;
    const r = await runCli(['run', file, '--log-level', 'debug'], {
      env: { CAM_USER: 'cam', CAM_PASS: PASSWORD },
      // SIGINT once five records are out (an event, however long the connect and model load take).
      onSpawn: (p) => {
        const results = () =>
          existsSync(out)
            ? readFileSync(out, 'utf8')
                .split('\n')
                .filter((l) => l.includes('"classification"')).length
            : 0;
        waitFor(() => results() >= 5 || null, '5 classification records')
          .then(() => p.kill('SIGINT'))
          .catch((err) => {
            waitError = err;
            p.kill('SIGKILL');
          });
      },
    });
    assert.equal(waitError, null);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const all = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // Health-state changes reach the sinks as stream_health records (issue #9); results are the rest.
    assert.ok(
      all.some((x) => x.task === 'stream_health' && x.stream_id === 'door'),
      'health events reach the sink',
    );
    const recs = all.filter((x) => x.task !== 'stream_health');
    assert.ok(recs.length >= 5, `${recs.length} records`);
    assert.ok(recs.every((x) => x.stream_id === 'door' && x.task === 'classification'));
    for (let i = 1; i < recs.length; i++) assert.ok(recs[i].pts > recs[i - 1].pts, 'pts increase');
    assert.match(r.stderr, /Connected to `door`/);
    assert.doesNotMatch(r.stderr + r.stdout, new RegExp(PASSWORD));
  });
});

describe('camera source over UDP (MPEG-TS pushed by a real ffmpeg)', () => {
  it('decodes a live UDP stream', { timeout: 10 * 60_000 }, async () => {
    const { spawn } = await import('node:child_process');
    const { freePort } = await import('../support/ports.js');
    const port = await freePort();
    const sender = spawn(
      'ffmpeg',
      [
        '-v',
        'error',
        '-re',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=s=320x240:r=25',
        '-t',
        '600',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-tune',
        'zerolatency',
        '-g',
        '25',
        '-f',
        'mpegts',
        `udp://127.0.0.1:${port}?pkt_size=1316`,
      ],
      { stdio: 'ignore' },
    );
    try {
      const src = camera({ url: `udp://127.0.0.1:${port}`, reconnect: false });
      const { FlowGate } = await import('../../src/core/flow-gate.js');
      const gate = new FlowGate(4);
      const frames: Frame[] = [];
      await new Promise<void>((resolve, reject) => {
        const sub = src.frames(gate).subscribe({
          next: (f) => {
            frames.push(f);
            gate.release();
            if (frames.length === 10) {
              sub.unsubscribe();
              resolve();
            }
          },
          error: reject,
        });
      });
      assert.equal(frames[0]!.width, 320);
      assert.equal(frames[0]!.height, 240);
      for (let i = 1; i < frames.length; i++) assert.ok(frames[i]!.pts > frames[i - 1]!.pts);
    } finally {
      sender.kill('SIGKILL');
    }
  });
});
