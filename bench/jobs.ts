/**
 * `npm run bench:jobs`: offline indexing throughput of `vidflow worker` processes in one consumer
 * group (docs/scaling.md). A real single-node Kafka broker (test/support/kafka-broker.ts), CLIPS
 * clips cut from ../shared/media/videos/people-one-by-one.mp4 (768x432, CLIP_SECS each, made in a
 * temp folder), a pipeline of one `classify` stage (mobilenetv2-12-int8, workers 1) on the
 * clips sampled at FPS, results to a Kafka topic. For each worker count W, W workers are started
 * through the CLI and waited for (models loaded, group stable with W members), then the jobs are
 * submitted; the time measured is from `vidflow submit` returning to the last `completed` event.
 * Worker counts run in the order given, then in reverse (two runs per count, against drift of
 * the machine's load); the load average is sampled every second during the measured time.
 *
 * Environment: VIDFLOW_BENCH_JOBS_WORKERS (default 1,2,3), VIDFLOW_BENCH_JOBS_CLIPS (12),
 * VIDFLOW_BENCH_JOBS_CLIP_SECS (12), VIDFLOW_BENCH_JOBS_FPS (8), VIDFLOW_BENCH_JOBS_REPEAT (2).
 * Prints a markdown table, then one JSON line per run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ffmpegBinaries } from '../src/sources/ffmpeg/binaries.js';
import { startKafkaBroker } from '../test/support/kafka-broker.js';
import { REPO, sharedMedia } from '../test/support/media.js';

const counts = (process.env.VIDFLOW_BENCH_JOBS_WORKERS ?? '1,2,3').split(',').map(Number);
const CLIPS = Number(process.env.VIDFLOW_BENCH_JOBS_CLIPS ?? 12);
const CLIP_SECS = Number(process.env.VIDFLOW_BENCH_JOBS_CLIP_SECS ?? 12);
const FPS = Number(process.env.VIDFLOW_BENCH_JOBS_FPS ?? 8);
const REPEAT = Number(process.env.VIDFLOW_BENCH_JOBS_REPEAT ?? 2);

/** CPU seconds (user + system) of a process and its reaped children (ffmpeg, ffprobe), from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // fields 14-17 (utime stime cutime cstime) are at 11-14 after the command name
    return [11, 12, 13, 14].reduce((a, i) => a + Number(f[i]), 0) / 100;
  } catch {
    return NaN;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cli(args: string[]): ChildProcess {
  return spawn(process.execPath, [path.join(REPO, 'bin', 'vidflow.js'), ...args], {
    cwd: REPO,
    env: { ...process.env, VIDFLOW_FROM_SOURCE: '1', VIDFLOW_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
const exited = (p: ChildProcess) =>
  new Promise<number | null>((r) => (p.exitCode !== null ? r(p.exitCode) : p.on('close', (c) => r(c))));
function lineOf(p: ChildProcess, re: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    p.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (re.test(buf)) resolve();
      buf = buf.slice(-4000);
    });
    p.on('close', () => reject(new Error(`worker exited before ${re}: ${buf}`)));
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'vidflow-bench-jobs-'));
const clipsDir = path.join(dir, 'clips');
mkdirSync(clipsDir);
const src = sharedMedia('videos/people-one-by-one.mp4');
for (let i = 0; i < CLIPS; i++) {
  execFileSync(ffmpegBinaries().ffmpeg.path, [
    '-loglevel',
    'error',
    '-y',
    '-ss',
    String((i * 10) % 120),
    '-t',
    String(CLIP_SECS),
    '-i',
    src,
    '-an',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    path.join(clipsDir, `clip${String(i).padStart(2, '0')}.mp4`),
  ]);
}
const broker = await startKafkaBroker();
const kafka = new Kafka({ brokers: [broker.brokers], clientId: 'bench-jobs', logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();

interface Run {
  workers: number;
  jobs: number;
  frames: number;
  seconds: number;
  jobs_per_min: number;
  frames_per_s: number;
  load_mean: number;
  load_start: number;
  load_end: number;
  /** CPU seconds of the workers (and their ffmpeg/ffprobe children) during the measured time, per frame. */
  cpu_ms_per_frame: number;
}
const runs: Run[] = [];
const order = [...counts, ...[...counts].reverse()].slice(0, counts.length * REPEAT);
let n = 0;
try {
  for (const w of order) {
    n += 1;
    const jobs = `bench.jobs.${n}`;
    const pipeline = path.join(dir, `p${n}.yaml`);
    writeFileSync(
      pipeline,
      `name: bench-jobs\nsources:\n  - { type: file, id: video, path: ${path.join(clipsDir, 'clip00.mp4')}, fps: ` +
        `${FPS} }\nstages:\n  - { type: classify, id: cls, model: mobilenetv2-12-int8, top_k: 3 }\nsinks:\n  - { ` +
        `type: kafka, brokers: "${broker.brokers}", topic: bench.results.${n}, linger_ms: 5 }\n`,
    );
    const procs = Array.from({ length: w }, (_, i) =>
      cli([
        'worker',
        '--jobs',
        jobs,
        '--brokers',
        broker.brokers,
        '--pipeline',
        pipeline,
        '--worker-id',
        `b${n}-${i}`,
        '--session-timeout-ms',
        '6000',
      ]),
    );
    await Promise.all(procs.map((p) => lineOf(p, /Worker \S+ running/)));
    for (;;) {
      const g = (await admin.describeGroups([`vidflow.${jobs}`])).groups[0]!;
      if (g.state === 'Stable' && g.members.length === w) break;
      await sleep(200);
    }
    const events: Array<{ event: string; job_id: string; frames?: number }> = [];
    const consumer = kafka.consumer({ groupId: `bench-watch-${n}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: `${jobs}.events`, fromBeginning: true });
    void consumer.run({ eachMessage: async ({ message }) => void events.push(JSON.parse(message.value!.toString())) });
    const loads: number[] = [];
    const loadStart = os.loadavg()[0]!;
    const sampler = setInterval(() => loads.push(os.loadavg()[0]!), 1000);
    const cpu0 = procs.reduce((a, p) => a + cpuSeconds(p.pid!), 0);
    const sub = cli(['submit', '--jobs', jobs, '--brokers', broker.brokers, clipsDir]);
    if ((await exited(sub)) !== 0) throw new Error('submit failed');
    const t0 = Date.now();
    while (new Set(events.filter((e) => e.event === 'completed').map((e) => e.job_id)).size < CLIPS) {
      if (events.some((e) => e.event === 'failed'))
        throw new Error(`a job failed: ${JSON.stringify(events.filter((e) => e.event === 'failed'))}`);
      await sleep(20);
    }
    const seconds = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    const loadEnd = os.loadavg()[0]!;
    const cpu = procs.reduce((a, p) => a + cpuSeconds(p.pid!), 0) - cpu0;
    await consumer.disconnect();
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map(exited));
    const frames = events.filter((e) => e.event === 'completed').reduce((a, e) => a + (e.frames ?? 0), 0);
    const r: Run = {
      workers: w,
      jobs: CLIPS,
      frames,
      seconds: Number(seconds.toFixed(2)),
      jobs_per_min: Number(((CLIPS / seconds) * 60).toFixed(1)),
      frames_per_s: Number((frames / seconds).toFixed(1)),
      load_mean: Number((loads.reduce((a, b) => a + b, loadStart) / (loads.length + 1)).toFixed(2)),
      load_start: Number(loadStart.toFixed(2)),
      load_end: Number(loadEnd.toFixed(2)),
      cpu_ms_per_frame: Number(((cpu * 1000) / frames).toFixed(1)),
    };
    runs.push(r);
    process.stderr.write(`${JSON.stringify(r)}\n`);
  }
} finally {
  await admin.disconnect();
  await broker.dispose();
  rmSync(dir, { recursive: true, force: true });
}

console.log(
  `jobs: ${CLIPS} clips x ${CLIP_SECS} s (768x432), classify mobilenetv2-12-int8 at ${FPS} fps; ${os.cpus().length} ` +
    `cores (${os.cpus()[0]?.model ?? '?'})`,
);
console.log(
  '| workers | run | seconds | jobs/min | frames/s | worker CPU ms/frame | load avg (1 min) during: mean, start -> ' +
    'end |',
);
console.log('|---|---|---|---|---|---|---|');
const seen = new Map<number, number>();
for (const r of runs) {
  seen.set(r.workers, (seen.get(r.workers) ?? 0) + 1);
  console.log(
    `| ${r.workers} | ${seen.get(r.workers)} | ${r.seconds} | ${r.jobs_per_min} | ${r.frames_per_s} | ` +
      `${r.cpu_ms_per_frame} | ${r.load_mean}, ${r.load_start} -> ${r.load_end} |`,
  );
}
for (const r of runs) console.log(JSON.stringify(r));
