/**
 * `vidflow run` progress bars (runtime/progress.ts) through the CLI: never when stderr is a pipe
 * (runCli's stdio), shown under a pseudo-terminal (util-linux `script`), off with --no-progress.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { media, REPO, tmpDir } from '../support/media.js';
import { runCli } from '../support/pipeline.js';

const MANIFEST = path.join(REPO, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.manifest.json');

function pipeline(name: string): string {
  const file = path.join(tmpDir(), `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
sources:
  - type: file
    id: clip
    path: ${media.testsrc(2)}
    fps: 5
stages:
  - type: classify
    id: imagenet
    model: ${MANIFEST}
sinks:
  - type: jsonl
    path: ${path.join(tmpDir(), `${name}.jsonl`)}
`,
  );
  return file;
}

/** Runs the CLI with a pseudo-terminal as stdin/stdout/stderr; null when `script` is missing. */
function runInPty(args: string[]): { status: number | null; out: string } | null {
  if (spawnSync('script', ['--version'], { stdio: 'ignore' }).status !== 0) return null;
  const cmd = [process.execPath, path.join(REPO, 'bin', 'vidflow.js'), ...args]
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, VIDFLOW_FROM_SOURCE: '1', VIDFLOW_LOG_LEVEL: 'warn' },
    timeout: 120_000,
  });
  return { status: r.status, out: r.stdout };
}

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

describe('vidflow run: progress bars', () => {
  it('writes no progress output when stderr is not a TTY', async () => {
    const r = await runCli(['run', pipeline('progress-pipe')], { env: { VIDFLOW_LOG_LEVEL: 'info' } });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /frames \||ETA|\u2588|\u2591/);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(r.stderr, /\x1b\[/);
    // the JSON log lines are all there is
    for (const line of r.stderr.trim().split('\n').filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), line);
  });

  it('shows a bar per file source in a terminal, ending at its total; --no-progress turns it off', (t) => {
    const shown = runInPty(['run', pipeline('progress-tty')]);
    if (!shown) return t.skip('no `script` (util-linux) to make a pseudo-terminal');
    assert.equal(shown.status, 0, shown.out);
    assert.match(plain(shown.out), /clip \[[^\]]+\] 10\/10 frames \| [\d.]+ fps \| ETA 00:00 \| dropped 0/);
    const off = runInPty(['run', '--no-progress', pipeline('progress-off')])!;
    assert.equal(off.status, 0, off.out);
    assert.doesNotMatch(plain(off.out), /frames \|/);
  });
});
