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
    return { code: r.status, stderr: r.stderr, tscCalls: existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean).length : 0 };
  };
  // Sources get an mtime in the past so the test does not depend on the file system's clock granularity.
  const past = (file: string, secondsAgo: number) => utimesSync(file, new Date(Date.now() - secondsAgo * 1000), new Date(Date.now() - secondsAgo * 1000));

  it('builds when dist is missing, then reports "build up to date" without running tsc, and rebuilds after a source changes', () => {
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
  });

  it('a failed build leaves no stamp, so the next run builds again', () => {
    const r2 = mkdtempSync(path.join(tmpdir(), 'vidflow-ensure-build-fail-'));
    try {
      mkdirSync(path.join(r2, 'src'));
      writeFileSync(path.join(r2, 'src', 'a.ts'), 'export const a = 1;\n');
      past(path.join(r2, 'src', 'a.ts'), 60);
      const run = () => spawnSync(process.execPath, [path.join(REPO, 'scripts', 'ensure-build.mjs')], { cwd: r2, env: { ...process.env, VIDFLOW_BUILD_ROOT: r2, VIDFLOW_TSC: fakeTsc, FAKE_TSC_FAIL: '1' }, encoding: 'utf8' });
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
