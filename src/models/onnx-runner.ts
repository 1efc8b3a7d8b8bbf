/**
 * ModelRunner backed by onnxruntime-node, in the calling thread. onnxruntime-node's `session.run`
 * returns a promise but computes on the calling thread (a profile of a detection pipeline put 69 %
 * of the main thread inside it), so stages never use this on the main thread: they get a
 * `WorkerRunner` (inference-worker-pool.ts), which runs an OnnxRunner in each worker thread.
 * `workers: 0` selects this in-thread runner, for comparison only.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { VidflowError } from '../core/errors.js';
import type { ExecutionProvider, ModelIOInfo, ModelRunner, RunnerOptions, Tensor } from './runner.js';
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

/** A 78-byte ONNX model (one Identity, opset 13) to find out whether a provider really loads. */
const PROBE_MODEL = Buffer.from(
  'CAgSB3ZpZGZsb3c6OwoQCgF4EgF5IghJZGVudGl0eRIFcHJvYmVaDwoBeBIKCggIARIECgIIAWIPCgF5EgoKCAgBEgQKAggBQgQKABAN',
  'base64',
);

/** Where onnxruntime-node keeps its native libraries (the CUDA/TensorRT providers go here when installed). */
const ORT_BIN_DIR = path.join(
  path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')),
  'bin',
  'napi-v6',
  process.platform,
  process.arch,
);

/** How to get the GPU providers, for messages (README "GPU"). */
export const GPU_INSTALL_HINT =
  'install the GPU build: `ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js` on ' +
  'a ' +
  'machine with CUDA 12 and cuDNN 9 (README "GPU")';

export interface ProviderStatus {
  name: ExecutionProvider;
  available: boolean;
  /** Why not (onnxruntime's message), when not available. */
  reason?: string;
  /** Whether the installed onnxruntime-node package ships the provider's library (listSupportedBackends). */
  bundled?: boolean;
}

const probes = new Map<string, Promise<ProviderStatus>>();

/**
 * Whether `ep` really works here: creates a session with only that provider on PROBE_MODEL
 * (a provider whose library is missing, or with no GPU, fails there). Cached per process.
 */
export function probeExecutionProvider(ep: ExecutionProvider, deviceId = 0): Promise<ProviderStatus> {
  const key = `${ep}:${deviceId}`;
  let p = probes.get(key);
  if (!p) {
    const listed = (
      ort as unknown as { listSupportedBackends?: () => Array<{ name: string; bundled: boolean }> }
    ).listSupportedBackends?.();
    const bundled = listed?.find((b) => b.name === ep)?.bundled;
    const config: ort.InferenceSession.ExecutionProviderConfig = ep === 'cpu' ? 'cpu' : { name: ep, deviceId };
    p = ort.InferenceSession.create(PROBE_MODEL, { executionProviders: [config], logSeverityLevel: 4 }).then(
      async (session) => {
        await session.release();
        return { name: ep, available: true, ...(bundled !== undefined ? { bundled } : {}) };
      },
      (err: Error) => {
        let reason = err.message.split('\n')[0]!.trim();
        const lib = path.join(ORT_BIN_DIR, `libonnxruntime_providers_${ep}.so`);
        if (ep !== 'cpu' && process.platform === 'linux' && !existsSync(lib))
          reason += ` (${lib} is not installed${
            bundled === false ? ': this onnxruntime-node package does not bundle ' + 'it' : ''
          })`;
        return { name: ep, available: false, reason, ...(bundled !== undefined ? { bundled } : {}) };
      },
    );
    probes.set(key, p);
  }
  return p;
}

/** Every provider vidflow can use (cpu, cuda, tensorrt), probed. */
export function probeExecutionProviders(deviceId = 0): Promise<ProviderStatus[]> {
  return Promise.all((['cpu', 'cuda', 'tensorrt'] as const).map((ep) => probeExecutionProvider(ep, deviceId)));
}

/**
 * Throws EP_UNAVAILABLE when a requested provider does not load here, naming the ones that do and
 * how to install the GPU build (rather than failing later as "cannot load ONNX model").
 */
export async function assertExecutionProviders(
  opts: Pick<RunnerOptions, 'execution_providers' | 'device_id'>,
  where?: string,
): Promise<void> {
  const wanted = opts.execution_providers.filter((ep) => ep !== 'cpu');
  if (wanted.length === 0) return;
  const missing = (await Promise.all(wanted.map((ep) => probeExecutionProvider(ep, opts.device_id)))).filter(
    (s) => !s.available,
  );
  if (missing.length === 0) return;
  const available = (await probeExecutionProviders(opts.device_id)).filter((s) => s.available).map((s) => s.name);
  const what = missing.map((s) => `"${s.name}" (${s.reason})`).join(', ');
  throw new VidflowError(
    'EP_UNAVAILABLE',
    `${where ? `${where}: ` : ''}execution provider ${what} is not available in this onnxruntime-node ` +
      `${ort.env.versions?.common ?? ''} install; it has: ${available.join(', ') || 'none'}. Use ` +
      `\`execution_providers: [cpu]\`, or ${GPU_INSTALL_HINT}`,
    where ? { where } : {},
  );
}

function ioInfo(names: readonly string[], meta: readonly unknown[] | undefined): ModelIOInfo[] {
  return names.map((name, i) => {
    const m = meta?.[i] as { isTensor?: boolean; type?: string; shape?: Array<number | string> } | undefined;
    return {
      name,
      type: m?.isTensor ? String(m.type ?? 'unknown') : 'unknown',
      shape:
        m?.isTensor && Array.isArray(m.shape)
          ? m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' ? d : null))
          : null,
    };
  });
}

/**
 * The onnxruntime session options for `opts`: intra-op threads only when set (> 0), and
 * `session.intra_op.allow_spinning` ("0"/"1") only when `allow_spinning` is set (the node binding
 * flattens `extra` into dotted config keys).
 */
export function sessionOptionsFor(opts: RunnerOptions): ort.InferenceSession.SessionOptions {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: providerList(opts),
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  };
  if (opts.intra_op_threads > 0) sessionOptions.intraOpNumThreads = opts.intra_op_threads;
  if (opts.allow_spinning !== undefined)
    sessionOptions.extra = { session: { intra_op: { allow_spinning: opts.allow_spinning ? '1' : '0' } } };
  return sessionOptions;
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
    const sessionOptions = sessionOptionsFor(opts);
    await assertExecutionProviders(opts, where);
    try {
      const session = await ort.InferenceSession.create(modelPath, sessionOptions);
      return new OnnxRunner(session);
    } catch (err) {
      const msg = (err as Error).message.split('\n')[0];
      throw new VidflowError(
        'MODEL_NOT_FOUND',
        `${where ? `${where}: ` : ''}cannot load ONNX model ${modelPath}: ${msg}`,
        { cause: err, ...(where ? { where } : {}) },
      );
    }
  }

  async run(feeds: Record<string, Tensor>, outputNames?: readonly string[]): Promise<Record<string, Tensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds))
      ortFeeds[name] = new ort.Tensor(t.type, t.data as never, t.dims as number[]);
    const out = outputNames
      ? await this.session.run(ortFeeds, outputNames as string[])
      : await this.session.run(ortFeeds);
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
