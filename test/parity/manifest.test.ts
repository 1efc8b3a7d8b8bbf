/** Every fixture manifest validates, its label count matches the model's output size, and its
 * input/output names exist in the ONNX graph. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadManifest } from '../../src/models/manifest.js';
import { OnnxRunner } from '../../src/models/onnx-runner.js';
import { FIXTURES, fixtureNames, readJson, loadBin, toNumbers, type RunsFile } from './helpers.js';

describe('fixture manifests', () => {
  const names = fixtureNames();
  it('there is a fixture for every family', () => {
    const fams = new Set(names.map((n) => readJson<RunsFile>(path.join(FIXTURES, n, 'reference', 'runs.json')).family));
    const families: Array<RunsFile['family']> = ['classification', 'quantized', 'segmentation', 'detection', 'video'];
    for (const f of families) assert.ok(fams.has(f), f);
  });
  for (const name of names) {
    it(`${name}: validates, labels match outputs, names exist in the graph`, async () => {
      const dir = path.join(FIXTURES, name);
      const loaded = loadManifest(path.join(dir, `${name}.manifest.json`));
      const m = loaded.manifest;
      assert.equal(loaded.labels.length, m.labels.count);
      const spec = readJson<RunsFile>(path.join(dir, 'reference', 'runs.json'));
      const run = spec.runs[0]!;
      if (m.task === 'classification' || m.task === 'video_classification') {
        assert.equal(run.outputs[m.outputs.logits!]!.dims[1], m.labels.count);
      } else if (m.task === 'semantic_segmentation') {
        assert.equal(run.outputs[m.outputs.out!]!.dims[1], m.labels.count);
        if (m.outputs.aux) assert.equal(run.outputs[m.outputs.aux]!.dims[1], m.labels.count);
      } else {
        const batch = m.input.batch === 'dynamic' ? 1 : m.input.batch;
        assert.equal(m.input.names.length, batch);
        for (let i = 0; i < batch; i++) {
          const lname = m.outputs.labels!.replace('{i}', String(i));
          const labels = toNumbers(loadBin(path.join(dir, 'reference'), run.outputs[lname]!));
          // R-CNNs never output class 0 (background); RetinaNet's sigmoid head may, with random weights.
          assert.ok(
            labels.every((l) => l >= 0 && l < m.labels.count),
            `labels within 0..${m.labels.count - 1}`,
          );
        }
        if (m.task === 'keypoint_detection') {
          assert.equal(loaded.keypointNames?.length, 17);
          assert.equal(run.outputs[m.outputs.keypoints!.replace('{i}', '0')]!.dims[1], 17);
        }
      }
      const runner = await OnnxRunner.create(loaded.modelPath);
      try {
        assert.deepEqual(
          runner.inputs.map((i) => i.name),
          m.input.names,
        );
        const outs = new Set(runner.outputs.map((o) => o.name));
        const batch = m.input.batch === 'dynamic' ? 1 : m.input.batch;
        for (const n of Object.values(m.outputs)) {
          for (let i = 0; i < batch; i++) assert.ok(outs.has(n.replace('{i}', String(i))), `output ${n} in graph`);
        }
      } finally {
        await runner.close();
      }
    });
  }
});
