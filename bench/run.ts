/**
 * `npm run bench`: speed and memory as ratios against raw limits measured in the same run.
 *
 * 1. decode   — raw ffmpeg decode to RGB (bytes counted, nothing else) vs vidflow's file source.
 * 2. infer    — raw onnxruntime-node session.run on a ready tensor (batch 4) vs the whole
 *               classify pipeline (decode + preprocess + batch + infer + decode + sink).
 * 3. memory   — a 60 s 640×360 video through a sink that takes 10 ms per record: RSS growth stays
 *               bounded by the flow gate (max_in_flight frames), compared with one frame's size.
 * Results are printed as a table and written to bench/results.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { silentLogger } from '../src/core/logger.js';
import { Metrics } from '../src/core/metrics.js';
import { FlowGate } from '../src/core/flow-gate.js';
import { parsePipeline } from '../src/config/load.js';
import { buildPipeline } from '../src/runtime/run.js';
import { createFileSource } from '../src/sources/file-source.js';
import { ffmpegBinaries } from '../src/sources/ffmpeg/binaries.js';
import { preprocessInto } from '../src/models/preprocess.js';
import { media, REPO, sharedModel } from '../test/support/media.js';

const rows: Array<{ bench: string; raw: string; vidflow: string; ratio: string; note: string }> = [];

async function rawDecodeFps(file: string): Promise<{ fps: number; frames: number }> {
  const { ffmpeg } = ffmpegBinaries();
  const t0 = performance.now();
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    const p = spawn(ffmpeg.path, ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
    p.stdout.on('data', (d: Buffer) => (bytes += d.length));
    p.on('error', reject);
    p.on('close', () => resolve());
  });
  const frames = bytes / (640 * 360 * 3);
  return { fps: frames / ((performance.now() - t0) / 1000), frames };
}

async function vidflowDecodeFps(file: string): Promise<number> {
  const ctx = {
    pipeline: 'bench',
    configPath: 'sources[0]',
    baseDir: REPO,
    logger: silentLogger(),
    metrics: new Metrics(),
  };
  const src = await createFileSource(
    {
      id: 'b',
      path: file,
      fps: null,
      start_secs: null,
      end_secs: null,
      loop: false,
      max_in_flight: 8,
      realtime: false,
    },
    ctx,
  );
  const gate = new FlowGate(8);
  let n = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) =>
    src.frames(gate).subscribe({
      next: () => {
        n += 1;
        gate.release();
      },
      error: reject,
      complete: resolve,
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

async function rawInferFps(modelPath: string, batch: number, iterations: number, size = 224): Promise<number> {
  const session = await ort.InferenceSession.create(modelPath, { logSeverityLevel: 3, graphOptimizationLevel: 'all' });
  const data = new Float32Array(batch * 3 * size * size).map(() => Math.random());
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', data, [batch, 3, size, size]) };
  await session.run(feeds);
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) await session.run(feeds);
  const fps = (iterations * batch) / ((performance.now() - t0) / 1000);
  await session.release();
  return fps;
}

/** Preprocessing alone (resize 256 + crop 224 + normalize) on a 640×360 frame, frames per second. */
function rawPreprocessFps(iterations: number): number {
  const data = new Uint8Array(640 * 360 * 3).map((_, i) => (i * 7) & 255);
  const out = new Float32Array(3 * 224 * 224);
  const spec = {
    resize: { mode: 'shorter_side' as const, size: 256 },
    crop: { width: 224, height: 224 },
    scale: 1 / 255,
    mean: [0.485, 0.456, 0.406] as [number, number, number],
    std: [0.229, 0.224, 0.225] as [number, number, number],
    color: 'RGB' as const,
    interpolation: 'bilinear_antialias' as const,
  };
  for (let i = 0; i < 10; i++) preprocessInto(data, 640, 360, spec, out, 0, 'NCHW');
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) preprocessInto(data, 640, 360, spec, out, 0, 'NCHW');
  return iterations / ((performance.now() - t0) / 1000);
}

/** VIDFLOW_BENCH_EP=cuda (comma-separated list) runs the pipeline benchmarks' stages on that execution provider
 * (bench/gpu-check.sh). */
const BENCH_EP = process.env.VIDFLOW_BENCH_EP ? `, execution_providers: [${process.env.VIDFLOW_BENCH_EP}]` : '';

async function pipelineFps(
  video: string,
  batch: number,
  stage = 'classify',
  model = 'mobilenetv2-12-int8',
): Promise<{ fps: number; frames: number }> {
  const cfg = parsePipeline(
    `name: bench\nsources:\n  - { type: file, id: b, path: ${video}, max_in_flight: 16 }\nstages:\n  - { type: ` +
      `${stage}, id: c, model: ${model}, batch_size: ${batch}, max_wait_ms: 5${BENCH_EP} }\nsinks:\n  - { type: ` +
      `jsonl, path: /dev/null }\n`,
    'bench.yaml',
    REPO,
  );
  const p = await buildPipeline(cfg, { logger: silentLogger() });
  const t0 = performance.now();
  const s = await p.run();
  return { fps: s.records / ((performance.now() - t0) / 1000), frames: s.records };
}

/** Runs bench/memory.ts in a fresh process so its RSS baseline is clean. */
function memoryUnderSlowSink(
  video: string,
  maxInFlight: number,
): { baseMB: number; peakMB: number; peakFirstHalfMB: number; frames: number; seconds: number; dropped: number } {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join(REPO, 'bench', 'memory.ts'), video, String(maxInFlight)],
    { encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').pop()!);
}

async function main() {
  const video10 = media.testsrc(10, '640x360', 25);
  const rawDec = await rawDecodeFps(video10);
  const vfDec = await vidflowDecodeFps(video10);
  rows.push({
    bench: 'decode 640×360 H.264 → RGB',
    raw: `${rawDec.fps.toFixed(0)} fps (ffmpeg alone)`,
    vidflow: `${vfDec.toFixed(0)} fps (file source)`,
    ratio: (vfDec / rawDec.fps).toFixed(2),
    note: `${rawDec.frames} frames`,
  });

  const model = sharedModel('classification/mobilenetv2_12_int8.onnx');
  const rawInf = await rawInferFps(model, 4, 25);
  const rawPre = rawPreprocessFps(200);
  const pipe = await pipelineFps(video10, 4);
  // The pipeline must decode, preprocess and infer every frame: done one after the other on the
  // same cores, the three raw steps measured alone give this rate.
  const serial = 1 / (1 / rawDec.fps + 1 / rawPre + 1 / rawInf);
  rows.push({
    bench: 'preprocess 640×360 → 3×224×224 (resize 256, crop, normalize)',
    raw: '—',
    vidflow: `${rawPre.toFixed(0)} fps (${(1000 / rawPre).toFixed(2)} ms/frame, one thread)`,
    ratio: '—',
    note: 'torchvision-exact antialiased resize',
  });
  rows.push({
    bench: 'classify mobilenetv2-int8, batch 4: whole pipeline',
    raw:
      `${rawInf.toFixed(0)} fps (session.run alone); ${serial.toFixed(0)} fps (decode + preprocess + infer alone, ` +
      `serial)`,
    vidflow: `${pipe.fps.toFixed(0)} fps (file → ffmpeg → classify → JSONL)`,
    ratio: `${(pipe.fps / serial).toFixed(2)} of serial; ${(pipe.fps / rawInf).toFixed(2)} of inference alone`,
    note: `${pipe.frames} frames`,
  });

  // Detection with the shared YOLOX-nano (letterbox 416, BGR, decode + NMS in vidflow).
  const yolox = sharedModel('detection/yolox_nano.onnx');
  const rawDet = await rawInferFps(yolox, 1, 25, 416);
  const det = await pipelineFps(video10, 1, 'detect', 'yolox-nano');
  const letterboxMs = (() => {
    const data = new Uint8Array(640 * 360 * 3).map((_, i) => (i * 7) & 255);
    const out = new Float32Array(3 * 416 * 416);
    const spec = {
      resize: { mode: 'letterbox' as const, width: 416, height: 416, pad_value: 114, align: 'top_left' as const },
      crop: null,
      scale: 1,
      mean: [0, 0, 0] as [number, number, number],
      std: [1, 1, 1] as [number, number, number],
      color: 'BGR' as const,
      interpolation: 'bilinear' as const,
    };
    for (let i = 0; i < 5; i++) preprocessInto(data, 640, 360, spec, out, 0, 'NCHW');
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) preprocessInto(data, 640, 360, spec, out, 0, 'NCHW');
    return (performance.now() - t0) / 50;
  })();
  const detSerial = 1 / (1 / rawDec.fps + letterboxMs / 1000 + 1 / rawDet);
  rows.push({
    bench: 'detect yolox-nano 416², batch 1: whole pipeline',
    raw:
      `${rawDet.toFixed(0)} fps (session.run alone); ${detSerial.toFixed(0)} fps (decode + letterbox + infer ` +
      `alone, serial)`,
    vidflow: `${det.fps.toFixed(0)} fps (file → ffmpeg → detect → JSONL)`,
    ratio: `${(det.fps / detSerial).toFixed(2)} of serial; ${(det.fps / rawDet).toFixed(2)} of inference alone`,
    note: `${det.frames} frames; letterbox ${letterboxMs.toFixed(1)} ms/frame`,
  });

  const video60 = media.testsrc(60, '640x360', 25);
  const maxInFlight = 8;
  const mem = memoryUnderSlowSink(video60, maxInFlight);
  const frameMB = (640 * 360 * 3) / 2 ** 20;
  const growth = mem.peakMB - mem.baseMB;
  rows.push({
    bench: '60 s 640×360 video, sink 10 ms/record',
    raw: `${frameMB.toFixed(2)} MB per frame`,
    vidflow:
      `RSS +${growth.toFixed(1)} MB (peak ${mem.peakMB.toFixed(0)} MB; first half ` +
      `${mem.peakFirstHalfMB.toFixed(0)} MB)`,
    ratio: `${(growth / frameMB).toFixed(1)} frames`,
    note:
      `${mem.frames} of 1500 frames in ${mem.seconds.toFixed(1)} s, max_in_flight ${maxInFlight}, ${mem.dropped} ` +
      `dropped; buffering all would need ${(1500 * frameMB).toFixed(0)} MB`,
  });

  // Live camera latency under a stage 3× slower than the camera (bench/live.ts, own process).
  try {
    const live = JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'bench', 'live.ts')], {
        encoding: 'utf8',
        timeout: 90_000,
      })
        .trim()
        .split('\n')
        .pop()!,
    );
    rows.push({
      bench: 'live RTSP 25 fps → stage 120 ms/frame, max_in_flight 2',
      raw: `${live.stage_ms} ms (the stage's own time per frame)`,
      vidflow: `latency p50 ${live.p50} ms, p95 ${live.p95} ms, max ${live.max} ms (second half of ${live.seconds} s)`,
      ratio: `${(live.p95 / live.stage_ms).toFixed(2)} × stage time (bound: max_in_flight = 2)`,
      note: `${live.results} results, ${live.dropped} of ${live.decoded} decoded frames dropped (counted); no backlog`,
    });
  } catch (err) {
    rows.push({
      bench: 'live RTSP latency',
      raw: '—',
      vidflow: 'not run',
      ratio: '—',
      note: `needs GStreamer's RTSP server (see .ci/run): ${(err as Error).message.split('\n')[0]}`,
    });
  }

  const cpu = execFileSync('nproc', { encoding: 'utf8' }).trim();
  console.log(`vidflow bench (${cpu} cores, ffmpeg ${ffmpegBinaries().ffmpeg.source})`);
  console.log('| bench | raw limit | vidflow | ratio | note |\n|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.bench} | ${r.raw} | ${r.vidflow} | ${r.ratio} | ${r.note} |`);
  writeFileSync(
    path.join(REPO, 'bench', 'results.json'),
    `${JSON.stringify({ date: new Date().toISOString(), cores: Number(cpu), rows }, null, 2)}\n`,
  );
}

await main();
