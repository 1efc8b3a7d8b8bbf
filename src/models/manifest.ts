/**
 * The model manifest: a JSON file beside an .onnx that describes how to feed the model and how
 * to read its outputs, so that no operator hard-codes a model. Documented in docs/manifest.md.
 *
 * Value fed to the model, per channel c: ((pixel / 255) * 255 * scale - mean[c]) / std[c], i.e.
 * with `scale: 1/255` pixels go to [0,1] before mean/std (torchvision's convention).
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { VidflowError } from '../core/errors.js';
import { MODEL_TASKS } from '../core/result.js';
import { interpolate } from '../core/interpolate.js';
import { resolveDecoder } from './decoders/registry.js';

export const MANIFEST_VERSION = 1;

export const TaskSchema = z.enum(MODEL_TASKS);
export type ModelTask = z.infer<typeof TaskSchema>;

export const ResizeSchema = z.discriminatedUnion('mode', [
  z
    .object({
      mode: z
        .literal('shorter_side')
        .describe('Resize so the shorter side equals `size`, keeping aspect (torchvision Resize(int)).'),
      size: z.number().int().positive(),
      max_size: z.number().int().positive().optional(),
    })
    .strict(),
  z
    .object({
      mode: z.literal('exact').describe('Stretch to width×height (torchvision Resize((h, w))).'),
      width: z.number().int().positive(),
      height: z.number().int().positive(),
    })
    .strict(),
  z
    .object({
      mode: z
        .literal('letterbox')
        .describe('Scale to fit inside width×height keeping aspect, pad the rest with `pad_value`.'),
      width: z.number().int().positive(),
      height: z.number().int().positive(),
      pad_value: z.number().default(114),
      align: z.enum(['top_left', 'center']).default('top_left'),
    })
    .strict(),
  z
    .object({ mode: z.literal('none').describe('Feed the frame at its own size (detectors resize in-graph).') })
    .strict(),
]);
export type ResizeSpec = z.infer<typeof ResizeSchema>;

export const InputSchema = z
  .object({
    names: z
      .array(z.string().min(1))
      .min(1)
      .describe('ONNX input names. Detection fixed-batch exports list one name per image (`image_0`, `image_1`, …).'),
    layout: z
      .enum(['NCHW', 'NHWC', 'NCTHW', 'CHW'])
      .describe('Tensor layout. `CHW`: one [3,H,W] tensor per input name (torchvision detection exports).'),
    batch: z
      .union([z.literal('dynamic'), z.number().int().positive()])
      .describe('`dynamic`, or the fixed batch size the model was exported with.'),
    color: z.enum(['RGB', 'BGR']).default('RGB'),
    resize: ResizeSchema,
    crop: z
      .object({ width: z.number().int().positive(), height: z.number().int().positive() })
      .strict()
      .nullable()
      .default(null)
      .describe('Center crop after resize.'),
    scale: z
      .number()
      .positive()
      .default(1 / 255)
      .describe('Multiplier applied to 0..255 pixels before mean/std.'),
    mean: z.tuple([z.number(), z.number(), z.number()]).default([0, 0, 0]),
    std: z.tuple([z.number(), z.number(), z.number()]).default([1, 1, 1]),
    clip_length: z.number().int().positive().optional().describe('Frames per clip (video models, T of NCTHW).'),
    interpolation: z
      .enum(['bilinear', 'bilinear_antialias', 'nearest'])
      .default('bilinear_antialias')
      .describe('Resampling used by the resize.'),
  })
  .strict();
export type ModelInputSpec = z.infer<typeof InputSchema>;

/**
 * `decoder`: `type` names a decoder of the registry (src/models/decoders/registry.ts); the other
 * fields are that decoder's options, validated by its own schema when the manifest is loaded.
 */
export const DecoderSchema = z
  .object({
    type: z
      .string()
      .min(1)
      .describe(
        'Output decoder, one of the registry (docs/manifest.md "Decoders"). torchvision_detection covers ' +
          'Faster/Mask/Keypoint R-CNN and RetinaNet.',
      ),
  })
  .passthrough();
/** A manifest's decoder: its type and its options (defaults filled in by loadManifest). */
export type ManifestDecoder = { type: string } & Record<string, unknown>;

export const LabelsSchema = z
  .object({
    set: z
      .enum(['imagenet-1k', 'coco-91', 'coco-80', 'voc-21', 'kinetics-400', 'custom'])
      .describe('Named label set; built-in sets live in labels/.'),
    file: z
      .string()
      .optional()
      .describe(
        'Label file (one per line, line index = class id), relative to the manifest. Defaults to labels/<set>.txt of ' +
          'vidflow.',
      ),
    count: z.number().int().positive().describe('Number of classes the model outputs.'),
    /** For synset-style files (`n01440764 tench, Tinca tinca`): strip the id and keep the first name. */
    format: z.enum(['plain', 'synset']).default('plain'),
  })
  .strict();

export const ManifestSchema = z
  .object({
    manifest_version: z.literal(MANIFEST_VERSION),
    name: z.string().min(1).describe('Model id used in pipeline files and result records.'),
    task: TaskSchema,
    model_file: z.string().min(1).describe('Path of the .onnx, relative to the manifest.'),
    input: InputSchema,
    outputs: z
      .record(z.string(), z.string())
      .describe(
        'Role → ONNX output name. Roles per task: classification `logits`; detection `boxes`,`labels`,`scores` ' +
          '(+`masks`, `keypoints`, `keypoints_scores`); segmentation `out` (+`aux`); video `logits`. Fixed-batch ' +
          'detection names may contain `{i}` (e.g. `boxes_{i}`).',
      ),
    decoder: DecoderSchema,
    labels: LabelsSchema,
    keypoint_names: z
      .string()
      .optional()
      .describe('Keypoint names file (17 COCO names by default for keypoint models).'),
    provenance: z
      .object({
        architecture: z.string(),
        weights: z
          .string()
          .describe('e.g. `IMAGENET1K_V1`, `random-seed-0`, `tiny-random-seed-0`, or an external source.'),
        source: z.string().optional(),
        exporter: z.string().optional(),
        torch: z.string().optional(),
        torchvision: z.string().optional(),
        opset: z.number().int().optional(),
        license: z.string().optional(),
        notes: z.string().optional(),
      })
      .passthrough(),
  })
  .strict();

export type ModelManifest = Omit<z.infer<typeof ManifestSchema>, 'decoder'> & { decoder: ManifestDecoder };

/**
 * Whether a manifest's weights are random (test fixtures: `provenance.weights` such as
 * `tiny-random-seed-0` or `random-seed-0`): the model runs, but its outputs mean nothing.
 */
export function hasRandomWeights(manifest: Pick<ModelManifest, 'provenance'>): boolean {
  return /(^|[^a-z])random([^a-z]|$)/i.test(manifest.provenance.weights);
}

/** A manifest together with the absolute paths it resolves to. */
export interface LoadedManifest {
  manifest: ModelManifest;
  manifestPath: string;
  modelPath: string;
  labels: string[];
  keypointNames: string[] | null;
}

const REPO_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
/** Built-in label files (labels/ at the package root). */
export const LABELS_DIR = path.join(REPO_ROOT, 'labels');

export function readLabelFile(file: string, format: 'plain' | 'synset'): string[] {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (format === 'synset')
    return lines.map((l) =>
      l
        .replace(/^n\d{8}\s+/, '')
        .split(',')[0]!
        .trim(),
    );
  return lines.map((l) => l.trim());
}

/**
 * Reads and validates a manifest, resolves its files and loads its labels. Errors name the
 * manifest file and the field.
 */
export function loadManifest(manifestPath: string, where?: string): LoadedManifest {
  const abs = path.resolve(manifestPath);
  const whereOpt = where === undefined ? {} : { where };
  if (!existsSync(abs)) {
    throw new VidflowError(
      'MODEL_NOT_FOUND',
      `${where ? `${where}: ` : ''}model manifest ${manifestPath} does not exist`,
      whereOpt,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(abs, 'utf8'));
  } catch (err) {
    throw new VidflowError(
      'MODEL_MANIFEST_INVALID',
      `${where ? `${where}: ` : ''}${manifestPath}: not valid JSON (${(err as Error).message})`,
      { ...whereOpt, cause: err },
    );
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
    throw new VidflowError(
      'MODEL_MANIFEST_INVALID',
      `${where ? `${where}: ` : ''}${manifestPath}: invalid manifest: ${first}`,
      whereOpt,
    );
  }
  const manifest = parsed.data as ModelManifest;
  const decoder = resolveDecoder(manifest.decoder, manifest.task);
  if ('error' in decoder) {
    throw new VidflowError(
      'MODEL_MANIFEST_INVALID',
      `${where ? `${where}: ` : ''}${manifestPath}: invalid manifest: ${decoder.error}`,
      whereOpt,
    );
  }
  manifest.decoder = { type: decoder.spec.type, ...decoder.options };
  const missing = decoder.spec.roles.filter((r) => manifest.outputs[r] === undefined);
  if (missing.length > 0) {
    throw new VidflowError(
      'MODEL_MANIFEST_INVALID',
      `${where ? `${where}: ` : ''}${manifestPath}: invalid manifest: outputs: decoder ${decoder.spec.type} reads ` +
        `output role${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, missing from outputs`,
      whereOpt,
    );
  }
  // File paths may use ${VAR} / ${VAR:-default} (e.g. ${VIDFLOW_SHARED:-../../../shared}/models/x.onnx).
  const expand = (field: string, value: string) =>
    interpolate(value, process.env, ({ variable }) => {
      throw new VidflowError(
        'MODEL_MANIFEST_INVALID',
        `${where ? `${where}: ` : ''}${manifestPath}: ${field} uses \${${variable}}, which is not set`,
        whereOpt,
      );
    });
  manifest.model_file = expand('model_file', manifest.model_file);
  if (manifest.labels.file) manifest.labels.file = expand('labels.file', manifest.labels.file);
  if (manifest.keypoint_names) manifest.keypoint_names = expand('keypoint_names', manifest.keypoint_names);
  const dir = path.dirname(abs);
  const modelPath = path.resolve(dir, manifest.model_file);
  if (!existsSync(modelPath)) {
    throw new VidflowError(
      'MODEL_NOT_FOUND',
      `${where ? `${where}: ` : ''}${manifestPath}: model_file ${manifest.model_file} does not exist (looked at ` +
        `${modelPath})`,
      whereOpt,
    );
  }
  const labelFile = manifest.labels.file
    ? path.resolve(dir, manifest.labels.file)
    : path.join(LABELS_DIR, `${manifest.labels.set}.txt`);
  if (!existsSync(labelFile)) {
    throw new VidflowError(
      'MODEL_MANIFEST_INVALID',
      `${where ? `${where}: ` : ''}${manifestPath}: labels file ${labelFile} does not exist`,
      whereOpt,
    );
  }
  const labels = readLabelFile(labelFile, manifest.labels.format);
  if (labels.length !== manifest.labels.count) {
    throw new VidflowError(
      'MODEL_MANIFEST_INVALID',
      `${where ? `${where}: ` : ''}${manifestPath}: labels.count is ${manifest.labels.count} but ${labelFile} has ` +
        `${labels.length} labels`,
      whereOpt,
    );
  }
  let keypointNames: string[] | null = null;
  if (manifest.task === 'keypoint_detection') {
    const kpFile = manifest.keypoint_names
      ? path.resolve(dir, manifest.keypoint_names)
      : path.join(LABELS_DIR, 'coco-keypoints-17.txt');
    if (!existsSync(kpFile)) {
      throw new VidflowError(
        'MODEL_MANIFEST_INVALID',
        `${where ? `${where}: ` : ''}${manifestPath}: keypoint_names file ${kpFile} does not exist`,
        whereOpt,
      );
    }
    keypointNames = readLabelFile(kpFile, 'plain');
  }
  return { manifest, manifestPath: abs, modelPath, labels, keypointNames };
}
