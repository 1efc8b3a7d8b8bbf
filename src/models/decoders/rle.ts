/**
 * Run-length encodings.
 *
 * Binary masks use COCO's uncompressed RLE: `{size: [h, w], counts}` where `counts` are the
 * lengths of alternating runs of 0s and 1s over the pixels in column-major order (x outer, y
 * inner), always starting with a run of 0s (possibly of length 0).
 *
 * Label maps (semantic segmentation) use a row-major RLE of `(value, length)` runs:
 * `{format: 'rle', size: [h, w], order: 'row_major', values, counts}`.
 */
import type { Geometry } from '../preprocess.js';

export interface CocoRle {
  size: [number, number];
  counts: number[];
}

export interface LabelMapRle {
  format: 'rle';
  size: [number, number];
  order: 'row_major';
  /** Class id of each run. */
  values: number[];
  /** Length of each run; sums to h*w. */
  counts: number[];
}

/**
 * For each of `dst` frame pixels, the model pixel it comes from (nearest, pixel centres):
 * model = floor((frame + 0.5) * scale + offset), clamped to [0, src).
 */
export function nearestIndexMap(dst: number, src: number, scale: number, offset: number): Int32Array {
  const m = new Int32Array(dst);
  for (let i = 0; i < dst; i++) {
    const v = Math.floor((i + 0.5) * scale + offset);
    m[i] = v < 0 ? 0 : v >= src ? src - 1 : v;
  }
  return m;
}

/** Whether the geometry maps frame pixels 1:1 onto a model plane of this size. */
export function isIdentity(
  g: Pick<Geometry, 'scale_x' | 'scale_y' | 'offset_x' | 'offset_y'>,
  mw: number,
  mh: number,
  fw: number,
  fh: number,
): boolean {
  return g.scale_x === 1 && g.scale_y === 1 && g.offset_x === 0 && g.offset_y === 0 && mw === fw && mh === fh;
}

/**
 * Thresholds a probability plane (`mw`×`mh` at `offset` of `probs`, row-major) at the frame's
 * resolution and encodes it as COCO RLE. `rowMap`/`colMap` give, per frame row/column, the model
 * row/column (see nearestIndexMap); null means identity. A pixel is 1 when prob >= threshold.
 */
export function encodeMaskRle(
  probs: Float32Array,
  offset: number,
  mw: number,
  threshold: number,
  frameWidth: number,
  frameHeight: number,
  rowMap: Int32Array | null = null,
  colMap: Int32Array | null = null,
): { rle: CocoRle; area: number } {
  const counts: number[] = [];
  let cur = 0;
  let run = 0;
  let area = 0;
  for (let x = 0; x < frameWidth; x++) {
    const base = offset + (colMap === null ? x : colMap[x]!);
    for (let y = 0; y < frameHeight; y++) {
      const v = probs[base + (rowMap === null ? y : rowMap[y]!) * mw]! >= threshold ? 1 : 0;
      if (v !== cur) {
        counts.push(run);
        run = 0;
        cur = v;
      }
      run++;
      area += v;
    }
  }
  counts.push(run);
  return { rle: { size: [frameHeight, frameWidth], counts }, area };
}

/** COCO RLE of a row-major 0/1 mask. */
export function encodeBinaryRle(bits: Uint8Array, height: number, width: number): CocoRle {
  const counts: number[] = [];
  let cur = 0;
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const v = bits[y * width + x] ? 1 : 0;
      if (v !== cur) {
        counts.push(run);
        run = 0;
        cur = v;
      }
      run++;
    }
  }
  counts.push(run);
  return { size: [height, width], counts };
}

/** Decodes COCO RLE to a row-major 0/1 mask. */
export function decodeRle(rle: CocoRle): Uint8Array {
  const [h, w] = rle.size;
  const out = new Uint8Array(h * w);
  let p = 0;
  let v = 0;
  for (const c of rle.counts) {
    if (v === 1) {
      for (let k = p; k < p + c; k++) {
        const x = Math.floor(k / h);
        const y = k - x * h;
        out[y * w + x] = 1;
      }
    }
    p += c;
    v ^= 1;
  }
  return out;
}

export function rleArea(rle: CocoRle): number {
  let a = 0;
  for (let i = 1; i < rle.counts.length; i += 2) a += rle.counts[i]!;
  return a;
}

/** IoU of two binary masks of the same size (row-major 0/1). */
export function maskIou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 1 : inter / union;
}

/** Row-major (value, length) RLE of a label map. */
export function encodeLabelMapRle(labels: Uint8Array, height: number, width: number): LabelMapRle {
  const values: number[] = [];
  const counts: number[] = [];
  const n = height * width;
  let i = 0;
  while (i < n) {
    const v = labels[i]!;
    let j = i + 1;
    while (j < n && labels[j] === v) j++;
    values.push(v);
    counts.push(j - i);
    i = j;
  }
  return { format: 'rle', size: [height, width], order: 'row_major', values, counts };
}

export function decodeLabelMapRle(rle: LabelMapRle): Uint8Array {
  const out = new Uint8Array(rle.size[0] * rle.size[1]);
  let p = 0;
  rle.counts.forEach((c, i) => {
    out.fill(rle.values[i]!, p, p + c);
    p += c;
  });
  return out;
}
