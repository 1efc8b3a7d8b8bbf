/**
 * `classify_clip` stage: video classification (manifest task `video_classification`, torchvision
 * r3d_18 / mc3_18 / r2plus1d_18 on Kinetics-400). Per stream a sliding window of `clip_length`
 * sampled frames (manifest `input.clip_length`, 16), sampled with `every_n_frames` / `fps`,
 * advancing by `stride_frames`; each frame is preprocessed once on arrival (torchvision's video
 * reference: resize to 128×171, center crop 112×112, Kinetics mean/std, all from the manifest)
 * on the preprocessing pool (off the main thread) into a C×H×W Float32Array, kept in a per-stream
 * ring buffer. Clips are batched across streams (N×3×T×H×W).
 * Results: top-k labels; the record's pts is the clip's last frame, with `pts_start` / `pts_end`.
 */
import { defer, filter, map, merge, share, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import type { Stage, StageContext, StageSpec } from '../core/component.js';
import { VidflowError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { ClassScore, FrameOutcome } from '../core/result.js';
import { decoderFor } from '../models/decoders/registry.js';
import type { LoadedManifest } from '../models/manifest.js';
import { inputSize, preprocessInto } from '../models/preprocess.js';
import { preprocessFrame } from '../models/preprocess-pool.js';
import type { ModelRunner } from '../models/runner.js';
import { clipBatches } from '../models/tensor-builder.js';
import { batchFrames } from './batch.js';
import { clipWindow } from './clip-window.js';
import { inferBatches } from './infer.js';
import { failureWarner, makeRecord, modelStageFields, openStageModel } from './model-stage.js';
import { frameSampler } from './sample.js';

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

/** The per-frame preprocessing of a video manifest (C×H×W planes): in this thread (`fill`) or on the pool
 * (`prepare`). */
export function clipFramePreprocessor(loaded: LoadedManifest): {
  planeSize: number;
  width: number;
  height: number;
  fill(frame: Frame, slot: Float32Array): void;
  prepare(frame: Frame): Promise<Float32Array>;
} {
  const spec = loaded.manifest.input;
  const size = spec.crop ?? (spec.resize.mode === 'exact' || spec.resize.mode === 'letterbox' ? spec.resize : null);
  if (!size)
    throw new VidflowError(
      'MODEL_MANIFEST_INVALID',
      `${loaded.manifestPath}: a video model needs a fixed input size (input.crop, or an exact/letterbox resize)`,
    );
  const check = (frame: Frame) => {
    const s = inputSize(frame.width, frame.height, spec);
    if (s.width !== size.width || s.height !== size.height)
      throw new Error(`frame preprocesses to ${s.width}x${s.height}, the clip needs ${size.width}x${size.height}`);
  };
  return {
    planeSize: size.width * size.height,
    width: size.width,
    height: size.height,
    fill(frame, slot) {
      check(frame);
      if (slot.length !== 3 * size.width * size.height)
        throw new Error(`clip slot holds ${slot.length} values, the clip needs 3x${size.width}x${size.height}`);
      preprocessInto(frame.data, frame.width, frame.height, spec, slot, 0, 'CHW');
    },
    prepare(frame) {
      check(frame); // throws at once: the frame gets the error, not the clip
      return preprocessFrame(frame, spec, 'CHW').then((im) => im.data);
    },
  };
}

/** A clip-window slot: a frame preprocessed in this thread, or the pool's pending result. */
interface ClipSlot {
  data: Float32Array | null;
  pending: Promise<Float32Array> | null;
}

/** Copies T frame slots (C×H×W each, oldest first) into one C×T×H×W clip. */
export function assembleClip(slots: readonly Float32Array[], planeSize: number): Float32Array {
  const T = slots.length;
  const clip = new Float32Array(3 * T * planeSize);
  for (let c = 0; c < 3; c++) {
    for (let t = 0; t < T; t++)
      clip.set(slots[t]!.subarray(c * planeSize, (c + 1) * planeSize), (c * T + t) * planeSize);
  }
  return clip;
}

export interface ClipModel {
  readonly model_id: string;
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

/** The stage operator: window → batch clips across streams → classify; one outcome per frame. */
export function clipStage(
  model: ClipModel,
  options: Pick<
    ClassifyClipConfig,
    'id' | 'every_n_frames' | 'fps' | 'batch_size' | 'max_wait_ms' | 'stride_frames'
  > & { pipeline: string },
  ctx: Pick<StageContext, 'metrics' | 'logger' | 'scheduler'>,
): OperatorFunction<Frame, FrameOutcome> {
  const base = {
    pipeline: options.pipeline,
    stage_id: options.id,
    model_id: model.model_id,
    task: 'video_classification' as const,
  };
  const batchSize = model.fixed_batch ?? options.batch_size;
  return (source) =>
    defer(() => {
      const keep = frameSampler({ every_n_frames: options.every_n_frames, fps: options.fps });
      const prepare = model.prepare?.bind(model);
      const failed = failureWarner(options.id, ctx.logger, ctx.scheduler);
      const items = source.pipe(
        clipWindow<Frame, ClipSlot, Promise<Float32Array>>({
          clip_length: model.clip_length,
          stride_frames: options.stride_frames ?? model.clip_length,
          key: (f) => f.stream_id,
          keep,
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
        map((it) => ({ frame: meta(it.frame), clip: it.clip, pts_start: it.pts_start, error: it.error })),
        share(),
      );
      const noClip = items.pipe(
        filter((it) => it.clip === null),
        map((it): FrameOutcome => {
          if (!it.error) return { stream_id: it.frame.stream_id, frame_index: it.frame.index, records: [] };
          ctx.metrics.inc(`errors.${options.id}`);
          failed(it.frame, it.error.message);
          return {
            stream_id: it.frame.stream_id,
            frame_index: it.frame.index,
            records: [makeRecord(base, it.frame, null, { error: it.error.message, error_code: 'MODEL_RUN' })],
          };
        }),
      );
      const clips = items.pipe(
        filter((it) => it.clip !== null),
        batchFrames<{ frame: FrameMeta; clip: Promise<Float32Array> | null; pts_start: number | null }>(
          { batch_size: batchSize, max_wait_ms: options.max_wait_ms },
          ctx.scheduler,
        ),
        inferBatches(async (batch) => {
          ctx.metrics.observe(`batch_size.${options.id}`, batch.length);
          return model.run(await Promise.all(batch.map((b) => b.clip!)));
        }),
        map(({ frame: it, result, error, infer_ms }): FrameOutcome => {
          ctx.metrics.observe(`infer_ms.${options.id}`, infer_ms);
          const extra = { pts_start: it.pts_start, pts_end: it.frame.pts };
          if (error) {
            ctx.metrics.inc(`errors.${options.id}`);
            failed(it.frame, error.message, 'the clip ending at frame');
            return {
              stream_id: it.frame.stream_id,
              frame_index: it.frame.index,
              records: [makeRecord(base, it.frame, null, { ...extra, error: error.message, error_code: 'MODEL_RUN' })],
            };
          }
          return {
            stream_id: it.frame.stream_id,
            frame_index: it.frame.index,
            records: [makeRecord(base, it.frame, result, extra)],
          };
        }),
      );
      return merge(noClip, clips);
    });
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
      operator: clipStage(model, { ...config, pipeline: ctx.pipeline }, ctx),
      close: () => model.close(),
    };
  },
};
