/**
 * Decoding of torchvision detection outputs (Faster R-CNN, RetinaNet, Mask/Keypoint R-CNN; NMS
 * is in the graph) into detections in source-frame pixels, plus the class filter and box mapping
 * every detector decoder shares.
 */
import { VidflowError } from '../../core/errors.js';
import { didYouMean } from '../../core/suggest.js';
import type { Geometry } from '../preprocess.js';
import { boxArea, type Box } from './nms.js';

export interface Detection {
  /** x1, y1, x2, y2 in pixels of the source frame (after rotation). */
  box: Box;
  label_id: number;
  label: string;
  score: number;
  track_id?: number;
}

export interface DetectionFilter {
  score_threshold: number;
  /** Label ids allowed (null: all). */
  allow: ReadonlySet<number> | null;
  /** Label ids dropped. */
  deny: ReadonlySet<number>;
  max_detections: number;
  /** Minimum box area in source pixels². */
  min_box_area: number;
}

/** Whether a label id passes the allow/deny lists. */
export function labelAllowed(f: Pick<DetectionFilter, 'allow' | 'deny'>, label: number): boolean {
  return (f.allow === null || f.allow.has(label)) && !f.deny.has(label);
}

/**
 * Turns `classes` / `exclude_classes` names into label-id sets, validated against the model's
 * label set (`N/A` slots are not selectable). Every unknown name is reported, each as a
 * CONFIG_INVALID at its own element (`<where>.classes[2]`) with a "did you mean"; with more than
 * one, the thrown error carries them all in `all` (as the CLI and `validate` print them).
 */
export function resolveClassFilter(
  labels: readonly string[],
  classes: readonly string[] | null,
  exclude: readonly string[],
  where: string,
): { allow: Set<number> | null; deny: Set<number> } {
  const byName = new Map<string, number[]>();
  labels.forEach((l, i) => {
    if (l === 'N/A' || l === '__background__') return;
    const ids = byName.get(l) ?? [];
    ids.push(i);
    byName.set(l, ids);
  });
  const names = [...byName.keys()];
  const errors: VidflowError[] = [];
  const lookup = (list: readonly string[], field: string): number[] =>
    list.flatMap((name, i) => {
      const ids = byName.get(name);
      if (ids) return ids;
      const at = `${where}.${field}[${i}]`;
      errors.push(
        new VidflowError('CONFIG_INVALID', `${at}: unknown class "${name}" for this model${didYouMean(name, names)}`, {
          where: at,
        }),
      );
      return [];
    });
  const allow = classes === null ? null : new Set(lookup(classes, 'classes'));
  const deny = new Set(lookup(exclude, 'exclude_classes'));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw Object.assign(
      new VidflowError('CONFIG_INVALID', errors.map((e) => e.message).join('\n'), { where: `${where}.classes` }),
      { all: errors },
    );
  }
  return { allow, deny };
}

/** Maps a model-input box back to the source frame (source = (input - offset) / scale), clamped. */
export function mapBox(
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  g: Geometry,
  frameWidth: number,
  frameHeight: number,
): Box {
  const cx = (v: number) => Math.min(frameWidth, Math.max(0, (v - g.offset_x) / g.scale_x));
  const cy = (v: number) => Math.min(frameHeight, Math.max(0, (v - g.offset_y) / g.scale_y));
  return [cx(x1), cy(y1), cx(x2), cy(y2)];
}

export function round(v: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}

export interface TorchvisionDetOutputs {
  /** [N,4] x1,y1,x2,y2 in model-input pixels. */
  boxes: Float32Array;
  /** [N] class ids (int64 → BigInt64Array). */
  labels: BigInt64Array | Int32Array | Float32Array;
  scores: Float32Array;
}

/**
 * Filters and maps torchvision's per-image outputs. Returns the detections (model order, which is
 * score order) and, for each, the row it came from (for masks / keypoints).
 */
export function decodeTorchvisionDetections(
  out: TorchvisionDetOutputs,
  geometry: Geometry,
  frameWidth: number,
  frameHeight: number,
  labels: readonly string[],
  filter: DetectionFilter,
): { detections: Detection[]; rows: number[] } {
  const n = out.scores.length;
  const detections: Detection[] = [];
  const rows: number[] = [];
  for (let i = 0; i < n && detections.length < filter.max_detections; i++) {
    const score = out.scores[i]!;
    if (!(score >= filter.score_threshold)) continue;
    const label = Number(out.labels[i]!);
    if (!labelAllowed(filter, label)) continue;
    const box = mapBox(
      out.boxes[i * 4]!,
      out.boxes[i * 4 + 1]!,
      out.boxes[i * 4 + 2]!,
      out.boxes[i * 4 + 3]!,
      geometry,
      frameWidth,
      frameHeight,
    );
    if (boxArea(box) < filter.min_box_area) continue;
    detections.push({
      box: box.map((v) => round(v, 2)) as Box,
      label_id: label,
      label: labels[label] ?? String(label),
      score: round(score, 6),
    });
    rows.push(i);
  }
  return { detections, rows };
}

/**
 * Candidate boxes in model-input pixels (best first, after NMS) → detections in frame pixels:
 * mapped through the geometry and clamped, boxes under `min_box_area` dropped, at most
 * `max_detections` kept. `rows` are the candidates' indices.
 */
export function mapCandidates(
  raw: { boxes: Float32Array; scores: Float32Array; labels: Int32Array; count: number },
  g: Geometry,
  frameWidth: number,
  frameHeight: number,
  labels: readonly string[],
  filter: Pick<DetectionFilter, 'max_detections' | 'min_box_area'>,
): { detections: Detection[]; rows: number[] } {
  const detections: Detection[] = [];
  const rows: number[] = [];
  for (let k = 0; k < raw.count && detections.length < filter.max_detections; k++) {
    const box = mapBox(
      raw.boxes[k * 4]!,
      raw.boxes[k * 4 + 1]!,
      raw.boxes[k * 4 + 2]!,
      raw.boxes[k * 4 + 3]!,
      g,
      frameWidth,
      frameHeight,
    );
    if (boxArea(box) < filter.min_box_area) continue;
    const label = raw.labels[k]!;
    detections.push({
      box: box.map((v) => round(v, 2)) as Box,
      label_id: label,
      label: labels[label] ?? String(label),
      score: round(raw.scores[k]!, 6),
    });
    rows.push(k);
  }
  return { detections, rows };
}

/** A growable list of candidate boxes (model-input pixels) with a score and label each. */
export class CandidateList {
  boxes = new Float32Array(256);
  scores = new Float32Array(64);
  labels = new Int32Array(64);
  count = 0;
  push(x1: number, y1: number, x2: number, y2: number, score: number, label: number): void {
    if (this.count === this.scores.length) {
      const cap = this.count * 2;
      const nb = new Float32Array(cap * 4);
      nb.set(this.boxes);
      this.boxes = nb;
      const ns = new Float32Array(cap);
      ns.set(this.scores);
      this.scores = ns;
      const nl = new Int32Array(cap);
      nl.set(this.labels);
      this.labels = nl;
    }
    const o = this.count * 4;
    this.boxes[o] = x1;
    this.boxes[o + 1] = y1;
    this.boxes[o + 2] = x2;
    this.boxes[o + 3] = y2;
    this.scores[this.count] = score;
    this.labels[this.count] = label;
    this.count++;
  }
  /** The candidates at `keep` (e.g. NMS survivors), in that order. */
  select(keep: readonly number[]): { boxes: Float32Array; scores: Float32Array; labels: Int32Array; count: number } {
    const out = {
      boxes: new Float32Array(keep.length * 4),
      scores: new Float32Array(keep.length),
      labels: new Int32Array(keep.length),
      count: keep.length,
    };
    keep.forEach((k, i) => {
      out.boxes.set(this.boxes.subarray(k * 4, k * 4 + 4), i * 4);
      out.scores[i] = this.scores[k]!;
      out.labels[i] = this.labels[k]!;
    });
    return out;
  }
}
