/**
 * Live latency (run by bench/run.ts in its own process): a 25 fps RTSP camera (the tests' real
 * GStreamer server) into a stage that takes 120 ms per frame — about 3× slower than the camera.
 * vidflow drops frames instead of queueing them, so latency (decode → result) stays near the
 * stage's own time; a queue that kept every frame would add ~(1 − 8.3/25) s of delay per second.
 * Prints one JSON line: results, drops, latency p50/p95/max over the last half of the run.
 */
import { silentLogger } from '../src/core/logger.js';
import { Metrics } from '../src/core/metrics.js';
import type { ResultRecord } from '../src/core/result.js';
import { assemble } from '../src/runtime/run.js';
import type { Sink } from '../src/sinks/sink.js';
import { CameraSource, cameraSourceSchema } from '../src/sources/camera-source.js';
import { startRtspServer } from '../test/support/rtsp-server.js';
import { slowStage } from '../test/support/stages.js';

const STAGE_MS = 120;
const RUN_MS = 12_000;
const server = await startRtspServer({ fps: 25 });
const metrics = new Metrics();
const logger = silentLogger();
const src = new CameraSource(
  cameraSourceSchema.parse({ type: 'camera', id: 'cam', url: server.url(), max_in_flight: 2 }),
  { pipeline: 'live', configPath: 'sources[0]', baseDir: '/', logger, metrics },
);
const slow = slowStage('live', STAGE_MS);
const latencies: Array<{ at: number; ms: number }> = [];
const sink: Sink = {
  id: 'collect',
  write: (r: ResultRecord) => void latencies.push({ at: Date.now(), ms: r.latency_ms }),
  flush: async () => undefined,
  close: async () => undefined,
  health: async () => ({ ok: true, detail: '' }),
};
const p = assemble(
  {
    name: 'live',
    sources: [{ spec: {} as never, config: { type: 'camera', id: 'cam', max_in_flight: 2 }, path: 'sources[0]' }],
  },
  [src],
  [slow],
  [sink],
  { logger, metrics },
);
const t0 = Date.now();
const done = p.run();
await new Promise((r) => setTimeout(r, RUN_MS));
p.stop('bench over');
await done;
await server.stop();
const late = latencies
  .filter((l) => l.at - t0 > RUN_MS / 2)
  .map((l) => l.ms)
  .sort((a, b) => a - b);
const q = (f: number) => late[Math.min(late.length - 1, Math.floor(f * late.length))] ?? NaN;
console.log(
  JSON.stringify({
    stage_ms: STAGE_MS,
    results: latencies.length,
    dropped: metrics.get('dropped.cam.live_busy'),
    decoded: metrics.get('frames.decoded.cam') + metrics.get('dropped.cam.live_busy'),
    p50: q(0.5),
    p95: q(0.95),
    max: late[late.length - 1] ?? NaN,
    seconds: RUN_MS / 1000,
  }),
);
