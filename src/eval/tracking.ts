/**
 * Multi-object tracking: CLEAR MOT (MOTA) and IDF1 with py-motmetrics' definitions.
 *
 * Per frame, a ground-truth object and a hypothesis may pair when their box IoU >= `minIou`
 * (motmetrics: iou_matrix(max_iou = 1 - minIou)). Pairs carried over from the previous frame are
 * kept when still allowed; the rest are assigned by minimum total distance (1 - IoU); a pairing
 * of an object with a hypothesis other than its last one is an ID switch.
 * MOTA = 1 - (misses + false positives + switches) / ground-truth objects.
 * IDF1 = 2 IDTP / (ground-truth objects + hypotheses), IDTP from the best global one-to-one
 * assignment of ground-truth tracks to hypothesis tracks.
 * Fragmentations (motmetrics' num_fragmentations): per ground-truth track, over the frames it is
 * present from its first tracked frame to its last, the times it goes from tracked to missed.
 */
import { linearSumAssignment } from './assignment.js';

export interface TrackBox {
  id: number;
  /** [x, y, w, h] */
  box: [number, number, number, number];
}

export interface TrackingFrame {
  gt: TrackBox[];
  hyp: TrackBox[];
}

export interface TrackingResult {
  mota: number;
  idf1: number;
  num_objects: number;
  num_predictions: number;
  num_misses: number;
  num_false_positives: number;
  num_switches: number;
  num_fragmentations: number;
  num_matches: number;
  idtp: number;
}

function iou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.min(a[0]! + a[2]!, b[0]! + b[2]!) - Math.max(a[0]!, b[0]!);
  const ih = Math.min(a[1]! + a[3]!, b[1]! + b[3]!) - Math.max(a[1]!, b[1]!);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / (a[2]! * a[3]! + b[2]! * b[3]! - inter);
}

export function evaluateTracking(frames: TrackingFrame[], minIou = 0.5): TrackingResult {
  const maxDist = 1 - minIou;
  const last = new Map<number, number>(); // gt id -> hyp id of its last match
  let objects = 0,
    preds = 0,
    misses = 0,
    fps = 0,
    switches = 0,
    matches = 0;
  // For IDF1: frames each gt/hyp id appears, and frames each (gt, hyp) pair is within distance.
  // Per ground-truth id, tracked (true) or missed (false) in each frame it is present, in order.
  const tracked = new Map<number, boolean[]>();
  const gtCount = new Map<number, number>(),
    hypCount = new Map<number, number>(),
    pairCount = new Map<string, number>();
  for (const f of frames) {
    objects += f.gt.length;
    preds += f.hyp.length;
    const dist = f.gt.map((g) =>
      f.hyp.map((h) => {
        const d = 1 - iou(g.box, h.box);
        return d > maxDist ? NaN : d;
      }),
    );
    for (const g of f.gt) gtCount.set(g.id, (gtCount.get(g.id) ?? 0) + 1);
    for (const h of f.hyp) hypCount.set(h.id, (hypCount.get(h.id) ?? 0) + 1);
    f.gt.forEach((g, i) =>
      f.hyp.forEach((h, j) => {
        if (Number.isFinite(dist[i]![j]!))
          pairCount.set(`${g.id}/${h.id}`, (pairCount.get(`${g.id}/${h.id}`) ?? 0) + 1);
      }),
    );
    const gUsed = new Array<boolean>(f.gt.length).fill(false);
    const hUsed = new Array<boolean>(f.hyp.length).fill(false);
    if (f.gt.length && f.hyp.length) {
      f.gt.forEach((g, i) => {
        if (!last.has(g.id)) return;
        const j = f.hyp.findIndex((h, k) => !hUsed[k] && h.id === last.get(g.id));
        if (j < 0 || !Number.isFinite(dist[i]![j]!)) return;
        gUsed[i] = hUsed[j] = true;
        matches++;
      });
      const d = dist.map((row, i) => row.map((v, j) => (gUsed[i] || hUsed[j] ? NaN : v)));
      for (const [i, j] of linearSumAssignment(d)) {
        const g = f.gt[i]!,
          h = f.hyp[j]!;
        if (last.has(g.id) && last.get(g.id) !== h.id) switches++;
        else matches++;
        last.set(g.id, h.id);
        gUsed[i] = hUsed[j] = true;
      }
    }
    f.gt.forEach((g, i) => {
      const seq = tracked.get(g.id) ?? [];
      seq.push(gUsed[i]!);
      tracked.set(g.id, seq);
    });
    misses += gUsed.filter((x) => !x).length;
    fps += hUsed.filter((x) => !x).length;
  }
  // Global ID assignment: maximise frames where matched pairs are within distance.
  const gIds = [...gtCount.keys()],
    hIds = [...hypCount.keys()];
  const cost = gIds.map((g) =>
    hIds.map((h) => {
      const n = pairCount.get(`${g}/${h}`) ?? 0;
      return -n;
    }),
  );
  let fragmentations = 0;
  for (const seq of tracked.values()) {
    const first = seq.indexOf(true);
    const lastTracked = seq.lastIndexOf(true);
    for (let k = first + 1; first >= 0 && k <= lastTracked; k++) if (seq[k - 1] && !seq[k]) fragmentations++;
  }
  let idtp = 0;
  for (const [i, j] of linearSumAssignment(cost)) idtp += -cost[i]![j]!;
  return {
    mota: objects ? 1 - (misses + fps + switches) / objects : 0,
    idf1: objects + preds ? (2 * idtp) / (objects + preds) : 0,
    num_objects: objects,
    num_predictions: preds,
    num_misses: misses,
    num_false_positives: fps,
    num_switches: switches,
    num_fragmentations: fragmentations,
    num_matches: matches,
    idtp,
  };
}
