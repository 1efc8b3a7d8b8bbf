/**
 * `classify` stage: an image classifier (manifest task `classification`), softmax top-k with the
 * model's label names.
 */
import { z } from 'zod';
import type { Stage, StageSpec } from '../core/component.js';
import type { Frame } from '../core/frame.js';
import type { ClassScore } from '../core/result.js';
import { decoderFor } from '../models/decoders/registry.js';
import { preprocessFrame, type PreparedImage } from '../models/preprocess-pool.js';
import type { LoadedManifest } from '../models/manifest.js';
import type { ModelRunner } from '../models/runner.js';
import { imageBatches } from '../models/tensor-builder.js';
import { frameInputOf, modelStageFields, openStageModel, stageFor, type FrameModel } from './model-stage.js';

export const classifySchema = z
  .object({
    type: z.literal('classify'),
    ...modelStageFields,
    top_k: z.number().int().min(1).max(1000).default(5).describe('Classes reported per frame.'),
    min_score: z.number().min(0).max(1).default(0).describe('Drop classes scoring below this probability.'),
  })
  .strict();
export type ClassifyConfig = z.infer<typeof classifySchema>;

export interface ClassifyResult {
  top: ClassScore[];
}

/** A FrameModel over any classification manifest. */
export function classificationModel(
  loaded: LoadedManifest,
  runner: ModelRunner,
  options: { top_k: number; min_score: number },
): FrameModel<ClassifyResult> {
  const m = loaded.manifest;
  const logitsName = m.outputs.logits;
  if (!logitsName) throw new Error(`${loaded.manifestPath}: classification manifest needs outputs.logits`);
  const decoder = decoderFor('classification', m, loaded.manifestPath);
  const fixed = typeof m.input.batch === 'number' ? m.input.batch : null;
  const inputName = m.input.names[0]!;
  const layout = m.input.layout === 'NHWC' ? 'NHWC' : 'NCHW';
  /** Preprocesses a frame on the preprocessing pool, as it arrives (overlapping the previous batch's inference). */
  const prepare = (frame: Frame): Promise<PreparedImage> => preprocessFrame(frame, m.input, layout);
  return {
    model_id: m.name,
    task: 'classification',
    fixed_batch: fixed,
    frame_input: frameInputOf(m),
    prepare,
    async run(frames: Frame[], prepared?: unknown[]): Promise<ClassifyResult[]> {
      const items = await Promise.all(
        (prepared as Array<PreparedImage | Promise<PreparedImage>> | undefined) ?? frames.map(prepare),
      );
      const results: ClassifyResult[] = new Array(frames.length);
      // Frames whose inputs differ in size (no crop, different streams) run separately.
      for (const batch of imageBatches(items, layout, fixed)) {
        const out = await runner.run({ [inputName]: batch.tensor }, [logitsName]);
        const logits = out[logitsName]!;
        batch.indices.forEach((idx, j) => {
          results[idx] = decoder.spec.decode({ logits }, j, {
            ...options,
            labels: loaded.labels,
            options: decoder.options,
          });
        });
      }
      return results;
    },
    close: () => runner.close(),
  };
}

export const classifySpec: StageSpec<ClassifyConfig> = {
  type: 'classify',
  summary:
    'Image classification (torchvision classifiers and any manifest of task `classification`): top-k labels per frame.',
  schema: classifySchema,
  example: { type: 'classify', id: 'scene', model: 'mobilenetv2-12-int8', top_k: 3, batch_size: 4 },
  async create(config, ctx): Promise<Stage> {
    const model = await openStageModel(config, ctx, ['classification'], 'classify', (loaded, runner) =>
      classificationModel(loaded, runner, { top_k: config.top_k, min_score: config.min_score }),
    );
    return stageFor(config, ctx, model);
  },
};
