/** The decoder registry: manifests resolve `decoder.type` there, checked against the task and the decoder's own options. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { VidflowError } from '../../src/core/errors.js';
import { decoderSpecs, findDecoder, resolveDecoder } from '../../src/models/decoders/registry.js';
import { loadManifest } from '../../src/models/manifest.js';
import { MODEL_TASKS } from '../../src/core/result.js';
import { REPO, tmpDir } from '../support/media.js';

const YOLOX = path.join(REPO, 'models', 'yolox-nano', 'yolox-nano.manifest.json');

/** The yolox-nano manifest with `patch` applied, written to a temp folder (files made absolute). */
function variant(name: string, patch: (m: Record<string, any>) => void): string {
  const m = JSON.parse(readFileSync(YOLOX, 'utf8'));
  m.model_file = path.resolve(path.dirname(YOLOX), m.model_file.replace('${VIDFLOW_SHARED:-../../../shared}', path.join(REPO, '..', 'shared')));
  m.labels.file = path.join(path.dirname(YOLOX), m.labels.file);
  patch(m);
  const file = path.join(tmpDir(), `${name}.manifest.json`);
  writeFileSync(file, JSON.stringify(m));
  return file;
}

describe('decoder registry', () => {
  it('lists each decoder once, each with tasks, roles and an options schema with defaults', () => {
    const types = decoderSpecs.map((d) => d.type);
    assert.deepEqual(new Set(types).size, types.length);
    for (const d of decoderSpecs) {
      assert.ok(d.tasks.length > 0 && d.tasks.every((t) => (MODEL_TASKS as readonly string[]).includes(t)), d.type);
      assert.ok(d.roles.length > 0, d.type);
      assert.ok(d.options.safeParse({}).success, `${d.type}: every option has a default`);
      assert.equal(findDecoder(d.type), d);
    }
  });
  it('a near miss gets "did you mean"; an unknown type lists the known ones', () => {
    const r = resolveDecoder({ type: 'yolo_x' }, 'detection');
    assert.ok('error' in r && r.error.includes('unknown decoder "yolo_x"; did you mean "yolox"?'), JSON.stringify(r));
    const u = resolveDecoder({ type: 'detr' }, 'detection');
    assert.ok('error' in u && /known: softmax_topk, .*ultraface/.test(u.error));
  });
  it('a decoder of another task is refused, naming the ones that fit', () => {
    const r = resolveDecoder({ type: 'softmax_topk' }, 'detection');
    assert.ok('error' in r && r.error.includes('serves classification, video_classification, not task detection') && r.error.includes('yolox'), JSON.stringify(r));
  });
  it('options are the decoder\'s own: defaults filled in, unknown or wrong ones refused', () => {
    const ok = resolveDecoder({ type: 'torchvision_detection' }, 'instance_segmentation');
    assert.ok('spec' in ok);
    assert.deepEqual(ok.options, { outputs_are: 'probabilities', nms_in_graph: true, mask_threshold: 0.5 });
    const bad = resolveDecoder({ type: 'yolox', mask_threshold: 0.5 }, 'detection');
    assert.ok('error' in bad && bad.error.includes('decoder.(options): Unrecognized key') && bad.error.includes('mask_threshold'), JSON.stringify(bad));
    const wrong = resolveDecoder({ type: 'ultraface', nms_in_graph: true }, 'detection');
    assert.ok('error' in wrong && wrong.error.startsWith('decoder.nms_in_graph: '), JSON.stringify(wrong));
  });
});

describe('loadManifest resolves the decoder', { skip: existsSync(path.join(REPO, '..', 'shared', 'models', 'detection', 'yolox_nano.onnx')) ? false : 'shared models missing' }, () => {
  it('fills the decoder options in', () => {
    assert.deepEqual(loadManifest(YOLOX).manifest.decoder, { type: 'yolox', nms_in_graph: false });
  });
  it('a near miss is MODEL_MANIFEST_INVALID with "did you mean"', () => {
    const file = variant('near-miss', (m) => (m.decoder = { type: 'fastest_det' }));
    assert.throws(() => loadManifest(file, 'stages[0].model'), (e: unknown) => e instanceof VidflowError && e.code === 'MODEL_MANIFEST_INVALID' && e.message.includes('invalid manifest: decoder.type: unknown decoder "fastest_det"; did you mean "fastestdet"?'));
  });
  it('a decoder that does not serve the task is refused', () => {
    const file = variant('task', (m) => (m.decoder = { type: 'segmentation_argmax' }));
    assert.throws(() => loadManifest(file), (e: unknown) => e instanceof VidflowError && e.code === 'MODEL_MANIFEST_INVALID' && /decoder segmentation_argmax serves semantic_segmentation, not task detection/.test(e.message));
  });
  it('an output role the decoder reads must be in outputs', () => {
    const file = variant('roles', (m) => (m.decoder = { type: 'ultraface' }));
    assert.throws(() => loadManifest(file), (e: unknown) => e instanceof VidflowError && /decoder ultraface reads output roles scores, boxes, missing from outputs/.test(e.message));
  });
});
