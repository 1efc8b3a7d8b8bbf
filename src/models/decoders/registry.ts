/**
 * The output decoders, listed explicitly (like src/sinks/index.ts lists sinks). A manifest's
 * `decoder.type` is resolved here when it is loaded; docs/manifest.md lists exactly these.
 */
import { VidflowError } from '../../core/errors.js';
import { didYouMean } from '../../core/suggest.js';
import type { ModelTask } from '../manifest.js';
import type {
  ClassificationDecoder,
  DecoderFamily,
  DecoderSpec,
  DetectionDecoder,
  SegmentationDecoder,
} from './decoder.js';
import { bodypixKeypointsDecoder } from './bodypix-keypoints.js';
import { bodypixPersonMaskDecoder } from './bodypix-person-mask.js';
import { fastestdetDecoder } from './fastestdet.js';
import { segmentationArgmaxDecoder } from './segmentation-argmax.js';
import { softmaxTopkDecoder } from './softmax-topk.js';
import { torchvisionDetectionDecoder } from './torchvision-detection.js';
import { ultrafaceDecoder } from './ultraface.js';
import { yoloxDecoder } from './yolox.js';

export const decoderSpecs: readonly DecoderSpec[] = [
  softmaxTopkDecoder,
  torchvisionDetectionDecoder,
  segmentationArgmaxDecoder,
  yoloxDecoder,
  fastestdetDecoder,
  ultrafaceDecoder,
  bodypixKeypointsDecoder,
  bodypixPersonMaskDecoder,
];

export const DECODER_TYPES: readonly string[] = decoderSpecs.map((d) => d.type);

export function findDecoder(type: string): DecoderSpec | undefined {
  return decoderSpecs.find((d) => d.type === type);
}

/**
 * Resolves a manifest's decoder: the type must be registered (a near miss gets "did you mean")
 * and serve `task`; the other fields are the decoder's options. Returns the spec and the parsed
 * options, or a one-line message naming the field (`decoder.type: …`, `decoder.<option>: …`).
 */
export function resolveDecoder(
  decoder: { type: string } & Record<string, unknown>,
  task: ModelTask,
): { spec: DecoderSpec; options: Record<string, unknown> } | { error: string } {
  const spec = findDecoder(decoder.type);
  if (!spec)
    return {
      error:
        `decoder.type: unknown decoder "${decoder.type}"${didYouMean(decoder.type, DECODER_TYPES)} (known: ` +
        `${DECODER_TYPES.join(', ')})`,
    };
  if (!spec.tasks.includes(task)) {
    const serving = decoderSpecs.filter((d) => d.tasks.includes(task)).map((d) => d.type);
    return {
      error:
        `decoder.type: decoder ${spec.type} serves ${spec.tasks.join(', ')}, not task ${task} (decoders for ` +
        `${task}: ${serving.join(', ')})`,
    };
  }
  const { type: _type, ...rest } = decoder;
  const parsed = spec.options.safeParse(rest);
  if (!parsed.success) {
    return {
      error: parsed.error.issues
        .map((i) => `decoder.${i.path.length ? i.path.join('.') : '(options)'}: ${i.message} (decoder ${spec.type})`)
        .join('; '),
    };
  }
  return { spec, options: parsed.data as Record<string, unknown> };
}

const FAMILY_NAMES: Record<DecoderFamily, string> = {
  classification: 'classification',
  detection: 'detection',
  segmentation: 'segmentation',
};

/** A manifest's decoder with its parsed options. */
export interface BoundDecoder<D extends DecoderSpec> {
  spec: D;
  options: unknown;
}

/**
 * The manifest's decoder, which must be of `family` (loadManifest already checked type and task),
 * with its options parsed again (fills defaults in manifests built by hand; idempotent otherwise).
 */
export function decoderFor(
  family: 'detection',
  manifest: { decoder: { type: string } },
  manifestPath: string,
): BoundDecoder<DetectionDecoder>;
export function decoderFor(
  family: 'classification',
  manifest: { decoder: { type: string } },
  manifestPath: string,
): BoundDecoder<ClassificationDecoder>;
export function decoderFor(
  family: 'segmentation',
  manifest: { decoder: { type: string } },
  manifestPath: string,
): BoundDecoder<SegmentationDecoder>;
export function decoderFor(
  family: DecoderFamily,
  manifest: { decoder: { type: string } },
  manifestPath: string,
): BoundDecoder<DecoderSpec> {
  const spec = findDecoder(manifest.decoder.type);
  if (!spec || spec.family !== family) {
    const names = decoderSpecs.filter((d) => d.family === family).map((d) => d.type);
    throw new VidflowError(
      'MODEL_MANIFEST_INVALID',
      `${manifestPath}: decoder ${manifest.decoder.type} is not a ${FAMILY_NAMES[family]} decoder ` +
        `(${names.join(', ')})`,
    );
  }
  const { type: _type, ...rest } = manifest.decoder as Record<string, unknown>;
  const parsed = spec.options.safeParse(rest);
  if (!parsed.success)
    throw new VidflowError(
      'MODEL_MANIFEST_INVALID',
      `${manifestPath}: invalid manifest: decoder: ${parsed.error.issues.map(issueText).join('; ')}`,
    );
  return { spec, options: parsed.data };
}

/** One zod issue of a decoder's options as `path: message`. */
function issueText(i: { path: PropertyKey[]; message: string }): string {
  return `${i.path.map(String).join('.') || '(options)'}: ${i.message}`;
}
