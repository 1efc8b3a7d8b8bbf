/**
 * HOTA (Luiten et al., "HOTA: A Higher Order Metric for Evaluating Multi-Object Tracking", IJCV 2021)
 * for box tracking, with box IoU as the localisation similarity S.
 *
 * For a localisation threshold alpha, a true positive (TP) is a matched ground-truth/prediction
 * pair in one frame with S >= alpha; unmatched ground truth are FN, unmatched predictions FP.
 *   DetA = |TP| / (|TP| + |FN| + |FP|)
 *   A(c) = |TPA(c)| / (|TPA(c)| + |FNA(c)| + |FPA(c)|) for a TP c between ground-truth track g and
 *          predicted track p: TPA = TPs of the pair (g, p), FNA = frames of g not matched to p,
 *          FPA = frames of p not matched to g, so A(c) = n(g,p) / (len(g) + len(p) - n(g,p))
 *   AssA = mean of A(c) over all TPs;  HOTA = sqrt(DetA · AssA);  LocA = mean S over all TPs
 * and the reported HOTA, DetA, AssA, LocA are the means over alpha = 0.05, 0.10, …, 0.95.
 *
 * Matching (the paper asks for the matching that maximises HOTA, preferring pairs with a high association): one
 * bijective matching per frame, shared by all alphas, maximising the sum of A0(g,p) · S over the
 * pairs, where A0 estimates the association before matching from the similarities themselves:
 * each frame contributes to the pair (g, p) its S normalised by the frame's row and column sums,
 * s = S / (Σ_p' S(g,p') + Σ_g' S(g',p) − S), and A0 = Σ s / (len(g) + len(p) − Σ s). Pairs with a
 * matching score of 0 are not matched. This is the procedure TrackEval (the paper's reference
 * implementation) uses, kept so that the two agree (tools/eval/crosscheck.py).
 */
import { linearSumAssignment } from './assignment.js';
import type { TrackingFrame } from './tracking.js';

export interface HotaResult {
  hota: number;
  deta: number;
  assa: number;
  loca: number;
  detre: number;
  detpr: number;
  assre: number;
  asspr: number;
  /** HOTA at each alpha of `alphas` */
  hota_per_alpha: number[];
  alphas: number[];
}

export const HOTA_ALPHAS = Array.from({ length: 19 }, (_, i) => (i + 1) / 20);

function boxIou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.min(a[0]! + a[2]!, b[0]! + b[2]!) - Math.max(a[0]!, b[0]!);
  const ih = Math.min(a[1]! + a[3]!, b[1]! + b[3]!) - Math.max(a[1]!, b[1]!);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = a[2]! * a[3]! + b[2]! * b[3]! - inter;
  return union > 0 ? inter / union : 0;
}

const EPS = Number.EPSILON;
const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

export function evaluateHota(frames: TrackingFrame[], alphas: number[] = HOTA_ALPHAS): HotaResult {
  // Dense indices for the track ids.
  const gIndex = new Map<number, number>();
  const pIndex = new Map<number, number>();
  for (const f of frames) {
    for (const g of f.gt) if (!gIndex.has(g.id)) gIndex.set(g.id, gIndex.size);
    for (const p of f.hyp) if (!pIndex.has(p.id)) pIndex.set(p.id, pIndex.size);
  }
  const nP = pIndex.size;
  const key = (g: number, p: number) => g * nP + p;
  const gLen = new Float64Array(gIndex.size);
  const pLen = new Float64Array(nP);
  const soft = new Map<number, number>();
  const sims: number[][][] = [];
  let gtDets = 0,
    predDets = 0;
  for (const f of frames) {
    const S = f.gt.map((g) => f.hyp.map((p) => boxIou(g.box, p.box)));
    sims.push(S);
    gtDets += f.gt.length;
    predDets += f.hyp.length;
    for (const g of f.gt) gLen[gIndex.get(g.id)!]! += 1;
    for (const p of f.hyp) pLen[pIndex.get(p.id)!]! += 1;
    const rowSum = S.map((row) => row.reduce((s, x) => s + x, 0));
    const colSum = f.hyp.map((_, j) => S.reduce((s, row) => s + row[j]!, 0));
    f.gt.forEach((g, i) =>
      f.hyp.forEach((p, j) => {
        const denom = rowSum[i]! + colSum[j]! - S[i]![j]!;
        if (denom <= EPS) return;
        const k = key(gIndex.get(g.id)!, pIndex.get(p.id)!);
        soft.set(k, (soft.get(k) ?? 0) + S[i]![j]! / denom);
      }),
    );
  }
  const a0 = (g: number, p: number): number => {
    const s = soft.get(key(g, p)) ?? 0;
    return s / (gLen[g]! + pLen[p]! - s);
  };

  const tp = alphas.map(() => 0);
  const locSum = alphas.map(() => 0);
  const pairTp = alphas.map(() => new Map<number, number>());
  frames.forEach((f, t) => {
    if (!f.gt.length || !f.hyp.length) return;
    const S = sims[t]!;
    const gi = f.gt.map((g) => gIndex.get(g.id)!);
    const pj = f.hyp.map((p) => pIndex.get(p.id)!);
    const score = S.map((row, i) => row.map((s, j) => a0(gi[i]!, pj[j]!) * s));
    for (const [i, j] of linearSumAssignment(score.map((row) => row.map((x) => -x)))) {
      if (score[i]![j]! <= EPS) continue;
      const s = S[i]![j]!;
      const k = key(gi[i]!, pj[j]!);
      alphas.forEach((alpha, a) => {
        if (s < alpha - EPS) return;
        tp[a]! += 1;
        locSum[a]! += s;
        pairTp[a]!.set(k, (pairTp[a]!.get(k) ?? 0) + 1);
      });
    }
  });

  const per = alphas.map((_, a) => {
    const TP = tp[a]!;
    const FN = gtDets - TP;
    const FP = predDets - TP;
    let ass = 0,
      assRe = 0,
      assPr = 0;
    for (const [k, n] of pairTp[a]!) {
      const g = Math.floor(k / nP),
        p = k % nP;
      ass += n * (n / (gLen[g]! + pLen[p]! - n));
      assRe += n * (n / gLen[g]!);
      assPr += n * (n / pLen[p]!);
    }
    const denomTp = Math.max(TP, 1);
    const deta = TP / Math.max(TP + FN + FP, 1);
    const assa = ass / denomTp;
    return {
      deta,
      assa,
      hota: Math.sqrt(deta * assa),
      // No TP: localisation is undefined; counted as perfect so that it does not lower the mean.
      loca: TP > 0 ? locSum[a]! / TP : 1,
      detre: TP / Math.max(TP + FN, 1),
      detpr: TP / Math.max(TP + FP, 1),
      assre: assRe / denomTp,
      asspr: assPr / denomTp,
    };
  });
  const avg = (k: keyof (typeof per)[number]) => mean(per.map((r) => r[k]));
  return {
    hota: avg('hota'),
    deta: avg('deta'),
    assa: avg('assa'),
    loca: avg('loca'),
    detre: avg('detre'),
    detpr: avg('detpr'),
    assre: avg('assre'),
    asspr: avg('asspr'),
    hota_per_alpha: per.map((r) => r.hota),
    alphas,
  };
}
