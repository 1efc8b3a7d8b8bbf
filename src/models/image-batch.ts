/**
 * Builds NCHW/NHWC float batches from frames with a manifest's preprocessing; frames whose
 * preprocessed sizes differ are split into separate runs. Stages prepare each frame on the
 * preprocessing pool as it arrives (`prepareImage`) and assemble batches from those tensors.
 */
import type { Frame } from '../core/frame.js';
import type { ModelInputSpec } from './manifest.js';
import { inputSize, type Geometry } from './preprocess.js';
import { preprocessFrame, preprocessInThread, type PreparedImage } from './preprocess-pool.js';
import { fixedChunks, groupByKey, imageBatches, stackImageTensor } from './tensor-builder.js';
import type { Tensor } from './runner.js';

export interface ImageBatch {
  tensor: Tensor;
  geometries: Geometry[];
}

function batchLayout(spec: ModelInputSpec): 'NCHW' | 'NHWC' {
  return spec.layout === 'NHWC' ? 'NHWC' : 'NCHW';
}

/** Preprocesses `frames` into one tensor in this thread (all frames must yield the same input size). */
export function buildImageBatch(frames: readonly Frame[], spec: ModelInputSpec, padTo?: number): ImageBatch {
  const images = frames.map((f) => preprocessInThread(f, spec, batchLayout(spec)));
  return stackImages(images, spec, padTo);
}

/** Preprocesses one frame for a batch on the preprocessing pool (off the main thread). */
export function prepareImage(frame: Frame, spec: ModelInputSpec): Promise<PreparedImage> {
  return preprocessFrame(frame, spec, batchLayout(spec));
}

/**
 * Stacks prepared images (same size) into one tensor, padded to `padTo` with the first image;
 * the same values as `buildImageBatch` on their frames. A single image is used without a copy.
 */
export function stackImages(images: readonly PreparedImage[], spec: ModelInputSpec, padTo?: number): ImageBatch {
  const padded = fixedChunks(
    images.map((_, i) => i),
    padTo !== undefined && padTo > images.length ? padTo : null,
  )[0]!.padded;
  return {
    tensor: stackImageTensor(
      padded.map((i) => images[i]!),
      batchLayout(spec),
    ),
    geometries: images.map((im) => im.geometry),
  };
}

/** Groups frames by the input size their preprocessing yields, keeping their order within groups. */
export function groupBySize(
  frames: readonly Frame[],
  spec: ModelInputSpec,
): Array<{ indices: number[]; frames: Frame[] }> {
  return groupByKey(frames, (f) => {
    const s = inputSize(f.width, f.height, spec);
    return `${s.width}x${s.height}`;
  }).map((indices) => ({ indices, frames: indices.map((i) => frames[i]!) }));
}

/**
 * Runs `frames` through a model in the batches it accepts (the tensor builder's `imageBatches`):
 * frames whose preprocessed sizes differ run separately, and a fixed-batch export runs padded
 * chunks of its size. `prepared`: the frames' images from `prepareImage` (or promises of them),
 * in the order of `frames`; without it the frames are prepared on the pool now. `runBatch` gets
 * the frames of one run with their batch tensor and returns one result per frame; the results
 * come back in the order of `frames`.
 */
export async function runImageBatches<R>(
  frames: readonly Frame[],
  spec: ModelInputSpec,
  fixedBatch: number | null,
  runBatch: (part: Frame[], batch: ImageBatch) => Promise<R[]>,
  prepared?: ReadonlyArray<PreparedImage | Promise<PreparedImage>>,
): Promise<R[]> {
  const images = await Promise.all(prepared ?? frames.map((f) => prepareImage(f, spec)));
  const results: R[] = new Array(frames.length);
  for (const run of imageBatches(images, batchLayout(spec), fixedBatch)) {
    const out = await runBatch(
      run.indices.map((i) => frames[i]!),
      { tensor: run.tensor, geometries: run.geometries },
    );
    out.forEach((r, k) => (results[run.indices[k]!] = r));
  }
  return results;
}
