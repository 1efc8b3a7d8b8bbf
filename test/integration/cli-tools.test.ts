/**
 * `vidflow models export` and `vidflow doctor` through the CLI (issue #8 items 17, 18).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO, tmpDir } from '../support/media.js';
import { runCli } from '../support/pipeline.js';

/** A Python that cannot see site-packages (-S -s), so torch is missing whatever this machine has. */
function pythonWithoutTorch(): string {
  const file = path.join(tmpDir(), 'python-no-site');
  writeFileSync(file, '#!/bin/sh\nexec python3 -S -s "$@"\n');
  chmodSync(file, 0o755);
  return file;
}

describe('vidflow models export', () => {
  it('without torch prints one line saying to run `npm run models:setup`, no traceback, exit 1', async () => {
    const r = await runCli(['models', 'export', 'resnet18', '--out', path.join(tmpDir(), 'resnet18')], { env: { VIDFLOW_PYTHON: pythonWithoutTorch() } });
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /Traceback|ModuleNotFoundError/, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^error\[EXPORT_SETUP\]: models export needs torch, torchvision, onnx, not installed for VIDFLOW_PYTHON=.*python-no-site; run `npm run models:setup` once/);
  });

  it('with a Python that does not exist says so in one line, exit 1', async () => {
    const r = await runCli(['models', 'export', 'resnet18'], { env: { VIDFLOW_PYTHON: '/no/such/python3' } });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr.trim(), /^error\[EXPORT_SETUP\]: models export: cannot run VIDFLOW_PYTHON=\/no\/such\/python3: .*ENOENT.*npm run models:setup/);
  });

  it('without .venv/ names the missing .venv and the setup command', { skip: existsSync(path.join(REPO, '.venv')) && '.venv/ exists here' }, async () => {
    const env: NodeJS.ProcessEnv = { PATH: `${path.dirname(pythonWithoutTorch())}:${process.env.PATH}` };
    // python3 on PATH is the site-less wrapper, so this holds on machines with a system torch too.
    writeFileSync(path.join(tmpDir(), 'python3'), `#!/bin/sh\nPATH=${process.env.PATH} exec python3 -S -s "$@"\n`, { mode: 0o755 });
    const r = await runCli(['models', 'export', 'resnet18'], { env: { ...env, VIDFLOW_PYTHON: undefined as unknown as string } });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr.trim(), /^error\[EXPORT_SETUP\]: models export needs torch.* not installed for python3 \(.*\.venv does not exist\); run `npm run models:setup` once/);
  });
});
