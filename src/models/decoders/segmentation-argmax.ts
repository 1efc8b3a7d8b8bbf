/** Decoder `segmentation_argmax`: per-pixel argmax over class scores, resized to the frame (nearest). */
import { z } from 'zod';
import type { SegmentationDecoder } from './decoder.js';
import { decodeSegmentation, segmentationLayout } from './segmentation.js';

const options = z
  .object({
    outputs_are: z.enum(['logits', 'probabilities']).default('logits').describe('Either: the argmax is the same.'),
    output_layout: z
      .enum(['NCHW', 'NHWC'])
      .default('NCHW')
      .describe('Layout of the class-score output (torchvision: NCHW; TF exports: NHWC).'),
  })
  .strict();

export const segmentationArgmaxDecoder: SegmentationDecoder<z.infer<typeof options>> = {
  type: 'segmentation_argmax',
  family: 'segmentation',
  summary:
    'Semantic segmentation: `out` (+ `aux`) class scores `[N, C, H, W]` or `[N, H, W, C]` (`output_layout`); ' +
    'per-pixel argmax, label map resized to the frame (nearest).',
  tasks: ['semantic_segmentation'],
  roles: ['out'],
  optionalRoles: ['aux'],
  options,
  decode(outputs, index, ctx) {
    const t = outputs[ctx.role]!;
    return decodeSegmentation(
      t,
      index,
      segmentationLayout(t.dims, ctx.classes, ctx.options.output_layout),
      ctx.geometry,
      ctx.frameWidth,
      ctx.frameHeight,
    );
  },
};
