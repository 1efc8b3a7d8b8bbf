/**
 * The project's npm settings (issue #8 item 19): npm prints no "Unknown project config" warning,
 * and onnxruntime-node's install script (which downloads the CUDA providers from api.nuget.org)
 * stays off by default through package.json's allowScripts, a key npm knows.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { REPO } from '../support/media.js';

function npmAvailable(): boolean {
  try {
    execFileSync('npm', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

it('npm reads the project .npmrc without an unknown-key warning', { skip: !npmAvailable() && 'no npm on PATH' }, () => {
  // A clean environment: no npm_config_* from a parent `npm test`, no ONNXRUNTIME_NODE_INSTALL.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_|^ONNXRUNTIME_NODE_INSTALL/i.test(k)),
  );
  const r = spawnSync('npm', ['pkg', 'get', 'name'], { cwd: REPO, env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Unknown (project|user|global|env) config/, r.stderr);
});

it('.npmrc sets only keys npm knows; the CUDA download is denied in package.json', () => {
  const keys = readFileSync(path.join(REPO, '.npmrc'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith(';'))
    .map((l) => l.split('=')[0]!.trim());
  assert.deepEqual(
    keys.filter((k) => k.startsWith('onnxruntime')),
    [],
  );
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
    allowScripts?: Record<string, boolean>;
  };
  assert.equal(pkg.allowScripts?.['onnxruntime-node'], false);
});
