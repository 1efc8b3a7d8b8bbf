/**
 * Runs an ONNX model through vidflow's OnnxRunner (onnxruntime-node) for the parity sweep.
 *
 *   node --import tsx tools/export/node_runner.ts job.json
 *
 * job.json: { "model": "x.onnx", "repeat": 3,
 *             "runs": [ { "feeds": { "<input>": { "file": "a.bin", "dims": [..], "type": "float32" } },
 *                         "out": "/tmp/run0" } ] }
 * For each run writes <out>.json ({ name: { file, dims, type } }, plus ms timings) and
 * <out>_<name>.bin (little-endian raw data). Prints one JSON line with the timings.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OnnxRunner } from '../../src/models/onnx-runner.js';
import type { Tensor } from '../../src/models/runner.js';

interface Feed {
  file: string;
  dims: number[];
  type: 'float32' | 'int64' | 'uint8';
}
interface Job {
  model: string;
  repeat?: number;
  runs: Array<{ feeds: Record<string, Feed>; out: string }>;
}

function readFeed(f: Feed, base: string): Tensor {
  const buf = readFileSync(path.resolve(base, f.file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const data =
    f.type === 'float32' ? new Float32Array(ab) : f.type === 'int64' ? new BigInt64Array(ab) : new Uint8Array(ab);
  return { type: f.type, dims: f.dims, data } as Tensor;
}

const jobPath = process.argv[2];
if (!jobPath) throw new Error('usage: node_runner.ts job.json');
const job = JSON.parse(readFileSync(jobPath, 'utf8')) as Job;
const base = path.dirname(path.resolve(jobPath));
const t0 = performance.now();
const runner = await OnnxRunner.create(path.resolve(base, job.model));
const createMs = performance.now() - t0;
const timings: number[] = [];
for (const run of job.runs) {
  const feeds: Record<string, Tensor> = {};
  for (const [name, f] of Object.entries(run.feeds)) feeds[name] = readFeed(f, base);
  let out: Record<string, Tensor> = {};
  const repeat = Math.max(1, job.repeat ?? 1);
  for (let i = 0; i < repeat; i++) {
    const s = performance.now();
    out = await runner.run(feeds);
    timings.push(performance.now() - s);
  }
  const meta: Record<string, { file: string; dims: readonly number[]; type: string }> = {};
  for (const [name, t] of Object.entries(out)) {
    const file = `${run.out}_${name}.bin`;
    const d = t.data as unknown as ArrayBufferView;
    writeFileSync(path.resolve(base, file), Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    meta[name] = { file: path.basename(file), dims: t.dims, type: t.type };
  }
  writeFileSync(path.resolve(base, `${run.out}.json`), JSON.stringify(meta));
}
await runner.close();
const sorted = [...timings].sort((a, b) => a - b);
console.log(
  JSON.stringify({ create_ms: createMs, median_ms: sorted[Math.floor(sorted.length / 2)], runs: timings.length }),
);
