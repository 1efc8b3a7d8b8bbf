/**
 * `npm run bench:throughput`: issue #13's one-run table. Every figure comes from the same run on
 * the same clip: the raw limits, vidflow end to end at 1, 2, 4 and 8 file streams, batching and
 * worker variants, and the Python peer, interleaved (round 1 runs every case once, then round 2 …;
 * `BENCH_ROUNDS`, default 3), with min / median / max and the load average at every round.
 *
 * Cases (each its own process, wrapped in /usr/bin/time for CPU seconds and peak RSS):
 * - decode-only: N ffmpeg processes decoding the clip to rgb24 at source size into /dev/null
 *   (the raw decode limit of N file streams);
 * - inference-only: bench/throughput/infer-only.ts, session.run in a tight loop on a preallocated
 *   input at the stage's batch size with vidflow's default session options, per model (the
 *   classifier also at batch 1, for the batch-1 pipeline variant);
 * - plumbing: bench/throughput/plumbing.ts, the pipeline's file sources as `vidflow run` creates
 *   them, one JSON line per frame to stdout, no stage;
 * - vidflow: `node bin/vidflow.js run` on a generated pipeline (N file sources of the clip → one
 *   stage → stdout sink, JSON lines); throughput counted from the records on its stdout;
 * - peer: bench/peers/{classify,detect}.py (PyAV + numpy + onnxruntime Python) writing its JSON
 *   lines to stdout, when VIDFLOW_PEER_PYTHON (default python3) can import av, numpy, onnxruntime.
 *
 * Throughput: "steady" fps = records after the first stdout chunk / seconds from the first record
 * to the last (start-up and model load excluded: the raw limits exclude them too); "process" fps =
 * records / whole process wall time. Efficiency = steady fps / min(decode-only fps at the same
 * stream count, inference-only fps); "of serial bound" = steady fps / (1 / (1/decode-only + 1/inference-only)),
 * the rate of doing the two one after the other on the same cores. Clip models count clips (one per
 * `stride_frames` frames).
 *
 * VIDFLOW_BENCH_EP=cuda (comma-separated) runs every model stage and the inference-only loops on
 * those execution providers (bench/gpu-check.sh).
 *
 * Prints markdown tables and writes bench/throughput-results.json. Asserts nothing about speed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeSizeSchema, scaleFilter } from '../src/sources/decode-size.js';
import { ffmpegBinaries } from '../src/sources/ffmpeg/binaries.js';
import { REPO, sharedMedia, sharedModel } from '../test/support/media.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIP_SECONDS = Number(process.env.BENCH_CLIP_SECONDS ?? 10);
const STREAM_COUNTS = (process.env.BENCH_STREAMS ?? '1,2,4,8').split(',').map(Number);
const VIDEO = sharedMedia('videos/people-one-by-one.mp4');
const CLIP_MANIFEST = path.join(REPO, 'test/fixtures/models/tiny_r3d_18/tiny_r3d_18.manifest.json');
const CLIP_STRIDE = 8;
const python = process.env.VIDFLOW_PEER_PYTHON ?? 'python3';
const work = mkdtempSync(path.join(os.tmpdir(), 'vidflow-throughput-'));

/** One finished process. */
interface Sample {
  wall_s: number;
  cpu_s: number;
  peak_rss_mib: number;
  items: number;
  /** Items per second from the first stdout record to the last (null without records on stdout). */
  steady_fps: number | null;
  process_fps: number;
  first_record_s: number | null;
  load_1min: number;
}

interface Case {
  key: string;
  run: () => Promise<Sample>;
}

/** Runs `cmd args` under /usr/bin/time; counts the lines of its stdout and when they came. */
function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Sample & { stdout?: string }> {
  const timeFile = path.join(work, 'time.txt');
  const load = os.loadavg()[0]!;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, cmd, ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lines = 0;
    let firstAt: number | null = null;
    let firstCount = 0;
    let lastAt = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      let n = 0;
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) n += 1;
      if (n === 0) return;
      const now = performance.now();
      lines += n;
      if (firstAt === null) {
        firstAt = now;
        firstCount = n;
      }
      lastAt = now;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').pop()}`));
        return;
      }
      const [wall, user, sys, rssKiB] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
      const span = firstAt === null ? 0 : (lastAt - firstAt) / 1000;
      resolve({
        wall_s: wall!,
        cpu_s: user! + sys!,
        peak_rss_mib: rssKiB! / 1024,
        items: lines,
        steady_fps: span > 0 ? (lines - firstCount) / span : null,
        process_fps: lines / wall!,
        first_record_s: firstAt === null ? null : (firstAt - t0) / 1000,
        load_1min: load,
      });
    });
  });
}

// ---- the cases ---------------------------------------------------------------------------------

const { ffmpeg } = ffmpegBinaries();

/** Frames of one stream (the first CLIP_SECONDS of the clip), counted by ffmpeg once. */
function framesPerStream(): number {
  const out = spawnSync(
    ffmpeg.path,
    ['-nostdin', '-v', 'error', '-i', VIDEO, '-t', String(CLIP_SECONDS), '-f', 'null', '-progress', 'pipe:1', '-'],
    { encoding: 'utf8' },
  ).stdout;
  const frames = [...out.matchAll(/^frame=(\d+)$/gm)].pop();
  if (!frames) throw new Error(`ffmpeg did not report a frame count for ${VIDEO}`);
  return Number(frames[1]);
}

/** Decode sizes that `decode_size: auto` picks for the two image models on this clip (its info line says so). */
const AUTO_SIZES = {
  classify: decodeSizeSchema.parse({ shorter_side: 256, interpolation: 'bilinear' }),
  detect: decodeSizeSchema.parse({ max_width: 416, max_height: 416, interpolation: 'area' }),
};

/** N ffmpeg processes at once, each decoding the clip to rgb24 into /dev/null (at `size`: scaled as vidflow's
 * `decode_size` scales). */
function decodeOnly(streams: number, frames: number, size?: keyof typeof AUTO_SIZES): Case {
  const vf = size ? ` -vf '${scaleFilter(AUTO_SIZES[size])}'` : '';
  const one =
    `'${ffmpeg.path}' -nostdin -v error -i '${VIDEO}' -t ${CLIP_SECONDS}${vf} ` +
    '-pix_fmt rgb24 -f rawvideo -y /dev/null';
  const script = `${Array.from({ length: streams }, () => `${one} &`).join(' ')} wait`;
  return {
    key: `decode-only ×${streams}${size ? ` ${size} size` : ''}`,
    run: async () => {
      const s = await measure('bash', ['-c', script]);
      const items = frames * streams;
      return { ...s, items, steady_fps: items / s.wall_s, process_fps: items / s.wall_s };
    },
  };
}

function inferOnly(key: string, model: string, runs: number, shape: number[]): Case {
  return {
    key,
    run: async () => {
      const out = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'bench/throughput/infer-only.ts', model, String(runs), shape.join(',')],
        { cwd: REPO, encoding: 'utf8' },
      );
      if (out.status !== 0) throw new Error(`infer-only ${model}: ${out.stderr.trim().split('\n').pop()}`);
      const r = JSON.parse(out.stdout.trim().split('\n').pop()!) as { fps: number };
      return {
        wall_s: 0,
        cpu_s: 0,
        peak_rss_mib: 0,
        items: runs * shape[0]!,
        steady_fps: r.fps,
        process_fps: r.fps,
        first_record_s: null,
        load_1min: os.loadavg()[0]!,
      };
    },
  };
}

/** A pipeline file: `streams` file sources of the clip → `stage` → stdout JSON lines. */
function pipelineFile(name: string, streams: number, stage: string, sourceExtra = ''): string {
  const sources = Array.from(
    { length: streams },
    (_, i) => `  - { type: file, id: s${i}, path: '${VIDEO}', end_secs: ${CLIP_SECONDS}${sourceExtra} }`,
  ).join('\n');
  const file = path.join(work, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nsources:\n${sources}\nstages:\n  - ${stage}\nsinks:\n  - { type: stdout }\n`);
  return file;
}

const STAGES = {
  classify: '{ type: classify, id: cls, model: mobilenetv2-12-int8, batch_size: 4, top_k: 1 }',
  classify_b1: '{ type: classify, id: cls, model: mobilenetv2-12-int8, batch_size: 1, top_k: 1 }',
  classify_w2:
    '{ type: classify, id: cls, model: mobilenetv2-12-int8, batch_size: 4, top_k: 1, workers: 2, ' +
    'intra_op_threads: 1 }',
  detect: '{ type: detect, id: det, model: yolox-nano, score_threshold: 0.3 }',
  detect_w2: '{ type: detect, id: det, model: yolox-nano, score_threshold: 0.3, workers: 2, intra_op_threads: 1 }',
  clip:
    `{ type: classify_clip, id: act, model: '${CLIP_MANIFEST}', stride_frames: ${CLIP_STRIDE}, batch_size: 2, ` +
    'top_k: 1 }',
} as const;

const BENCH_EP = process.env.VIDFLOW_BENCH_EP ? `, execution_providers: [${process.env.VIDFLOW_BENCH_EP}] }` : ' }';

function vidflow(key: string, streams: number, stage: string, sourceExtra = ''): Case {
  const withEp = stage.replace(/ \}$/, BENCH_EP);
  const file = pipelineFile(key.replace(/[^a-z0-9]+/gi, '-'), streams, withEp, sourceExtra);
  return { key, run: () => measure(process.execPath, ['bin/vidflow.js', 'run', '--log-level', 'warn', file]) };
}

function plumbing(streams: number): Case {
  const file = pipelineFile(`plumbing-${streams}`, streams, STAGES.classify);
  return {
    key: `plumbing ×${streams}`,
    run: () => measure(process.execPath, ['--import', 'tsx', 'bench/throughput/plumbing.ts', file]),
  };
}

function peer(task: 'classify' | 'detect'): Case {
  const args =
    task === 'classify'
      ? [
          'bench/peers/classify.py',
          VIDEO,
          '--model',
          sharedModel('classification/mobilenetv2_12_int8.onnx'),
          '--labels',
          'labels/imagenet-1k.txt',
          '--batch',
          '4',
        ]
      : [
          'bench/peers/detect.py',
          VIDEO,
          '--model',
          sharedModel('detection/yolox_nano.onnx'),
          '--labels',
          'models/yolox-nano/coco-80.txt',
        ];
  return {
    key: `peer ${task}`,
    run: () => measure(python, [...args, '--end-secs', String(CLIP_SECONDS), '--allow-spinning', '0', '--out', '-']),
  };
}

function peerAvailable(): string | null {
  const probe = spawnSync(python, ['-c', 'import av, numpy, onnxruntime'], { encoding: 'utf8' });
  if (probe.status === 0) return null;
  return probe.error ? probe.error.message : (probe.stderr.trim().split('\n').pop() ?? `exit ${probe.status}`);
}

// ---- statistics and tables ---------------------------------------------------------------------

function stats(xs: number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { min: s[0]!, median: mid, max: s[s.length - 1]! };
}
const f0 = (x: number) => x.toFixed(0);
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
function range(xs: number[], fmt = f0): string {
  if (xs.length === 0) return '—';
  const s = stats(xs);
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}

async function main() {
  spawnSync(process.execPath, [path.join(REPO, 'scripts/ensure-build.mjs')], { stdio: 'inherit', cwd: REPO });
  const frames = framesPerStream();
  const peerMissing = peerAvailable();
  const cases: Case[] = [];
  const autoCounts = STREAM_COUNTS.filter((n) => n === 1 || n === 4);
  for (const n of STREAM_COUNTS) cases.push(decodeOnly(n, frames));
  for (const n of autoCounts) cases.push(decodeOnly(n, frames, 'classify'), decodeOnly(n, frames, 'detect'));
  cases.push(
    inferOnly('inference-only classify', sharedModel('classification/mobilenetv2_12_int8.onnx'), 100, [4, 3, 224, 224]),
  );
  cases.push(
    inferOnly(
      'inference-only classify batch 1',
      sharedModel('classification/mobilenetv2_12_int8.onnx'),
      400,
      [1, 3, 224, 224],
    ),
  );
  cases.push(inferOnly('inference-only detect', sharedModel('detection/yolox_nano.onnx'), 100, [1, 3, 416, 416]));
  cases.push(
    inferOnly('inference-only clip', CLIP_MANIFEST.replace('.manifest.json', '.onnx'), 30, [2, 3, 16, 112, 112]),
  );
  for (const n of STREAM_COUNTS) cases.push(plumbing(n));
  for (const task of ['classify', 'detect', 'clip'] as const)
    for (const n of STREAM_COUNTS) cases.push(vidflow(`${task} ×${n}`, n, STAGES[task]));
  for (const task of ['classify', 'detect'] as const)
    for (const n of autoCounts)
      cases.push(vidflow(`${task} ×${n} decode_size auto`, n, STAGES[task], ', decode_size: auto'));
  if (STREAM_COUNTS.includes(4)) {
    cases.push(vidflow('classify ×4 batch 1', 4, STAGES.classify_b1));
    cases.push(vidflow('classify ×4 workers 2', 4, STAGES.classify_w2));
    cases.push(vidflow('detect ×4 workers 2', 4, STAGES.detect_w2));
  }
  if (peerMissing === null) cases.push(peer('classify'), peer('detect'));

  const samples = new Map<string, Sample[]>(cases.map((c) => [c.key, []]));
  const loads: string[] = [];
  const started = new Date().toISOString();
  for (let round = 1; round <= ROUNDS; round++) {
    const before = os.loadavg()[0]!;
    for (const c of cases) {
      process.stderr.write(`round ${round}/${ROUNDS}: ${c.key}\n`);
      samples.get(c.key)!.push(await c.run());
    }
    loads.push(`round ${round}: ${f2(before)} → ${f2(os.loadavg()[0]!)}`);
  }

  const get = (key: string) => samples.get(key) ?? [];
  // A run whose records all came in one stdout chunk has no steady rate (too short): left out.
  const steady = (key: string) => get(key).flatMap((s) => (s.steady_fps === null ? [] : [s.steady_fps]));
  const med = (key: string) => (steady(key).length ? stats(steady(key)).median : Number.NaN);
  const lines: string[] = [];
  const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
  lines.push(
    `vidflow throughput bench, ${started}: ${os.cpus().length} cores (${cpuModel}), Node ${process.version}, ` +
      `ffmpeg ${ffmpeg.source} (${ffmpeg.path}); clip ${path.basename(VIDEO)}, first ${CLIP_SECONDS} s = ` +
      `${frames} frames per stream; ${ROUNDS} rounds; execution providers ${process.env.VIDFLOW_BENCH_EP ?? 'cpu'}; ` +
      `1-min load ${loads.join(', ')}`,
    '',
    '| raw limit | items/s median (min–max) |',
    '|---|---|',
  );
  for (const key of cases.map((c) => c.key).filter((k) => k.startsWith('decode-only')))
    lines.push(`| ${key} (frames/s, all streams) | ${range(steady(key))} |`);
  for (const m of ['classify', 'detect', 'clip'])
    lines.push(
      `| inference-only ${m} (${m === 'clip' ? 'clips' : 'frames'}/s) | ${range(steady(`inference-only ${m}`))} |`,
    );
  lines.push(`| inference-only classify batch 1 (frames/s) | ${range(steady('inference-only classify batch 1'))} |`);
  lines.push(
    '',
    '| case | steady fps median (min–max) | process fps | first record s | CPU s | peak RSS MiB | efficiency | ' +
      'of serial bound |',
    '|---|---|---|---|---|---|---|---|',
  );
  const inferLimit: Record<string, string> = {
    classify: 'inference-only classify',
    classify_b1: 'inference-only classify batch 1',
    detect: 'inference-only detect',
  };
  const row = (key: string, streams: number, model: string | null, decodeKey = `decode-only ×${streams}`) => {
    const s = get(key);
    if (s.length === 0) return;
    const decodeLimit = med(decodeKey) / (model === 'clip' ? CLIP_STRIDE : 1);
    const inferenceLimit =
      model === null ? Infinity : med(model === 'clip' ? 'inference-only clip' : inferLimit[model]!);
    const limit = Math.min(decodeLimit, inferenceLimit);
    // Decoding and inference done one after the other on the same cores: 1 / (1/decode + 1/inference).
    const serial = 1 / (1 / decodeLimit + 1 / inferenceLimit);
    const first = s.map((x) => x.first_record_s ?? 0);
    lines.push(
      `| ${key} | ${range(steady(key))} | ${range(s.map((x) => x.process_fps))} | ${range(first, f2)} | ` +
        `${range(
          s.map((x) => x.cpu_s),
          f2,
        )} | ${range(s.map((x) => x.peak_rss_mib))} | ` +
        `${f2(med(key) / limit)} | ${f2(med(key) / serial)} |`,
    );
  };
  for (const n of STREAM_COUNTS) row(`plumbing ×${n}`, n, null);
  for (const task of ['classify', 'detect', 'clip'] as const)
    for (const n of STREAM_COUNTS) row(`${task} ×${n}`, n, task);
  for (const task of ['classify', 'detect'] as const)
    for (const n of autoCounts) row(`${task} ×${n} decode_size auto`, n, task, `decode-only ×${n} ${task} size`);
  row('classify ×4 batch 1', 4, 'classify_b1');
  row('classify ×4 workers 2', 4, 'classify');
  row('detect ×4 workers 2', 4, 'detect');
  for (const task of ['classify', 'detect'] as const) row(`peer ${task}`, 1, task);

  /** Ratio a/b pair by pair (same round), median (min–max). */
  const pairs = (a: string, b: string, pick: (s: Sample) => number) => {
    const A = get(a);
    const B = get(b);
    return range(A.map((s, i) => pick(s) / pick(B[i]!)).filter(Number.isFinite), f2);
  };
  lines.push('', '| comparison | ratio, pair by pair: median (min–max) |', '|---|---|');
  const cmp = (label: string, a: string, b: string, pick: (s: Sample) => number) => {
    if (get(a).length && get(b).length) lines.push(`| ${label} | ${pairs(a, b, pick)} |`);
  };
  for (const n of STREAM_COUNTS)
    cmp(
      `plumbing ×${n} / decode-only ×${n} (steady fps)`,
      `plumbing ×${n}`,
      `decode-only ×${n}`,
      (s) => s.steady_fps ?? Number.NaN,
    );
  cmp(
    'classify ×4 batch 4 / batch 1 (steady fps)',
    'classify ×4',
    'classify ×4 batch 1',
    (s) => s.steady_fps ?? Number.NaN,
  );
  cmp(
    'classify ×4 workers 2 / workers 1 (steady fps)',
    'classify ×4 workers 2',
    'classify ×4',
    (s) => s.steady_fps ?? Number.NaN,
  );
  cmp(
    'detect ×4 workers 2 / workers 1 (steady fps)',
    'detect ×4 workers 2',
    'detect ×4',
    (s) => s.steady_fps ?? Number.NaN,
  );
  for (const task of ['classify', 'detect'] as const)
    for (const n of autoCounts)
      cmp(
        `${task} ×${n}: decode_size auto / default (steady fps)`,
        `${task} ×${n} decode_size auto`,
        `${task} ×${n}`,
        (s) => s.steady_fps ?? Number.NaN,
      );
  for (const task of ['classify', 'detect'] as const) {
    cmp(
      `${task} ×1 decode_size auto: vidflow / peer (steady fps)`,
      `${task} ×1 decode_size auto`,
      `peer ${task}`,
      (s) => s.steady_fps ?? Number.NaN,
    );
    cmp(`${task} ×1: vidflow / peer (steady fps)`, `${task} ×1`, `peer ${task}`, (s) => s.steady_fps ?? Number.NaN);
    cmp(`${task} ×1: vidflow / peer (process fps)`, `${task} ×1`, `peer ${task}`, (s) => s.process_fps);
    cmp(`${task} ×1: vidflow / peer (CPU s)`, `${task} ×1`, `peer ${task}`, (s) => s.cpu_s);
  }
  if (peerMissing !== null) lines.push('', `peer cases skipped: ${python} cannot run the peer (${peerMissing}).`);
  console.log(lines.join('\n'));
  writeFileSync(
    path.join(REPO, 'bench', 'throughput-results.json'),
    `${JSON.stringify(
      { started, rounds: ROUNDS, frames_per_stream: frames, loads, samples: Object.fromEntries(samples) },
      null,
      1,
    )}\n`,
  );
}

await main();
