/**
 * What every model stage shares: config fields (model, streams, sampling, batching, execution
 * providers), and `modelStage`, the operator that samples frames, batches them across streams,
 * runs a FrameModel and turns its results into one FrameOutcome per input frame.
 */
import { defer, filter, map, merge, share, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { z } from 'zod';
import type { Stage, StageContext } from '../core/component.js';
import type { Frame } from '../core/frame.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { RESULT_SCHEMA_VERSION, type FrameOutcome, type ResultRecord, type Task } from '../core/result.js';
import { batchFrames } from './batch.js';
import { inferBatches } from './infer.js';
import { frameSampler } from './sample.js';
import type { LoadedManifest, ModelTask } from '../models/manifest.js';
import { openModel } from '../models/model-store.js';
import type { ModelRunner } from '../models/runner.js';

export const executionSchema = {
  execution_providers: z.array(z.enum(['cpu', 'cuda', 'tensorrt'])).min(1).default(['cpu']).describe('onnxruntime execution providers in order of preference; CPU is always the last fallback. CUDA/TensorRT need the GPU build (README "GPU").'),
  intra_op_threads: z.number().int().min(0).max(256).default(0).describe('Threads per operator (0: onnxruntime default, all cores).'),
  device_id: z.number().int().min(0).default(0).describe('GPU index for CUDA/TensorRT.'),
};

/** Fields every model stage accepts (spread into each stage's strict schema). */
export const modelStageFields = {
  id: z.string().min(1).describe('Stage id, carried by every result as `stage_id`.'),
  model: z.string().min(1).describe('Model name (see `vidflow models list`), or a path to a .manifest.json / .onnx relative to the pipeline file.'),
  streams: z.array(z.string().min(1)).nullable().default(null).describe('Stream ids this stage runs on (null: all).'),
  every_n_frames: z.number().int().min(1).default(1).describe('Run on every n-th frame of each stream.'),
  fps: z.number().positive().nullable().default(null).describe('Run on at most this many frames per second of video time, per stream.'),
  batch_size: z.number().int().min(1).max(256).default(1).describe('Frames per inference call, across streams (fixed-batch models use their own size).'),
  max_wait_ms: z.number().min(0).max(60_000).default(20).describe('Run a partial batch after waiting this long for more frames.'),
  ...executionSchema,
};

/** A model that turns a batch of frames into one result per frame. */
export interface FrameModel<R> {
  readonly model_id: string;
  readonly task: Task;
  /** Fixed batch size of the export, or null when any batch size works. */
  readonly fixed_batch: number | null;
  /**
   * Optional per-frame preparation (e.g. preprocessing into a tensor slice), run as each frame
   * arrives so it overlaps with the inference of the previous batch; `run` then gets the
   * prepared values in the same order as `frames`.
   */
  prepare?(frame: Frame): unknown;
  run(frames: Frame[], prepared?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

export interface ModelStageOptions<R> {
  pipeline: string;
  stage_id: string;
  every_n_frames: number;
  fps: number | null;
  batch_size: number;
  max_wait_ms: number;
  /** Turns one frame's result into its `results` payload (null: emit no record for that frame). */
  toPayload: (result: R, frame: Frame) => unknown | null;
}

export interface ModelStageDeps {
  metrics: Metrics;
  logger: Logger;
  scheduler?: SchedulerLike;
}

export function makeRecord(base: { pipeline: string; stage_id: string; model_id: string | null; task: Task }, frame: Frame, results: unknown, extra: Record<string, unknown> = {}): ResultRecord {
  return {
    schema_version: RESULT_SCHEMA_VERSION,
    pipeline: base.pipeline,
    stream_id: frame.stream_id,
    frame_index: frame.index,
    pts: frame.pts,
    stage_id: base.stage_id,
    model_id: base.model_id,
    task: base.task,
    frame_width: frame.width,
    frame_height: frame.height,
    results,
    latency_ms: Date.now() - frame.decoded_at_ms,
    ...extra,
  };
}

export function modelStage<R>(model: FrameModel<R>, options: ModelStageOptions<R>, deps: ModelStageDeps): OperatorFunction<Frame, FrameOutcome> {
  return (source) =>
    defer(() => {
      const keep = frameSampler({ every_n_frames: options.every_n_frames, fps: options.fps });
      const tagged = source.pipe(
        map((frame) => ({ frame, keep: keep(frame) })),
        share(),
      );
      const skipped = tagged.pipe(
        filter((t) => !t.keep),
        map((t): FrameOutcome => ({ stream_id: t.frame.stream_id, frame_index: t.frame.index, records: [] })),
      );
      const batchSize = model.fixed_batch ?? options.batch_size;
      const base = { pipeline: options.pipeline, stage_id: options.stage_id, model_id: model.model_id, task: model.task };
      const prepare = model.prepare?.bind(model);
      const inferred = tagged.pipe(
        filter((t) => t.keep),
        map((t) => ({ frame: t.frame, prepared: prepare ? prepare(t.frame) : undefined })),
        batchFrames<{ frame: Frame; prepared: unknown }>({ batch_size: batchSize, max_wait_ms: options.max_wait_ms }, deps.scheduler),
        inferBatches((batch) =>
          model.run(
            batch.map((b) => b.frame),
            prepare ? batch.map((b) => b.prepared) : undefined,
          ),
        ),
        map(({ frame: item, result, error, infer_ms }): FrameOutcome => {
          const frame = item.frame;
          deps.metrics.observe(`infer_ms.${options.stage_id}`, infer_ms);
          if (error) {
            deps.metrics.inc(`errors.${options.stage_id}`);
            deps.logger.warn({ stage: options.stage_id, stream: frame.stream_id, frame: frame.index }, `Stage \`${options.stage_id}\` failed on frame ${frame.index} of \`${frame.stream_id}\`: ${error.message}`);
            return { stream_id: frame.stream_id, frame_index: frame.index, records: [makeRecord(base, frame, null, { error: error.message, error_code: 'MODEL_RUN' })] };
          }
          const payload = options.toPayload(result as R, frame);
          return { stream_id: frame.stream_id, frame_index: frame.index, records: payload === null ? [] : [makeRecord(base, frame, payload)] };
        }),
      );
      return merge(skipped, inferred);
    });
}

type ModelStageConfig = { id: string; model: string; streams: string[] | null; every_n_frames: number; fps: number | null; batch_size: number; max_wait_ms: number; execution_providers: Array<'cpu' | 'cuda' | 'tensorrt'>; intra_op_threads: number; device_id: number };

/**
 * Opens a stage's model (checking it is one of `tasks`) and builds what the stage needs from it;
 * if building fails (a config error found in the manifest), the session is released first.
 * Errors name `<configPath>.model`.
 */
export async function openStageModel<T>(config: Pick<ModelStageConfig, 'model' | 'execution_providers' | 'intra_op_threads' | 'device_id'>, ctx: StageContext, tasks: readonly ModelTask[], stageType: string, build: (loaded: LoadedManifest, runner: ModelRunner) => T | Promise<T>): Promise<T> {
  const { loaded, runner } = await openModel(config.model, {
    baseDir: ctx.baseDir,
    where: `${ctx.configPath}.model`,
    tasks,
    runner: { execution_providers: config.execution_providers, intra_op_threads: config.intra_op_threads, device_id: config.device_id },
    stageType,
  });
  try {
    return await build(loaded, runner);
  } catch (err) {
    await runner.close();
    throw err;
  }
}

/** The Stage around a FrameModel with the shared sampling/batching fields. */
export function stageFor<R>(config: Pick<ModelStageConfig, 'id' | 'streams' | 'every_n_frames' | 'fps' | 'batch_size' | 'max_wait_ms'>, ctx: StageContext, model: FrameModel<R>, toPayload: (r: R, frame: Frame) => unknown | null = (r) => r): Stage {
  return {
    id: config.id,
    streams: config.streams,
    operator: modelStage(
      model,
      { pipeline: ctx.pipeline, stage_id: config.id, every_n_frames: config.every_n_frames, fps: config.fps, batch_size: config.batch_size, max_wait_ms: config.max_wait_ms, toPayload },
      { metrics: ctx.metrics, logger: ctx.logger, ...(ctx.scheduler ? { scheduler: ctx.scheduler } : {}) },
    ),
    close: () => model.close(),
  };
}
