/**
 * YOLOX decoder (anchor-free, strides 8/16/32): rows `[dx, dy, log_w, log_h, obj, cls_0..]` with
 * obj/cls already sigmoided; grids row-major per stride, strides in increasing order. Score =
 * obj × best class; candidates over the threshold go through class-agnostic NMS. Boxes come out
 * in model-input pixels (map them through the letterbox geometry afterwards).
 */
import { z } from 'zod';
import type { DetectionDecoder } from './decoder.js';
import { labelAllowed, mapCandidates, type DetectionFilter } from './detection.js';
import { nms } from './nms.js';

export const YOLOX_STRIDES = [8, 16, 32] as const;
/** The reference implementation's NMS IoU (class-agnostic). */
export const YOLOX_NMS_IOU = 0.45;

export interface RawBoxes {
  /** Packed x1,y1,x2,y2 in model-input pixels. */
  boxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
  count: number;
}

/** Rows YOLOX emits for an input of this size. */
export function yoloxRows(inputWidth: number, inputHeight: number, strides: readonly number[] = YOLOX_STRIDES): number {
  let n = 0;
  for (const s of strides) n += Math.floor(inputHeight / s) * Math.floor(inputWidth / s);
  return n;
}

/**
 * Decodes one image's `[rows, 5 + classes]` block at `offset` of `data`; applies score threshold,
 * class allow/deny, class-agnostic NMS at `nmsIou`, and keeps at most `filter.max_detections`.
 */
export function decodeYolox(
  data: Float32Array,
  offset: number,
  rows: number,
  cols: number,
  inputWidth: number,
  inputHeight: number,
  filter: Pick<DetectionFilter, 'score_threshold' | 'allow' | 'deny' | 'max_detections'>,
  nmsIou = YOLOX_NMS_IOU,
): RawBoxes {
  const expected = yoloxRows(inputWidth, inputHeight);
  if (rows !== expected)
    throw new Error(`yolox: ${rows} output rows, expected ${expected} for a ${inputWidth}x${inputHeight} input`);
  const classes = cols - 5;
  let cap = 64;
  let boxes = new Float32Array(cap * 4);
  let scores = new Float32Array(cap);
  let labels = new Int32Array(cap);
  let count = 0;
  let r = 0;
  for (const stride of YOLOX_STRIDES) {
    const gw = Math.floor(inputWidth / stride);
    const gh = Math.floor(inputHeight / stride);
    for (let gy = 0; gy < gh; gy++) {
      for (let gx = 0; gx < gw; gx++, r++) {
        const o = offset + r * cols;
        const obj = data[o + 4]!;
        if (obj < filter.score_threshold) continue; // score = obj * cls <= obj
        let best = -1;
        let bestScore = -Infinity;
        for (let c = 0; c < classes; c++) {
          const s = data[o + 5 + c]!;
          if (s > bestScore && labelAllowed(filter, c)) {
            bestScore = s;
            best = c;
          }
        }
        if (best < 0) continue;
        const score = obj * bestScore;
        if (score < filter.score_threshold) continue;
        const cx = (data[o]! + gx) * stride;
        const cy = (data[o + 1]! + gy) * stride;
        const w = Math.exp(data[o + 2]!) * stride;
        const h = Math.exp(data[o + 3]!) * stride;
        if (count === cap) {
          cap *= 2;
          const nb = new Float32Array(cap * 4);
          nb.set(boxes);
          boxes = nb;
          const ns = new Float32Array(cap);
          ns.set(scores);
          scores = ns;
          const nl = new Int32Array(cap);
          nl.set(labels);
          labels = nl;
        }
        boxes[count * 4] = cx - w / 2;
        boxes[count * 4 + 1] = cy - h / 2;
        boxes[count * 4 + 2] = cx + w / 2;
        boxes[count * 4 + 3] = cy + h / 2;
        scores[count] = score;
        labels[count] = best;
        count++;
      }
    }
  }
  const keep = nms(boxes, scores, count, nmsIou, null, filter.max_detections);
  const out: RawBoxes = {
    boxes: new Float32Array(keep.length * 4),
    scores: new Float32Array(keep.length),
    labels: new Int32Array(keep.length),
    count: keep.length,
  };
  keep.forEach((k, i) => {
    out.boxes.set(boxes.subarray(k * 4, k * 4 + 4), i * 4);
    out.scores[i] = scores[k]!;
    out.labels[i] = labels[k]!;
  });
  return out;
}

const yoloxOptions = z
  .object({
    nms_in_graph: z
      .literal(false)
      .default(false)
      .describe('YOLOX exports have no NMS: vidflow runs class-agnostic NMS.'),
  })
  .strict();

/** Decoder `yolox`: output role `predictions` `[N, rows, 5 + classes]`. */
export const yoloxDecoder: DetectionDecoder<z.infer<typeof yoloxOptions>> = {
  type: 'yolox',
  family: 'detection',
  summary:
    'YOLOX (anchor-free, strides 8/16/32): `predictions` `[N, rows, 5 + classes]` of `[dx, dy, log_w, log_h, obj, ' +
    'cls…]`, obj/cls sigmoided; score = obj × cls; class-agnostic NMS in vidflow (IoU 0.45).',
  tasks: ['detection'],
  roles: ['predictions'],
  options: yoloxOptions,
  decode(outputs, index, ctx) {
    const pred = outputs.predictions!;
    const [, rows, cols] = pred.dims as [number, number, number];
    const raw = decodeYolox(
      pred.data as Float32Array,
      index * rows * cols,
      rows,
      cols,
      ctx.inputWidth,
      ctx.inputHeight,
      { ...ctx.filter, max_detections: Infinity },
      ctx.nmsIou ?? YOLOX_NMS_IOU,
    );
    return mapCandidates(raw, ctx.geometry, ctx.frameWidth, ctx.frameHeight, ctx.labels, ctx.filter);
  },
};
