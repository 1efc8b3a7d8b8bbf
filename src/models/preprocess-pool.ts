/**
 * Preprocessing off the main thread: a pool of worker threads running the pure functions of
 * preprocess.ts (resize, crop, letterbox, normalize into a float tensor) on frames.
 *
 * Frames whose pixels live in a SharedArrayBuffer (every frame the ffmpeg decoder emits) are read
 * by the worker in place; the tensor comes back by transferring its ArrayBuffer. Neither direction
 * copies pixel or tensor data. A frame in an ordinary ArrayBuffer (tests, hand-made frames) is
 * copied once into a transferable buffer, counted in `stats.copied_frames`.
 *
 * Jobs wait in one FIFO queue and go to the first idle worker, so results are the same as the
 * in-thread `preprocessInto` bit for bit (same code, same float32 arithmetic) and independent of
 * which worker ran them. Workers start on first use and hold the process open only while they
 * have work. `threads: 0` runs jobs in-thread (the behaviour before the pool; for comparison).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Frame } from '../core/frame.js';
import type { ModelInputSpec } from './manifest.js';
import { inputSize, preprocessInto, type Geometry } from './preprocess.js';
import { workerEntryUrl } from './worker-entry.js';

export type PreprocessSpec = Pick<
  ModelInputSpec,
  'resize' | 'crop' | 'scale' | 'mean' | 'std' | 'color' | 'interpolation'
>;
export type TensorLayout = 'NCHW' | 'NHWC' | 'CHW';

/** One preprocessed image: a 3×H×W (or H×W×3) float32 tensor and its frame mapping. */
export interface PreparedImage {
  data: Float32Array;
  width: number;
  height: number;
  geometry: Geometry;
}

/** Message to a worker. */
export interface PreprocessJob {
  id: number;
  data: Uint8Array;
  width: number;
  height: number;
  spec: PreprocessSpec;
  layout: TensorLayout;
}

/** Message from a worker. */
export type PreprocessReply =
  | { id: number; data: Float32Array; geometry: Geometry; error?: undefined }
  | { id: number; error: string };

export interface PreprocessPoolOptions {
  /** Worker threads (0: preprocess in-thread). Default: `defaultPreprocessThreads()`. */
  threads?: number;
}

/** Environment variable that sets the shared pool's size. */
export const PREPROCESS_THREADS_ENV = 'VIDFLOW_PREPROCESS_THREADS';

/** One thread per core but one, and at least one. */
export function defaultPreprocessThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** Whether a frame's pixels can be read by another thread without a copy. */
export function isSharedPixels(data: Uint8Array): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer;
}

/** A frame buffer that worker threads can read in place (what the decoder allocates per frame). */
export function sharedPixels(byteLength: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(byteLength));
}

/** Preprocesses in the calling thread (the reference the pool must match). */
export function preprocessInThread(
  frame: Pick<Frame, 'data' | 'width' | 'height'>,
  spec: PreprocessSpec,
  layout: TensorLayout,
): PreparedImage {
  const { width, height } = inputSize(frame.width, frame.height, spec);
  const data = new Float32Array(3 * width * height);
  const geometry = preprocessInto(frame.data, frame.width, frame.height, spec, data, 0, layout);
  return { data, width, height, geometry };
}

interface Pending {
  job: PreprocessJob;
  transfer: ArrayBuffer[];
  resolve(image: PreparedImage): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  busy: Pending | null;
  replied: boolean;
}

export class PreprocessPool {
  readonly threads: number;
  /** Jobs run, and frames that had to be copied because their pixels were not shared. */
  readonly stats = { jobs: 0, copied_frames: 0 };
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private broken: Error | null = null;

  constructor(options: PreprocessPoolOptions = {}) {
    const threads = options.threads ?? defaultPreprocessThreads();
    if (!Number.isInteger(threads) || threads < 0)
      throw new RangeError(`preprocess threads must be a whole number ≥ 0, got ${threads}`);
    this.threads = threads;
  }

  /** Worker threads started so far. */
  get started(): number {
    return this.slots.length;
  }

  /** Preprocesses one frame; resolves with its tensor (rejects with the worker's error). */
  preprocess(
    frame: Pick<Frame, 'data' | 'width' | 'height'>,
    spec: PreprocessSpec,
    layout: TensorLayout,
  ): Promise<PreparedImage> {
    if (this.closed) return Promise.reject(new Error('the preprocessing pool is closed'));
    if (this.broken) return Promise.reject(this.broken);
    this.stats.jobs += 1;
    if (this.threads === 0) {
      try {
        return Promise.resolve(preprocessInThread(frame, spec, layout));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    const shared = isSharedPixels(frame.data);
    if (!shared) this.stats.copied_frames += 1;
    const data = shared ? frame.data : frame.data.slice();
    const job: PreprocessJob = {
      id: this.nextId++,
      data,
      width: frame.width,
      height: frame.height,
      spec: {
        resize: spec.resize,
        crop: spec.crop,
        scale: spec.scale,
        mean: spec.mean,
        std: spec.std,
        color: spec.color,
        interpolation: spec.interpolation,
      },
      layout,
    };
    return new Promise<PreparedImage>((resolve, reject) => {
      this.queue.push({ job, transfer: shared ? [] : [data.buffer as ArrayBuffer], resolve, reject });
      this.pump();
    });
  }

  /** Stops the workers; queued and running jobs reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('the preprocessing pool was closed');
    for (const p of this.queue.splice(0)) p.reject(err);
    await Promise.all(
      this.slots.splice(0).map((s) => {
        s.busy?.reject(err);
        s.busy = null;
        return s.worker.terminate();
      }),
    );
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => !s.busy) ?? (this.slots.length < this.threads ? this.spawn() : null);
      if (!slot) return;
      const p = this.queue.shift()!;
      slot.busy = p;
      slot.worker.ref();
      slot.worker.postMessage(p.job, p.transfer);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(workerEntryUrl(import.meta.url, 'preprocess-worker'), { name: 'vidflow-preprocess' });
    const slot: Slot = { worker, busy: null, replied: false };
    worker.on('message', (reply: PreprocessReply) => {
      const p = slot.busy;
      slot.busy = null;
      slot.replied = true;
      if (p && p.job.id === reply.id) {
        if (reply.error !== undefined) p.reject(new Error(reply.error));
        else
          p.resolve({
            data: reply.data,
            width: reply.geometry.width,
            height: reply.geometry.height,
            geometry: reply.geometry,
          });
      }
      if (this.queue.length > 0) this.pump();
      else if (!slot.busy) worker.unref();
    });
    const lost = (err: Error) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      slot.busy?.reject(err);
      slot.busy = null;
      if (this.closed) return;
      if (!slot.replied) {
        // The thread could not even start: every job would fail the same way.
        this.broken = new Error(`preprocessing worker failed to start: ${err.message}`);
        for (const p of this.queue.splice(0)) p.reject(this.broken);
        return;
      }
      this.pump();
    };
    worker.on('error', (err) => lost(err));
    worker.on('exit', (code) => {
      if (this.slots.includes(slot)) lost(new Error(`preprocessing worker exited with code ${code}`));
    });
    this.slots.push(slot);
    return slot;
  }
}

let shared: PreprocessPool | null = null;

/** Thread count for the shared pool from VIDFLOW_PREPROCESS_THREADS (unset: the default). */
export function preprocessThreadsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[PREPROCESS_THREADS_ENV];
  if (raw === undefined || raw.trim() === '') return defaultPreprocessThreads();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new RangeError(
      `${PREPROCESS_THREADS_ENV}: expected a whole number of threads ≥ 0 (0: preprocess on the main thread), got ` +
        `"${raw}"`,
    );
  return n;
}

/** The process-wide pool every model stage uses (created on first use). */
export function sharedPreprocessPool(): PreprocessPool {
  shared ??= new PreprocessPool({ threads: preprocessThreadsFromEnv() });
  return shared;
}

/** Preprocesses a frame on the shared pool. */
export function preprocessFrame(
  frame: Pick<Frame, 'data' | 'width' | 'height'>,
  spec: PreprocessSpec,
  layout: TensorLayout,
): Promise<PreparedImage> {
  return sharedPreprocessPool().preprocess(frame, spec, layout);
}
