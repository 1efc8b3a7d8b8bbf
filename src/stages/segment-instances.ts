/**
 * `segment_instances` stage: instance segmentation (manifest task `instance_segmentation`,
 * torchvision Mask R-CNN). Each detection carries its mask, thresholded at the manifest's
 * `decoder.mask_threshold` (torchvision: 0.5) at source-frame resolution and encoded as COCO
 * RLE (column-major, uncompressed counts, starting with a run of 0s), plus its area in pixels.
 */
import { z } from 'zod';
import type { Stage, StageSpec } from '../core/component.js';
import { sourceSize, type Frame } from '../core/frame.js';
import type { Detection } from '../models/decoders/detection.js';
import { encodeMaskRle, isIdentity, nearestIndexMap, type CocoRle } from '../models/decoders/rle.js';
import type { LoadedManifest } from '../models/manifest.js';
import type { ModelRunner } from '../models/runner.js';
import {
  createDetector,
  detectOptionFields,
  detectorModel,
  openDetector,
  type DetectOptions,
  type DetectorOutput,
} from './detect.js';
import { modelStageFields, stageFor, type FrameModel } from './model-stage.js';

export const segmentInstancesSchema = z
  .object({
    type: z.literal('segment_instances'),
    ...modelStageFields,
    ...detectOptionFields,
  })
  .strict();
export type SegmentInstancesConfig = z.infer<typeof segmentInstancesSchema>;

export interface InstanceDetection extends Detection {
  mask: CocoRle;
  /** Mask area in source-frame pixels. */
  area: number;
}

export interface SegmentInstancesResult {
  detections: InstanceDetection[];
}

/**
 * Decodes the masks of one frame's kept detections from `masks` [N,1,H,W] (probabilities at the
 * model-input size) at the frame's resolution.
 */
export function decodeInstanceMasks(
  o: DetectorOutput,
  frame: Pick<Frame, 'width' | 'height'>,
  threshold: number,
): InstanceDetection[] {
  const masks = o.outputs.masks;
  if (!masks) throw new Error('model returned no masks');
  const [, , mh, mw] = masks.dims as [number, number, number, number];
  const data = masks.data as Float32Array;
  const identity = isIdentity(o.geometry, mw, mh, frame.width, frame.height);
  const rowMap = identity ? null : nearestIndexMap(frame.height, mh, o.geometry.scale_y, o.geometry.offset_y);
  const colMap = identity ? null : nearestIndexMap(frame.width, mw, o.geometry.scale_x, o.geometry.offset_x);
  return o.detections.map((d, i) => {
    const { rle, area } = encodeMaskRle(
      data,
      o.rows[i]! * mh * mw,
      mw,
      threshold,
      frame.width,
      frame.height,
      rowMap,
      colMap,
    );
    return { ...d, mask: rle, area };
  });
}

export function instanceSegmentationModel(
  loaded: LoadedManifest,
  runner: ModelRunner,
  options: DetectOptions,
): FrameModel<SegmentInstancesResult> {
  const det = createDetector(loaded, runner, options, ['masks']);
  const mt = loaded.manifest.decoder.mask_threshold;
  const threshold = typeof mt === 'number' ? mt : 0.5;
  return detectorModel(det, 'instance_segmentation', (o, frame) => ({
    detections: decodeInstanceMasks(o, sourceSize(frame), threshold), // masks at the source's size
  }));
}

export const segmentInstancesSpec: StageSpec<SegmentInstancesConfig> = {
  type: 'segment_instances',
  summary:
    'Instance segmentation (torchvision Mask R-CNN): detections with per-instance masks as COCO RLE at source ' +
    'resolution, and mask areas.',
  schema: segmentInstancesSchema,
  example: {
    type: 'segment_instances',
    id: 'masks',
    model: 'maskrcnn_resnet50_fpn',
    score_threshold: 0.6,
    classes: ['person', 'car'],
  },
  async create(config, ctx): Promise<Stage> {
    const { loaded, runner, options } = await openDetector(config, ctx, ['instance_segmentation'], 'segment_instances');
    return stageFor(config, ctx, instanceSegmentationModel(loaded, runner, options));
  },
};
