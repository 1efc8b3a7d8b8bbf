/**
 * COCO average precision, computed as pycocotools' COCOeval does (evaluateImg + accumulate +
 * summarize): per image and category, detections best first (stable), at most `maxDets`, greedy
 * matching to the best-IoU unmatched ground truth at each IoU threshold (crowd ground truth can
 * match many detections and is ignored); per category, precision at the 101 recall thresholds
 * 0:.01:1 after making precision monotone; AP = mean over thresholds, recall points and the
 * categories that have ground truth. Area range "all" only.
 *
 * IoU kinds: `bbox` (COCO [x, y, w, h]), `segm` (COCO uncompressed or compressed RLE),
 * `keypoints` (OKS with the COCO sigmas; pycocotools uses maxDets 20 for keypoints).
 */
import { decodeRle, type CocoRle } from '../models/decoders/rle.js';

export type IouType = 'bbox' | 'segm' | 'keypoints';

/** A COCO RLE: `counts` as run lengths (uncompressed) or COCO's compressed string. */
export interface Rle {
  size: [number, number];
  counts: number[] | string;
}

export interface GtAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** [x, y, w, h] */
  bbox: [number, number, number, number];
  area: number;
  iscrowd?: number;
  ignore?: number;
  segmentation?: Rle;
  /** [x1, y1, v1, x2, y2, v2, …] */
  keypoints?: number[];
  num_keypoints?: number;
}

export interface DetAnnotation {
  image_id: number;
  category_id: number;
  score: number;
  bbox?: [number, number, number, number];
  segmentation?: Rle;
  keypoints?: number[];
}

/** COCO's per-keypoint sigmas for the 17 person keypoints (nose … right_ankle). */
export const COCO_KEYPOINT_SIGMAS = [
  0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89,
].map((s) => s / 10);

/** numpy.linspace(start, stop, num). */
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  out[num - 1] = stop;
  return out;
}
export const IOU_THRESHOLDS = linspace(0.5, 0.95, 10);
export const RECALL_THRESHOLDS = linspace(0, 1, 101);

/** COCO's compressed RLE string → run lengths (pycocotools rleFrString). */
export function rleFromString(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = 1;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = c & 0x20;
      p++;
      k++;
      if (!more && c & 0x10) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2]!;
    counts.push(x);
  }
  return counts;
}

export function rleCounts(rle: Rle): number[] {
  return typeof rle.counts === 'string' ? rleFromString(rle.counts) : rle.counts;
}

export function boxIou(d: readonly number[], g: readonly number[], crowd: boolean): number {
  const iw = Math.min(d[0]! + d[2]!, g[0]! + g[2]!) - Math.max(d[0]!, g[0]!);
  const ih = Math.min(d[1]! + d[3]!, g[1]! + g[3]!) - Math.max(d[1]!, g[1]!);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const u = crowd ? d[2]! * d[3]! : d[2]! * d[3]! + g[2]! * g[3]! - inter;
  return inter / u;
}

function maskIouCrowd(d: Uint8Array, g: Uint8Array, crowd: boolean): number {
  let inter = 0;
  let ad = 0;
  let ag = 0;
  for (let i = 0; i < d.length; i++) {
    const x = d[i]!;
    const y = g[i]!;
    ad += x;
    ag += y;
    if (x && y) inter++;
  }
  const u = crowd ? ad : ad + ag - inter;
  return u === 0 ? 0 : inter / u;
}

/** OKS of a detection's keypoints against a ground truth (pycocotools computeOks). */
export function oks(dk: readonly number[], g: GtAnnotation, sigmas: readonly number[] = COCO_KEYPOINT_SIGMAS): number {
  const gk = g.keypoints ?? [];
  const n = sigmas.length;
  let k1 = 0;
  for (let i = 0; i < n; i++) if (gk[3 * i + 2]! > 0) k1++;
  const [bx, by, bw, bh] = g.bbox;
  const x0 = bx - bw,
    x1 = bx + bw * 2,
    y0 = by - bh,
    y1 = by + bh * 2;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const xd = dk[3 * i]!,
      yd = dk[3 * i + 1]!;
    let dx: number, dy: number;
    if (k1 > 0) {
      if (!(gk[3 * i + 2]! > 0)) continue;
      dx = xd - gk[3 * i]!;
      dy = yd - gk[3 * i + 1]!;
    } else {
      dx = Math.max(0, x0 - xd) + Math.max(0, xd - x1);
      dy = Math.max(0, y0 - yd) + Math.max(0, yd - y1);
    }
    const vars = (sigmas[i]! * 2) ** 2;
    const e = (dx * dx + dy * dy) / vars / (g.area + 2.220446049250313e-16) / 2;
    sum += Math.exp(-e);
    count++;
  }
  return count === 0 ? 0 : sum / count;
}

export interface ApResult {
  /** AP@[.5:.95] */
  ap: number;
  ap50: number;
  ap75: number;
  /** Per category id: AP@[.5:.95] and AP@0.5 (-1 when the category has no ground truth). */
  per_category: Record<number, { ap: number; ap50: number; gt: number; dt: number }>;
}

interface ImgEval {
  dtScores: number[];
  dtMatched: boolean[][]; // [t][d]
  dtIgnore: boolean[][];
  gtIgnore: boolean[];
}

/** Stable sort of indices by descending score (numpy argsort(-s, kind='mergesort')). */
function byScore(scores: number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
}

export function cocoAp(
  gts: GtAnnotation[],
  dts: DetAnnotation[],
  iouType: IouType,
  options: { imageIds?: number[]; categoryIds?: number[]; maxDets?: number; sigmas?: number[] } = {},
): ApResult {
  const maxDets = options.maxDets ?? (iouType === 'keypoints' ? 20 : 100);
  const imageIds = options.imageIds ?? [...new Set(gts.map((g) => g.image_id))];
  const catIds = [...(options.categoryIds ?? new Set(gts.map((g) => g.category_id)))].sort((a, b) => a - b);
  const key = (i: number, c: number) => `${i}/${c}`;
  const G = new Map<string, GtAnnotation[]>();
  const D = new Map<string, DetAnnotation[]>();
  for (const g of gts)
    (
      G.get(key(g.image_id, g.category_id)) ??
      G.set(key(g.image_id, g.category_id), []).get(key(g.image_id, g.category_id))!
    ).push(g);
  for (const d of dts)
    (
      D.get(key(d.image_id, d.category_id)) ??
      D.set(key(d.image_id, d.category_id), []).get(key(d.image_id, d.category_id))!
    ).push(d);
  const masks = new Map<object, Uint8Array>();
  const maskOf = (r: Rle): Uint8Array => {
    let m = masks.get(r);
    if (!m) masks.set(r, (m = decodeRle({ size: r.size, counts: rleCounts(r) } as CocoRle)));
    return m;
  };
  const T = IOU_THRESHOLDS.length;
  const R = RECALL_THRESHOLDS.length;
  const perCat: ApResult['per_category'] = {};
  const precisionAll: number[][][] = []; // [k][t][r]
  for (const c of catIds) {
    const evals: ImgEval[] = [];
    let nGt = 0,
      nDt = 0;
    for (const img of imageIds) {
      const gAll = G.get(key(img, c)) ?? [];
      const dAll = D.get(key(img, c)) ?? [];
      nGt += gAll.length;
      nDt += dAll.length;
      if (gAll.length === 0 && dAll.length === 0) continue;
      const ignoreOf = (g: GtAnnotation) =>
        Boolean(g.ignore || g.iscrowd) ||
        (iouType === 'keypoints' && (g.num_keypoints ?? 0) === 0) ||
        g.area < 0 ||
        g.area > 1e10;
      const gOrder = gAll
        .map((_, i) => i)
        .sort((a, b) => Number(ignoreOf(gAll[a]!)) - Number(ignoreOf(gAll[b]!)) || a - b);
      const g = gOrder.map((i) => gAll[i]!);
      const gIg = g.map(ignoreOf);
      const d = byScore(dAll.map((x) => x.score))
        .slice(0, maxDets)
        .map((i) => dAll[i]!);
      const iou = (dd: DetAnnotation, gg: GtAnnotation): number => {
        if (iouType === 'bbox') return boxIou(dd.bbox!, gg.bbox, Boolean(gg.iscrowd));
        if (iouType === 'segm')
          return maskIouCrowd(maskOf(dd.segmentation!), maskOf(gg.segmentation!), Boolean(gg.iscrowd));
        return oks(dd.keypoints!, gg, options.sigmas);
      };
      const ious = d.map((dd) => g.map((gg) => iou(dd, gg)));
      const gtm = IOU_THRESHOLDS.map(() => new Array<boolean>(g.length).fill(false));
      const dtMatched = IOU_THRESHOLDS.map(() => new Array<boolean>(d.length).fill(false));
      const dtIgnore = IOU_THRESHOLDS.map(() => new Array<boolean>(d.length).fill(false));
      IOU_THRESHOLDS.forEach((t, ti) => {
        for (let di = 0; di < d.length; di++) {
          let best = Math.min(t, 1 - 1e-10);
          let m = -1;
          for (let gi = 0; gi < g.length; gi++) {
            if (gtm[ti]![gi] && !g[gi]!.iscrowd) continue;
            if (m > -1 && !gIg[m] && gIg[gi]) break;
            if (ious[di]![gi]! < best) continue;
            best = ious[di]![gi]!;
            m = gi;
          }
          if (m === -1) continue;
          dtIgnore[ti]![di] = gIg[m]!;
          dtMatched[ti]![di] = true;
          gtm[ti]![m] = true;
        }
      });
      evals.push({ dtScores: d.map((x) => x.score), dtMatched, dtIgnore, gtIgnore: gIg });
    }
    const npig = evals.reduce((s, e) => s + e.gtIgnore.filter((x) => !x).length, 0);
    if (npig === 0) {
      perCat[c] = { ap: -1, ap50: -1, gt: nGt, dt: nDt };
      continue;
    }
    const scores = evals.flatMap((e) => e.dtScores);
    const order = byScore(scores);
    const prec: number[][] = [];
    for (let ti = 0; ti < T; ti++) {
      const matched = evals.flatMap((e) => e.dtMatched[ti]!);
      const ign = evals.flatMap((e) => e.dtIgnore[ti]!);
      const rc: number[] = [];
      const pr: number[] = [];
      let tp = 0,
        fp = 0;
      for (const i of order) {
        if (ign[i]) {
          // neither tp nor fp: cumsum repeats the previous value
        } else if (matched[i]) tp++;
        else fp++;
        rc.push(tp / npig);
        pr.push(tp / (fp + tp + 2.220446049250313e-16));
      }
      for (let i = pr.length - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
      const q = new Array<number>(R).fill(0);
      let p = 0;
      for (let ri = 0; ri < R; ri++) {
        while (p < rc.length && rc[p]! < RECALL_THRESHOLDS[ri]!) p++; // searchsorted side='left'
        if (p >= rc.length) break;
        q[ri] = pr[p]!;
      }
      prec.push(q);
    }
    precisionAll.push(prec);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    perCat[c] = { ap: mean(prec.flat()), ap50: mean(prec[0]!), gt: nGt, dt: nDt };
  }
  const meanAt = (ts: number[]): number => {
    const vals = precisionAll.flatMap((p) => ts.flatMap((t) => p[t]!));
    return vals.length === 0 ? -1 : vals.reduce((s, x) => s + x, 0) / vals.length;
  };
  return { ap: meanAt([...Array(T).keys()]), ap50: meanAt([0]), ap75: meanAt([5]), per_category: perCat };
}
