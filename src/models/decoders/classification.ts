/** Softmax top-k over class scores (classifiers and clip classifiers). */
import type { ClassScore } from '../../core/result.js';

/** Numerically stable softmax of `logits[offset, offset+n)`. */
export function softmax(logits: ArrayLike<number>, offset: number, n: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[offset + i]!);
  const out = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(logits[offset + i]! - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) out[i]! /= sum;
  return out;
}

/** The k best classes, highest first; ties keep the lower class id first. */
export function topK(scores: ArrayLike<number>, k: number, labels: readonly string[], minScore = 0): ClassScore[] {
  const idx: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i]! >= minScore) idx.push(i);
  idx.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return idx
    .slice(0, k)
    .map((i) => ({ label_id: i, label: labels[i] ?? String(i), score: +Number(scores[i]).toFixed(6) }));
}

export function decodeClassification(
  data: ArrayLike<number>,
  batchIndex: number,
  classes: number,
  options: { top_k: number; min_score: number; outputs_are: 'logits' | 'probabilities'; labels: readonly string[] },
): { top: ClassScore[] } {
  const offset = batchIndex * classes;
  const probs =
    options.outputs_are === 'logits'
      ? softmax(data, offset, classes)
      : Float64Array.from({ length: classes }, (_, i) => data[offset + i]!);
  return { top: topK(probs, options.top_k, options.labels, options.min_score) };
}
