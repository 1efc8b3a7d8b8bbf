/**
 * The foundation path end to end, through the `vidflow` CLI as a user runs it: real ffmpeg,
 * the real pretrained ImageNet classifier from ../shared/models, JSONL and stdout sinks, and
 * every kind of bad input giving one clear line and a non-zero exit.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { media, REPO, sharedMedia, sharedModel, tmpDir } from '../support/media.js';
import { runCli } from '../support/pipeline.js';
import { waitForLine, waitForLines } from '../support/wait.js';
import { regex } from '../support/regex.js';

const MANIFEST = path.join(REPO, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.manifest.json');

function pipelineFile(name: string, body: string): string {
  const file = path.join(tmpDir(), `${name}.yaml`);
  writeFileSync(file, body);
  return file;
}

function classifyPipeline(
  name: string,
  video: string,
  extra: { stage?: string; sink?: string; source?: string } = {},
): string {
  return pipelineFile(
    name,
    `name: ${name}
sources:
  - type: file
    id: cam1
    path: ${video}
${extra.source ?? ''}stages:
  - type: classify
    id: imagenet
    model: ${MANIFEST}
    top_k: 3
    batch_size: 4
${extra.stage ?? ''}sinks:
${extra.sink ?? `  - type: jsonl\n    path: ${path.join(tmpDir(), `${name}.jsonl`)}\n`}`,
  );
}

function readJsonl(file: string): Array<Record<string, any>> {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('vidflow run: video file → ffmpeg → ONNX classifier → JSONL', () => {
  it('emits one versioned record per sampled frame with the documented fields', async () => {
    const file = classifyPipeline('classify-testsrc', media.testsrc(2), { source: '    fps: 5\n' });
    const r = await runCli(['run', file]);
    assert.equal(r.code, 0, r.stderr);
    const recs = readJsonl(path.join(tmpDir(), 'classify-testsrc.jsonl'));
    assert.equal(recs.length, 10);
    recs.forEach((rec, i) => {
      assert.equal(rec.schema_version, 1);
      assert.equal(rec.pipeline, 'classify-testsrc');
      assert.equal(rec.stream_id, 'cam1');
      assert.equal(rec.frame_index, i);
      assert.ok(Math.abs(rec.pts - i * 0.2) < 1e-3);
      assert.equal(rec.model_id, 'mobilenetv2-12-int8');
      assert.equal(rec.task, 'classification');
      assert.equal(rec.stage_id, 'imagenet');
      assert.equal(rec.frame_width, 640);
      assert.equal(rec.results.top.length, 3);
      const scores = rec.results.top.map((c: { score: number }) => c.score);
      assert.deepEqual(
        [...scores].sort((a, b) => b - a),
        scores,
      );
      assert.ok(scores[0] > 0 && scores[0] <= 1);
    });
  });

  it('classifies a real photo correctly (cat.png → a cat class)', async () => {
    const file = classifyPipeline('classify-cat', sharedMedia('photos/cat.png'));
    const r = await runCli(['run', file]);
    assert.equal(r.code, 0, r.stderr);
    const [rec] = readJsonl(path.join(tmpDir(), 'classify-cat.jsonl'));
    assert.ok(rec);
    assert.match(rec.results.top[0].label, /tabby|tiger cat|Egyptian cat/, JSON.stringify(rec.results.top));
    assert.ok(rec.results.top[0].score > 0.3);
  });

  it('prints per-frame classifications with the pretty stdout sink', async () => {
    const file = classifyPipeline('classify-stdout', media.testsrc(1), {
      source: '    fps: 2\n',
      sink: '  - type: stdout\n    format: pretty\n',
    });
    const r = await runCli(['run', file]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^cam1 #0 t=0\.000s imagenet: .+ \d+\.\d%/);
  });

  it('batches frames of two streams through one model', async () => {
    const file = pipelineFile(
      'two-streams',
      `sources:
  - { type: file, id: a, path: ${media.testsrc(1)}, fps: 4 }
  - { type: file, id: b, path: ${media.oddSize()}, fps: 4 }
stages:
  - { type: classify, id: c, model: ${MANIFEST}, batch_size: 4, max_wait_ms: 50 }
sinks:
  - { type: jsonl, path: ${path.join(tmpDir(), 'two-streams.jsonl')} }
`,
    );
    const r = await runCli(['run', file]);
    assert.equal(r.code, 0, r.stderr);
    const recs = readJsonl(path.join(tmpDir(), 'two-streams.jsonl'));
    assert.deepEqual(
      recs.filter((x) => x.stream_id === 'a').map((x) => x.frame_index),
      [0, 1, 2, 3],
    );
    assert.deepEqual(
      recs.filter((x) => x.stream_id === 'b').map((x) => x.frame_index),
      [0, 1, 2, 3],
    );
    assert.equal(recs.find((x) => x.stream_id === 'b')!.frame_width, 641);
  });

  it('flushes the results of frames decoded before a file turns out truncated, then fails with one line', async () => {
    const out = path.join(tmpDir(), 'truncated.jsonl');
    const file = classifyPipeline('truncated', media.truncated(0.5), { sink: `  - type: jsonl\n    path: ${out}\n` });
    const r = await runCli(['run', file]);
    assert.equal(r.code, 1);
    const recs = readJsonl(out);
    assert.ok(recs.length > 10 && recs.length < 100, `${recs.length} records`);
    assert.deepEqual(
      recs.map((x) => x.frame_index),
      [...Array(recs.length).keys()],
    );
    const errLines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('error'));
    assert.equal(errLines.length, 1, r.stderr);
    assert.match(
      errLines[0]!,
      /^error\[SOURCE_DECODE\]: cam1: .*truncated-0\.5\.mp4 is corrupt or truncated after frame \d+/,
    );
  });

  it('flushes every result on SIGINT and exits 0', { timeout: 15 * 60_000 }, async () => {
    const out = path.join(tmpDir(), 'sigint.jsonl');
    const file = classifyPipeline('sigint', media.testsrc(20), {
      source: '    realtime: true\n',
      sink: `  - type: jsonl\n    path: ${out}\n`,
    });
    // Signal once the CLI says it is running (its SIGINT handler is installed before that line)
    // and the first records are out: events, not a fixed delay, so a slow start-up cannot race it.
    let waitError: unknown = null;
    const r = await runCli(['run', file], {
      env: { VIDFLOW_LOG_LEVEL: 'info' },
      onSpawn: (p) => {
        waitForLine(p.stderr!, /Running pipeline `sigint`/)
          .then(() => waitForLines(out, 6))
          .then(() => p.kill('SIGINT'))
          .catch((err) => {
            waitError = err;
            p.kill('SIGKILL');
          });
      },
    });
    assert.equal(waitError, null);
    assert.equal(r.code, 0, r.stderr);
    const recs = readJsonl(out);
    assert.ok(recs.length > 5 && recs.length < 500, `${recs.length} records`);
    assert.deepEqual(
      recs.map((x) => x.frame_index),
      [...Array(recs.length).keys()],
      'no gaps: every decoded frame reached the sink',
    );
  });
});

describe('vidflow models list / validate --deep', () => {
  it('models list shows the installed models with task, input, labels, size and source', async () => {
    const r = await runCli(['models', 'list', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as Array<Record<string, string>>;
    const m = rows.find((x) => x.name === 'mobilenetv2-12-int8');
    assert.ok(m, r.stdout);
    assert.equal(m.task, 'classification');
    assert.equal(m.input, 'NCHW 224x224');
    assert.equal(m.labels, 'imagenet-1k (1000)');
    assert.equal(m.size, '3.5 MB');
    assert.match(m.source ?? '', /ONNX Model Zoo/);
    assert.ok(rows.some((x) => x.name === 'yolox-nano' && x.task === 'detection'));
    const table = await runCli(['models', 'list']);
    assert.match(table.stdout, /^NAME +TASK +INPUT +LABELS +SIZE +SOURCE/);
  });

  it('validate --deep opens sources, models and sinks without running', async () => {
    const ok = await runCli(['validate', '--deep', path.join(REPO, 'pipelines', 'demo.yaml')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /sink summary: ok/);
    const bad = classifyPipeline('deep-bad', '/no/such/video.mp4');
    const r = await runCli(['validate', '--deep', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /error\[SOURCE_NOT_FOUND\]/);
    const shallow = await runCli(['validate', bad]);
    assert.equal(shallow.code, 2, 'without --deep a missing video is found too (no video read)');
  });
});

describe('vidflow: bad input gives one clear line and a non-zero exit', () => {
  const oneError = (stderr: string) => {
    const lines = stderr
      .trim()
      .split('\n')
      .filter((l) => /^error/.test(l));
    assert.equal(lines.length, 1, stderr);
    return lines[0]!;
  };

  it('validate: a file with three mistakes prints three lines and exits 2', async () => {
    const file = pipelineFile(
      'three-mistakes',
      `sources:\n  - type: file\n    id: cam1\n    path: x.mp4\n    fsp: 5\nstages:\n  - type: clasify\n    id: s\n ` +
        `   model: m\nsinks:\n  - type: jsonl\n    path: 42\n`,
    );
    const r = await runCli(['validate', file]);
    assert.equal(r.code, 2);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 3, r.stderr);
    assert.match(lines[0]!, /three-mistakes\.yaml\(5,5\) sources\[0\]\.fsp: unknown key "fsp"; did you mean "fps"\?/);
    assert.match(lines[1]!, /three-mistakes\.yaml\(7,11\) stages\[0\]\.type: unknown stage type "clasify"/);
    assert.match(lines[2]!, /three-mistakes\.yaml\(12,11\) sinks\[0\]\.path: found number 42, expected string/);
  });

  it('validate: a good file is ok', async () => {
    const r = await runCli(['validate', path.join(REPO, 'pipelines', 'demo.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /demo\.yaml: ok/);
  });

  it('missing video file', async () => {
    const r = await runCli(['run', classifyPipeline('missing-video', '/no/such/video.mp4')]);
    assert.equal(r.code, 1);
    assert.match(
      oneError(r.stderr),
      /^error\[SOURCE_NOT_FOUND\]: sources\[0\]\.path: \/no\/such\/video\.mp4: file does not exist$/,
    );
  });

  it('a file that is not a video', async () => {
    const r = await runCli(['run', classifyPipeline('not-video', media.notVideo())]);
    assert.equal(r.code, 1);
    assert.match(
      oneError(r.stderr),
      /^error\[SOURCE_NOT_VIDEO\]: sources\[0\]\.path: .*not-a-video\.mp4: not a (readable )?video file/,
    );
  });

  it('a file with audio but no video stream', async () => {
    const r = await runCli(['run', classifyPipeline('audio-only', media.audioOnly())]);
    assert.equal(r.code, 1);
    assert.match(
      oneError(r.stderr),
      /^error\[SOURCE_NO_VIDEO_STREAM\]: .*audio-only\.m4a: has no video stream \(found: audio\)/,
    );
  });

  it('missing model file', async () => {
    const manifest = path.join(tmpDir(), 'gone.manifest.json');
    const m = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    m.model_file = '/no/such/model.onnx';
    m.labels.file = sharedModel('classification/mobilenetv2_12_int8.labels.txt');
    writeFileSync(manifest, JSON.stringify(m));
    const file = classifyPipeline('missing-model', media.testsrc(1));
    writeFileSync(file, readFileSync(file, 'utf8').replace(MANIFEST, manifest));
    const r = await runCli(['run', file]);
    assert.equal(r.code, 1);
    assert.match(
      oneError(r.stderr),
      /^error\[MODEL_NOT_FOUND\]: .*gone\.manifest\.json: model_file \/no\/such\/model\.onnx does not exist/,
    );
  });

  it('a model name that does not exist suggests the closest one', async () => {
    const file = classifyPipeline('unknown-model', media.testsrc(1));
    writeFileSync(file, readFileSync(file, 'utf8').replace(MANIFEST, 'mobilenetv2-12-int'));
    const r = await runCli(['run', file]);
    assert.equal(r.code, 1);
    assert.match(
      oneError(r.stderr),
      regex(
        /^error\[MODEL_NOT_FOUND\]: stages\[0\]\.model: model "mobilenetv2-12-int" not found in .*; did you mean/,
        / "mobilenetv2-12-int8"\?$/,
      ),
    );
  });

  it('a model whose input does not match its manifest', async () => {
    const manifest = path.join(tmpDir(), 'mismatch.manifest.json');
    const m = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    m.model_file = sharedModel('classification/mobilenetv2_12_int8.onnx');
    m.labels.file = sharedModel('classification/mobilenetv2_12_int8.labels.txt');
    m.input.crop = { width: 200, height: 200 };
    writeFileSync(manifest, JSON.stringify(m));
    const file = classifyPipeline('mismatch', media.testsrc(1));
    writeFileSync(file, readFileSync(file, 'utf8').replace(MANIFEST, manifest));
    const r = await runCli(['run', file]);
    assert.equal(r.code, 1);
    assert.match(
      oneError(r.stderr),
      regex(
        /^error\[MODEL_MISMATCH\]: stages\[0\]\.model: model .*mobilenetv2_12_int8\.onnx does not match its manifest/,
        / .*mismatch\.manifest\.json: input height is 224 in the model, manifest gives 200; input width is 224 in the/,
        / model, manifest gives 200$/,
      ),
    );
  });

  it('an unknown stage type', async () => {
    const file = classifyPipeline('unknown-stage', media.testsrc(1));
    writeFileSync(file, readFileSync(file, 'utf8').replace('type: classify', 'type: classifyy'));
    const r = await runCli(['run', file]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr.trim(),
      regex(
        /^error\[CONFIG_INVALID\]: .*unknown-stage\.yaml\(7,11\) stages\[0\]\.type: unknown stage type "classifyy",/,
        / expected one of .*; did you mean "classify"\?$/,
      ),
    );
  });

  it('a sink path in a folder that does not exist', async () => {
    const file = classifyPipeline('bad-sink', media.testsrc(1), {
      sink: '  - type: jsonl\n    path: /no/such/dir/out.jsonl\n',
    });
    const r = await runCli(['run', file]);
    assert.notEqual(r.code, 0);
    assert.match(
      oneError(r.stderr),
      regex(
        /^error\[SINK_PATH\]: sinks\[0\]\.path: folder \/no\/such\/dir does not exist \(for output file/,
        / \/no\/such\/dir\/out\.jsonl\)$/,
      ),
    );
  });

  it('a missing pipeline file', async () => {
    const r = await runCli(['run', 'pipelines/nope.yaml']);
    assert.equal(r.code, 2);
    assert.match(
      oneError(r.stderr),
      /^error\[CONFIG_NOT_FOUND\]: pipelines\/nope\.yaml: pipeline file does not exist$/,
    );
  });
});
