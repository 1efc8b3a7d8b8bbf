/**
 * Raw inference limit for bench/throughput.ts, run as its own process: onnxruntime-node's
 * `session.run` in a tight loop on one preallocated input of `shape` (random values), with the
 * session options vidflow's model stages use by default (sessionOptionsFor: graph optimization
 * `all`, onnxruntime's intra-op thread count, spinning off). Prints one JSON line:
 * { "fps": items (batch × runs) per second, "ms_per_run": median ms of one run, "runs": n }.
 * An item is a frame for image models and a clip for clip models. VIDFLOW_BENCH_EP=cuda (a
 * comma-separated list) asks for those execution providers, as the stages' `execution_providers`.
 *
 *   node --import tsx bench/throughput/infer-only.ts <model.onnx> <runs> <dim,dim,...>
 */
import * as ort from 'onnxruntime-node';
import { DEFAULT_RUNNER_OPTIONS, type RunnerOptions } from '../../src/models/runner.js';
import { sessionOptionsFor } from '../../src/models/onnx-runner.js';

const [modelPath, runsArg, shapeArg] = process.argv.slice(2);
if (!modelPath || !runsArg || !shapeArg) {
  console.error('usage: infer-only.ts <model.onnx> <runs> <dim,dim,...>');
  process.exit(2);
}
const shape = shapeArg.split(',').map(Number);
const runs = Number(runsArg);
const providers = process.env.VIDFLOW_BENCH_EP?.split(',') as RunnerOptions['execution_providers'] | undefined;
const session = await ort.InferenceSession.create(
  modelPath,
  sessionOptionsFor({
    ...DEFAULT_RUNNER_OPTIONS,
    ...(providers ? { execution_providers: providers } : {}),
    allow_spinning: false,
  }),
);
const size = shape.reduce((a, b) => a * b, 1);
const data = new Float32Array(size);
for (let i = 0; i < size; i++) data[i] = Math.random();
const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', data, shape) };
for (let i = 0; i < 3; i++) await session.run(feeds);
const times: number[] = [];
const t0 = performance.now();
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  await session.run(feeds);
  times.push(performance.now() - t);
}
const seconds = (performance.now() - t0) / 1000;
times.sort((a, b) => a - b);
const batch = shape[0]!;
console.log(
  JSON.stringify({
    fps: (runs * batch) / seconds,
    ms_per_run: times[Math.floor(times.length / 2)],
    runs,
  }),
);
await session.release();
