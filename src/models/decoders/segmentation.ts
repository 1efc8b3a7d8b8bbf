/**
 * Semantic segmentation: per-pixel argmax over class logits (NCHW or NHWC), the label map mapped
 * back to the source frame with nearest-neighbour sampling, and per-class pixel fractions.
 */
import type { Geometry } from '../preprocess.js';
import type { Tensor } from '../runner.js';
import { isIdentity, nearestIndexMap } from './rle.js';

export type OutputLayout = 'NCHW' | 'NHWC';

/**
 * The layout of a `[1, ?, ?, ?]` logits tensor: the manifest's `decoder.output_layout` when given,
 * else inferred from which axis has `classes` entries (NCHW preferred when ambiguous).
 */
export function segmentationLayout(dims: readonly number[], classes: number, declared?: OutputLayout): OutputLayout {
  if (declared) return declared;
  if (dims.length !== 4) throw new Error(`segmentation output has rank ${dims.length}, expected 4`);
  if (dims[1] === classes) return 'NCHW';
  if (dims[3] === classes) return 'NHWC';
  throw new Error(`segmentation output ${dims.join('x')} has no axis of ${classes} classes`);
}

/**
 * Argmax over classes of image `n` of a logits tensor; returns the label map (row-major,
 * `height`×`width` of the model output). Ties keep the lower class id (like torch.argmax).
 */
export function argmaxLabels(
  data: Float32Array,
  dims: readonly number[],
  layout: OutputLayout,
  n = 0,
): { labels: Uint8Array; width: number; height: number; classes: number } {
  const [, a, b, c] = dims as [number, number, number, number];
  const classes = layout === 'NCHW' ? a : c;
  const height = layout === 'NCHW' ? b : a;
  const width = layout === 'NCHW' ? c : b;
  if (classes > 256) throw new Error(`argmaxLabels: ${classes} classes do not fit a uint8 label map`);
  const plane = height * width;
  const labels = new Uint8Array(plane);
  const base = n * plane * classes;
  if (layout === 'NCHW') {
    const best = data.slice(base, base + plane);
    for (let k = 1; k < classes; k++) {
      const o = base + k * plane;
      for (let i = 0; i < plane; i++) {
        const v = data[o + i]!;
        if (v > best[i]!) {
          best[i] = v;
          labels[i] = k;
        }
      }
    }
  } else {
    for (let i = 0; i < plane; i++) {
      const o = base + i * classes;
      let bv = data[o]!;
      let bk = 0;
      for (let k = 1; k < classes; k++) {
        const v = data[o + k]!;
        if (v > bv) {
          bv = v;
          bk = k;
        }
      }
      labels[i] = bk;
    }
  }
  return { labels, width, height, classes };
}

/**
 * The label map at the source frame's resolution: each frame pixel takes the label of the model
 * pixel its centre maps to through the preprocessing geometry (nearest).
 */
export function labelMapToFrame(
  labels: Uint8Array,
  mw: number,
  mh: number,
  g: Pick<Geometry, 'scale_x' | 'scale_y' | 'offset_x' | 'offset_y'>,
  frameWidth: number,
  frameHeight: number,
): Uint8Array {
  if (isIdentity(g, mw, mh, frameWidth, frameHeight)) return labels;
  // The output may be smaller than the model input (e.g. stride-8 logits): fold that in.
  const out = new Uint8Array(frameWidth * frameHeight);
  const cols = nearestIndexMap(frameWidth, mw, g.scale_x, g.offset_x);
  const rows = nearestIndexMap(frameHeight, mh, g.scale_y, g.offset_y);
  for (let y = 0; y < frameHeight; y++) {
    const src = rows[y]! * mw;
    const dst = y * frameWidth;
    for (let x = 0; x < frameWidth; x++) out[dst + x] = labels[src + cols[x]!]!;
  }
  return out;
}

/** Fractions of the map's pixels per label name, for the labels present (6 decimals). */
export function classFractions(labels: Uint8Array, names: readonly string[]): Record<string, number> {
  const hist = new Float64Array(256);
  for (let i = 0; i < labels.length; i++) hist[labels[i]!]!++;
  const out: Record<string, number> = {};
  for (let k = 0; k < 256; k++) {
    if (hist[k]! > 0) out[names[k] ?? String(k)] = Math.round((hist[k]! / labels.length) * 1e6) / 1e6;
  }
  return out;
}

/**
 * Decodes image `n` of a logits tensor into the frame-resolution label map. `g` maps source
 * pixels to model-input pixels of an `inW`×`inH` input; the output may be smaller than the input.
 */
export function decodeSegmentation(
  logits: Tensor,
  n: number,
  layout: OutputLayout,
  g: Geometry,
  frameWidth: number,
  frameHeight: number,
): Uint8Array {
  const { labels, width, height } = argmaxLabels(logits.data as Float32Array, logits.dims, layout, n);
  const kx = width / g.width;
  const ky = height / g.height;
  const og = { scale_x: g.scale_x * kx, scale_y: g.scale_y * ky, offset_x: g.offset_x * kx, offset_y: g.offset_y * ky };
  return labelMapToFrame(labels, width, height, og, frameWidth, frameHeight);
}
