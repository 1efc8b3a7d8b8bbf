// `npm run bench:throughput` keeps working: one short round (1 stream, 4 s of the clip) prints every
// table with a positive, finite figure in each cell that is a rate. Nothing about speed is asserted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { REPO } from '../support/media.js';

test('bench/throughput.ts: one short round prints raw limits, vidflow rows and ratios', { timeout: 600_000 }, () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/throughput.ts'], {
    cwd: REPO,
    encoding: 'utf8',
    env: {
      ...process.env,
      BENCH_ROUNDS: '1',
      BENCH_STREAMS: '1',
      BENCH_CLIP_SECONDS: '4',
      VIDFLOW_PEER_PYTHON: '/nonexistent/python',
    },
  });
  assert.equal(run.status, 0, run.stderr);
  const rows = run.stdout
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| case') && !l.startsWith('| raw'));
  const cell = (name: string, column: number) => {
    const row = rows.find((l) => l.startsWith(`| ${name} |`));
    assert.ok(row, `no row "${name}" in:\n${run.stdout}`);
    return Number.parseFloat(row.split('|')[column + 1]!.trim());
  };
  for (const name of ['decode-only ×1 (frames/s, all streams)', 'inference-only classify (frames/s)']) {
    const fps = cell(name, 1);
    assert.ok(Number.isFinite(fps) && fps > 0, `${name}: ${fps}`);
  }
  // The clip pipeline gives only a few clips in 4 s (16-frame windows, stride 8): its process rate is checked.
  const clipFps = cell('clip ×1', 2);
  assert.ok(Number.isFinite(clipFps) && clipFps > 0, `clip ×1 process fps: ${clipFps}`);
  for (const name of ['plumbing ×1', 'classify ×1', 'detect ×1', 'detect ×1 decode_size auto']) {
    const fps = cell(name, 1);
    const efficiency = cell(name, 7);
    assert.ok(Number.isFinite(fps) && fps > 0, `${name} fps: ${fps}`);
    assert.ok(Number.isFinite(efficiency) && efficiency > 0, `${name} efficiency: ${efficiency}`);
  }
  assert.match(run.stdout.split('\n')[0]!, /first 4 s = 40 frames per stream; 1 rounds; execution providers cpu;/);
  assert.match(run.stdout, /peer cases skipped: \/nonexistent\/python cannot run the peer/);
});
