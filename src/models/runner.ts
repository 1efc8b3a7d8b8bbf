/**
 * The one interface all inference goes through. onnxruntime-node is the production
 * implementation (onnx-runner.ts); plumbing tests may use a fake.
 */
export type TensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;

export interface Tensor {
  type: 'float32' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool';
  dims: readonly number[];
  data: TensorData;
}

export interface ModelIOInfo {
  name: string;
  /** Element type, e.g. `float32`. */
  type: string;
  /** Dimensions as stored in the model; strings for symbolic dims, null when unknown. */
  shape: ReadonlyArray<number | string | null> | null;
}

export interface ModelRunner {
  readonly inputs: readonly ModelIOInfo[];
  readonly outputs: readonly ModelIOInfo[];
  /**
   * Runs the model. Must not block the event loop for the duration of inference. Implementations
   * may take ownership of the feeds' buffers (WorkerRunner transfers them to its thread, which
   * detaches them here): build fresh tensors for each call and do not read them afterwards.
   */
  run(feeds: Record<string, Tensor>, outputNames?: readonly string[]): Promise<Record<string, Tensor>>;
  close(): Promise<void>;
}

export type ExecutionProvider = 'cpu' | 'cuda' | 'tensorrt';

export interface RunnerOptions {
  /** Execution providers in order of preference; CPU is always appended as fallback. */
  execution_providers: ExecutionProvider[];
  /** Threads inside one operator (0 = onnxruntime's default: all cores). */
  intra_op_threads: number;
  /** GPU index for CUDA / TensorRT. */
  device_id: number;
  /** Inference worker threads, each with its own session (0: run on the calling thread, which blocks its event
   * loop). */
  workers: number;
  /** onnxruntime's `session.intra_op.allow_spinning` (undefined: onnxruntime's default, spinning on). */
  allow_spinning?: boolean;
}

export const DEFAULT_RUNNER_OPTIONS: RunnerOptions = {
  execution_providers: ['cpu'],
  intra_op_threads: 0,
  device_id: 0,
  workers: 1,
};
