/**
 * `vidflow models export`, `vidflow doctor` and execution providers through the CLI (issue #8 items 17, 18).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { media, REPO, tmpDir } from '../support/media.js';
import { runCli } from '../support/pipeline.js';
import { regex } from '../support/regex.js';

/** A Python that cannot see site-packages (-S -s), so torch is missing whatever this machine has. */
function pythonWithoutTorch(): string {
  const file = path.join(tmpDir(), 'python-no-site');
  writeFileSync(file, '#!/bin/sh\nexec python3 -S -s "$@"\n');
  chmodSync(file, 0o755);
  return file;
}

const hasPython3 = spawnSync('python3', ['-c', 'pass']).status === 0;

describe('vidflow models export', () => {
  it('without torch prints one line saying to run `npm run models:setup`, no traceback, exit 1', {
    skip: !hasPython3 && 'no python3',
  }, async () => {
    const r = await runCli(['models', 'export', 'resnet18', '--out', path.join(tmpDir(), 'resnet18')], {
      env: { VIDFLOW_PYTHON: pythonWithoutTorch() },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /Traceback|ModuleNotFoundError/, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0]!,
      regex(
        /^error\[EXPORT_SETUP\]: models export needs torch, torchvision, onnx, not installed for/,
        / VIDFLOW_PYTHON=.*python-no-site; run `npm run models:setup` once/,
      ),
    );
  });

  it('with a Python that does not exist says so in one line, exit 1', async () => {
    const r = await runCli(['models', 'export', 'resnet18'], { env: { VIDFLOW_PYTHON: '/no/such/python3' } });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr.trim(),
      regex(
        /^error\[EXPORT_SETUP\]: models export: cannot run VIDFLOW_PYTHON=\/no\/such\/python3: .*ENOENT.*npm run/,
        / models:setup/,
      ),
    );
  });

  it('without .venv/ names the missing .venv and the setup command', {
    skip: (existsSync(path.join(REPO, '.venv')) && '.venv/ exists here') || (!hasPython3 && 'no python3'),
  }, async () => {
    const env: NodeJS.ProcessEnv = { PATH: `${path.dirname(pythonWithoutTorch())}:${process.env.PATH}` };
    // python3 on PATH is the site-less wrapper, so this holds on machines with a system torch too.
    writeFileSync(path.join(tmpDir(), 'python3'), `#!/bin/sh\nPATH='${process.env.PATH}' exec python3 -S -s "$@"\n`, {
      mode: 0o755,
    });
    const r = await runCli(['models', 'export', 'resnet18'], {
      env: { ...env, VIDFLOW_PYTHON: undefined as unknown as string },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr.trim(),
      regex(
        /^error\[EXPORT_SETUP\]: models export needs torch.* not installed for python3 \(.*\.venv does not exist\);/,
        / run `npm run models:setup` once/,
      ),
    );
  });
});

const cudaLib = (() => {
  const dir = path.join(
    path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')),
    'bin',
    'napi-v6',
    process.platform,
    process.arch,
  );
  return path.join(dir, 'libonnxruntime_providers_cuda.so');
})();
const noCuda = process.platform === 'linux' && !existsSync(cudaLib);

describe('execution providers that are not installed (CPU-only onnxruntime-node)', {
  skip: !noCuda && 'the CUDA provider is installed here',
}, () => {
  it('vidflow doctor tries each provider and reports cuda and tensorrt as not available', async () => {
    const r = await runCli(['doctor']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /execution providers that load here: cpu$/m);
    assert.match(r.stdout, /^ {2}cpu +available$/m);
    assert.match(r.stdout, /^ {2}cuda +NOT available: .*libonnxruntime_providers_cuda\.so is not installed/m);
    assert.match(r.stdout, /^ {2}tensorrt +NOT available: /m);
    assert.match(r.stdout, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });

  it(
    '`execution_providers: [cuda]` is EP_UNAVAILABLE at that line, naming what this build has, not "model not ' +
      'found"',
    async () => {
      const file = path.join(tmpDir(), 'cuda.yaml');
      writeFileSync(
        file,
        `sources:\n  - type: file\n    id: cam1\n    path: ${media.testsrc(1)}\nstages:\n  - type: classify\n    id: ` +
          `c\n    model: mobilenetv2-12-int8\n    execution_providers: [cuda]\nsinks:\n  - type: stdout\n`,
      );
      const v = await runCli(['validate', '--deep', file]);
      assert.equal(v.code, 2, v.stderr);
      assert.doesNotMatch(v.stderr, /MODEL_NOT_FOUND/);
      assert.match(
        v.stderr,
        regex(
          /^error\[EP_UNAVAILABLE\]: .*cuda\.yaml\(9,26\) stages\[0\]\.execution_providers: execution provider "cuda"/,
          / .* is not available .*; it has: cpu\. .*ONNXRUNTIME_NODE_INSTALL=cuda12/m,
        ),
      );
      const r = await runCli(['run', file]);
      assert.equal(r.code, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /MODEL_NOT_FOUND/);
      assert.match(
        r.stderr,
        /^error\[EP_UNAVAILABLE\]: stages\[0\]\.execution_providers: execution provider "cuda" .*it has: cpu\./m,
      );
    },
  );
});
