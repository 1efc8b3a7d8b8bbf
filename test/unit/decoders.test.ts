/** The decoder registry: manifests resolve `decoder.type` there, checked against the task and the decoder's own
 * options. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { VidflowError } from '../../src/core/errors.js';
import type { DetectionDecodeContext } from '../../src/models/decoders/decoder.js';
import { fastestdetDecoder } from '../../src/models/decoders/fastestdet.js';
import { decoderSpecs, findDecoder, resolveDecoder } from '../../src/models/decoders/registry.js';
import { ultrafaceDecoder } from '../../src/models/decoders/ultraface.js';
import type { Tensor } from '../../src/models/runner.js';
import { loadManifest } from '../../src/models/manifest.js';
import { MODEL_TASKS } from '../../src/core/result.js';
import { REPO, tmpDir } from '../support/media.js';

const YOLOX = path.join(REPO, 'models', 'yolox-nano', 'yolox-nano.manifest.json');

/** The yolox-nano manifest with `patch` applied, written to a temp folder (files made absolute). */
function variant(name: string, patch: (m: Record<string, any>) => void): string {
  const m = JSON.parse(readFileSync(YOLOX, 'utf8'));
  m.model_file = path.resolve(
    path.dirname(YOLOX),
    m.model_file.replace('${VIDFLOW_SHARED:-../../../shared}', path.join(REPO, '..', 'shared')),
  );
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
    assert.ok(
      'error' in r &&
        r.error.includes('serves classification, video_classification, not task detection') &&
        r.error.includes('yolox'),
      JSON.stringify(r),
    );
  });
  it("options are the decoder's own: defaults filled in, unknown or wrong ones refused", () => {
    const ok = resolveDecoder({ type: 'torchvision_detection' }, 'instance_segmentation');
    assert.ok('spec' in ok);
    assert.deepEqual(ok.options, { outputs_are: 'probabilities', nms_in_graph: true, mask_threshold: 0.5 });
    const bad = resolveDecoder({ type: 'yolox', mask_threshold: 0.5 }, 'detection');
    assert.ok(
      'error' in bad &&
        bad.error.includes('decoder.(options): Unrecognized key') &&
        bad.error.includes('mask_threshold'),
      JSON.stringify(bad),
    );
    const wrong = resolveDecoder({ type: 'ultraface', nms_in_graph: true }, 'detection');
    assert.ok('error' in wrong && wrong.error.startsWith('decoder.nms_in_graph: '), JSON.stringify(wrong));
  });
});

describe('loadManifest resolves the decoder', {
  skip: existsSync(path.join(REPO, '..', 'shared', 'models', 'detection', 'yolox_nano.onnx'))
    ? false
    : 'shared models missing',
}, () => {
  it('fills the decoder options in', () => {
    assert.deepEqual(loadManifest(YOLOX).manifest.decoder, { type: 'yolox', nms_in_graph: false });
  });
  it('a near miss is MODEL_MANIFEST_INVALID with "did you mean"', () => {
    const file = variant('near-miss', (m) => (m.decoder = { type: 'fastest_det' }));
    assert.throws(
      () => loadManifest(file, 'stages[0].model'),
      (e: unknown) =>
        e instanceof VidflowError &&
        e.code === 'MODEL_MANIFEST_INVALID' &&
        e.message.includes('invalid manifest: decoder.type: unknown decoder "fastest_det"; did you mean "fastestdet"?'),
    );
  });
  it('a decoder that does not serve the task is refused', () => {
    const file = variant('task', (m) => (m.decoder = { type: 'segmentation_argmax' }));
    assert.throws(
      () => loadManifest(file),
      (e: unknown) =>
        e instanceof VidflowError &&
        e.code === 'MODEL_MANIFEST_INVALID' &&
        /decoder segmentation_argmax serves semantic_segmentation, not task detection/.test(e.message),
    );
  });
  it('an output role the decoder reads must be in outputs', () => {
    const file = variant('roles', (m) => (m.decoder = { type: 'ultraface' }));
    assert.throws(
      () => loadManifest(file),
      (e: unknown) =>
        e instanceof VidflowError &&
        /decoder ultraface reads output roles scores, boxes, missing from outputs/.test(e.message),
    );
  });
});

/** A detection context for a frame of fw×fh stretched to an iw×ih model input. */
function ctx(
  fw: number,
  fh: number,
  iw: number,
  ih: number,
  labels: string[],
  over: Partial<DetectionDecodeContext> = {},
): DetectionDecodeContext & { options: { nms_in_graph: false } } {
  return {
    labels,
    geometry: { scale_x: iw / fw, scale_y: ih / fh, offset_x: 0, offset_y: 0, width: iw, height: ih },
    frameWidth: fw,
    frameHeight: fh,
    inputWidth: iw,
    inputHeight: ih,
    filter: { score_threshold: 0.5, allow: null, deny: new Set(), max_detections: 100, min_box_area: 0 },
    nmsIou: undefined,
    options: { nms_in_graph: false },
    ...over,
  };
}

describe('fastestdet decoder', () => {
  // [1, 5 + 3 classes, 1, 2]: two cells of one row; channel-major like the model's NCHW output.
  const grid = (cells: number[][]): Tensor => {
    const C = cells[0]!.length;
    const W = cells.length;
    const data = new Float32Array(C * W);
    cells.forEach((cell, x) => cell.forEach((v, c) => (data[c * W + x] = v)));
    return { type: 'float32', dims: [1, C, 1, W], data };
  };
  const labels = ['a', 'b', 'c'];
  it('score = obj^0.6 x cls^0.4, centre (cell + tanh) / grid, size sigmoid, mapped to the frame', () => {
    // Cell 0: obj 0.9, tx = ty = 0 (centre of the cell's corner), tw = th = 0 (half the input).
    const t = grid([
      [0.9, 0, 0, 0, 0, 0.1, 0.8, 0.1],
      [0.01, 0, 0, 0, 0, 1, 0, 0],
    ]);
    const r = fastestdetDecoder.decode({ predictions: t }, 0, ctx(400, 200, 352, 352, labels));
    assert.equal(r.detections.length, 1);
    const d = r.detections[0]!;
    assert.equal(d.label, 'b');
    assert.ok(Math.abs(d.score - 0.9 ** 0.6 * 0.8 ** 0.4) < 1e-6);
    // cx = 0/2 → 0, cy = 0/1 → 0, w = h = 0.5 of the frame: [-100, -50, 100, 50] clipped.
    assert.deepEqual(d.box, [0, 0, 100, 50]);
    assert.deepEqual(r.rows, [0]);
  });
  it('class-agnostic NMS (IoU 0.45 by default, the stage may override) and the class filter', () => {
    // Cell 1 shifted back by tanh(tx) = -0.95 onto cell 0's box: suppressed by the better cell 0.
    const t = grid([
      [0.9, 0.5, 0.5, 1, 1, 0, 1, 0],
      [0.8, Math.atanh(-0.95) + 0, 0.5, 1, 1, 1, 0, 0],
    ]);
    assert.equal(fastestdetDecoder.decode({ predictions: t }, 0, ctx(352, 352, 352, 352, labels)).detections.length, 1);
    assert.equal(
      fastestdetDecoder.decode({ predictions: t }, 0, ctx(352, 352, 352, 352, labels, { nmsIou: 0.99 })).detections
        .length,
      2,
    );
    const onlyA = ctx(352, 352, 352, 352, labels);
    onlyA.filter = { ...onlyA.filter, allow: new Set([0]) };
    const r = fastestdetDecoder.decode({ predictions: t }, 0, onlyA);
    // Cell 0's best allowed class is `a` with cls 0 → score 0: only cell 1 remains.
    assert.deepEqual(
      r.detections.map((d) => d.label),
      ['a'],
    );
    assert.deepEqual(r.rows, [0]);
  });
});

describe('ultraface decoder', () => {
  const labels = ['BACKGROUND', 'face'];
  const tensors = (rows: Array<[number, [number, number, number, number]]>, n = 1): Record<string, Tensor> => {
    const scores = new Float32Array(n * rows.length * 2);
    const boxes = new Float32Array(n * rows.length * 4);
    for (let b = 0; b < n; b++) {
      rows.forEach(([p, box], i) => {
        scores.set([1 - p, p], (b * rows.length + i) * 2);
        boxes.set(box, (b * rows.length + i) * 4);
      });
    }
    return {
      scores: { type: 'float32', dims: [n, rows.length, 2], data: scores },
      boxes: { type: 'float32', dims: [n, rows.length, 4], data: boxes },
    };
  };
  it('faces over the threshold, boxes normalized → frame pixels (clipped), hard NMS at IoU 0.3', () => {
    const out = tensors([
      [0.95, [0.1, 0.1, 0.3, 0.4]],
      [0.9, [0.12, 0.1, 0.32, 0.4]], // IoU with the first ≈ 0.82: suppressed
      [0.8, [0.6, 0.5, 1.02, 0.9]], // past the right edge: clipped
      [0.4, [0.5, 0.1, 0.6, 0.2]], // under the threshold
    ]);
    const r = ultrafaceDecoder.decode(out, 0, ctx(640, 480, 320, 240, labels));
    assert.deepEqual(
      r.detections.map((d) => d.box),
      [
        [64, 48, 192, 192],
        [384, 240, 640, 432],
      ],
    );
    assert.deepEqual(
      r.detections.map((d) => d.label),
      ['face', 'face'],
    );
    assert.deepEqual(r.rows, [0, 1]);
    // IoU 0.82 > 0.3 suppresses; at a stage nms_iou of 0.9 both stay.
    assert.equal(
      ultrafaceDecoder.decode(out, 0, ctx(640, 480, 320, 240, labels, { nmsIou: 0.9 })).detections.length,
      3,
    );
  });
  it('reads image `index` of a batch', () => {
    const out = tensors([[0.95, [0, 0, 0.5, 0.5]]], 2);
    (out.scores!.data as Float32Array).set([1, 0], 0); // image 0: no face
    assert.equal(ultrafaceDecoder.decode(out, 0, ctx(100, 100, 320, 240, labels)).detections.length, 0);
    assert.deepEqual(
      ultrafaceDecoder.decode(out, 1, ctx(100, 100, 320, 240, labels)).detections.map((d) => d.box),
      [[0, 0, 50, 50]],
    );
  });
});
