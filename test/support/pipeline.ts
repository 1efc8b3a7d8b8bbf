/** Runs the vidflow CLI as a child process, as a user would. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO, tmpDir } from './media.js';
import { SAFETY_NET_MS } from './wait.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * `timeout_ms` is a safety net (default: twice SAFETY_NET_MS, i.e. 10 min), never a pacing device:
 * to act on a running CLI, wait for an event in `onSpawn` (waitForLine on `p.stderr` for the
 * "Running pipeline" line, logged once the signal handlers are installed; waitForLines on a JSONL
 * output). A kill by the safety net is written at the end of `stderr`.
 */
export function runCli(
  args: string[],
  opts: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    onSpawn?: (p: ReturnType<typeof spawn>) => void;
    timeout_ms?: number;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(REPO, 'bin', 'vidflow.js'), ...args], {
      cwd: opts.cwd ?? REPO,
      env: {
        ...process.env,
        VIDFLOW_FROM_SOURCE: '1',
        VIDFLOW_LOG_LEVEL: process.env.VIDFLOW_LOG_LEVEL ?? 'warn',
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const limit = opts.timeout_ms ?? 2 * SAFETY_NET_MS;
    const timer = setTimeout(() => {
      stderr += `\n[runCli: killed by the ${limit} ms safety net]\n`;
      p.kill('SIGKILL');
    }, limit);
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    opts.onSpawn?.(p);
  });
}

/**
 * Writes pipeline `name` (`body`: its `sources:` and `stages:` lines) with one JSONL sink into a
 * fresh temporary folder, runs `vidflow run` on it as a user would, asserts exit 0 and returns the
 * records of the JSONL file in order.
 */
export async function runPipelineRecords<T>(name: string, body: string[]): Promise<T[]> {
  const dir = tmpDir();
  const out = path.join(dir, `${name}.jsonl`);
  const file = path.join(dir, `${name}.yaml`);
  const sink = ['sinks:', `  - { type: jsonl, path: ${JSON.stringify(out)} }`, ''];
  writeFileSync(file, [`name: ${name}`, ...body, ...sink].join('\n'));
  const r = await runCli(['run', file]);
  assert.equal(r.code, 0, r.stderr);
  return readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as T);
}

/**
 * Runs `vidflow eval <pipeline> --ground-truth <groundTruth> --json` as a user would, asserts exit 0
 * and returns the scores it printed (its last stdout line). `timeout_ms` as runCli (a safety net).
 */
export async function runEvalJson<T>(pipeline: string, groundTruth: string, timeout_ms?: number): Promise<T> {
  const r = await runCli(
    ['eval', pipeline, '--ground-truth', groundTruth, '--json', '--log-level', 'error'],
    timeout_ms === undefined ? {} : { timeout_ms },
  );
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}
