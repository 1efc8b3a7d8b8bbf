/**
 * `segment` stage: semantic segmentation (manifest task `semantic_segmentation`: torchvision
 * FCN / DeepLabV3 / LR-ASPP, and NHWC exports such as TF DeepLabV3), decoder
 * `segmentation_argmax`. Per frame: per-pixel argmax at source resolution (label map resized back
 * to the frame with nearest), the fraction of pixels per class present and, on request, the label
 * map itself as row-major RLE or as a base64 8-bit grayscale PNG (pixel value = class id).
 */
import { z } from 'zod';
import type { Stage, StageSpec } from '../core/component.js';
import { sourceSize, type Frame } from '../core/frame.js';
import { toSourceGeometry } from '../models/preprocess.js';
import { VidflowError } from '../core/errors.js';
import { encodeGrayPng } from '../models/decoders/png.js';
import { encodeLabelMapRle, type LabelMapRle } from '../models/decoders/rle.js';
import { decoderFor } from '../models/decoders/registry.js';
import { classFractions, decodeSegmentation } from '../models/decoders/segmentation.js';
import { prepareImage, runImageBatches } from '../models/image-batch.js';
import type { LoadedManifest } from '../models/manifest.js';
import type { PreparedImage } from '../models/preprocess-pool.js';
import type { ModelRunner, Tensor } from '../models/runner.js';

import { frameInputOf, modelStageFields, openStageModel, stageFor, type FrameModel } from './model-stage.js';

export const LABEL_MAP_FORMATS = ['none', 'rle', 'png'] as const;
export const DEFAULT_LABEL_MAP: (typeof LABEL_MAP_FORMATS)[number] = 'none';

export const segmentSchema = z
  .object({
    type: z.literal('segment'),
    ...modelStageFields,
    label_map: z
      .enum(LABEL_MAP_FORMATS)
      .default(DEFAULT_LABEL_MAP)
      .describe(
        'Also emit the per-pixel label map at source resolution: `rle` (row-major value/length runs, ' +
          'docs/result-schema.md), `png` (base64 8-bit grayscale PNG, pixel = class id) or `none`.',
      ),
    include_aux: z
      .boolean()
      .default(false)
      .describe(
        'Also decode the auxiliary classifier output (`outputs.aux`, FCN/DeepLabV3 with aux_loss) into ' +
          '`aux_class_fractions`.',
      ),
  })
  .strict();
export type SegmentConfig = z.infer<typeof segmentSchema>;

export interface PngLabelMap {
  format: 'png';
  width: number;
  height: number;
  /** Base64 of an 8-bit grayscale PNG; pixel value = class id. */
  data: string;
}

export interface SegmentResult {
  class_fractions: Record<string, number>;
  label_map?: LabelMapRle | PngLabelMap;
  aux_class_fractions?: Record<string, number>;
}

/** Moved to the `segmentation_argmax` decoder's module; re-exported for existing callers. */
export { decodeSegmentation };

export function labelMapPayload(
  map: Uint8Array,
  width: number,
  height: number,
  format: SegmentConfig['label_map'],
): LabelMapRle | PngLabelMap | undefined {
  if (format === 'rle') return encodeLabelMapRle(map, height, width);
  if (format === 'png')
    return { format: 'png', width, height, data: encodeGrayPng(map, width, height).toString('base64') };
  return undefined;
}

export function segmentationModel(
  loaded: LoadedManifest,
  runner: ModelRunner,
  options: Pick<SegmentConfig, 'label_map' | 'include_aux'>,
): FrameModel<SegmentResult> {
  const m = loaded.manifest;
  const outName = m.outputs.out;
  if (!outName)
    throw new VidflowError('MODEL_MANIFEST_INVALID', `${loaded.manifestPath}: segmentation manifest needs outputs.out`);
  const auxName = options.include_aux ? m.outputs.aux : undefined;
  if (options.include_aux && !auxName)
    throw new VidflowError(
      'MODEL_MANIFEST_INVALID',
      `${loaded.manifestPath}: include_aux needs outputs.aux in the manifest`,
    );
  const fixed = typeof m.input.batch === 'number' ? m.input.batch : null;
  const inputName = m.input.names[0]!;
  const decoder = decoderFor('segmentation', m, loaded.manifestPath);
  const classes = m.labels.count;
  return {
    model_id: m.name,
    task: 'semantic_segmentation',
    fixed_batch: fixed,
    frame_input: frameInputOf(m),
    /** Preprocesses a frame on the preprocessing pool as it arrives. */
    prepare: (frame: Frame) => prepareImage(frame, m.input),
    async run(frames: Frame[], prepared?: unknown[]): Promise<SegmentResult[]> {
      return runImageBatches(
        frames,
        m.input,
        fixed,
        async (part, { tensor, geometries }) => {
          const out = await runner.run({ [inputName]: tensor }, auxName ? [outName, auxName] : [outName]);
          const byRole: Record<string, Tensor> = { out: out[outName]! };
          if (auxName) byRole.aux = out[auxName]!;
          return part.map((frame, i) => {
            const src = sourceSize(frame); // label maps at the source's size (decode_size)
            const ctx = {
              classes,
              geometry: toSourceGeometry(geometries[i]!, frame),
              frameWidth: src.width,
              frameHeight: src.height,
              options: decoder.options,
            };
            const map = decoder.spec.decode(byRole, i, { ...ctx, role: 'out' });
            const r: SegmentResult = { class_fractions: classFractions(map, loaded.labels) };
            const lm = labelMapPayload(map, src.width, src.height, options.label_map);
            if (lm) r.label_map = lm;
            if (auxName) {
              r.aux_class_fractions = classFractions(
                decoder.spec.decode(byRole, i, { ...ctx, role: 'aux' }),
                loaded.labels,
              );
            }
            return r;
          });
        },
        prepared as Array<PreparedImage | Promise<PreparedImage>> | undefined,
      );
    },
    close: () => runner.close(),
  };
}

export const segmentSpec: StageSpec<SegmentConfig> = {
  type: 'segment',
  summary:
    'Semantic segmentation (torchvision FCN / DeepLabV3 / LR-ASPP, TF DeepLabV3, road-segmentation-adas-0001, ' +
    'BodyPix ' +
    'person mask): per-class pixel fractions and optionally the label map (RLE or PNG) at source resolution.',
  schema: segmentSchema,
  example: { type: 'segment', id: 'scene', model: 'deeplabv3-mobilenetv2-257', every_n_frames: 5, label_map: 'png' },
  async create(config, ctx): Promise<Stage> {
    const model = await openStageModel(config, ctx, ['semantic_segmentation'], 'segment', (loaded, runner) =>
      segmentationModel(loaded, runner, config),
    );
    return stageFor(config, ctx, model);
  },
};
