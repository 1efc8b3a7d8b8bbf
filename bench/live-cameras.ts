/**
 * `npm run bench:live`: many live cameras into one real detector. For each camera count (default
 * 1, 4, 8, 16) N camera sources read the tests' real GStreamer RTSP server (one server, shared
 * media: one encoder, N RTSP sessions, N ffmpeg decoders) and feed ONE `detect` stage with
 * YOLOX-Nano (../shared/models, onnxruntime-node, `workers: 1`). The measurement starts when every
 * camera is live and lasts VIDFLOW_BENCH_LIVE_SECONDS (default 60; 300 for five minutes).
 *
 * Reported per camera count: results per second (all cameras, and the slowest camera), frames
 * dropped by reason (decoded = processed + dropped, from RunSummary.streams), and latency
 * (capture → result, `latency_ms`) p50/p99/max and RSS over the first and the last window of the run:
 * minute 1 vs the last minute when the run is ≥ 2 minutes long, else the first vs the second half.
 * A pipeline that fell behind would show the last window's latency above the first's.
 *
 * Environment:
 *   VIDFLOW_BENCH_LIVE_CAMERAS   comma list of camera counts (default 1,4,8,16)
 *   VIDFLOW_BENCH_LIVE_SECONDS   measured seconds per count (default 60)
 *   VIDFLOW_BENCH_LIVE_SERVER_FPS  the RTSP server's frame rate (default 30)
 *   VIDFLOW_BENCH_LIVE_FPS       each camera source's `fps` (frames kept per second; default 5)
 *   VIDFLOW_BENCH_LIVE_SIZE      server frame size WxH (default 640x360)
 * Prints a markdown table, then one JSON line per camera count.
 */
import os from 'node:os';
import type { ResultRecord, StreamState } from '../src/core/result.js';
import { silentLogger } from '../src/core/logger.js';
import { Metrics } from '../src/core/metrics.js';
import { shutdownInferencePools } from '../src/models/inference-worker-pool.js';
import { detectSchema, detectSpec } from '../src/stages/detect.js';
import { assemble } from '../src/runtime/run.js';
import { CameraSource, cameraSourceSchema } from '../src/sources/camera-source.js';
import { startRtspServer } from '../test/support/rtsp-server.js';
import { REPO } from '../test/support/media.js';

const COUNTS = (process.env.VIDFLOW_BENCH_LIVE_CAMERAS ?? '1,4,8,16')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => n > 0);
const SECONDS = Number(process.env.VIDFLOW_BENCH_LIVE_SECONDS ?? 60);
const SERVER_FPS = Number(process.env.VIDFLOW_BENCH_LIVE_SERVER_FPS ?? 30);
const CAMERA_FPS = Number(process.env.VIDFLOW_BENCH_LIVE_FPS ?? 5);
const [WIDTH, HEIGHT] = (process.env.VIDFLOW_BENCH_LIVE_SIZE ?? '640x360').split('x').map(Number) as [number, number];
const MAX_IN_FLIGHT = 2;
const WINDOW_S = SECONDS >= 120 ? 60 : SECONDS / 2;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
const lat = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: Math.round(pct(s, 50)),
    p95: Math.round(pct(s, 95)),
    p99: Math.round(pct(s, 99)),
    max: Math.round(s[s.length - 1] ?? Number.NaN),
  };
};

interface Row {
  cameras: number;
  seconds: number;
  records_per_s: number;
  slowest_camera_per_s: number;
  offered_per_s: number;
  decoded: number;
  processed: number;
  dropped: Record<string, number>;
  exact: boolean;
  first: ReturnType<typeof lat>;
  last: ReturnType<typeof lat>;
  infer_ms_mean: number | null;
  reconnects: number;
  /** 1-minute load average when the count finished (other work on the machine shows here). */
  load1: number;
  /** Share of decoded frames dropped (any reason). */
  dropped_share: number;
  /** This process's RSS (main thread + inference/preprocess workers; not the ffmpeg children), MB, median over each
   * window. */
  rss_first_mb: number;
  rss_last_mb: number;
}

async function runCount(n: number, url: string): Promise<Row> {
  const logger = silentLogger();
  const metrics = new Metrics();
  const ids = Array.from({ length: n }, (_, i) => `cam${String(i + 1).padStart(2, '0')}`);
  const sources = ids.map(
    (id, i) =>
      new CameraSource(
        cameraSourceSchema.parse({ type: 'camera', id, url, fps: CAMERA_FPS, max_in_flight: MAX_IN_FLIGHT }),
        { pipeline: 'bench-live', configPath: `sources[${i}]`, baseDir: '/', logger, metrics },
      ),
  );
  const stage = await detectSpec.create(
    detectSchema.parse({ type: 'detect', id: 'det', model: 'yolox-nano', workers: 1 }),
    { pipeline: 'bench-live', configPath: 'stages[0]', baseDir: REPO, logger, metrics },
  );
  const results: Array<{ at: number; r: ResultRecord }> = [];
  const live = new Set<string>();
  let t0 = 0;
  let allLive: () => void = () => undefined;
  const allLiveP = new Promise<void>((r) => (allLive = r));
  const p = assemble(
    {
      name: 'bench-live',
      sources: ids.map((id, i) => ({
        spec: {} as never,
        config: { type: 'camera', id, max_in_flight: MAX_IN_FLIGHT },
        path: `sources[${i}]`,
      })),
    },
    sources,
    [stage],
    [],
    {
      logger,
      metrics,
      onRecord: (r) => {
        if (r.task === 'stream_health') {
          if ((r.results as { state: StreamState }).state === 'live') live.add(r.stream_id);
          if (live.size === n && t0 === 0) {
            t0 = Date.now();
            allLive();
          }
        } else if (t0 > 0) results.push({ at: Date.now(), r });
      },
    },
  );
  const done = p.run();
  await allLiveP; // the measurement starts once every camera is live (connects and model load excluded)
  const rss: Array<{ at: number; mb: number }> = [];
  const sampler = setInterval(() => rss.push({ at: Date.now(), mb: process.memoryUsage().rss / 2 ** 20 }), 1000);
  await sleep(SECONDS * 1000);
  clearInterval(sampler);
  const t1 = Date.now();
  const median = (v: number[]) => {
    const s2 = [...v].sort((a, b) => a - b);
    return Math.round(s2[Math.floor(s2.length / 2)] ?? Number.NaN);
  };
  p.stop('bench over');
  const summary = await done;
  const inWindow = results.filter((x) => x.at <= t1);
  const first = inWindow.filter((x) => x.at - t0 < WINDOW_S * 1000).map((x) => x.r.latency_ms);
  const last = inWindow.filter((x) => t1 - x.at < WINDOW_S * 1000).map((x) => x.r.latency_ms);
  const perCamera = ids.map((id) => inWindow.filter((x) => x.r.stream_id === id).length);
  const dropped: Record<string, number> = {};
  let decoded = 0;
  let processed = 0;
  let exact = true;
  for (const id of ids) {
    const a = summary.streams[id]!;
    decoded += a.decoded;
    processed += a.processed;
    let d = 0;
    for (const [k, v] of Object.entries(a.dropped)) {
      dropped[k] = (dropped[k] ?? 0) + v;
      d += v;
    }
    if (a.decoded !== a.processed + d) exact = false;
  }
  const inferTiming = summary.metrics.timings['infer_ms.det'];
  return {
    cameras: n,
    seconds: SECONDS,
    records_per_s: +(inWindow.length / SECONDS).toFixed(1),
    slowest_camera_per_s: +(Math.min(...perCamera) / SECONDS).toFixed(2),
    offered_per_s: n * CAMERA_FPS,
    decoded,
    processed,
    dropped,
    exact,
    first: lat(first),
    last: lat(last),
    infer_ms_mean: inferTiming ? inferTiming.mean_ms : null,
    reconnects: ids.reduce((s, id) => s + metrics.get(`reconnects.${id}`), 0),
    load1: +os.loadavg()[0]!.toFixed(2),
    dropped_share: decoded > 0 ? +((decoded - processed) / decoded).toFixed(3) : 0,
    rss_first_mb: median(rss.filter((x) => x.at - t0 < WINDOW_S * 1000).map((x) => x.mb)),
    rss_last_mb: median(rss.filter((x) => t1 - x.at < WINDOW_S * 1000).map((x) => x.mb)),
  };
}

const server = await startRtspServer({ fps: SERVER_FPS, width: WIDTH, height: HEIGHT });
const rows: Row[] = [];
try {
  for (const n of COUNTS) {
    const row = await runCount(n, server.url());
    rows.push(row);
    console.error(`bench:live ${n} camera(s) done: ${row.records_per_s} results/s`);
  }
} finally {
  await server.stop();
  await shutdownInferencePools();
}

const win = WINDOW_S === 60 ? ['minute 1', 'last minute'] : [`first ${WINDOW_S} s`, `last ${WINDOW_S} s`];
const fmtDrops = (d: Record<string, number>) =>
  Object.entries(d)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';
console.log(
  `\nbench:live — ${SECONDS} s per count, RTSP ${WIDTH}x${HEIGHT} @ ${SERVER_FPS} fps, camera fps ${CAMERA_FPS}, ` +
    `max_in_flight ${MAX_IN_FLIGHT}, detect yolox-nano workers 1; ${os.cpus().length} CPUs ` +
    `(${os.cpus()[0]?.model ?? '?'}), load avg ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
);
console.log(
  '| cameras | offered fps | results/s (slowest camera) | decoded = processed + dropped | ' +
    'dropped share (by reason) | ' +
    `latency ${win[0]} p50 / p99 / max | latency ${win[1]} p50 / p99 / max | ` +
    `RSS ${win[0]} → ${win[1]} | infer mean | ` +
    `load avg (1 min) |`,
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.cameras} | ${r.offered_per_s} | ${r.records_per_s} (${r.slowest_camera_per_s}) | ${r.decoded} = ` +
      `${r.processed} + ${r.decoded - r.processed}${r.exact ? '' : ' (NOT EXACT)'} | ` +
      `${(r.dropped_share * 100).toFixed(1)} % (${fmtDrops(r.dropped)}) | ${r.first.p50} / ${r.first.p99} / ` +
      `${r.first.max} ms | ${r.last.p50} / ${r.last.p99} / ${r.last.max} ms | ` +
      `${r.rss_first_mb} → ${r.rss_last_mb} MB ` +
      `| ${r.infer_ms_mean ?? '—'} ms | ${r.load1} |`,
  );
}
console.log('');
// The capacity headline: the most cameras whose every stream kept ≥ 90 % of its fps with p99 < 1 s
// in the last window.
const held = rows.filter((r) => r.slowest_camera_per_s >= 0.9 * CAMERA_FPS && r.last.p99 < 1000).map((r) => r.cameras);
console.log(
  `capacity: ${held.length > 0 ? Math.max(...held) : 0} camera(s) held at ${CAMERA_FPS} fps each with p99 ` +
    `capture-to-result latency < 1 s (of the counts measured: ${COUNTS.join(', ')})`,
);
console.log('');
for (const r of rows) console.log(JSON.stringify(r));
process.exit(0);
