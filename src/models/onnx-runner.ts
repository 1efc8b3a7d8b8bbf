/**
 * ModelRunner backed by onnxruntime-node, in the calling thread. onnxruntime-node's `session.run`
 * returns a promise but computes on the calling thread (a profile of a detection pipeline put 69 %
 * of the main thread inside it), so stages never use this on the main thread: they get a
 * `WorkerRunner` (inference-worker-pool.ts), which runs an OnnxRunner in each worker thread.
 * `workers: 0` selects this in-thread runner, for comparison only.
 */
import * as ort from 'onnxruntime-node';
import { VidflowError } from '../core/errors.js';
import type { ModelIOInfo, ModelRunner, RunnerOptions, Tensor } from './runner.js';
import { DEFAULT_RUNNER_OPTIONS } from './runner.js';

function providerList(opts: RunnerOptions): ort.InferenceSession.ExecutionProviderConfig[] {
  const list: ort.InferenceSession.ExecutionProviderConfig[] = [];
  for (const ep of opts.execution_providers) {
    if (ep === 'cuda') list.push({ name: 'cuda', deviceId: opts.device_id });
    else if (ep === 'tensorrt') list.push({ name: 'tensorrt', deviceId: opts.device_id });
    else list.push('cpu');
  }
  if (!opts.execution_providers.includes('cpu')) list.push('cpu');
  return list;
}

function ioInfo(names: readonly string[], meta: readonly unknown[] | undefined): ModelIOInfo[] {
  return names.map((name, i) => {
    const m = meta?.[i] as { isTensor?: boolean; type?: string; shape?: Array<number | string> } | undefined;
    return {
      name,
      type: m?.isTensor ? String(m.type ?? 'unknown') : 'unknown',
      shape: m?.isTensor && Array.isArray(m.shape) ? m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' ? d : null)) : null,
    };
  });
}

export class OnnxRunner implements ModelRunner {
  readonly inputs: readonly ModelIOInfo[];
  readonly outputs: readonly ModelIOInfo[];
  private constructor(private readonly session: ort.InferenceSession) {
    const s = session as unknown as { inputMetadata?: unknown[]; outputMetadata?: unknown[] };
    this.inputs = ioInfo(session.inputNames, s.inputMetadata);
    this.outputs = ioInfo(session.outputNames, s.outputMetadata);
  }

  static async create(modelPath: string, options: Partial<RunnerOptions> = {}, where?: string): Promise<OnnxRunner> {
    const opts: RunnerOptions = { ...DEFAULT_RUNNER_OPTIONS, ...options };
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: providerList(opts),
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    };
    if (opts.intra_op_threads > 0) sessionOptions.intraOpNumThreads = opts.intra_op_threads;
    if (opts.allow_spinning !== undefined) sessionOptions.extra = { session: { intra_op: { allow_spinning: opts.allow_spinning ? '1' : '0' } } };
    try {
      const session = await ort.InferenceSession.create(modelPath, sessionOptions);
      return new OnnxRunner(session);
    } catch (err) {
      const msg = (err as Error).message.split('\n')[0];
      throw new VidflowError('MODEL_NOT_FOUND', `${where ? where + ': ' : ''}cannot load ONNX model ${modelPath}: ${msg}`, { cause: err, ...(where ? { where } : {}) });
    }
  }

  async run(feeds: Record<string, Tensor>, outputNames?: readonly string[]): Promise<Record<string, Tensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.type, t.data as never, t.dims as number[]);
    const out = outputNames ? await this.session.run(ortFeeds, outputNames as string[]) : await this.session.run(ortFeeds);
    const result: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(out)) {
      result[name] = { type: t.type as Tensor['type'], dims: t.dims, data: t.data as Tensor['data'] };
    }
    return result;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
