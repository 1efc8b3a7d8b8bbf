/** Keypoint R-CNN outputs (keypoints [N,K,3] x,y,visibility; keypoints_scores [N,K]) to named keypoints in frame
 * pixels. */
import type { Geometry } from '../preprocess.js';
import { round } from './detection.js';

export interface Keypoint {
  name: string;
  x: number;
  y: number;
  /** torchvision's visibility column (> 0 → true). */
  visible: boolean;
  /** Keypoint score (heatmap logit as torchvision reports it). */
  score: number;
}

/** Positions are mapped to frame pixels and not clamped (torchvision may place them just outside the box). */
export function decodeKeypoints(
  keypoints: Float32Array,
  scores: Float32Array | null,
  row: number,
  names: readonly string[],
  g: Geometry,
): Keypoint[] {
  const k = names.length;
  const out: Keypoint[] = new Array(k);
  for (let j = 0; j < k; j++) {
    const o = (row * k + j) * 3;
    const x = (keypoints[o]! - g.offset_x) / g.scale_x;
    const y = (keypoints[o + 1]! - g.offset_y) / g.scale_y;
    out[j] = {
      name: names[j]!,
      x: round(x, 2),
      y: round(y, 2),
      visible: keypoints[o + 2]! > 0,
      score: scores ? round(scores[row * k + j]!, 6) : 0,
    };
  }
  return out;
}
