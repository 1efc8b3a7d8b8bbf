/**
 * `classify_clip` stage: video classification (manifest task `video_classification`, torchvision
 * r3d_18 / mc3_18 / r2plus1d_18 on Kinetics-400). Per stream a sliding window of `clip_length`
 * sampled frames (manifest `input.clip_length`, 16), sampled with `every_n_frames` / `fps`,
 * advancing by `stride_frames`; each frame is preprocessed once on arrival (torchvision's video
 * reference: resize to 128×171, center crop 112×112, Kinetics mean/std, all from the manifest)
 * on the preprocessing pool (off the main thread) into a C×H×W Float32Array, kept in a per-stream
 * ring buffer. Clips are batched across streams (N×3×T×H×W).
 * Results: top-k labels; the record's pts is the clip's last frame, with `pts_start` / `pts_end`.
 *
 * The stage is a preset of the model-stage machine (model-stage.ts): sample → clip window step
 * (`clipWindowStep`, over operators/clip-window.ts) → batch → tensors (`clipBatches`) → run → decode
 * → records, failures with `error_code` like every other model stage.
 */
import { map, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import type { Stage, StageFrameInput, StageSpec } from '../core/component.js';
import { VidflowError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { ClassScore, FrameOutcome } from '../core/result.js';
import { decoderFor } from '../models/decoders/registry.js';
import type { LoadedManifest } from '../models/manifest.js';
import { clipFramePreprocessor } from '../models/clip-preprocess.js';
import type { ModelRunner } from '../models/runner.js';
import { assembleClip, clipBatches } from '../models/tensor-builder.js';
import { clipWindow } from '../operators/clip-window.js';
import {
  frameInputOf,
  modelStage,
  modelStageFields,
  openStageModel,
  type FrameModel,
  type ModelStageDeps,
  type WindowOutput,
} from './model-stage.js';

export const DEFAULT_CLIP_TOP_K = 5;

export const classifyClipSchema = z
  .object({
    type: z.literal('classify_clip'),
    ...modelStageFields,
    stride_frames: z
      .number()
      .int()
      .min(1)
      .nullable()
      .default(null)
      .describe(
        'Sampled frames between the ends of consecutive clips (null: the clip length, i.e. non-overlapping clips).',
      ),
    top_k: z.number().int().min(1).max(400).default(DEFAULT_CLIP_TOP_K).describe('Classes reported per clip.'),
    min_score: z.number().min(0).max(1).default(0).describe('Drop classes scoring below this probability.'),
  })
  .strict()
  .describe(
    '`every_n_frames` / `fps` set the rate at which frames enter the clip window; `batch_size` batches clips across ' +
      'streams.',
  );
export type ClassifyClipConfig = z.infer<typeof classifyClipSchema>;

export interface ClipResult {
  top: ClassScore[];
}

/** Frame fields a clip record needs, without the pixels. */
export type FrameMeta = Omit<Frame, 'data'> & { data: Uint8Array };
const NO_PIXELS = new Uint8Array(0);
function meta(f: Frame): FrameMeta {
  return {
    stream_id: f.stream_id,
    index: f.index,
    pts: f.pts,
    width: f.width,
    height: f.height,
    ...(f.source_width !== undefined ? { source_width: f.source_width, source_height: f.source_height } : {}),
    decoded_at_ms: f.decoded_at_ms,
    captured_at_ms: f.captured_at_ms,
    ...(f.deadline_ms !== undefined ? { deadline_ms: f.deadline_ms } : {}),
    data: NO_PIXELS,
  };
}

/** A clip-window slot: a frame preprocessed in this thread, or the pool's pending result. */
interface ClipSlot {
  data: Float32Array | null;
  pending: Promise<Float32Array> | null;
}

/** Moved to the models layer (clip tensors and per-frame clip preprocessing); re-exported for existing callers. */
export { assembleClip, clipFramePreprocessor };

export interface ClipModel {
  readonly model_id: string;
  /** How the model resizes frames (decode_size: auto). */
  readonly frame_input?: StageFrameInput;
  readonly clip_length: number;
  readonly fixed_batch: number | null;
  readonly planeSize: number;
  /** Preprocesses a frame into a C×H×W slot in this thread. */
  fill(frame: Frame, slot: Float32Array): void;
  /** Preprocesses a frame off the main thread (the stage uses this when present); throws at once on a frame of the
   * wrong size. */
  prepare?(frame: Frame): Promise<Float32Array>;
  /** Classifies clips (each C×T×H×W). */
  run(clips: Float32Array[]): Promise<ClipResult[]>;
  close(): Promise<void>;
}

export function clipModel(
  loaded: LoadedManifest,
  runner: ModelRunner,
  options: { top_k: number; min_score: number },
): ClipModel {
  const m = loaded.manifest;
  if (m.input.layout !== 'NCTHW')
    throw new VidflowError(
      'MODEL_MANIFEST_INVALID',
      `${loaded.manifestPath}: a video model needs input.layout NCTHW, got ${m.input.layout}`,
    );
  const T = m.input.clip_length;
  if (T === undefined)
    throw new VidflowError('MODEL_MANIFEST_INVALID', `${loaded.manifestPath}: a video model needs input.clip_length`);
  const logitsName = m.outputs.logits;
  if (!logitsName)
    throw new VidflowError('MODEL_MANIFEST_INVALID', `${loaded.manifestPath}: video manifest needs outputs.logits`);
  const decoder = decoderFor('classification', m, loaded.manifestPath);
  const pre = clipFramePreprocessor(loaded);
  const fixed = typeof m.input.batch === 'number' ? m.input.batch : null;
  const inputName = m.input.names[0]!;
  return {
    model_id: m.name,
    frame_input: frameInputOf(m),
    clip_length: T,
    fixed_batch: fixed,
    planeSize: pre.planeSize,
    fill: pre.fill,
    prepare: pre.prepare,
    async run(clips) {
      const results: ClipResult[] = new Array(clips.length);
      for (const batch of clipBatches(clips, [3, T, pre.height, pre.width], fixed)) {
        const out = await runner.run({ [inputName]: batch.tensor }, [logitsName]);
        const logits = out[logitsName]!;
        batch.indices.forEach(
          (idx, j) =>
            (results[idx] = decoder.spec.decode({ logits }, j, {
              ...options,
              labels: loaded.labels,
              options: decoder.options,
            })),
        );
      }
      return results;
    },
    close: () => runner.close(),
  };
}

/**
 * The clip window step of the stage machine: each sampled frame is preprocessed into its
 * stream's ring-buffer slot (on the pool when the model has `prepare`), and every
 * `stride_frames`-th frame of a full window gives the clip of the last `clip_length` frames
 * (a Promise of C×T×H×W), with `pts_start` / `pts_end` for its record. Frames travel on
 * without their pixels.
 */
export function clipWindowStep(model: ClipModel, stride_frames: number): OperatorFunction<Frame, WindowOutput> {
  const prepare = model.prepare?.bind(model);
  return (source) =>
    source.pipe(
      clipWindow<Frame, ClipSlot, Promise<Float32Array>>({
        clip_length: model.clip_length,
        stride_frames,
        key: (f) => f.stream_id,
        allocate: () => ({ data: prepare ? null : new Float32Array(3 * model.planeSize), pending: null }),
        fill: (f, slot) => {
          if (!prepare) return model.fill(f, slot.data!);
          const p = prepare(f);
          p.catch(() => undefined); // awaited when its clip runs; a slot overwritten first never is
          slot.pending = p;
        },
        assemble: (slots) => {
          // In-thread slots are reused at once: copy now. Pool slots: wait for this clip's frames.
          if (!prepare)
            return Promise.resolve(
              assembleClip(
                slots.map((s) => s.data!),
                model.planeSize,
              ),
            );
          const clip = Promise.all(slots.map((s) => s.pending!)).then((planes) =>
            assembleClip(planes, model.planeSize),
          );
          clip.catch(() => undefined);
          return clip;
        },
      }),
      map(
        (it): WindowOutput => ({
          frame: meta(it.frame),
          input: it.clip,
          error: it.error,
          ...(it.clip !== null ? { extra: { pts_start: it.pts_start, pts_end: it.frame.pts } } : {}),
        }),
      ),
    );
}

/** A ClipModel as the machine's FrameModel: its prepared inputs are the window step's clips. */
export function clipFrameModel(model: ClipModel): FrameModel<ClipResult> {
  return {
    model_id: model.model_id,
    task: 'video_classification',
    fixed_batch: model.fixed_batch,
    run: (frames, clips) => {
      if (!clips || clips.length !== frames.length) throw new Error('classify_clip runs clips from its window step');
      return model.run(clips as Float32Array[]);
    },
    close: () => model.close(),
  };
}

/** The stage operator: the model-stage machine with the clip window step; one outcome per frame. */
export function clipStage(
  model: ClipModel,
  options: Pick<ClassifyClipConfig, 'id' | 'every_n_frames' | 'fps' | 'batch_size' | 'max_wait_ms' | 'stride_frames'> &
    Partial<Pick<ClassifyClipConfig, 'preferred_batch_sizes' | 'workers'>> & { pipeline: string },
  deps: ModelStageDeps,
): OperatorFunction<Frame, FrameOutcome> {
  return modelStage(
    clipFrameModel(model),
    {
      pipeline: options.pipeline,
      stage_id: options.id,
      every_n_frames: options.every_n_frames,
      fps: options.fps,
      batch_size: options.batch_size,
      max_wait_ms: options.max_wait_ms,
      preferred_batch_sizes: options.preferred_batch_sizes ?? [],
      concurrency: Math.max(1, options.workers ?? 1),
      window: clipWindowStep(model, options.stride_frames ?? model.clip_length),
      unit: 'the clip ending at frame',
      toPayload: (r) => r,
    },
    deps,
  );
}

export const classifyClipSpec: StageSpec<ClassifyClipConfig> = {
  type: 'classify_clip',
  summary:
    'Video (action) classification over sliding clips (torchvision r3d_18 / mc3_18 / r2plus1d_18, Kinetics-400): ' +
    'top-k labels per clip with pts_start / pts_end.',
  schema: classifyClipSchema,
  example: { type: 'classify_clip', id: 'action', model: 'r3d_18', every_n_frames: 2, stride_frames: 8, top_k: 3 },
  async create(config, ctx): Promise<Stage> {
    const model = await openStageModel(config, ctx, ['video_classification'], 'classify_clip', (loaded, runner) =>
      clipModel(loaded, runner, { top_k: config.top_k, min_score: config.min_score }),
    );
    return {
      id: config.id,
      streams: config.streams,
      frameInput: model.frame_input,
      operator: clipStage(
        model,
        { ...config, pipeline: ctx.pipeline },
        { metrics: ctx.metrics, logger: ctx.logger, ...(ctx.scheduler ? { scheduler: ctx.scheduler } : {}) },
      ),
      close: () => model.close(),
    };
  },
};
