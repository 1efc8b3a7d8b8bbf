/**
 * Box utilities shared by the detectors and the tracker: IoU of x1,y1,x2,y2 boxes and greedy
 * non-maximum suppression over packed Float32Array boxes (class-agnostic or per class).
 */

export type Box = [number, number, number, number];

export function boxArea(b: ArrayLike<number>, o = 0): number {
  const w = b[o + 2]! - b[o]!;
  const h = b[o + 3]! - b[o + 1]!;
  return w > 0 && h > 0 ? w * h : 0;
}

/** Intersection over union of boxes `a[ao..ao+4)` and `b[bo..bo+4)`. */
export function iou(a: ArrayLike<number>, b: ArrayLike<number>, ao = 0, bo = 0): number {
  const ix = Math.min(a[ao + 2]!, b[bo + 2]!) - Math.max(a[ao]!, b[bo]!);
  const iy = Math.min(a[ao + 3]!, b[bo + 3]!) - Math.max(a[ao + 1]!, b[bo + 1]!);
  if (ix <= 0 || iy <= 0) return 0;
  const inter = ix * iy;
  const union = boxArea(a, ao) + boxArea(b, bo) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy NMS: candidates sorted by score (ties keep the lower index first); a candidate is dropped
 * when its IoU with a kept box exceeds `iouThreshold` (and, when `labels` is given, the labels
 * match: per-class NMS). Returns kept indices, best first, at most `maxKeep`.
 */
export function nms(
  boxes: Float32Array,
  scores: ArrayLike<number>,
  count: number,
  iouThreshold: number,
  labels: ArrayLike<number> | null = null,
  maxKeep = Infinity,
): number[] {
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  const suppressed = new Uint8Array(count);
  const keep: number[] = [];
  for (let oi = 0; oi < count && keep.length < maxKeep; oi++) {
    const i = order[oi]!;
    if (suppressed[i]) continue;
    keep.push(i);
    for (let oj = oi + 1; oj < count; oj++) {
      const j = order[oj]!;
      if (suppressed[j]) continue;
      if (labels !== null && labels[i] !== labels[j]) continue;
      if (iou(boxes, boxes, i * 4, j * 4) > iouThreshold) suppressed[j] = 1;
    }
  }
  return keep;
}
