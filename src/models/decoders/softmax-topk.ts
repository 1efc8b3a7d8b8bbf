/** Decoder `softmax_topk`: classifier / clip-classifier logits (or probabilities) → the top-k classes. */
import { z } from 'zod';
import { decodeClassification } from './classification.js';
import type { ClassificationDecoder } from './decoder.js';

const options = z
  .object({
    outputs_are: z
      .enum(['logits', 'probabilities'])
      .default('logits')
      .describe('`logits` (softmax applied) or `probabilities` (used as they are).'),
  })
  .strict();

export const softmaxTopkDecoder: ClassificationDecoder<z.infer<typeof options>> = {
  type: 'softmax_topk',
  family: 'classification',
  summary:
    'Classifiers and clip classifiers: `logits` `[N, classes]`; softmax (unless `outputs_are: probabilities`), then ' +
    'the top-k classes.',
  tasks: ['classification', 'video_classification'],
  roles: ['logits'],
  options,
  decode(outputs, index, ctx) {
    const logits = outputs.logits!;
    const classes = logits.dims[logits.dims.length - 1]!;
    return decodeClassification(logits.data as Float32Array, index, classes, {
      top_k: ctx.top_k,
      min_score: ctx.min_score,
      outputs_are: ctx.options.outputs_are,
      labels: ctx.labels,
    });
  },
};
