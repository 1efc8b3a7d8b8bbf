/**
 * Builds NCHW/NHWC float batches from frames with a manifest's preprocessing; frames whose
 * preprocessed sizes differ are split into separate runs. Stages prepare each frame on the
 * preprocessing pool as it arrives (`prepareImage`) and assemble batches from those tensors.
 */
import type { Frame } from '../core/frame.js';
import type { ModelInputSpec } from './manifest.js';
import { inputSize, preprocessInto, type Geometry } from './preprocess.js';
import { preprocessFrame, type PreparedImage } from './preprocess-pool.js';
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
  const first = frames[0]!;
  const { width, height } = inputSize(first.width, first.height, spec);
  const n = Math.max(frames.length, padTo ?? 0);
  const per = 3 * width * height;
  const data = new Float32Array(n * per);
  const layout = batchLayout(spec);
  const geometries = frames.map((f, i) => preprocessInto(f.data, f.width, f.height, spec, data, i * per, layout));
  for (let i = frames.length; i < n; i++) data.copyWithin(i * per, 0, per); // pad fixed batches with the first image
  const dims = layout === 'NHWC' ? [n, height, width, 3] : [n, 3, height, width];
  return { tensor: { type: 'float32', dims, data }, geometries };
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
  const first = images[0]!;
  const { width, height } = first;
  const n = Math.max(images.length, padTo ?? 0);
  const per = 3 * width * height;
  let data: Float32Array;
  if (n === 1) data = first.data;
  else {
    data = new Float32Array(n * per);
    images.forEach((im, i) => data.set(im.data, i * per));
    for (let i = images.length; i < n; i++) data.set(first.data, i * per);
  }
  const dims = batchLayout(spec) === 'NHWC' ? [n, height, width, 3] : [n, 3, height, width];
  return { tensor: { type: 'float32', dims, data }, geometries: images.map((im) => im.geometry) };
}

/** Groups frames by the input size their preprocessing yields, keeping their order within groups. */
export function groupBySize(frames: readonly Frame[], spec: ModelInputSpec): Array<{ indices: number[]; frames: Frame[] }> {
  const groups = new Map<string, { indices: number[]; frames: Frame[] }>();
  frames.forEach((f, i) => {
    const s = inputSize(f.width, f.height, spec);
    const key = `${s.width}x${s.height}`;
    const g = groups.get(key) ?? { indices: [], frames: [] };
    g.indices.push(i);
    g.frames.push(f);
    groups.set(key, g);
  });
  return [...groups.values()];
}

/**
 * Runs `frames` through a model in the batches it accepts: frames whose preprocessed sizes
 * differ run separately, and a fixed-batch export runs padded chunks of its size. `prepared`:
 * the frames' images from `prepareImage` (or promises of them), in the order of `frames`;
 * without it the frames are prepared on the pool now. `runBatch` gets the frames of one run with
 * their batch tensor and returns one result per frame; the results come back in the order of
 * `frames`.
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
  for (const group of groupBySize(frames, spec)) {
    const chunk = fixedBatch ?? group.frames.length;
    for (let s = 0; s < group.frames.length; s += chunk) {
      const part = group.frames.slice(s, s + chunk);
      const batch = stackImages(group.indices.slice(s, s + chunk).map((i) => images[i]!), spec, fixedBatch ?? undefined);
      const out = await runBatch(part, batch);
      out.forEach((r, i) => (results[group.indices[s + i]!] = r));
    }
  }
  return results;
}
