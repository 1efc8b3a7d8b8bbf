/**
 * Worker entry of the inference pool (inference-worker-pool.ts). It creates one ONNX Runtime
 * session when the thread starts (from `workerData`), reports the model's inputs and outputs,
 * then runs one job at a time on that session for the life of the thread. Input tensors arrive
 * by transfer (SharedArrayBuffer data is copied here, off the main thread: onnxruntime-node
 * rejects shared memory); output buffers go back by transfer.
 * A failing run is answered with an error message; only a crash ends the thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { OnnxRunner } from './onnx-runner.js';
import type { InferenceReply, InferenceRequest, InferenceWorkerData } from './inference-worker-pool.js';
import type { Tensor } from './runner.js';

const port = parentPort;
if (!port) throw new Error('inference-worker.ts must run as a worker thread (see inference-worker-pool.ts)');
const init = workerData as InferenceWorkerData;

/** A buffer the reply may transfer: the array must own all of it, else it is copied once. */
function ownBuffer(t: Tensor): Tensor {
  const d = t.data;
  if (d.buffer instanceof ArrayBuffer && d.byteOffset === 0 && d.byteLength === d.buffer.byteLength) return t;
  return { type: t.type, dims: [...t.dims], data: d.slice() };
}

/** onnxruntime-node rejects typed arrays over a SharedArrayBuffer: copy those here, off the main thread. */
function ownInput(t: Tensor): Tensor {
  if (typeof SharedArrayBuffer === 'undefined' || !(t.data.buffer instanceof SharedArrayBuffer)) return t;
  return { type: t.type, dims: t.dims, data: t.data.slice() };
}

let crashNext = false;

async function main(): Promise<void> {
  let runner: OnnxRunner;
  try {
    runner = await OnnxRunner.create(init.modelPath, init.options);
  } catch (err) {
    port!.postMessage({ type: 'init_error', message: (err as Error).message } satisfies InferenceReply);
    return;
  }
  port!.postMessage({ type: 'ready', inputs: runner.inputs, outputs: runner.outputs } satisfies InferenceReply);
  port!.on('message', (job: InferenceRequest) => {
    if (job.type === 'crash') {
      // Test hook: the next run fails the way an uncaught error would, after its inference and
      // before its reply (the run is in flight when the thread dies).
      crashNext = true;
      return;
    }
    const started = Date.now();
    const feeds: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(job.feeds)) feeds[name] = ownInput(t);
    runner.run(feeds, job.outputNames).then(
      (raw) => {
        if (crashNext) throw new Error('inference worker crashed on request (test hook)');
        const outputs: Record<string, Tensor> = {};
        for (const [name, t] of Object.entries(raw)) outputs[name] = ownBuffer(t);
        const reply: InferenceReply = {
          type: 'result',
          id: job.id,
          outputs,
          infer_start_ms: started,
          infer_end_ms: Date.now(),
        };
        const transfer = [...new Set(Object.values(outputs).map((t) => t.data.buffer as ArrayBuffer))];
        try {
          port!.postMessage(reply, transfer);
        } catch {
          // A buffer onnxruntime will not let go of (not detachable): send a copy instead.
          port!.postMessage(reply);
        }
      },
      (err: unknown) => {
        if (crashNext) throw err;
        port!.postMessage({
          type: 'run_error',
          id: job.id,
          message: err instanceof Error ? err.message : String(err),
        } satisfies InferenceReply);
      },
    );
  });
}

void main();
