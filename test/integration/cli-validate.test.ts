/**
 * `vidflow validate` through the CLI (issue #8 items 1, 11-14, 16; item 11: every bad class name; issue #9
 * credentials):
 * validation never writes output, resolves models/files/folders without --deep, reports real
 * YAML positions and codes, caps its output, and never prints a camera password.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { media, REPO, tmpDir } from '../support/media.js';
import { runCli } from '../support/pipeline.js';
import { regex } from '../support/regex.js';

function pipelineFile(name: string, body: string): string {
  const file = path.join(tmpDir(), `${name}.yaml`);
  writeFileSync(file, body);
  return file;
}

describe('vidflow validate', () => {
  it('--deep leaves an existing JSONL output untouched', async () => {
    const out = path.join(tmpDir(), 'keep.jsonl');
    writeFileSync(out, '{"frame_index":0}\n{"frame_index":1}\n');
    const file = pipelineFile(
      'deep-keep',
      `sources:\n  - type: file\n    id: cam1\n    path: ${media.testsrc(1)}\nstages:\n  - type: classify\n    id: ` +
        `c\n    model: mobilenetv2-12-int8\nsinks:\n  - type: jsonl\n    path: ${out}\n`,
    );
    const r = await runCli(['validate', '--deep', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(out, 'utf8'), '{"frame_index":0}\n{"frame_index":1}\n');
  });

  it(
    'without --deep catches an unknown model, a missing video and a missing sink folder, each at its line, exit ' + '2',
    async () => {
      const file = pipelineFile(
        'refs',
        `sources:\n  - type: file\n    id: cam1\n    path: /no/such/video.mp4\nstages:\n  - type: classify\n    id: ` +
          `c\n ` +
          `   model: mobilenetv2-12-int\nsinks:\n  - type: jsonl\n    path: /no/such/dir/out.jsonl\n`,
      );
      const r = await runCli(['validate', file]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /^error\[SOURCE_NOT_FOUND\]: .*refs\.yaml\(4,11\) sources\[0\]\.path: .*video\.mp4: file does not exist$/m,
      );
      assert.match(
        r.stderr,
        regex(
          /^error\[MODEL_NOT_FOUND\]: .*refs\.yaml\(8,12\) stages\[0\]\.model: model "mobilenetv2-12-int" not found/,
          / .*did you mean "mobilenetv2-12-int8"\?$/m,
        ),
      );
      assert.match(
        r.stderr,
        /^error\[SINK_PATH\]: .*refs\.yaml\(11,11\) sinks\[0\]\.path: folder \/no\/such\/dir does not exist/m,
      );
    },
  );

  it('--deep errors exit 2', async () => {
    const file = pipelineFile(
      'deep-missing',
      `sources:\n  - type: file\n    id: cam1\n    path: /no/such/video.mp4\n` +
        `stages:\n  - type: classify\n    id: c\n    model: mobilenetv2-12-int8\nsinks:\n  - type: stdout\n`,
    );
    const r = await runCli(['validate', '--deep', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /error\[SOURCE_NOT_FOUND\]/);
  });

  it('--deep really opens a camera and names it with the password redacted', async () => {
    const file = pipelineFile(
      'dead-cam',
      `sources:\n  - type: camera\n    id: door\n    url: rtsp://camuser:S3cr@tPw@127.0.0.1:9/stream\n ` +
        `   connect_timeout_ms: 2000\nstages:\n  - type: classify\n    id: c\n    model: ` +
        `mobilenetv2-12-int8\nsinks:\n  - type: stdout\n`,
    );
    const r = await runCli(['validate', '--deep', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      regex(
        /error\[SOURCE_(CONNECT|PROBE)\]: .*dead-cam\.yaml\(4,10\) sources\[0\]\.url:/,
        / rtsp:\/\/\*\*\*@127\.0\.0\.1:9\/stream/,
      ),
    );
    assert.doesNotMatch(r.stdout + r.stderr, /S3cr|tPw|camuser/);
  });

  it("a YAML syntax error gives the parser's line and column and CONFIG_PARSE", async () => {
    const file = pipelineFile('syntax', `sources:\n  - type: file\n    id: a\n    path: "x.mp4\nstages: []\n`);
    const r = await runCli(['validate', file]);
    assert.equal(r.code, 2);
    const m = /^error\[CONFIG_PARSE\]: .*syntax\.yaml\((\d+),(\d+)\)/m.exec(r.stderr);
    assert.ok(m, r.stderr);
    assert.notEqual(`${m[1]},${m[2]}`, '1,1', r.stderr);
  });

  it('schema errors carry [CONFIG_INVALID]; an alias bomb is CONFIG_PARSE naming the file, exit 2', async () => {
    const bad = pipelineFile(
      'unknown-key',
      `sources:\n  - type: file\n    id: a\n    path: x.mp4\n    fsp: 5\nstages: []\nsinks: []\n`,
    );
    const r = await runCli(['validate', bad]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      regex(
        /^error\[CONFIG_INVALID\]: .*unknown-key\.yaml\(5,5\) sources\[0\]\.fsp: unknown key "fsp"; did you mean/,
        / "fps"\?$/m,
      ),
    );
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const bomb = pipelineFile('bomb', `${levels.join('\n')}\n`);
    const b = await runCli(['validate', bomb]);
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, /^error\[CONFIG_PARSE\]: .*bomb\.yaml\(\d+,\d+\)/m);
    assert.doesNotMatch(b.stderr, /INTERNAL/);
  });

  it('20 000 unknown keys: output capped with "and K more", well inside the safety timeout', async () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `    junk_${i}: 1`).join('\n');
    const file = pipelineFile(
      'many-keys',
      `sources:\n  - type: file\n    id: a\n    path: x.mp4\n${keys}\nstages: []\nsinks: []\n`,
    );
    const r = await runCli(['validate', file], { timeout_ms: 60_000 });
    assert.equal(r.code, 2, r.stderr.slice(0, 500));
    const lines = r.stderr.trim().split('\n');
    assert.ok(lines.length <= 60, `${lines.length} lines`);
    assert.match(r.stderr, /and \d+ more problem/);
  });

  it('refuses an absurdly large file with one clear line', async () => {
    const file = pipelineFile('huge', `# ${'x'.repeat(2 << 20)}\n`);
    const r = await runCli(['validate', file]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr.trim(),
      /^error\[CONFIG_INVALID\]: .*huge\.yaml: pipeline file is 2\.0 MB; expected at most 1 MB/,
    );
  });

  it('a config error never shows an interpolated camera password', async () => {
    const file = pipelineFile(
      'cred',
      `sources:\n  - type: camera\n    id: door\n    url: rtspx://camuser:\${CAM_PASS}@192.0.2.1/stream\n` +
        `stages:\n  - type: classify\n    id: c\n    model: mobilenetv2-12-int8\nsinks:\n  - type: stdout\n`,
    );
    const r = await runCli(['validate', file], { env: { CAM_PASS: 'Pw@with@ats' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /sources\[0\]\.url/);
    assert.doesNotMatch(r.stderr, /Pw|with@ats|camuser/);
  });

  for (const deep of [true, false])
    it(
      `${deep ? '--deep' : 'without --deep'} reports every unknown class name at once, each at its line with "did ` +
        `you mean", exit 2 (issue #8 item 11)`,
      async () => {
        const file = pipelineFile(
          'classes',
          `sources:\n  - type: file\n    id: cam1\n    path: ${media.testsrc(1)}\nstages:\n  - type: detect\n    id: ` +
            `d\n    model: yolox-nano\n    classes:\n      - person\n      - persn\n      - bicycel\n ` +
            `   exclude_classes: [dgo]\nsinks:\n  - type: stdout\n`,
        );
        const r = await runCli(['validate', ...(deep ? ['--deep'] : []), file]);
        assert.equal(r.code, 2, r.stderr);
        const lines = r.stderr
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('error['));
        assert.equal(lines.length, 3, r.stderr);
        assert.match(
          lines[0]!,
          regex(
            /^error\[CONFIG_INVALID\]: .*classes\.yaml\(11,9\) stages\[0\]\.classes\[1\]: unknown class "persn" for/,
            / this model; did you mean "person"\?$/,
          ),
        );
        assert.match(
          lines[1]!,
          regex(
            /^error\[CONFIG_INVALID\]: .*classes\.yaml\(12,9\) stages\[0\]\.classes\[2\]: unknown class "bicycel" for/,
            / this model; did you mean "bicycle"\?$/,
          ),
        );
        assert.match(
          lines[2]!,
          regex(
            /^error\[CONFIG_INVALID\]: .*classes\.yaml\(13,23\) stages\[0\]\.exclude_classes\[0\]: unknown class "dgo"/,
            / for this model; did you mean "dog"\?$/,
          ),
        );
      },
    );
});

it('vidflow --version prints the package version and exits 0', async () => {
  const r = await runCli(['--version']);
  assert.equal(r.code, 0, r.stderr);
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
  assert.equal(r.stdout.trim(), `vidflow ${pkg.version}`);
});
