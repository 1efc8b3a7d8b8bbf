/**
 * Builds NCHW/NHWC float batches from frames with a manifest's preprocessing; frames whose
 * preprocessed sizes differ are split into separate runs.
 */
import type { Frame } from '../core/frame.js';
import type { ModelInputSpec } from './manifest.js';
import { inputSize, preprocessInto, type Geometry } from './preprocess.js';
import type { Tensor } from './runner.js';

export interface ImageBatch {
  tensor: Tensor;
  geometries: Geometry[];
}

/** Preprocesses `frames` into one tensor (all frames must yield the same input size). */
export function buildImageBatch(frames: readonly Frame[], spec: ModelInputSpec, padTo?: number): ImageBatch {
  const first = frames[0]!;
  const { width, height } = inputSize(first.width, first.height, spec);
  const n = Math.max(frames.length, padTo ?? 0);
  const per = 3 * width * height;
  const data = new Float32Array(n * per);
  const layout = spec.layout === 'NHWC' ? 'NHWC' : 'NCHW';
  const geometries = frames.map((f, i) => preprocessInto(f.data, f.width, f.height, spec, data, i * per, layout));
  for (let i = frames.length; i < n; i++) data.copyWithin(i * per, 0, per); // pad fixed batches with the first image
  const dims = layout === 'NHWC' ? [n, height, width, 3] : [n, 3, height, width];
  return { tensor: { type: 'float32', dims, data }, geometries };
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
 * differ run separately, and a fixed-batch export runs padded chunks of its size. `runBatch`
 * gets the frames of one run with their preprocessed tensor and returns one result per frame;
 * the results come back in the order of `frames`.
 */
export async function runImageBatches<R>(frames: readonly Frame[], spec: ModelInputSpec, fixedBatch: number | null, runBatch: (part: Frame[], batch: ImageBatch) => Promise<R[]>): Promise<R[]> {
  const results: R[] = new Array(frames.length);
  for (const group of groupBySize(frames, spec)) {
    const chunk = fixedBatch ?? group.frames.length;
    for (let s = 0; s < group.frames.length; s += chunk) {
      const part = group.frames.slice(s, s + chunk);
      const out = await runBatch(part, buildImageBatch(part, spec, fixedBatch ?? undefined));
      out.forEach((r, i) => (results[group.indices[s + i]!] = r));
    }
  }
  return results;
}
