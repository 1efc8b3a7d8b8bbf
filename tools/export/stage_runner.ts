/**
 * vidflow's side of tools/export/measure_stages.py: preprocesses raw RGB frames exactly as the
 * stages do (buildImageBatch with the manifest's input spec) and, with `run_model`, runs the
 * model through OnnxRunner and takes vidflow's per-pixel argmax (segmentation).
 *
 *   node --import tsx tools/export/stage_runner.ts job.json
 *
 * job.json: { "manifest": "x.manifest.json", "run_model": true, "out": "/tmp/dir",
 *             "frames": [ { "file": "f0.rgb", "width": 640, "height": 480 } ] }
 * Writes <out>/pre_<i>.bin (float32 NCHW) and, with run_model, <out>/argmax_<i>.bin (uint8 HxW),
 * and <out>/result.json with the dims. A frame's optional "ref_pre": { "file", "dims" } (a float32
 * tensor made elsewhere, e.g. torchvision's) also goes through the model: <out>/argmax_ref_<i>.bin.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Frame } from '../../src/core/frame.js';
import { argmaxLabels, type OutputLayout } from '../../src/models/decoders/segmentation.js';
import { buildImageBatch } from '../../src/models/image-batch.js';
import { loadManifest } from '../../src/models/manifest.js';
import { OnnxRunner } from '../../src/models/onnx-runner.js';

interface Job {
  manifest: string;
  run_model?: boolean;
  out: string;
  frames: Array<{ file: string; width: number; height: number; ref_pre?: { file: string; dims: number[] } }>;
}

const job = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as Job;
const loaded = loadManifest(job.manifest);
const runner = job.run_model ? await OnnxRunner.create(loaded.modelPath) : null;
const result: Array<{ pre_dims: readonly number[]; argmax_dims?: [number, number] }> = [];
for (const [i, f] of job.frames.entries()) {
  const buf = readFileSync(f.file);
  const frame: Frame = {
    stream_id: 's0',
    index: i,
    pts: i,
    width: f.width,
    height: f.height,
    data: new Uint8Array(buf.buffer, buf.byteOffset, buf.length),
    decoded_at_ms: 0,
    captured_at_ms: 0,
  };
  const { tensor } = buildImageBatch([frame], loaded.manifest.input);
  const data = tensor.data as Float32Array;
  writeFileSync(path.join(job.out, `pre_${i}.bin`), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  const row: (typeof result)[number] = { pre_dims: tensor.dims };
  if (runner) {
    const outName = loaded.manifest.outputs.out!;
    const out = await runner.run({ [loaded.manifest.input.names[0]!]: tensor }, [outName]);
    const am = argmaxLabels(
      out[outName]!.data as Float32Array,
      out[outName]!.dims,
      (loaded.manifest.decoder.output_layout as OutputLayout | undefined) ?? 'NCHW',
    );
    writeFileSync(path.join(job.out, `argmax_${i}.bin`), am.labels);
    row.argmax_dims = [am.height, am.width];
    if (f.ref_pre) {
      const rb = readFileSync(f.ref_pre.file);
      const ref = {
        type: 'float32' as const,
        dims: f.ref_pre.dims,
        data: new Float32Array(rb.buffer.slice(rb.byteOffset, rb.byteOffset + rb.length)),
      };
      const o2 = await runner.run({ [loaded.manifest.input.names[0]!]: ref }, [outName]);
      writeFileSync(
        path.join(job.out, `argmax_ref_${i}.bin`),
        argmaxLabels(
          o2[outName]!.data as Float32Array,
          o2[outName]!.dims,
          (loaded.manifest.decoder.output_layout as OutputLayout | undefined) ?? 'NCHW',
        ).labels,
      );
    }
  }
  result.push(row);
}
await runner?.close();
writeFileSync(path.join(job.out, 'result.json'), JSON.stringify(result));
