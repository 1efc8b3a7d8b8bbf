/**
 * Decoder `torchvision_detection`: torchvision Faster/Mask/Keypoint R-CNN and RetinaNet exports.
 * NMS, resize and normalization are in the graph; each image has its own `boxes` [N,4]
 * (model-input pixels), `labels` [N] and `scores` [N] (plus `masks` / `keypoints` read by the
 * instance-segmentation and keypoint stages for the same rows).
 */
import { z } from 'zod';
import type { DetectionDecoder } from './decoder.js';
import { decodeTorchvisionDetections } from './detection.js';

const options = z
  .object({
    outputs_are: z
      .enum(['logits', 'probabilities'])
      .default('probabilities')
      .describe('Scores as the export gives them (torchvision: probabilities).'),
    nms_in_graph: z.literal(true).default(true).describe('torchvision exports run NMS in the graph.'),
    mask_threshold: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe('Mask R-CNN: probability threshold of the binary mask (torchvision: 0.5).'),
  })
  .strict();

export const torchvisionDetectionDecoder: DetectionDecoder<z.infer<typeof options>> = {
  type: 'torchvision_detection',
  family: 'detection',
  summary:
    'torchvision Faster/Mask/Keypoint R-CNN and RetinaNet exports: per-image `boxes`, `labels`, `scores` (NMS in the ' +
    'graph); `masks`, `keypoints`, `keypoints_scores` for the instance and keypoint stages.',
  tasks: ['detection', 'instance_segmentation', 'keypoint_detection'],
  roles: ['boxes', 'labels', 'scores'],
  optionalRoles: ['masks', 'keypoints', 'keypoints_scores'],
  options,
  decode(outputs, index, ctx) {
    if (index !== 0) throw new Error('torchvision_detection: each image has its own output tensors (index must be 0)');
    return decodeTorchvisionDetections(
      {
        boxes: outputs.boxes!.data as Float32Array,
        labels: outputs.labels!.data as BigInt64Array,
        scores: outputs.scores!.data as Float32Array,
      },
      ctx.geometry,
      ctx.frameWidth,
      ctx.frameHeight,
      ctx.labels,
      ctx.filter,
    );
  },
};
