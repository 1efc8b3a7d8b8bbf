/**
 * `detect` stage: an object detector (manifest task `detection`) with any detection decoder of
 * the registry (src/models/decoders/registry.ts): torchvision Faster R-CNN / RetinaNet exports
 * (`torchvision_detection`, NMS and resize/normalize in the graph, one `[3,H,W]` 0..1 input per
 * image), YOLOX, FastestDet and UltraFace (batched NCHW input, NMS in the decoder).
 * Boxes are x1,y1,x2,y2 in pixels of the source frame.
 *
 * The detector core (`createDetector`) is shared by `segment_instances`, `detect_keypoints` and
 * `track`, which add their own decoding of the extra outputs.
 */
import { z } from 'zod';
import type { Stage, StageContext, StageFrameInput, StageSpec } from '../core/component.js';
import { VidflowError } from '../core/errors.js';
import { sourceSize, type Frame } from '../core/frame.js';
import type { Task } from '../core/result.js';
import { type Detection, type DetectionFilter, resolveClassFilter } from '../models/decoders/detection.js';
import type { DecodedKeypoint } from '../models/decoders/decoder.js';
import { decoderFor } from '../models/decoders/registry.js';
import { prepareImage, runImageBatches } from '../models/image-batch.js';
import type { LoadedManifest, ModelTask } from '../models/manifest.js';
import { outputName } from '../models/model-check.js';
import { inputSize, preprocessInto, toSourceGeometry, type Geometry } from '../models/preprocess.js';
import { preprocessFrame, type PreparedImage } from '../models/preprocess-pool.js';
import type { ModelRunner, Tensor } from '../models/runner.js';
import { chwFeeds } from '../models/tensor-builder.js';
import { frameInputOf, modelStageFields, openStageModel, stageFor, type FrameModel } from './model-stage.js';

/** Default minimum score of a reported detection. */
export const DEFAULT_SCORE_THRESHOLD = 0.5;
/** Default cap on detections per frame (torchvision's detections_per_img). */
export const DEFAULT_MAX_DETECTIONS = 100;

/** Detection options shared by `detect`, `segment_instances`, `detect_keypoints` and `track`. */
export const detectOptionFields = {
  score_threshold: z
    .number()
    .min(0)
    .max(1)
    .default(DEFAULT_SCORE_THRESHOLD)
    .describe('Drop detections scoring below this (0..1).'),
  classes: z
    .array(z.string().min(1))
    .min(1)
    .nullable()
    .default(null)
    .describe("Allow list of class names from the model's label set (null: every class)."),
  exclude_classes: z
    .array(z.string().min(1))
    .default([])
    .describe("Deny list of class names from the model's label set."),
  max_detections: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(DEFAULT_MAX_DETECTIONS)
    .describe('At most this many detections per frame, best first.'),
  min_box_area: z
    .number()
    .min(0)
    .default(0)
    .describe('Drop boxes smaller than this area, in source-frame pixels² (after mapping back to the frame).'),
  nms_iou: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe(
      "IoU threshold of the NMS for decoders without NMS in the graph; unset: the decoder's own (yolox 0.45, " +
        'fastestdet 0.45, ultraface 0.3). torchvision exports do NMS in the graph.',
    ),
};

export const detectSchema = z
  .object({
    type: z.literal('detect'),
    ...modelStageFields,
    ...detectOptionFields,
  })
  .strict();
export type DetectConfig = z.infer<typeof detectSchema>;
export type DetectOptions = Pick<DetectConfig, 'score_threshold' | 'max_detections' | 'min_box_area' | 'nms_iou'> & {
  filter: Pick<DetectionFilter, 'allow' | 'deny'>;
};

export interface DetectResult {
  detections: Detection[];
}

/** One frame's detector output before task-specific decoding. */
export interface DetectorOutput {
  detections: Detection[];
  /** Model output row of each detection (for masks / keypoints). */
  rows: number[];
  /** Model-input → frame mapping of this frame. */
  geometry: Geometry;
  /** This image's output tensors by manifest role (torchvision exports). */
  outputs: Record<string, Tensor>;
  /** Keypoints per detection, from decoders that decode them (bodypix_keypoints). */
  keypoints?: DecodedKeypoint[][];
}

export interface Detector {
  readonly model_id: string;
  readonly fixed_batch: number | null;
  /** How the model resizes frames (decode_size: auto). */
  readonly frame_input: StageFrameInput;
  /** Per-frame preprocessing on the preprocessing pool, started as frames arrive; see FrameModel.prepare. */
  prepare?(frame: Frame): Promise<unknown>;
  run(frames: Frame[], prepared?: unknown[]): Promise<DetectorOutput[]>;
  close(): Promise<void>;
}

/** A prepared image as a `[3,H,W]` tensor (torchvision detection input). */
function chwFromImage(im: PreparedImage): { tensor: Tensor; geometry: Geometry } {
  return { tensor: { type: 'float32', dims: [3, im.height, im.width], data: im.data }, geometry: im.geometry };
}

/** Preprocesses one frame into a `[3,H,W]` tensor on the preprocessing pool. */
export async function chwTensorAsync(
  frame: Frame,
  spec: LoadedManifest['manifest']['input'],
): Promise<{ tensor: Tensor; geometry: Geometry }> {
  return chwFromImage(await preprocessFrame(frame, spec, 'CHW'));
}

/** Preprocesses one frame into a `[3,H,W]` tensor in this thread (torchvision detection input). */
export function chwTensor(
  frame: Frame,
  spec: LoadedManifest['manifest']['input'],
): { tensor: Tensor; geometry: Geometry } {
  const { width, height } = inputSize(frame.width, frame.height, spec);
  const data = new Float32Array(3 * width * height);
  const geometry = preprocessInto(frame.data, frame.width, frame.height, spec, data, 0, 'CHW');
  return { tensor: { type: 'float32', dims: [3, height, width], data }, geometry };
}

/**
 * Builds the detector for a manifest: its decoder comes from the registry (any decoder of the
 * detection family). Feeding follows the input layout: `CHW` exports (torchvision) take one
 * `[3,H,W]` tensor per input name and give each image its own outputs; other layouts run
 * stacked NCHW/NHWC batches and the decoder picks its image by index. `roles`: extra output
 * roles to fetch (masks, keypoints), which the decoder must offer.
 */
export function createDetector(
  loaded: LoadedManifest,
  runner: ModelRunner,
  options: DetectOptions,
  roles: readonly string[] = [],
): Detector {
  const m = loaded.manifest;
  const decoder = decoderFor('detection', m, loaded.manifestPath);
  const fixed = typeof m.input.batch === 'number' ? m.input.batch : null;
  const filter: DetectionFilter = {
    score_threshold: options.score_threshold,
    max_detections: options.max_detections,
    min_box_area: options.min_box_area,
    allow: options.filter.allow,
    deny: options.filter.deny,
  };
  const need = (role: string): string => {
    const t = m.outputs[role];
    if (!t)
      throw new VidflowError(
        'MODEL_MANIFEST_INVALID',
        `${loaded.manifestPath}: outputs.${role} is missing (decoder ${m.decoder.type})`,
      );
    return t;
  };
  const extra = roles.filter((r) => !decoder.spec.roles.includes(r));
  const unsupported = extra.filter((r) => !(decoder.spec.optionalRoles ?? []).includes(r));
  if (unsupported.length > 0)
    throw new VidflowError(
      'MODEL_MANIFEST_INVALID',
      `${loaded.manifestPath}: decoder ${m.decoder.type} has no ${unsupported.join(', ')} outputs`,
    );
  const allRoles = [...decoder.spec.roles, ...extra];
  const templates = Object.fromEntries(allRoles.map((r) => [r, need(r)]));
  const decode = (
    outputs: Record<string, Tensor>,
    index: number,
    geometry: Geometry,
    frame: Frame,
    inputWidth: number,
    inputHeight: number,
  ) =>
    decoder.spec.decode(outputs, index, {
      labels: loaded.labels,
      // Decode-time resize (sources' decode_size): map to the source's pixels, not the decoded frame's.
      geometry: toSourceGeometry(geometry, frame),
      frameWidth: sourceSize(frame).width,
      frameHeight: sourceSize(frame).height,
      inputWidth,
      inputHeight,
      filter,
      nmsIou: options.nms_iou,
      options: decoder.options,
    });
  if (m.input.layout === 'CHW') {
    const perCall = fixed ?? 1;
    if (m.input.names.length !== perCall)
      throw new VidflowError(
        'MODEL_MANIFEST_INVALID',
        `${loaded.manifestPath}: input.names has ${m.input.names.length} names; a ` +
          `${fixed === null ? 'dynamic' : `fixed batch ${fixed}`} CHW (torchvision detection) export needs ${perCall}`,
      );
    return {
      model_id: m.name,
      fixed_batch: fixed,
      frame_input: frameInputOf(m),
      prepare: (frame) => preprocessFrame(frame, m.input, 'CHW'),
      async run(frames, prepared) {
        const results: DetectorOutput[] = [];
        const images = await Promise.all(
          (prepared as Array<PreparedImage | Promise<PreparedImage>> | undefined) ??
            frames.map((f) => preprocessFrame(f, m.input, 'CHW')),
        );
        // One `[3,H,W]` tensor per input name; a short fixed batch is padded with its first image (results discarded).
        for (const call of chwFeeds(images, m.input.names)) {
          const part = call.indices.map((k) => frames[k]!);
          const names = part.flatMap((_, i) => allRoles.map((r) => outputName(templates[r]!, i)));
          const out = await runner.run(call.feeds, names);
          part.forEach((frame, i) => {
            const outputs: Record<string, Tensor> = {};
            for (const r of allRoles) {
              const t = out[outputName(templates[r]!, i)];
              if (!t) throw new Error(`model returned no output ${outputName(templates[r]!, i)}`);
              outputs[r] = t;
            }
            const dims = call.feeds[m.input.names[i]!]!.dims;
            const { detections, rows } = decode(outputs, 0, call.geometries[i]!, frame, dims[2]!, dims[1]!);
            results.push({ detections, rows, geometry: toSourceGeometry(call.geometries[i]!, frame), outputs });
          });
        }
        return results;
      },
      close: () => runner.close(),
    };
  }
  const inputName = m.input.names[0]!;
  const names = allRoles.map((r) => templates[r]!);
  return {
    model_id: m.name,
    fixed_batch: fixed,
    frame_input: frameInputOf(m),
    prepare: (frame) => prepareImage(frame, m.input),
    async run(frames, prepared) {
      return runImageBatches(
        frames,
        m.input,
        fixed,
        async (part, { tensor, geometries }) => {
          const out = await runner.run({ [inputName]: tensor }, names);
          const outputs: Record<string, Tensor> = {};
          for (const r of allRoles) {
            const t = out[templates[r]!];
            if (!t) throw new Error(`model returned no output ${templates[r]!}`);
            outputs[r] = t;
          }
          const inW = tensor.dims[m.input.layout === 'NHWC' ? 2 : 3]!;
          const inH = tensor.dims[m.input.layout === 'NHWC' ? 1 : 2]!;
          // Batched outputs hold every image of the run: `outputs` stays empty (no per-image tensors).
          return part.map(
            (frame, i): DetectorOutput => ({
              ...decode(outputs, i, geometries[i]!, frame, inW, inH),
              geometry: toSourceGeometry(geometries[i]!, frame),
              outputs: {},
            }),
          );
        },
        prepared as Array<PreparedImage | Promise<PreparedImage>> | undefined,
      );
    },
    close: () => runner.close(),
  };
}

/** A FrameModel of task `detection` (also the base of `track`). */
export function detectionModel(
  loaded: LoadedManifest,
  runner: ModelRunner,
  options: DetectOptions,
): FrameModel<DetectResult> {
  return detectorModel(createDetector(loaded, runner, options), 'detection', (o) => ({ detections: o.detections }));
}

type DetectLikeConfig = Pick<
  DetectConfig,
  | 'model'
  | 'classes'
  | 'exclude_classes'
  | 'score_threshold'
  | 'max_detections'
  | 'min_box_area'
  | 'nms_iou'
  | 'execution_providers'
  | 'intra_op_threads'
  | 'allow_spinning'
  | 'device_id'
  | 'workers'
>;

/** Opens the stage's model (checking its task) and resolves the class filter; config errors name `ctx.configPath`. */
export async function openDetector(
  config: DetectLikeConfig,
  ctx: StageContext,
  tasks: readonly ModelTask[],
  stageType: string,
): Promise<{ loaded: LoadedManifest; runner: ModelRunner; options: DetectOptions }> {
  return openStageModel(config, ctx, tasks, stageType, (loaded, runner) => {
    const filter = resolveClassFilter(loaded.labels, config.classes, config.exclude_classes, ctx.configPath);
    return {
      loaded,
      runner,
      options: {
        score_threshold: config.score_threshold,
        max_detections: config.max_detections,
        min_box_area: config.min_box_area,
        nms_iou: config.nms_iou,
        filter,
      },
    };
  });
}

/** Wraps a Detector as a FrameModel of `task`, decoding each frame with `decode`. */
export function detectorModel<R>(
  det: Detector,
  task: Task,
  decode: (o: DetectorOutput, frame: Frame) => R,
): FrameModel<R> {
  const model: FrameModel<R> = {
    model_id: det.model_id,
    task,
    fixed_batch: det.fixed_batch,
    frame_input: det.frame_input,
    async run(frames, prepared) {
      const outs = await det.run(frames, prepared);
      return outs.map((o, i) => decode(o, frames[i]!));
    },
    close: () => det.close(),
  };
  if (det.prepare) model.prepare = (frame) => det.prepare!(frame);
  return model;
}

export const detectSpec: StageSpec<DetectConfig> = {
  type: 'detect',
  summary:
    'Object detection (torchvision Faster R-CNN / RetinaNet exports, YOLOX, FastestDet, UltraFace faces): boxes in ' +
    'source-frame pixels with COCO labels and scores.',
  schema: detectSchema,
  example: { type: 'detect', id: 'people', model: 'yolox-nano', classes: ['person'], score_threshold: 0.4 },
  async create(config, ctx): Promise<Stage> {
    const { loaded, runner, options } = await openDetector(config, ctx, ['detection'], 'detect');
    return stageFor(config, ctx, detectionModel(loaded, runner, options));
  },
};
