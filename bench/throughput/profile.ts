/**
 * Where the time goes (issue #13): runs `vidflow run` on a pipeline under V8's CPU profiler
 * (`node --cpu-prof`: one profile per thread, the main thread and every worker) inside
 * /usr/bin/time, then prints, per thread, its busy milliseconds by file. V8 samples wall time:
 * "busy" is time a thread spent in JavaScript or in a native call it made (self time; a native
 * call counts for the JavaScript frame that made it, so onnxruntime's synchronous `session.run`
 * shows as onnxruntime-node, including the time its intra-op threads work for it), "idle" is
 * time it waited for events. The process tree's CPU seconds (user + sys, ffmpeg included) come
 * from /usr/bin/time.
 *
 *   node --import tsx bench/throughput/profile.ts <pipeline.yaml> [top N files per thread, default 8]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from '../../test/support/media.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [pipeline, topArg] = process.argv.slice(2);
if (!pipeline) {
  console.error('usage: profile.ts <pipeline.yaml> [top N]');
  process.exit(2);
}
const top = Number(topArg ?? 8);
const dir = mkdtempSync(path.join(os.tmpdir(), 'vidflow-profile-'));
const timeFile = path.join(dir, 'time.txt');
const run = spawnSync(
  '/usr/bin/time',
  [
    '-f',
    '%e %U %S',
    '-o',
    timeFile,
    process.execPath,
    '--cpu-prof',
    '--cpu-prof-dir',
    dir,
    path.join(REPO, 'bin/vidflow.js'),
    'run',
    '--log-level',
    'warn',
    pipeline,
  ],
  { cwd: REPO, encoding: 'utf8', maxBuffer: 1 << 28 },
);
if (run.status !== 0) {
  console.error(`vidflow run ${pipeline} exited ${run.status}: ${run.stderr.trim().split('\n').pop()}`);
  process.exit(1);
}
const [wall, user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);

/** A file's name for the table: repo-relative, node_modules/<package>, or V8's own categories. */
function where(frame: ProfileNode['callFrame']): string {
  if (frame.functionName.startsWith('(')) return frame.functionName;
  const url = frame.url.replace(/^file:\/\//, '');
  if (url === '') return `(native) ${frame.functionName}`;
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return `node_modules/${pkg[1]}`;
  if (url.startsWith('node:')) return 'node internals';
  return path.relative(REPO, url);
}

const out: string[] = [];
const profiles = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
for (const file of profiles.sort()) {
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const key = where(byId.get(id)!.callFrame);
    ms.set(key, (ms.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const idle = ms.get('(idle)') ?? 0;
  ms.delete('(idle)');
  const busy = [...ms.values()].reduce((a, b) => a + b, 0);
  // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the main thread.
  const thread = file.split('.')[4] === '0' ? 'main thread' : `worker thread ${file.split('.')[4]}`;
  out.push(`${thread}: busy ${busy.toFixed(0)} ms, idle ${idle.toFixed(0)} ms`);
  for (const [key, t] of [...ms].sort((a, b) => b[1] - a[1]).slice(0, top))
    out.push(`  ${((100 * t) / busy).toFixed(1).padStart(5)} %  ${t.toFixed(0).padStart(6)} ms  ${key}`);
}
console.log(
  `${path.basename(pipeline)}: wall ${wall!.toFixed(2)} s, CPU ${(user! + sys!).toFixed(2)} s (user + sys of the ` +
    'process tree: Node, its threads, onnxruntime, ffmpeg); per thread, busy wall ms by file:',
);
console.log(out.join('\n'));
