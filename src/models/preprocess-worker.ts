/**
 * Worker entry of the preprocessing pool (preprocess-pool.ts): runs `preprocessInto` on a frame
 * it reads in place (a SharedArrayBuffer frame is not copied) and sends the tensor back by
 * transferring its buffer. One job at a time; errors go back as messages, never crash the thread.
 */
import { parentPort } from 'node:worker_threads';
import { inputSize, preprocessInto } from './preprocess.js';
import type { PreprocessJob, PreprocessReply } from './preprocess-pool.js';

const port = parentPort;
if (!port) throw new Error('preprocess-worker.ts must run as a worker thread (see preprocess-pool.ts)');

port.on('message', (job: PreprocessJob) => {
  try {
    const { width, height } = inputSize(job.width, job.height, job.spec);
    const out = new Float32Array(3 * width * height);
    const geometry = preprocessInto(job.data, job.width, job.height, job.spec, out, 0, job.layout);
    const reply: PreprocessReply = { id: job.id, data: out, geometry };
    port.postMessage(reply, [out.buffer]);
  } catch (err) {
    const reply: PreprocessReply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
    port.postMessage(reply);
  }
});
