/**
 * `npm run bench:peer`: vidflow against a Python script doing the same job (bench/peers/*.py:
 * PyAV decode → numpy preprocessing as the manifest says → onnxruntime Python →
 * JSONL), on the same clip, model, intra-op threads and spinning setting. For each task it runs
 * the two in turn (A B A B …, `BENCH_PEER_RUNS` pairs, default 3), prints wall and CPU seconds
 * (user + sys of the finished process, from the shell's `times`) and the vidflow/peer ratio per
 * pair, then checks that the outputs agree (bench/peers/compare.py: top-1 label per frame;
 * boxes within 3 px).
 *
 * The peer needs its own Python (bench/peers/requirements.txt, see bench/peers/README.md); when
 * `VIDFLOW_PEER_PYTHON` (default: python3) cannot import its packages, the bench prints why and
 * exits 0, so CI needs no Python.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, sharedMedia, sharedModel } from '../test/support/media.js';

const python = process.env.VIDFLOW_PEER_PYTHON ?? 'python3';
const runs = Number(process.env.BENCH_PEER_RUNS ?? 3);
const out = mkdtempSync(path.join(os.tmpdir(), 'vidflow-peer-'));

const probe = spawnSync(python, ['-c', 'import av, numpy, onnxruntime; print(onnxruntime.__version__)'], {
  encoding: 'utf8',
});
if (probe.status !== 0) {
  const why = probe.error ? probe.error.message : (probe.stderr.trim().split('\n').pop() ?? `exit ${probe.status}`);
  console.log(
    `peer benchmark skipped: ${python} cannot run the peer (${why}). Set it up: bench/peers/README.md ` +
      `(VIDFLOW_PEER_PYTHON=<venv>/bin/python).`,
  );
  process.exit(0);
}
spawnSync(process.execPath, [path.join(REPO, 'scripts/ensure-build.mjs')], { stdio: 'inherit', cwd: REPO });

const video = sharedMedia('videos/people-one-by-one.mp4');
const tasks = [
  {
    task: 'classify',
    vidflow: ['bin/vidflow.js', 'run', '--log-level', 'warn', 'bench/pipelines/classify-nospin.yaml'],
    peer: [
      'bench/peers/classify.py',
      video,
      '--model',
      sharedModel('classification/mobilenetv2_12_int8.onnx'),
      '--labels',
      'labels/imagenet-1k.txt',
      '--end-secs',
      '20',
      '--batch',
      '4',
      '--allow-spinning',
      '0',
      '--out',
      path.join(out, 'classify-peer.jsonl'),
    ],
    vidflowOut: path.join(out, 'classify-nospin.jsonl'),
  },
  {
    task: 'detect',
    vidflow: ['bin/vidflow.js', 'run', '--log-level', 'warn', 'bench/pipelines/detect-nospin.yaml'],
    peer: [
      'bench/peers/detect.py',
      video,
      '--model',
      sharedModel('detection/yolox_nano.onnx'),
      '--labels',
      'models/yolox-nano/coco-80.txt',
      '--end-secs',
      '15',
      '--score-threshold',
      '0.3',
      '--allow-spinning',
      '0',
      '--out',
      path.join(out, 'detect-peer.jsonl'),
    ],
    vidflowOut: path.join(out, 'detect-nospin.jsonl'),
  },
];

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Wall and CPU (user + sys of the child, from the shell's `times`) seconds of one run. */
function timed(cmd: string[]): { wall: number; cpu: number } {
  const t0 = performance.now();
  const r = spawnSync(
    'bash',
    [
      '-c',
      `${cmd.map(q).join(' ')} >/dev/null 2>"$BENCH_OUT/stderr.txt" || { cat "$BENCH_OUT/stderr.txt" >&2; exit 1; }; ` +
        `times`,
    ],
    { cwd: REPO, encoding: 'utf8', env: { ...process.env, BENCH_OUT: out } },
  );
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr}`);
  const children = r.stdout
    .trim()
    .split('\n')
    .pop()!
    .match(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/);
  const cpu = children
    ? Number(children[1]) * 60 + Number(children[2]) + Number(children[3]) * 60 + Number(children[4])
    : NaN;
  return { wall, cpu };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(
  `vidflow vs Python peer (onnxruntime ${probe.stdout.trim()} in ${python}); load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
let disagree = false;
for (const t of tasks) {
  const wall: number[] = [];
  const cpu: number[] = [];
  const vw: number[] = [];
  const pw: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = timed([process.execPath, ...t.vidflow]);
    const b = timed([python, ...t.peer]);
    vw.push(a.wall);
    pw.push(b.wall);
    wall.push(a.wall / b.wall);
    cpu.push(a.cpu / b.cpu);
  }
  console.log(
    `${t.task}: vidflow ${median(vw).toFixed(2)} s, peer ${median(pw).toFixed(2)} s wall (medians of ${runs}); ` +
      `vidflow/peer wall ${median(wall).toFixed(2)} ` +
      `(${Math.min(...wall).toFixed(2)}–${Math.max(...wall).toFixed(2)}), CPU ${median(cpu).toFixed(2)}`,
  );
  const check = spawnSync(
    python,
    ['bench/peers/compare.py', t.task, t.vidflowOut, path.join(out, `${t.task}-peer.jsonl`)],
    { cwd: REPO, encoding: 'utf8' },
  );
  process.stdout.write(`  ${check.stdout}`);
  if (check.status !== 0) disagree = true;
}
console.log(
  `load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; outputs in ${out}`,
);
process.exit(disagree ? 1 : 0);
