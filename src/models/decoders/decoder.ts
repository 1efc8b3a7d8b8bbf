/**
 * The decoder component: turns a model's output tensors (by manifest role) into results. A
 * manifest names its decoder in `decoder.type`; the registry (./registry.ts) lists them all, and
 * loading a manifest resolves the type, checks it serves the manifest's `task` and validates the
 * rest of the `decoder` object against the decoder's own options schema. Operators look the
 * decoder up instead of switching on its type, so adding a decoder touches no operator.
 *
 * `decode(outputs, index, context)` is pure: `outputs` are the tensors of one model run by role,
 * `index` the image's position along their batch axis (0 for exports that give each image its own
 * tensors), `context` what the decoder needs about the frame, the model input and the stage.
 */
import type { z } from 'zod';
import type { ClassScore } from '../../core/result.js';
import type { ModelTask } from '../manifest.js';
import type { Geometry } from '../preprocess.js';
import type { Tensor } from '../runner.js';
import type { Detection, DetectionFilter } from './detection.js';

/** Which kind of result a decoder produces (the operators of that kind accept it). */
export type DecoderFamily = 'classification' | 'detection' | 'segmentation';

export interface DecoderSpecBase<F extends DecoderFamily, O, C, R> {
  /** `decoder.type` in manifests. */
  readonly type: string;
  readonly family: F;
  /** One line for docs/manifest.md. */
  readonly summary: string;
  /** Manifest tasks it serves. */
  readonly tasks: readonly ModelTask[];
  /** Output roles it reads (each must be in the manifest's `outputs`). */
  readonly roles: readonly string[];
  /** Output roles it may read when present (or when a stage asks for them). */
  readonly optionalRoles?: readonly string[];
  /** Its options: the rest of the manifest's `decoder` object (strict, with defaults). */
  readonly options: z.ZodType<O, z.ZodTypeDef, unknown>;
  decode(outputs: Readonly<Record<string, Tensor>>, index: number, context: C & { options: O }): R;
}

/** Detection decoders: boxes in source-frame pixels. */
export interface DetectionDecodeContext {
  labels: readonly string[];
  /** Source frame → model input mapping of this image. */
  geometry: Geometry;
  frameWidth: number;
  frameHeight: number;
  /** Model input size (pixels) of this run. */
  inputWidth: number;
  inputHeight: number;
  filter: DetectionFilter;
  /** The stage's NMS IoU; undefined: the decoder's own default. Ignored by decoders with NMS in the graph. */
  nmsIou: number | undefined;
}
export interface DetectionDecodeResult {
  /** Best first, at most `filter.max_detections`. */
  detections: Detection[];
  /** The model output row of each detection (for masks / keypoints of the same row). */
  rows: number[];
  /**
   * Keypoints of each detection (same order, frame pixels, the manifest's keypoint order), for
   * decoders that decode keypoints themselves (bodypix_keypoints); torchvision exports leave it
   * unset and the stage reads the `keypoints` rows.
   */
  keypoints?: DecodedKeypoint[][];
}
export interface DecodedKeypoint {
  x: number;
  y: number;
  visible: boolean;
  score: number;
}

export interface ClassificationDecodeContext {
  labels: readonly string[];
  top_k: number;
  min_score: number;
}
export interface ClassificationDecodeResult {
  top: ClassScore[];
}

export interface SegmentationDecodeContext {
  /** Number of classes (labels.count). */
  classes: number;
  geometry: Geometry;
  frameWidth: number;
  frameHeight: number;
  /** The role to decode (`out`, or `aux`). */
  role: string;
}
/** The label map at the frame's resolution (row-major, pixel = class id). */
export type SegmentationDecodeResult = Uint8Array;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
// biome-ignore lint/suspicious/noExplicitAny: registry default type argument (specs of different config types)
export type DetectionDecoder<O = any> = DecoderSpecBase<'detection', O, DetectionDecodeContext, DetectionDecodeResult>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
// biome-ignore lint/suspicious/noExplicitAny: registry default type argument (specs of different config types)
export type ClassificationDecoder<O = any> = DecoderSpecBase<
  'classification',
  O,
  ClassificationDecodeContext,
  ClassificationDecodeResult
>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
// biome-ignore lint/suspicious/noExplicitAny: registry default type argument (specs of different config types)
export type SegmentationDecoder<O = any> = DecoderSpecBase<
  'segmentation',
  O,
  SegmentationDecodeContext,
  SegmentationDecodeResult
>;

export type DecoderSpec = DetectionDecoder | ClassificationDecoder | SegmentationDecoder;
