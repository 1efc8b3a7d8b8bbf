/**
 * What every model stage shares: config fields (model, streams, sampling, batching, execution
 * providers), and `modelStage`, the one stage machine every model stage is a preset of:
 * sample (`sampleFrames`) → optional per-stream window step (`classify_clip`: `clipWindow`) →
 * batch across streams (`batchFrames`) → run the FrameModel (tensors + inference, `inferBatches`) →
 * decode (`toPayload`) → one FrameOutcome per input frame, failures as records with `error_code`.
 */
import {
  asyncScheduler,
  defer,
  EMPTY,
  filter,
  map,
  merge,
  share,
  tap,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import { z } from 'zod';
import type { Stage, StageContext, StageFrameInput } from '../core/component.js';
import { sourceSize, type Frame } from '../core/frame.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import { RESULT_SCHEMA_VERSION, type FrameOutcome, type ResultRecord, type Task } from '../core/result.js';
import { batchFrames } from '../operators/batch.js';
import { inferBatches } from '../operators/infer.js';
import { sampleFrames } from '../operators/sample.js';
import type { LoadedManifest, ModelManifest, ModelTask } from '../models/manifest.js';
import { isWorkerLost } from '../models/inference-worker-pool.js';
import { openModel } from '../models/model-store.js';
import type { ModelRunner, RunnerOptions } from '../models/runner.js';

export const executionSchema = {
  execution_providers: z
    .array(z.enum(['cpu', 'cuda', 'tensorrt']))
    .min(1)
    .default(['cpu'])
    .describe(
      'onnxruntime execution providers in order of preference; CPU is always the last fallback. CUDA/TensorRT need ' +
        'the GPU build (README "GPU").',
    ),
  intra_op_threads: z
    .number()
    .int()
    .min(0)
    .max(256)
    .default(0)
    .describe('Threads per operator (0: onnxruntime default, all cores).'),
  allow_spinning: z
    .boolean()
    .default(false)
    .describe(
      'onnxruntime session option `session.intra_op.allow_spinning`: idle intra-op threads spin-wait for the next ' +
        'operator instead of sleeping. Off by default: on 2 cores the spinning threads take CPU from decoding and ' +
        'preprocessing, and pipelines ran faster with less CPU without it (docs/benchmarks.md "Session options"); ' +
        "`true` is onnxruntime's own default. No effect with `intra_op_threads: 1`.",
    ),
  device_id: z.number().int().min(0).default(0).describe('GPU index for CUDA/TensorRT.'),
  workers: z
    .number()
    .int()
    .min(0)
    .max(64)
    .default(1)
    .describe(
      'Inference worker threads for this model, each with its own onnxruntime session, kept for the life of the ' +
        'process and shared by every stage with the same model and execution settings; the stage runs up to this ' +
        'many batches at once (results stay in order). 0: run on the main thread, which stalls the event loop ' +
        'during inference; for comparison only.',
    ),
};

/** Fields every model stage accepts (spread into each stage's strict schema). */
export const modelStageFields = {
  id: z.string().min(1).describe('Stage id, carried by every result as `stage_id`.'),
  model: z
    .string()
    .min(1)
    .describe(
      'Model name (see `vidflow models list`), or a path to a .manifest.json / .onnx relative to the pipeline file.',
    ),
  streams: z.array(z.string().min(1)).nullable().default(null).describe('Stream ids this stage runs on (null: all).'),
  every_n_frames: z.number().int().min(1).default(1).describe('Run on every n-th frame of each stream.'),
  fps: z
    .number()
    .positive()
    .nullable()
    .default(null)
    .describe('Run on at most this many frames per second of video time, per stream.'),
  batch_size: z
    .number()
    .int()
    .min(1)
    .max(256)
    .default(1)
    .describe('Frames per inference call, across streams (fixed-batch models use their own size).'),
  max_wait_ms: z
    .number()
    .min(0)
    .max(60_000)
    .default(20)
    .describe('Run a partial batch after its oldest frame waited this long for more frames.'),
  preferred_batch_sizes: z
    .array(z.number().int().min(1).max(256))
    .default([])
    .describe(
      'Batch sizes (below batch_size) to run as soon as that many frames are queued, the largest that fits, without ' +
        'waiting for max_wait_ms (Triton\'s preferred_batch_size; docs/architecture.md "Dynamic batcher").',
    ),
  ...executionSchema,
};

/** A model that turns a batch of frames into one result per frame. */
export interface FrameModel<R> {
  readonly model_id: string;
  readonly task: Task;
  /** Fixed batch size of the export, or null when any batch size works. */
  readonly fixed_batch: number | null;
  /** How the model resizes frames (from its manifest), read by sources' `decode_size: auto`. */
  readonly frame_input?: StageFrameInput;
  /**
   * Optional per-frame preparation (e.g. preprocessing into a tensor on the preprocessing pool),
   * started as each frame arrives so it overlaps with the inference of earlier batches; it may
   * return a Promise. `run` then gets the settled prepared values in the same order as `frames`.
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
  preferred_batch_sizes?: readonly number[];
  /** Batches in inference at once (the stage's `workers`; default 1). Results still leave in order. */
  concurrency?: number;
  /** Turns one frame's result into its `results` payload (null: emit no record for that frame). */
  toPayload: (result: R, frame: Frame) => unknown | null;
  /**
   * A step between sampling and batching that owns the model inputs (e.g. a per-stream clip
   * window): it gets the sampled frames and must emit exactly one WindowOutput per frame, in order.
   * Its `input`s reach `model.run` as `prepared` (awaited); `model.prepare` is then not used.
   */
  window?: OperatorFunction<Frame, WindowOutput>;
  /** What one model input is, in failure warnings (default `frame`; a clip stage: `the clip ending at frame`). */
  unit?: string;
}

/** What a stage's window step makes of one sampled frame. */
export interface WindowOutput {
  /** The frame the outcome (and record, if any) is for. */
  frame: Frame;
  /** The model input ending at this frame (a value or a Promise), or null: nothing to run yet. */
  input: unknown;
  /** Building the input failed: the frame gets an error record (`error_code` MODEL_RUN). */
  error: Error | null;
  /** Top-level fields of this frame's record, success or failure (e.g. `pts_start`, `pts_end`). */
  extra?: Record<string, unknown>;
}

interface Queued {
  frame: Frame;
  prepared: unknown;
  queued: number;
  extra: Record<string, unknown>;
}

export interface ModelStageDeps {
  metrics: Metrics;
  logger: Logger;
  scheduler?: SchedulerLike;
}

/** When a frame reached each step, wall clock ms since epoch (docs/result-schema.md `timing`). */
export interface RecordTiming {
  captured: number;
  decoded: number;
  /** Entered the stage's batcher (null: the stage has none). */
  queued: number | null;
  infer_start: number | null;
  infer_end: number | null;
  emitted: number;
}

export type StageStamps = Partial<Pick<RecordTiming, 'queued' | 'infer_start' | 'infer_end'>>;

export function makeRecord(
  base: { pipeline: string; stage_id: string; model_id: string | null; task: Task },
  frame: Frame,
  results: unknown,
  extra: Record<string, unknown> = {},
  stamps: StageStamps = {},
): ResultRecord {
  const emitted = Date.now();
  const captured = (frame as Partial<Pick<Frame, 'captured_at_ms'>>).captured_at_ms ?? frame.decoded_at_ms;
  const timing: RecordTiming = {
    captured,
    decoded: frame.decoded_at_ms,
    queued: stamps.queued ?? null,
    infer_start: stamps.infer_start ?? null,
    infer_end: stamps.infer_end ?? null,
    emitted,
  };
  return {
    schema_version: RESULT_SCHEMA_VERSION,
    pipeline: base.pipeline,
    stream_id: frame.stream_id,
    frame_index: frame.index,
    pts: frame.pts,
    stage_id: base.stage_id,
    model_id: base.model_id,
    task: base.task,
    frame_width: sourceSize(frame).width,
    frame_height: sourceSize(frame).height,
    results,
    latency_ms: emitted - captured,
    timing,
    ...(frame.source_path !== undefined ? { source_path: frame.source_path } : {}),
    ...extra,
  };
}

/** Weight of the newest batch in the moving average of batch wall time. */
const BATCH_MS_EWMA = 0.2;

/**
 * Whether a frame goes to inference now. File frames (no deadline) always do. A live frame does
 * if its result is expected before its deadline (now + the stage's recent batch time); when the
 * model alone takes most of the latency budget (≥ 80 %) no frame could make it, and the rule falls
 * back to "deadline not passed yet" so a slow model still produces results.
 */
export function admitLive(
  frame: Pick<Frame, 'deadline_ms' | 'captured_at_ms'>,
  now: number,
  expectedBatchMs: number,
): boolean {
  const deadline = frame.deadline_ms;
  if (deadline === undefined) return true;
  if (now > deadline) return false;
  const budget = deadline - (frame.captured_at_ms ?? now);
  return expectedBatchMs >= 0.8 * budget || now + expectedBatchMs <= deadline;
}

/**
 * How long a stage's batch takes: a moving average of the batches' wall time plus two mean
 * deviations (on a busy machine batch times vary, and a frame admitted on the mean alone would
 * miss its deadline about half the time it is close).
 */
export function batchTimeEstimate(): { observe(ms: number): void; expectedMs(): number } {
  let mean = 0;
  let deviation = 0;
  return {
    observe(ms) {
      if (mean === 0) mean = ms;
      else {
        deviation += BATCH_MS_EWMA * (Math.abs(ms - mean) - deviation);
        mean += BATCH_MS_EWMA * (ms - mean);
      }
    },
    expectedMs: () => mean + 2 * deviation,
  };
}

/** How often the stale-frame warning may repeat per stage. */
export const STALE_WARN_INTERVAL_MS = 10_000;

/**
 * Counts a live frame dropped because its result would have come after its deadline
 * (`dropped.<stream>.stale`) and warns at most once per STALE_WARN_INTERVAL_MS per stage.
 */
function staleWarner(stage_id: string, deps: ModelStageDeps): (frame: Frame) => void {
  let lastWarn = -Infinity;
  let since = 0;
  return (frame) => {
    deps.metrics.drop(frame.stream_id, 'stale');
    since += 1;
    const now = Date.now();
    if (now - lastWarn < STALE_WARN_INTERVAL_MS) return;
    deps.logger.warn(
      { stage: stage_id, stream: frame.stream_id, dropped: since },
      `Stage \`${stage_id}\` dropped ${since} frame(s) whose result would have come after their deadline (latest: ` +
        `frame ${frame.index} of \`${frame.stream_id}\`); the model cannot keep up with the live sources' ` +
        `latency_budget_ms`,
    );
    lastWarn = now;
    since = 0;
  };
}

/** How often a stage may log a summary of its failing frames. */
export const FAILURE_WARN_INTERVAL_MS = 10_000;

/**
 * Rate-limited warnings for failing frames: the first failure is logged in full; later ones are
 * counted and at most one summary line (with the count and the latest message) is logged per
 * `intervalMs` of the scheduler's clock. Nothing is logged per frame after the first.
 */
export function failureWarner(
  stage_id: string,
  logger: Pick<Logger, 'warn'>,
  scheduler: Pick<SchedulerLike, 'now'> = asyncScheduler,
  intervalMs = FAILURE_WARN_INTERVAL_MS,
): (frame: Pick<Frame, 'stream_id' | 'index'>, message: string, what?: string) => void {
  let lastLog: number | null = null;
  let since = 0;
  return (frame, message, what = 'frame') => {
    const now = scheduler.now();
    if (lastLog === null) {
      logger.warn(
        { stage: stage_id, stream: frame.stream_id, frame: frame.index },
        `Stage \`${stage_id}\` failed on ${what} ${frame.index} of \`${frame.stream_id}\`: ${message}`,
      );
      lastLog = now;
      return;
    }
    since += 1;
    if (now - lastLog < intervalMs) return;
    logger.warn(
      { stage: stage_id, failed: since },
      `Stage \`${stage_id}\` failed on ${since} more frame(s) since its last warning (latest: ${what} ${frame.index} ` +
        `of \`${frame.stream_id}\`: ${message}); each has a record with \`error\``,
    );
    lastLog = now;
    since = 0;
  };
}

export function modelStage<R>(
  model: FrameModel<R>,
  options: ModelStageOptions<R>,
  deps: ModelStageDeps,
): OperatorFunction<Frame, FrameOutcome> {
  return (source) =>
    defer(() => {
      const tagged = source.pipe(sampleFrames({ every_n_frames: options.every_n_frames, fps: options.fps }), share());
      const outcome = (frame: Frame, records: ResultRecord[] = []): FrameOutcome => ({
        stream_id: frame.stream_id,
        frame_index: frame.index,
        records,
      });
      const skipped = tagged.pipe(
        filter((t) => !t.keep),
        map((t) => outcome(t.frame)),
      );
      const batchSize = model.fixed_batch ?? options.batch_size;
      const base = {
        pipeline: options.pipeline,
        stage_id: options.stage_id,
        model_id: model.model_id,
        task: model.task,
      };
      const windowed = options.window !== undefined;
      const prepare = windowed ? undefined : model.prepare?.bind(model);
      const stale = staleWarner(options.stage_id, deps);
      const failed = failureWarner(options.stage_id, deps.logger, deps.scheduler);
      const failure = (frame: Frame, error: Error, extra: Record<string, unknown>, stamps: StageStamps = {}) => {
        deps.metrics.inc(`errors.${options.stage_id}`);
        return outcome(frame, [
          makeRecord(base, frame, null, { ...extra, error: error.message, error_code: 'MODEL_RUN' }, stamps),
        ]);
      };
      // A live frame whose result would arrive after its deadline is dropped before inference, not after.
      const batchTime = batchTimeEstimate();
      // Preparation starts as each frame arrives (off the main thread for the preprocessing
      // stages) and is awaited batch by batch in arrival order; the flow gate's credits bound how
      // many frames are being prepared at once.
      const startPrepare = (frame: Frame): Promise<unknown> => {
        const p = Promise.resolve().then(() => prepare!(frame));
        p.catch(() => undefined); // awaited in runBatch; a frame dropped as stale never is
        return p;
      };
      const runBatch = async (batch: Queued[]): Promise<R[]> => {
        const frames = batch.map((b) => b.frame);
        deps.metrics.observe(`batch_size.${options.stage_id}`, frames.length);
        const started = Date.now();
        try {
          return await model.run(
            frames,
            prepare || windowed ? await Promise.all(batch.map((b) => b.prepared)) : undefined,
          );
        } catch (err) {
          // A lost inference worker (it crashed; the pool starts a replacement): file frames are
          // retried once, preparing them again (the prepared tensors went with the worker).
          // Live frames (they have a deadline) are not: late results are worth less than the next frame.
          // Inputs built by a window step cannot be built again: that batch fails.
          if (windowed || !isWorkerLost(err) || frames.some((f) => f.deadline_ms !== undefined)) throw err;
          deps.logger.warn(
            { stage: options.stage_id },
            `Stage \`${options.stage_id}\`: ${(err as Error).message}; retrying its batch of ${frames.length} ` +
              `frame(s) once`,
          );
          return await model.run(frames);
        } finally {
          batchTime.observe(Date.now() - started);
        }
      };
      const kept = tagged.pipe(
        filter((t) => t.keep),
        map((t) => t.frame),
      );
      // Without a window step every sampled frame is a model input; with one, only those it gives an input.
      const steps = options.window
        ? kept.pipe(options.window, share())
        : kept.pipe(map((frame): WindowOutput => ({ frame, input: null, error: null })));
      const unrun = windowed
        ? steps.pipe(
            filter((w) => w.input === null || w.error !== null),
            map((w) => {
              if (!w.error) return outcome(w.frame);
              failed(w.frame, w.error.message);
              return failure(w.frame, w.error, w.extra ?? {});
            }),
          )
        : EMPTY;
      const inferred = steps.pipe(
        filter((w) => !windowed || (w.input !== null && w.error === null)),
        map(
          (w): Queued => ({
            frame: w.frame,
            prepared: windowed ? w.input : prepare ? startPrepare(w.frame) : undefined,
            queued: Date.now(),
            extra: w.extra ?? {},
          }),
        ),
        batchFrames<Queued>(
          {
            batch_size: batchSize,
            max_wait_ms: options.max_wait_ms,
            preferred_batch_sizes: model.fixed_batch === null ? (options.preferred_batch_sizes ?? []) : [],
          },
          deps.scheduler,
        ),
        tap((b) => {
          deps.metrics.inc(`batch_flush.${options.stage_id}.${b.reason}`);
          deps.metrics.observe(`batch_fill.${options.stage_id}`, b.length / batchSize);
        }),
        inferBatches(runBatch, {
          admit: (item, now) => admitLive(item.frame, now, batchTime.expectedMs()),
          concurrency: options.concurrency ?? 1,
        }),
        map(({ frame: item, result, error, infer_ms, infer_start_ms, infer_end_ms, dropped }): FrameOutcome => {
          const frame = item.frame;
          if (dropped) {
            stale(frame);
            return outcome(frame);
          }
          deps.metrics.observe(`infer_ms.${options.stage_id}`, infer_ms);
          const stamps: StageStamps = { queued: item.queued, infer_start: infer_start_ms, infer_end: infer_end_ms };
          if (error) {
            failed(frame, error.message, options.unit);
            return failure(frame, error, item.extra, stamps);
          }
          const payload = options.toPayload(result as R, frame);
          return outcome(frame, payload === null ? [] : [makeRecord(base, frame, payload, item.extra, stamps)]);
        }),
      );
      return merge(skipped, unrun, inferred);
    });
}

type ModelStageConfig = {
  id: string;
  model: string;
  streams: string[] | null;
  every_n_frames: number;
  fps: number | null;
  batch_size: number;
  max_wait_ms: number;
  preferred_batch_sizes?: number[];
  execution_providers: Array<'cpu' | 'cuda' | 'tensorrt'>;
  intra_op_threads: number;
  allow_spinning: boolean;
  device_id: number;
  workers: number;
};

/**
 * Opens a stage's model (checking it is one of `tasks`) and builds what the stage needs from it;
 * if building fails (a config error found in the manifest), the session is released first.
 * Errors name `<configPath>.model`.
 */
export async function openStageModel<T>(
  config: Pick<ModelStageConfig, 'model' | 'execution_providers' | 'intra_op_threads' | 'device_id'> &
    Partial<Pick<ModelStageConfig, 'workers' | 'allow_spinning'>>,
  ctx: StageContext,
  tasks: readonly ModelTask[],
  stageType: string,
  build: (loaded: LoadedManifest, runner: ModelRunner) => T | Promise<T>,
): Promise<T> {
  const { loaded, runner } = await openModel(config.model, {
    baseDir: ctx.baseDir,
    where: `${ctx.configPath}.model`,
    tasks,
    runner: stageRunnerOptions(config),
    stageType,
  });
  try {
    return await build(loaded, runner);
  } catch (err) {
    await runner.close();
    throw err;
  }
}

/** What `decode_size: auto` reads of a manifest: its model name, resize and interpolation. */
export function frameInputOf(manifest: Pick<ModelManifest, 'name' | 'input'>): StageFrameInput {
  return { model: manifest.name, resize: manifest.input.resize, interpolation: manifest.input.interpolation };
}

/** The runner options a stage's execution fields ask for (exported for tests). */
export function stageRunnerOptions(
  config: Pick<ModelStageConfig, 'execution_providers' | 'intra_op_threads' | 'device_id'> &
    Partial<Pick<ModelStageConfig, 'workers' | 'allow_spinning'>>,
): Partial<RunnerOptions> {
  return {
    execution_providers: config.execution_providers,
    intra_op_threads: config.intra_op_threads,
    device_id: config.device_id,
    ...(config.workers !== undefined ? { workers: config.workers } : {}),
    ...(config.allow_spinning !== undefined ? { allow_spinning: config.allow_spinning } : {}),
  };
}

/** The Stage around a FrameModel with the shared sampling/batching fields. */
export function stageFor<R>(
  config: Pick<ModelStageConfig, 'id' | 'streams' | 'every_n_frames' | 'fps' | 'batch_size' | 'max_wait_ms'> &
    Partial<Pick<ModelStageConfig, 'preferred_batch_sizes' | 'workers'>>,
  ctx: StageContext,
  model: FrameModel<R>,
  toPayload: (r: R, frame: Frame) => unknown | null = (r) => r,
): Stage {
  return {
    id: config.id,
    streams: config.streams,
    ...(model.frame_input ? { frameInput: model.frame_input } : {}),
    operator: modelStage(
      model,
      {
        pipeline: ctx.pipeline,
        stage_id: config.id,
        every_n_frames: config.every_n_frames,
        fps: config.fps,
        batch_size: config.batch_size,
        max_wait_ms: config.max_wait_ms,
        preferred_batch_sizes: config.preferred_batch_sizes ?? [],
        // One batch per inference worker at once (workers 0, on the main thread: one).
        concurrency: Math.max(1, config.workers ?? 1),
        toPayload,
      },
      { metrics: ctx.metrics, logger: ctx.logger, ...(ctx.scheduler ? { scheduler: ctx.scheduler } : {}) },
    ),
    close: () => model.close(),
  };
}
