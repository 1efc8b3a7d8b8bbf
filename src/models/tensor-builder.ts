/**
 * The one tensor builder of the model stages, for the three input kinds a manifest can declare:
 * - image batches (`NCHW` / `NHWC`): prepared images grouped by size, stacked into `[N,3,H,W]` /
 *   `[N,H,W,3]` (`imageBatches`);
 * - torchvision detection exports (`CHW`): one `[3,H,W]` tensor per input name (`chwFeeds`);
 * - clips (`NCTHW`): C×T×H×W clips stacked into `[N,3,T,H,W]` (`clipBatches`).
 * A fixed-batch export gets chunks of its size, a short chunk padded with its first item (whose
 * results are discarded); padding lives here only (`fixedChunks`).
 */
import type { Geometry } from './preprocess.js';
import type { PreparedImage } from './preprocess-pool.js';
import type { Tensor } from './runner.js';

/**
 * Splits item positions into the runs a model accepts: `fixed` null (any batch size) gives one
 * run of everything; a fixed batch gives runs of that size, each padded to it with the run's
 * first position. `indices`: the real positions; `padded`: the positions to feed (length n).
 */
export function fixedChunks(
  indices: readonly number[],
  fixed: number | null,
): Array<{ indices: number[]; padded: number[] }> {
  const chunk = fixed ?? Math.max(indices.length, 1);
  const out: Array<{ indices: number[]; padded: number[] }> = [];
  for (let s = 0; s < indices.length; s += chunk) {
    const part = indices.slice(s, s + chunk);
    const padded = [...part];
    while (fixed !== null && padded.length < fixed) padded.push(part[0]!);
    out.push({ indices: part, padded });
  }
  return out;
}

/** Groups positions by a key (the prepared input size), keeping their order within groups. */
export function groupByKey<T>(items: readonly T[], key: (item: T) => string): number[][] {
  const groups = new Map<string, number[]>();
  items.forEach((it, i) => {
    const k = key(it);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  return [...groups.values()];
}

/** Concatenates equal-length arrays; a single array is used without a copy. */
function stack(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const per = parts[0]!.length;
  const data = new Float32Array(parts.length * per);
  parts.forEach((p, i) => data.set(p, i * per));
  return data;
}

export type ImageLayout = 'NCHW' | 'NHWC';

/** Stacks same-size prepared images (in the order given, padding included) into one batch tensor. */
export function stackImageTensor(images: readonly PreparedImage[], layout: ImageLayout): Tensor {
  const first = images[0]!;
  const n = images.length;
  const dims = layout === 'NHWC' ? [n, first.height, first.width, 3] : [n, 3, first.height, first.width];
  return { type: 'float32', dims, data: stack(images.map((im) => im.data)) };
}

export interface ImageRun {
  /** Positions (into the images given) of the real images of this run, in order. */
  indices: number[];
  tensor: Tensor;
  /** Geometry of each real image, in the order of `indices`. */
  geometries: Geometry[];
}

/** Image batches: groups by prepared size, chunks to the fixed batch (padded), one tensor per run. */
export function imageBatches(images: readonly PreparedImage[], layout: ImageLayout, fixed: number | null): ImageRun[] {
  const runs: ImageRun[] = [];
  for (const group of groupByKey(images, (im) => `${im.width}x${im.height}`)) {
    for (const { indices, padded } of fixedChunks(group, fixed)) {
      runs.push({
        indices,
        tensor: stackImageTensor(
          padded.map((i) => images[i]!),
          layout,
        ),
        geometries: indices.map((i) => images[i]!.geometry),
      });
    }
  }
  return runs;
}

export interface ChwRun {
  indices: number[];
  /** One `[3,H,W]` tensor per input name (padding slots repeat the run's first image). */
  feeds: Record<string, Tensor>;
  geometries: Geometry[];
}

/**
 * torchvision detection exports: each call takes one `[3,H,W]` image per input name (sizes may
 * differ), `names.length` images per call; a short last call is padded with its first image.
 */
export function chwFeeds(images: readonly PreparedImage[], names: readonly string[]): ChwRun[] {
  const all = images.map((_, i) => i);
  return fixedChunks(all, names.length).map(({ indices, padded }) => {
    const feeds: Record<string, Tensor> = {};
    padded.forEach((i, k) => {
      const im = images[i]!;
      feeds[names[k]!] = { type: 'float32', dims: [3, im.height, im.width], data: im.data };
    });
    return { indices, feeds, geometries: indices.map((i) => images[i]!.geometry) };
  });
}

export interface ClipRun {
  indices: number[];
  tensor: Tensor;
}

/** Clips (each C×T×H×W, all the same shape `[3,T,H,W]`) stacked into `[N,3,T,H,W]` runs. */
export function clipBatches(
  clips: readonly Float32Array[],
  clipDims: readonly [number, number, number, number],
  fixed: number | null,
): ClipRun[] {
  const all = clips.map((_, i) => i);
  return fixedChunks(all, fixed).map(({ indices, padded }) => {
    // A clip is copied even alone: the runner may keep its buffer, and clips are assembled per run.
    const data = new Float32Array(padded.length * clips[0]!.length);
    padded.forEach((i, k) => data.set(clips[i]!, k * clips[0]!.length));
    return { indices, tensor: { type: 'float32', dims: [padded.length, ...clipDims], data } };
  });
}

/** Copies T frame slots (C×H×W each, oldest first) into one C×T×H×W clip. */
export function assembleClip(slots: readonly Float32Array[], planeSize: number): Float32Array {
  const T = slots.length;
  const clip = new Float32Array(3 * T * planeSize);
  for (let c = 0; c < 3; c++) {
    for (let t = 0; t < T; t++)
      clip.set(slots[t]!.subarray(c * planeSize, (c + 1) * planeSize), (c * T + t) * planeSize);
  }
  return clip;
}
