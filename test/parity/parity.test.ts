/**
 * Parity of the committed tiny fixtures: onnxruntime-node (vidflow's OnnxRunner) on the committed
 * preprocessed tensors vs the eager PyTorch references made by tools/export/make_fixtures.py.
 * Also asserts that outputs differ between the two inputs, so parity is never vacuous.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadManifest } from '../../src/models/manifest.js';
import { OnnxRunner } from '../../src/models/onnx-runner.js';
import type { Tensor } from '../../src/models/runner.js';
import {
  FIXTURES,
  fixtureNames,
  readJson,
  loadBin,
  maxAbsDiff,
  argmax,
  argmaxMap,
  detections,
  matchDetections,
  toNumbers,
  type RunsFile,
} from './helpers.js';

for (const name of fixtureNames()) {
  const dir = path.join(FIXTURES, name);
  const refDir = path.join(dir, 'reference');
  const spec = readJson<RunsFile>(path.join(refDir, 'runs.json'));
  const expected = readJson<{ runs: any[] }>(path.join(refDir, 'expected.json'));
  const tol = spec.tolerance;

  describe(`parity ${name} (${spec.family})`, () => {
    let runner: OnnxRunner;
    const results: Array<Record<string, Tensor>> = [];
    before(async () => {
      const loaded = loadManifest(path.join(dir, `${name}.manifest.json`));
      runner = await OnnxRunner.create(loaded.modelPath, { intra_op_threads: 1 });
      for (const run of spec.runs) {
        const feeds: Record<string, Tensor> = {};
        for (const [input, ref] of Object.entries(run.feeds)) feeds[input] = loadBin(refDir, ref);
        results.push(await runner.run(feeds));
      }
    });
    after(async () => {
      await runner?.close();
    });

    if (spec.family === 'detection') {
      it(`matches PyTorch detections (label + box within ${tol.box_abs} px, score within ${tol.score_abs})`, () => {
        spec.runs.forEach((run, r) => {
          const images = expected.runs[r].images as any[];
          images.forEach((_img, i) => {
            const sfx = images.length === 1 ? '' : `_${i}`;
            const refOut: Record<string, Tensor> = {};
            for (const [k, v] of Object.entries(run.outputs)) refOut[k] = loadBin(refDir, v);
            const ref = detections(refOut, sfx);
            const got = detections(results[r]!, sfx);
            assert.ok(ref.length > 0, `${name}: reference has detections`);
            assert.equal(got.length, ref.length, `run ${r} image ${i}: detection count`);
            const pairs = matchDetections(ref, got, Number(tol.box_abs));
            assert.ok(
              pairs.length / ref.length >= Number(tol.min_matched_fraction),
              `run ${r} image ${i}: matched ${pairs.length}/${ref.length}`,
            );
            for (const [a, b] of pairs)
              assert.ok(Math.abs(a.score - b.score) <= Number(tol.score_abs), `score ${a.score} vs ${b.score}`);
            if (refOut[`keypoints${sfx}`]) {
              const rk = toNumbers(refOut[`keypoints${sfx}`]!);
              const gk = toNumbers(results[r]![`keypoints${sfx}`]!);
              const rs = toNumbers(refOut[`keypoints_scores${sfx}`]!);
              const gs = toNumbers(results[r]![`keypoints_scores${sfx}`]!);
              for (const [a, b] of pairs) {
                for (let k = 0; k < 17 * 3; k++)
                  assert.ok(
                    Math.abs(rk[a.index * 51 + k]! - gk[b.index * 51 + k]!) <= Number(tol.keypoint_abs),
                    `keypoint ${k}`,
                  );
                for (let k = 0; k < 17; k++)
                  assert.ok(Math.abs(rs[a.index * 17 + k]! - gs[b.index * 17 + k]!) <= 1e-3, `keypoint score ${k}`);
              }
            }
            if (refOut[`masks${sfx}`]) {
              const rm = refOut[`masks${sfx}`]!.data as Float32Array;
              const gm = results[r]![`masks${sfx}`]!.data as Float32Array;
              const hw = (refOut[`masks${sfx}`]!.dims[2] as number) * (refOut[`masks${sfx}`]!.dims[3] as number);
              const thr = expected.runs[r].images[i].masks_thresholded;
              const refBin = loadBin(refDir, thr).data as Uint8Array;
              for (const [a, b] of pairs) {
                let inter = 0,
                  uni = 0,
                  binEq = 0;
                for (let p = 0; p < hw; p++) {
                  const x = rm[a.index * hw + p]! >= 0.5,
                    y = gm[b.index * hw + p]! >= 0.5;
                  if (x && y) inter++;
                  if (x || y) uni++;
                  if ((refBin[a.index * hw + p] === 1) === x) binEq++;
                }
                assert.equal(binEq, hw, 'expected.json thresholded mask agrees with raw reference');
                const iou = uni === 0 ? 1 : inter / uni;
                assert.ok(iou >= Number(tol.mask_iou_min), `mask IoU ${iou}`);
              }
            }
          });
        });
      });
      it('outputs differ between the two inputs', () => {
        const perImage: Array<ReturnType<typeof detections>> = [];
        spec.runs.forEach((_run, r) => {
          const n = expected.runs[r].images.length;
          for (let i = 0; i < n; i++) perImage.push(detections(results[r]!, n === 1 ? '' : `_${i}`));
        });
        assert.ok(perImage.length >= 2);
        const same = matchDetections(perImage[0]!, perImage[1]!, 0.5);
        assert.ok(
          same.length < Math.max(perImage[0]!.length, perImage[1]!.length),
          'the two inputs gave the same detections',
        );
      });
      return;
    }

    it(
      spec.family === 'quantized'
        ? `raw outputs within ${tol.max_abs_output_steps} output quantization steps of PyTorch`
        : `raw outputs within ${tol.max_abs} of PyTorch`,
      () => {
        spec.runs.forEach((run, r) => {
          for (const [oname, ref] of Object.entries(run.outputs)) {
            const got = results[r]![oname];
            assert.ok(got, `output ${oname} present`);
            assert.deepEqual([...got.dims], ref.dims, `${oname} dims`);
            const d = maxAbsDiff(got, loadBin(refDir, ref));
            const limit =
              spec.family === 'quantized'
                ? Number(tol.max_abs_output_steps) * Number(tol.output_scale)
                : Number(tol.max_abs);
            assert.ok(d <= limit, `run ${r} ${oname}: max abs diff ${d} > ${limit}`);
          }
        });
      },
    );

    it('decoded results agree with PyTorch', () => {
      spec.runs.forEach((_run, r) => {
        if (spec.family === 'segmentation') {
          const ours = argmaxMap(results[r]!.out!);
          const ref = loadBin(refDir, expected.runs[r].argmax).data as Uint8Array;
          let eq = 0;
          for (let p = 0; p < ref.length; p++) if (ref[p] === ours[p]) eq++;
          assert.ok(eq / ref.length >= 0.999, `argmax map agreement ${eq}/${ref.length}`);
        } else {
          const logits = results[r]!.logits!.data as Float32Array;
          const top1 = argmax(logits);
          if (spec.family === 'quantized') {
            // INT8 kernels differ (onnxruntime vs fbgemm): top-1 must be among PyTorch's top-5.
            const top5 = (expected.runs[r].topk as Array<{ index: number }>).map((t) => t.index);
            assert.ok(top5.includes(top1), `top-1 ${top1} not in PyTorch top-5 ${top5.join(',')}`);
          } else {
            assert.equal(top1, expected.runs[r].top1, `run ${r} top-1`);
          }
        }
      });
    });

    it('outputs differ between the two inputs', () => {
      assert.ok(results.length >= 2);
      for (const oname of Object.keys(results[0]!)) {
        const d = maxAbsDiff(results[0]![oname]!, results[1]![oname]!);
        assert.ok(!(d <= 1e-3), `${oname}: inputs 0 and 1 give (nearly) the same output (max diff ${d})`);
      }
    });
  });
}
