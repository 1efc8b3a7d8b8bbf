/**
 * Inference off the main thread: `WorkerRunner` is the ModelRunner every model stage gets. It runs
 * onnxruntime-node (`OnnxRunner`, whose `session.run` computes on the calling thread) inside
 * worker threads, so the event loop keeps reading ffmpeg and applying drop policies while a model
 * runs.
 *
 * Lifecycle. Pools are process-wide, one per (model file, execution providers, intra-op threads,
 * device, spinning): each worker of a pool creates its session once when it starts and keeps it
 * for the life of the process. A second stage on the same model, or a stage opened again (a
 * pipeline restarted in the same process), gets a new `WorkerRunner` handle on the same pool and
 * creates no session: session churn leaks memory in onnxruntime-node. `WorkerRunner.close()`
 * only ends the handle; idle workers are unref'd so they never hold the process open, and
 * `shutdownInferencePools()` ends them all. A pool grows to the largest `workers` any stage asked
 * for.
 *
 * Data. Input tensors whose typed array spans its whole ArrayBuffer are transferred to the worker
 * (the caller's array is detached after `run`: callers build a fresh tensor per call); a view
 * into a larger buffer is copied once into a transferable buffer (`stats.copied_inputs`);
 * SharedArrayBuffer data is shared with the worker, which copies it (onnxruntime-node rejects
 * shared memory; `stats.shared_inputs`). Outputs come back by transfer.
 *
 * Crashes. A worker that errs or exits is replaced; the run it had in flight rejects with a
 * `WorkerLostError` (the model stage turns it into MODEL_RUN error records, after one retry for
 * file sources), queued runs go to the other or the replacement worker. Runs are never left hanging.
 */
import { Worker } from 'node:worker_threads';
import { VidflowError } from '../core/errors.js';
import { OnnxRunner } from './onnx-runner.js';
import type { ModelIOInfo, ModelRunner, RunnerOptions, Tensor } from './runner.js';
import { DEFAULT_RUNNER_OPTIONS } from './runner.js';
import { workerEntryUrl } from './worker-entry.js';

/** `workerData` of an inference worker. */
export interface InferenceWorkerData {
  modelPath: string;
  options: RunnerOptions;
}

/** Message to a worker. `crash` is a test hook: the worker throws an uncaught error. */
export type InferenceRequest =
  | { type: 'run'; id: number; feeds: Record<string, Tensor>; outputNames?: readonly string[] }
  | { type: 'crash' };

/** Message from a worker. */
export type InferenceReply =
  | { type: 'ready'; inputs: readonly ModelIOInfo[]; outputs: readonly ModelIOInfo[] }
  | { type: 'init_error'; message: string }
  | { type: 'result'; id: number; outputs: Record<string, Tensor>; infer_start_ms: number; infer_end_ms: number }
  | { type: 'run_error'; id: number; message: string };

/** A run whose worker crashed or exited before answering. */
export class WorkerLostError extends Error {
  override readonly name = 'WorkerLostError';
}

export function isWorkerLost(err: unknown): err is WorkerLostError {
  return err instanceof WorkerLostError;
}

interface Job {
  id: number;
  feeds: Record<string, Tensor>;
  outputNames: readonly string[] | undefined;
  transfer: ArrayBuffer[];
  resolve(out: Record<string, Tensor>): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  busy: Job | null;
  gone: boolean;
}

function isShared(data: Tensor['data']): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer;
}

/** The workers (and their sessions) of one model configuration. */
export class InferencePool {
  readonly stats = {
    sessions_created: 0,
    runs: 0,
    worker_restarts: 0,
    transferred_inputs: 0,
    copied_inputs: 0,
    shared_inputs: 0,
  };
  /** Open `WorkerRunner` handles. */
  handles = 0;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private target = 0;
  private nextId = 1;
  private closed = false;
  private broken: Error | null = null;
  private io: { inputs: readonly ModelIOInfo[]; outputs: readonly ModelIOInfo[] } | null = null;
  private readonly readyWaiters: Array<{ resolve(): void; reject(err: Error): void }> = [];

  constructor(
    readonly key: string,
    readonly modelPath: string,
    readonly options: RunnerOptions,
    private readonly onDead: (pool: InferencePool) => void,
  ) {}

  get inputs(): readonly ModelIOInfo[] {
    return this.io?.inputs ?? [];
  }
  get outputs(): readonly ModelIOInfo[] {
    return this.io?.outputs ?? [];
  }
  /** Live worker threads. */
  get workers(): number {
    return this.slots.length;
  }
  /** Runs waiting for a free worker. */
  get queued(): number {
    return this.queue.length;
  }
  /** Workers running a batch now. */
  get busy(): number {
    return this.slots.filter((s) => s.busy !== null).length;
  }

  /** Grows the pool to `n` workers and waits until the first one has its session. */
  async open(n: number, where?: string): Promise<void> {
    if (this.broken) throw this.broken;
    this.target = Math.max(this.target, n);
    while (this.slots.length < this.target) this.spawn();
    if (this.io) return;
    await new Promise<void>((resolve, reject) => this.readyWaiters.push({ resolve, reject })).catch((err: Error) => {
      throw new VidflowError('MODEL_NOT_FOUND', `${where ? `${where}: ` : ''}${err.message}`, {
        cause: err,
        ...(where ? { where } : {}),
      });
    });
  }

  run(feeds: Record<string, Tensor>, outputNames?: readonly string[]): Promise<Record<string, Tensor>> {
    if (this.closed) return Promise.reject(new Error('the inference pool is shut down'));
    if (this.broken) return Promise.reject(this.broken);
    const sent: Record<string, Tensor> = {};
    const transfer = new Set<ArrayBuffer>();
    for (const [name, t] of Object.entries(feeds)) {
      let data = t.data;
      if (isShared(data)) this.stats.shared_inputs += 1;
      else {
        const buf = data.buffer as ArrayBuffer;
        if (data.byteOffset !== 0 || data.byteLength !== buf.byteLength) {
          data = data.slice();
          this.stats.copied_inputs += 1;
        } else if (!transfer.has(buf)) this.stats.transferred_inputs += 1;
        transfer.add(data.buffer as ArrayBuffer);
      }
      sent[name] = { type: t.type, dims: [...t.dims], data };
    }
    this.stats.runs += 1;
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, feeds: sent, outputNames, transfer: [...transfer], resolve, reject });
      this.pump();
    });
  }

  /**
   * Test hook: every worker dies (an uncaught error) at the end of its next run, before replying,
   * so that run is in flight when its thread is lost.
   */
  crashWorkersOnNextRun(): void {
    for (const s of this.slots) s.worker.postMessage({ type: 'crash' } satisfies InferenceRequest);
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('the inference pool was shut down');
    for (const j of this.queue.splice(0)) j.reject(err);
    for (const w of this.readyWaiters.splice(0)) w.reject(err);
    // A worker is never terminated inside a run: onnxruntime-node aborts the whole process when
    // a session's run returns into a terminated thread. Busy workers finish their run first.
    await Promise.all(
      this.slots.splice(0).map(async (s) => {
        s.gone = true;
        if (s.busy)
          await new Promise<void>((resolve) => s.worker.once('message', () => resolve()).once('exit', () => resolve()));
        s.busy?.reject(err);
        s.busy = null;
        await s.worker.terminate();
      }),
    );
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => s.ready && !s.busy);
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.busy = job;
      slot.worker.ref();
      const msg: InferenceRequest = {
        type: 'run',
        id: job.id,
        feeds: job.feeds,
        ...(job.outputNames ? { outputNames: job.outputNames } : {}),
      };
      try {
        slot.worker.postMessage(msg, job.transfer);
      } catch (err) {
        slot.busy = null;
        job.reject(err as Error);
      }
    }
  }

  private spawn(): void {
    const data: InferenceWorkerData = { modelPath: this.modelPath, options: this.options };
    const worker = new Worker(workerEntryUrl(import.meta.url, 'inference-worker'), {
      name: 'vidflow-inference',
      workerData: data,
    });
    const slot: Slot = { worker, ready: false, busy: null, gone: false };
    this.slots.push(slot);
    worker.on('message', (reply: InferenceReply) => {
      if (reply.type === 'ready') {
        slot.ready = true;
        this.stats.sessions_created += 1;
        if (!this.io) this.io = { inputs: reply.inputs, outputs: reply.outputs };
        for (const w of this.readyWaiters.splice(0)) w.resolve();
      } else if (reply.type === 'init_error') {
        this.fail(new Error(reply.message));
        return;
      } else {
        const job = slot.busy;
        slot.busy = null;
        if (job && job.id === reply.id) {
          if (reply.type === 'result') job.resolve(reply.outputs);
          else job.reject(new Error(reply.message));
        }
      }
      this.pump();
      if (!slot.busy) worker.unref();
    });
    const lost = (why: string) => {
      if (slot.gone) return;
      slot.gone = true;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      const job = slot.busy;
      slot.busy = null;
      job?.reject(new WorkerLostError(`inference worker for ${this.modelPath} ${why}`));
      if (this.closed || this.broken) return;
      if (!slot.ready) {
        // It never got a session: a replacement would fail the same way.
        this.fail(new Error(`inference worker for ${this.modelPath} ${why} before its session was ready`));
        return;
      }
      this.stats.worker_restarts += 1;
      while (this.slots.length < this.target) this.spawn();
    };
    worker.on('error', (err) => lost(`crashed: ${err.message}`));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
  }

  /** The pool cannot run (a session could not be created): everything waiting rejects. */
  private fail(err: Error): void {
    if (this.broken) return;
    this.broken = err;
    for (const w of this.readyWaiters.splice(0)) w.reject(err);
    for (const j of this.queue.splice(0)) j.reject(err);
    this.onDead(this);
    void this.shutdown();
  }
}

const pools = new Map<string, InferencePool>();

function poolKey(modelPath: string, o: RunnerOptions): string {
  return JSON.stringify([modelPath, o.execution_providers, o.intra_op_threads, o.device_id, o.allow_spinning ?? null]);
}

/** The process-wide pool of a model configuration (for tests and benchmarks; stages use `createRunner`). */
export function inferencePool(modelPath: string, options: Partial<RunnerOptions> = {}): InferencePool {
  const opts: RunnerOptions = { ...DEFAULT_RUNNER_OPTIONS, ...options };
  const key = poolKey(modelPath, opts);
  let pool = pools.get(key);
  if (!pool) {
    pool = new InferencePool(key, modelPath, opts, (dead) => {
      if (pools.get(dead.key) === dead) pools.delete(dead.key);
    });
    pools.set(key, pool);
  }
  return pool;
}

/** The process-wide pools now open (the HTTP endpoint's queue-depth gauges read them on each scrape). */
export function inferencePools(): InferencePool[] {
  return [...pools.values()];
}

/** Ends every pool's workers and sessions (the next run starts new ones). */
export async function shutdownInferencePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.shutdown()));
}

/** A stage's handle on a shared pool. */
export class WorkerRunner implements ModelRunner {
  private closed = false;
  private constructor(readonly pool: InferencePool) {}

  static async create(modelPath: string, options: Partial<RunnerOptions> = {}, where?: string): Promise<WorkerRunner> {
    const pool = inferencePool(modelPath, options);
    await pool.open(Math.max(1, options.workers ?? DEFAULT_RUNNER_OPTIONS.workers), where);
    pool.handles += 1;
    return new WorkerRunner(pool);
  }

  get inputs(): readonly ModelIOInfo[] {
    return this.pool.inputs;
  }
  get outputs(): readonly ModelIOInfo[] {
    return this.pool.outputs;
  }

  run(feeds: Record<string, Tensor>, outputNames?: readonly string[]): Promise<Record<string, Tensor>> {
    if (this.closed) return Promise.reject(new Error(`the runner of ${this.pool.modelPath} is closed`));
    return this.pool.run(feeds, outputNames);
  }

  /** Ends this handle; the pool's sessions stay for the next stage that opens the model. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pool.handles -= 1;
  }
}

/** The runner a model stage gets: worker threads, or in-thread with `workers: 0` (blocks the event loop; for
 * comparison). */
export function createRunner(
  modelPath: string,
  options: Partial<RunnerOptions> = {},
  where?: string,
): Promise<ModelRunner> {
  const workers = options.workers ?? DEFAULT_RUNNER_OPTIONS.workers;
  return workers === 0 ? OnnxRunner.create(modelPath, options, where) : WorkerRunner.create(modelPath, options, where);
}
