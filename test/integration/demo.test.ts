/**
 * `npm run demo`: builds dist only when it is stale (scripts/ensure-build.mjs), and the demo
 * pipeline prints per-second lines a person can check against the video.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO } from '../support/media.js';
import { runCli } from '../support/pipeline.js';

describe('scripts/ensure-build.mjs (npm run demo builds once)', () => {
  // A scratch package root with one source file and a stand-in compiler that records each call.
  const tools = mkdtempSync(path.join(tmpdir(), 'vidflow-fake-tsc-'));
  after(() => rmSync(tools, { recursive: true, force: true }));
  const root = mkdtempSync(path.join(tmpdir(), 'vidflow-ensure-build-'));
  const calls = path.join(tools, 'tsc-calls.txt');
  const fakeTsc = path.join(tools, 'fake-tsc.mjs');
  writeFileSync(
    fakeTsc,
    `import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';\n` +
      `appendFileSync(${JSON.stringify(calls)}, process.argv.slice(2).join(' ') + '\\n');\n` +
      `mkdirSync('dist', { recursive: true }); writeFileSync('dist/a.js', '');\n` +
      `if (process.env.FAKE_TSC_FAIL) process.exit(2);\n`,
  );
  mkdirSync(path.join(root, 'src', 'sub'), { recursive: true });
  writeFileSync(path.join(root, 'src', 'a.ts'), 'export const a = 1;\n');
  writeFileSync(path.join(root, 'tsconfig.build.json'), '{}\n');
  const ensure = (env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'ensure-build.mjs')], {
      cwd: root,
      env: { ...process.env, VIDFLOW_BUILD_ROOT: root, VIDFLOW_TSC: fakeTsc, ...env },
      encoding: 'utf8',
    });
    return {
      code: r.status,
      stderr: r.stderr,
      tscCalls: existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean).length : 0,
    };
  };
  // Sources get an mtime in the past so the test does not depend on the file system's clock granularity.
  const past = (file: string, secondsAgo: number) =>
    utimesSync(file, new Date(Date.now() - secondsAgo * 1000), new Date(Date.now() - secondsAgo * 1000));

  it(
    'builds when dist is missing, then reports "build up to date" without running tsc, and rebuilds after a source ' +
      'changes',
    () => {
      try {
        past(path.join(root, 'src', 'a.ts'), 60);
        past(path.join(root, 'tsconfig.build.json'), 60);
        const first = ensure();
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stderr, /building dist \(no previous build\)/);
        assert.equal(first.tscCalls, 1);
        assert.ok(existsSync(path.join(root, 'dist', '.build-stamp')));

        const second = ensure();
        assert.equal(second.code, 0, second.stderr);
        assert.match(second.stderr, /^vidflow: build up to date/m);
        assert.equal(second.tscCalls, 1, 'the second run does not invoke tsc');

        // A new source file (newer than the stamp) triggers a build.
        writeFileSync(path.join(root, 'src', 'sub', 'b.ts'), 'export const b = 2;\n');
        utimesSync(path.join(root, 'src', 'sub', 'b.ts'), new Date(Date.now() + 5000), new Date(Date.now() + 5000));
        const third = ensure();
        assert.match(third.stderr, /building dist \(src\/sub\/b\.ts changed since the last build\)/);
        assert.equal(third.tscCalls, 2);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  );

  it('a failed build leaves no stamp, so the next run builds again', () => {
    const r2 = mkdtempSync(path.join(tmpdir(), 'vidflow-ensure-build-fail-'));
    try {
      mkdirSync(path.join(r2, 'src'));
      writeFileSync(path.join(r2, 'src', 'a.ts'), 'export const a = 1;\n');
      past(path.join(r2, 'src', 'a.ts'), 60);
      const run = () =>
        spawnSync(process.execPath, [path.join(REPO, 'scripts', 'ensure-build.mjs')], {
          cwd: r2,
          env: { ...process.env, VIDFLOW_BUILD_ROOT: r2, VIDFLOW_TSC: fakeTsc, FAKE_TSC_FAIL: '1' },
          encoding: 'utf8',
        });
      const a = run();
      assert.equal(a.status, 2);
      assert.match(a.stderr, /build failed/);
      assert.ok(!existsSync(path.join(r2, 'dist', '.build-stamp')));
      assert.match(run().stderr, /building dist/);
    } finally {
      rmSync(r2, { recursive: true, force: true });
    }
  });
});

describe('pipelines/demo.yaml through the CLI on the real clips', () => {
  it('prints one line per second of video naming what is in view (cars on the dashcam, people in the aisle); track ' +
    'ids start at 1 with no gaps', {
    timeout: 15 * 60_000,
  }, async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'vidflow-demo-')), 'demo.jsonl');
    try {
      const r = await runCli(['run', path.join(REPO, 'pipelines', 'demo.yaml')], { env: { VIDFLOW_DEMO_JSONL: out } });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.match(lines[0]!, /^vidflow demo: YOLOX-nano/, 'a header line first');
      const windows = (stream: string) => lines.filter((l) => l.startsWith(`[${stream} `) && / s\] /.test(l));
      // One line per second of video: highway-dashcam.mp4 is 1.52 s, store-aisle.mp4 4.47 s (MEDIA.md).
      assert.deepEqual(
        windows('dashcam').map((l) => /^\[dashcam (\d+-\d+) s\]/.exec(l)![1]),
        ['0-1', '1-2'],
      );
      assert.deepEqual(
        windows('aisle').map((l) => /^\[aisle (\d+-\d+) s\]/.exec(l)![1]),
        ['0-1', '1-2', '2-3', '3-4', '4-5'],
      );
      // MEDIA.md: the dashcam shows 2 cars ahead (plus distant traffic); the aisle 2 shoppers, then a third person.
      for (const l of windows('dashcam')) assert.match(l, /in view: [2-9] car\b/, l);
      for (const l of windows('dashcam')) assert.doesNotMatch(l, /person/, l);
      for (const l of windows('aisle')) assert.match(l, /in view: [2-3] person$|in view: [2-3] person \|/, l);
      assert.match(windows('aisle')[0]!, /entered: person #1, person #2/);
      assert.ok(
        windows('aisle')
          .slice(1)
          .some((l) => /entered: person #3/.test(l)),
        'the third person enters later',
      );
      assert.match(windows('dashcam')[0]!, /entered: car #1, car #2/);
      assert.ok(
        lines.some((l) =>
          /^\[dashcam\] end at 1\.\d+ s: \d+ tracks \(ids 1-\d+: \d+ car\); still in view: car #1, car #2$/.test(l),
        ),
        r.stdout,
      );
      assert.ok(
        lines.some((l) => /^\[aisle\] end at 4\.\d+ s: 3 tracks \(ids 1-3: 3 person\)/.test(l)),
        r.stdout,
      );

      // The JSONL beside it: every frame, and reported track ids 1..N per stream with no gaps.
      const recs = readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(recs.filter((x) => x.stream_id === 'dashcam').length, 38);
      assert.equal(recs.filter((x) => x.stream_id === 'aisle').length, 67);
      for (const stream of ['dashcam', 'aisle']) {
        const ids = new Set<number>();
        for (const x of recs.filter((y) => y.stream_id === stream)) {
          assert.equal(x.task, 'tracking');
          for (const t of x.results.tracks) ids.add(t.track_id);
        }
        const sorted = [...ids].sort((a, b) => a - b);
        assert.ok(sorted.length >= 2, `${stream}: ${sorted.length} tracks`);
        assert.deepEqual(
          sorted,
          sorted.map((_, i) => i + 1),
          `${stream}: track ids ${sorted.join(',')}`,
        );
      }
      const labels = (stream: string) =>
        new Set(
          recs
            .filter((x) => x.stream_id === stream)
            .flatMap((x) => x.results.tracks.map((t: { label: string }) => t.label)),
        );
      assert.deepEqual([...labels('dashcam')], ['car']);
      assert.deepEqual([...labels('aisle')], ['person']);
    } finally {
      rmSync(path.dirname(out), { recursive: true, force: true });
    }
  });
});
