/** `classify_clip` parity: r3d_18 / mc3_18 / r2plus1d_18 fixtures through the stage operator: preprocessing and
 * top-1 equal PyTorch's. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import type { Frame } from '../../src/core/frame.js';
import { loadManifest } from '../../src/models/manifest.js';
import { OnnxRunner } from '../../src/models/onnx-runner.js';
import { assembleClip, clipModel, clipStage } from '../../src/stages/classify-clip.js';
import { FIXTURES, frameFrom, readF32, readJson } from './helpers.js';
import { stageDeps } from '../support/fakes.js';

interface Expected {
  runs: Array<{ top1: number; top1_label: string; topk: Array<{ index: number; probability: number }> }>;
}

/** The fixture's 16 THWC frames as a stream. */
function clipFrames(dir: string, n: number, stream: string): Frame[] {
  const meta = readJson<{ width: number; height: number; frames: number }>(path.join(dir, `input_${n}.json`));
  const buf = new Uint8Array(readFileSync(path.join(dir, `input_${n}.rgb`)));
  const size = meta.width * meta.height * 3;
  return Array.from({ length: meta.frames }, (_, t) =>
    frameFrom(buf.subarray(t * size, (t + 1) * size), meta.width, meta.height, t, stream, t / 30),
  );
}

for (const name of ['tiny_r3d_18', 'tiny_mc3_18', 'tiny_r2plus1d_18']) {
  const dir = path.join(FIXTURES, name);
  describe(`classify_clip parity: ${name}`, {
    skip: existsSync(path.join(dir, 'reference', 'expected.json')) ? false : 'fixture not built yet',
  }, () => {
    it('per-frame preprocessing equals the reference clip; top-1 equals PyTorch (two streams batched)', async () => {
      const loaded = loadManifest(path.join(dir, `${name}.manifest.json`));
      const runner = await OnnxRunner.create(loaded.modelPath);
      const model = clipModel(loaded, runner, { top_k: 5, min_score: 0 });
      const runs = readJson<Expected>(path.join(dir, 'reference', 'expected.json')).runs;
      const streams = runs.map((_, i) => clipFrames(path.join(dir, 'reference'), i, `s${i}`));
      for (const [i, frames] of streams.entries()) {
        const slots = frames.map((f) => {
          const s = new Float32Array(3 * model.planeSize);
          model.fill(f, s);
          return s;
        });
        const clip = assembleClip(slots, model.planeSize);
        const pre = readF32(path.join(dir, 'reference', `preprocessed_${i}.bin`));
        assert.equal(clip.length, pre.length);
        let d = 0;
        for (let k = 0; k < pre.length; k++) d = Math.max(d, Math.abs(clip[k]! - pre[k]!));
        let n = 0;
        for (let k = 0; k < pre.length; k++) if (Math.abs(clip[k]! - pre[k]!) > 1e-5) n++;
        // Within one uint8 level of torchvision's resize.
        const level = 1.001 / 255 / Math.min(...loaded.manifest.input.std);
        assert.ok(d <= level, `clip ${i} preprocessing differs by ${d}`);
        // Decoder parity on the reference clip tensor.
        const [fromRef] = await model.run([pre]);
        assert.equal(fromRef!.top[0]!.label_id, runs[i]!.top1);
        console.log(
          `# ${name} clip ${i}: preprocessing max diff ${d.toExponential(2)}, ${((n / pre.length) * 100).toFixed(2)} ` +
            `% of values off by one uint8 level`,
        );
      }
      // Interleave both streams through the stage operator.
      const interleaved = streams[0]!.flatMap((_f, t) => streams.map((s) => s[t]!));
      const op = clipStage(
        model,
        { id: 'act', pipeline: 'p', every_n_frames: 1, fps: null, batch_size: 2, max_wait_ms: 50, stride_frames: null },
        stageDeps(),
      );
      const outcomes = await lastValueFrom(from(interleaved).pipe(op, toArray()));
      assert.equal(outcomes.length, interleaved.length);
      const records = outcomes.flatMap((o) => o.records);
      assert.equal(records.length, runs.length);
      for (const [i, run] of runs.entries()) {
        const r = records.find((x) => x.stream_id === `s${i}`)!;
        const top = (r.results as { top: Array<{ label_id: number; label: string; score: number }> }).top;
        assert.equal(top[0]!.label_id, run.top1, `${name} clip ${i}: top-1 ${top[0]!.label} vs ${run.top1_label}`);
        // Probabilities move slightly with the one-level preprocessing differences.
        assert.ok(
          Math.abs(top[0]!.score - run.topk[0]!.probability) < 0.02,
          `p ${top[0]!.score} vs ${run.topk[0]!.probability}`,
        );
        console.log(
          `# ${name} clip ${i} end to end: top-1 ${top[0]!.label} p=${top[0]!.score} (PyTorch ` +
            `${run.topk[0]!.probability.toFixed(6)})`,
        );
        assert.equal(r.frame_index, 15);
        assert.equal(r.pts_start, 0);
        assert.equal(r.pts_end, 15 / 30);
      }
      await model.close();
    });
  });
}
