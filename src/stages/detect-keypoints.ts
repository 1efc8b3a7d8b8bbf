/**
 * `detect_keypoints` stage: person keypoints (manifest task `keypoint_detection`, torchvision
 * Keypoint R-CNN, or BodyPix single-person pose with decoder `bodypix_keypoints`). Each detected person carries the
 * 17 COCO keypoints named by the manifest's
 * keypoint list, in source-frame pixels, with torchvision's visibility flag and keypoint score.
 */
import { z } from 'zod';
import type { Stage, StageSpec } from '../core/component.js';
import type { Detection } from '../models/decoders/detection.js';
import { decodeKeypoints, type Keypoint } from '../models/decoders/keypoints.js';
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

export const detectKeypointsSchema = z
  .object({
    type: z.literal('detect_keypoints'),
    ...modelStageFields,
    ...detectOptionFields,
  })
  .strict();
export type DetectKeypointsConfig = z.infer<typeof detectKeypointsSchema>;

export interface KeypointDetection extends Detection {
  keypoints: Keypoint[];
}

export interface DetectKeypointsResult {
  detections: KeypointDetection[];
}

/** Adds the keypoints of each kept detection (rows of `keypoints` [N,K,3] / `keypoints_scores` [N,K]). */
export function decodePersonKeypoints(o: DetectorOutput, names: readonly string[]): KeypointDetection[] {
  if (o.keypoints) {
    // Decoded by the decoder itself (bodypix_keypoints): name them in the manifest's order.
    return o.detections.map((d, i) => {
      const kps = o.keypoints![i]!;
      if (kps.length !== names.length)
        throw new Error(`model returns ${kps.length} keypoints per person, the manifest names ${names.length}`);
      return { ...d, keypoints: kps.map((p, j) => ({ name: names[j]!, ...p })) };
    });
  }
  const kp = o.outputs.keypoints;
  if (!kp) throw new Error('model returned no keypoints');
  const k = kp.dims[1];
  if (k !== names.length)
    throw new Error(`model returns ${k} keypoints per person, the manifest names ${names.length}`);
  const scores = o.outputs.keypoints_scores ? (o.outputs.keypoints_scores.data as Float32Array) : null;
  return o.detections.map((d, i) => ({
    ...d,
    keypoints: decodeKeypoints(kp.data as Float32Array, scores, o.rows[i]!, names, o.geometry),
  }));
}

export function keypointModel(
  loaded: LoadedManifest,
  runner: ModelRunner,
  options: DetectOptions,
): FrameModel<DetectKeypointsResult> {
  // Decoders that decode keypoints themselves (bodypix_keypoints) read no `keypoints` role.
  const outs = loaded.manifest.outputs;
  const roles =
    outs.keypoints === undefined ? [] : outs.keypoints_scores ? ['keypoints', 'keypoints_scores'] : ['keypoints'];
  const det = createDetector(loaded, runner, options, roles);
  const names = loaded.keypointNames ?? [];
  return detectorModel(det, 'keypoint_detection', (o) => ({ detections: decodePersonKeypoints(o, names) }));
}

export const detectKeypointsSpec: StageSpec<DetectKeypointsConfig> = {
  type: 'detect_keypoints',
  summary:
    'Person keypoints (torchvision Keypoint R-CNN, BodyPix single-person pose): per detected person the 17 named ' +
    'COCO ' +
    'keypoints with x, y, visibility and score.',
  schema: detectKeypointsSchema,
  example: { type: 'detect_keypoints', id: 'pose', model: 'keypointrcnn_resnet50_fpn', score_threshold: 0.7 },
  async create(config, ctx): Promise<Stage> {
    const { loaded, runner, options } = await openDetector(config, ctx, ['keypoint_detection'], 'detect_keypoints');
    return stageFor(config, ctx, keypointModel(loaded, runner, options));
  },
};
