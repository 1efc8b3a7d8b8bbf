/**
 * `segment` parity: torchvision FCN / DeepLabV3 / LR-ASPP fixtures (argmax agreement >= 99.9 %
 * with PyTorch at model resolution and at source resolution), and the real TF DeepLabV3
 * MobileNetV2 (NHWC) on real photos (MODELS.md "Verification").
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { decodeLabelMapRle, type LabelMapRle } from '../../src/models/decoders/rle.js';
import { argmaxLabels, classFractions, labelMapToFrame } from '../../src/models/decoders/segmentation.js';
import { buildImageBatch } from '../../src/models/image-batch.js';
import { loadManifest } from '../../src/models/manifest.js';
import { OnnxRunner } from '../../src/models/onnx-runner.js';
import { segmentationModel } from '../../src/stages/segment.js';
import { FIXTURES, fixtureFrame, photoFrame, readF32, readJson, REPO, SHARED } from './helpers.js';

interface Expected {
  runs: Array<{ argmax: { file: string; dims: [number, number] }; class_pixels: Record<string, number> }>;
}

function agreement(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

for (const name of ['tiny_fcn', 'tiny_deeplabv3', 'tiny_lraspp']) {
  const dir = path.join(FIXTURES, name);
  const endToEnd: number[] = [];
  describe(`segment parity: ${name}`, {
    skip: existsSync(path.join(dir, 'reference', 'expected.json')) ? false : 'fixture not built yet',
  }, () => {
    it(
      'decoder: argmax at model and source resolution agrees with PyTorch (>= 99.9 %) on the reference tensor; ' +
        'preprocessing within one uint8 level',
      async () => {
        const loaded = loadManifest(path.join(dir, `${name}.manifest.json`));
        const runner = await OnnxRunner.create(loaded.modelPath);
        const model = segmentationModel(loaded, runner, {
          label_map: 'rle',
          include_aux: loaded.manifest.outputs.aux !== undefined,
        });
        const runs = readJson<Expected>(path.join(dir, 'reference', 'expected.json')).runs;
        const frames = runs.map((_, i) => fixtureFrame(path.join(dir, 'reference'), i));
        const results = await model.run(frames);
        for (const [i, run] of runs.entries()) {
          const f = frames[i]!;
          const { tensor, geometries } = buildImageBatch([f], loaded.manifest.input);
          const pre = readF32(path.join(dir, 'reference', `preprocessed_${i}.bin`));
          let d = 0;
          for (let k = 0; k < pre.length; k++) d = Math.max(d, Math.abs((tensor.data as Float32Array)[k]! - pre[k]!));
          // Within one uint8 level (preprocess.ts's resize rounds some pixels differently from torchvision).
          const level = 1 / 255 / Math.min(...loaded.manifest.input.std) + 1e-6;
          assert.ok(d <= level, `preprocessed_${i} differs by ${d}`);
          const ref = new Uint8Array(readFileSync(path.join(dir, 'reference', run.argmax.file)));
          // Decoder parity: the reference preprocessed tensor through ONNX and our argmax.
          const feed = { type: 'float32' as const, dims: tensor.dims, data: pre };
          const out = await runner.run({ [loaded.manifest.input.names[0]!]: feed }, [loaded.manifest.outputs.out!]);
          const decoded = argmaxLabels(
            out[loaded.manifest.outputs.out!]!.data as Float32Array,
            out[loaded.manifest.outputs.out!]!.dims,
            'NCHW',
          ).labels;
          const atDecoder = agreement(decoded, ref);
          assert.ok(atDecoder >= 0.999, `decoder agreement ${atDecoder}`);
          // End to end from the frame (our preprocessing).
          const out2 = await runner.run({ [loaded.manifest.input.names[0]!]: tensor }, [loaded.manifest.outputs.out!]);
          const mine = argmaxLabels(
            out2[loaded.manifest.outputs.out!]!.data as Float32Array,
            out2[loaded.manifest.outputs.out!]!.dims,
            'NCHW',
          ).labels;
          const atModel = agreement(mine, ref);
          endToEnd.push(atModel);
          // Source resolution: the stage's label map vs PyTorch's argmax taken to the frame the same way.
          const [h, w] = run.argmax.dims;
          const refFrame = labelMapToFrame(ref, w, h, geometries[0]!, f.width, f.height);
          const lm = results[i]!.label_map as LabelMapRle;
          assert.deepEqual(lm.size, [f.height, f.width]);
          const atFrame = agreement(decodeLabelMapRle(lm), refFrame);
          endToEnd.push(atFrame);
          // Source resolution from the reference tensor: exact.
          const decodedFrame = labelMapToFrame(decoded, w, h, geometries[0]!, f.width, f.height);
          assert.ok(agreement(decodedFrame, refFrame) >= 0.999);
          // Fractions at source resolution are close to PyTorch's pixel counts at model resolution.
          const fr = classFractions(decodedFrame, loaded.labels);
          for (const [label, px] of Object.entries(run.class_pixels))
            assert.ok(Math.abs((fr[label] ?? 0) - px / (h * w)) < 0.01, `${label}: ${fr[label]} vs ${px / (h * w)}`);
          if (loaded.manifest.outputs.aux) assert.ok(results[i]!.aux_class_fractions);
          console.log(
            `# ${name} image ${i}: preprocess max diff ${d.toExponential(2)}, argmax agreement: decoder ` +
              `${(atDecoder * 100).toFixed(3)} %, end to end ${(atModel * 100).toFixed(3)} % (model res), ` +
              `${(atFrame * 100).toFixed(3)} % (${f.width}x${f.height})`,
          );
        }
        await model.close();
      },
    );
    it('end to end from the frames (our preprocessing) >= 99.9 %', () => {
      const worst = Math.min(...endToEnd);
      assert.ok(worst >= 0.999, `worst agreement ${worst}`);
    });
  });
}

const DEEPLAB = path.join(REPO, 'models', 'deeplabv3-mobilenetv2-257', 'deeplabv3-mobilenetv2-257.manifest.json');
describe('segment: TF DeepLabV3 MobileNetV2 (NHWC) on real photos', {
  skip: existsSync(path.join(SHARED, 'models', 'segmentation', 'deeplabv3_mobilenetv2_257.onnx'))
    ? false
    : 'shared models missing',
}, () => {
  it('girl-dog → person ~ 1/4; cat → cat; jockey → horse + person; highway → car', async () => {
    const loaded = loadManifest(DEEPLAB);
    const runner = await OnnxRunner.create(loaded.modelPath);
    const model = segmentationModel(loaded, runner, { label_map: 'png', include_aux: false });
    const names = ['girl-dog.jpg', 'cat.png', 'jockey-horse.jpg', 'highway-cars.jpg'];
    const frames = names.map((p) => photoFrame(path.join(SHARED, 'media', 'photos', p)));
    const [girl, cat, jockey, highway] = await model.run(frames);
    assert.ok(
      girl!.class_fractions.person! > 0.15 && girl!.class_fractions.person! < 0.45,
      JSON.stringify(girl!.class_fractions),
    );
    assert.ok(cat!.class_fractions.cat! > 0.4, JSON.stringify(cat!.class_fractions));
    assert.ok(
      jockey!.class_fractions.horse! > 0.05 && jockey!.class_fractions.person! > 0.02,
      JSON.stringify(jockey!.class_fractions),
    );
    assert.ok(highway!.class_fractions.car! > 0.002, JSON.stringify(highway!.class_fractions));
    const png = Buffer.from((girl!.label_map as { data: string }).data, 'base64');
    assert.equal(png.readUInt32BE(16), 640);
    assert.equal(png.readUInt32BE(20), 962);
    await model.close();
  });
});
