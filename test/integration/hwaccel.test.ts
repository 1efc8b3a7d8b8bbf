// Hardware-accelerated decoding through the CLI with real ffmpeg: `hwaccel: auto` gives the frames
// software decoding gives (H.264 decoding is bit-exact; here auto falls back to software), and an
// explicit method the machine lacks fails the source at start with one line naming it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ffmpegBinaries } from '../../src/sources/ffmpeg/binaries.js';
import { sharedMedia, tmpDir } from '../support/media.js';
import { runCli, runPipelineRecords } from '../support/pipeline.js';
import { regex } from '../support/regex.js';

const video = sharedMedia('videos/people-one-by-one.mp4');

interface ClassifyRecord {
  frame_index: number;
  pts: number;
  frame_width: number;
  results: { top: Array<{ label: string; score: number }> };
}

test('hwaccel auto: the same frames and results as software decoding', { timeout: 600_000 }, async () => {
  const body = (hwaccel: string) => [
    'sources:',
    `  - { type: file, id: s, path: ${JSON.stringify(video)}, end_secs: 3, hwaccel: ${hwaccel} }`,
    'stages:',
    '  - { type: classify, id: c, model: mobilenetv2-12-int8, top_k: 1 }',
  ];
  const soft = await runPipelineRecords<ClassifyRecord>('hw-none', body('none'));
  const auto = await runPipelineRecords<ClassifyRecord>('hw-auto', body('auto'));
  assert.equal(soft.length, 30);
  const pick = (r: ClassifyRecord) => [
    r.frame_index,
    r.pts,
    r.frame_width,
    r.results.top[0]!.label,
    r.results.top[0]!.score,
  ];
  assert.deepEqual(auto.map(pick), soft.map(pick));
});

test('hwaccel cuda without a CUDA device: the source fails at start, one line naming it', {
  timeout: 600_000,
}, async (t) => {
  const probe = spawnSync(
    ffmpegBinaries().ffmpeg.path,
    ['-nostdin', '-v', 'error', '-hwaccel', 'cuda', '-i', video, '-frames:v', '1', '-f', 'null', '-'],
    { encoding: 'utf8' },
  );
  if (probe.status === 0) {
    t.skip('this machine decodes with CUDA: nothing to refuse');
    return;
  }
  const dir = tmpDir();
  const file = path.join(dir, 'hw-cuda.yaml');
  writeFileSync(
    file,
    [
      'name: hw-cuda',
      'sources:',
      `  - { type: file, id: lobby, path: ${JSON.stringify(video)}, end_secs: 1, hwaccel: cuda }`,
      'stages:',
      '  - { type: classify, id: c, model: mobilenetv2-12-int8 }',
      'sinks:',
      `  - { type: jsonl, path: ${JSON.stringify(path.join(dir, 'hw-cuda.jsonl'))} }`,
      '',
    ].join('\n'),
  );
  const r = await runCli(['run', file]);
  assert.equal(r.code, 1, r.stderr);
  const errors = r.stderr.split('\n').filter((l) => /^error/.test(l));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(
    errors[0]!,
    regex(
      /^error\[SOURCE_DECODE\]: .*lobby.*: ffmpeg could not decode .*people-one-by-one\.mp4 with hwaccel cuda: .+ /,
      /\(hwaccel: auto falls back to software decoding; none turns it off\)$/,
    ),
  );
});
