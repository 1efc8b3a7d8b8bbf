/**
 * Semantic segmentation: per-class IoU from a confusion matrix accumulated over frames (row-major
 * label maps of equal size), mIoU = mean IoU over the classes present in the ground truth or the
 * prediction, pixel accuracy = correct / counted pixels. Ground-truth pixels equal to `ignore`
 * (default 255, as in VOC) are not counted.
 */
export interface SemanticResult {
  miou: number;
  pixel_accuracy: number;
  per_class_iou: Record<number, number>;
}

export class SemanticAccumulator {
  private readonly conf = new Map<number, Map<number, number>>();
  constructor(private readonly ignore = 255) {}

  add(gt: Uint8Array, pred: Uint8Array): void {
    if (gt.length !== pred.length) throw new Error(`label maps differ in size: ${gt.length} vs ${pred.length} pixels`);
    for (let i = 0; i < gt.length; i++) {
      const g = gt[i]!;
      if (g === this.ignore) continue;
      const row = this.conf.get(g) ?? this.conf.set(g, new Map()).get(g)!;
      row.set(pred[i]!, (row.get(pred[i]!) ?? 0) + 1);
    }
  }

  result(): SemanticResult {
    const classes = new Set<number>();
    let total = 0,
      correct = 0;
    const gtSum = new Map<number, number>(),
      predSum = new Map<number, number>();
    for (const [g, row] of this.conf) {
      for (const [p, n] of row) {
        classes.add(g).add(p);
        total += n;
        if (g === p) correct += n;
        gtSum.set(g, (gtSum.get(g) ?? 0) + n);
        predSum.set(p, (predSum.get(p) ?? 0) + n);
      }
    }
    const per: Record<number, number> = {};
    for (const c of [...classes].sort((a, b) => a - b)) {
      const inter = this.conf.get(c)?.get(c) ?? 0;
      per[c] = inter / ((gtSum.get(c) ?? 0) + (predSum.get(c) ?? 0) - inter);
    }
    const ious = Object.values(per);
    return {
      miou: ious.length ? ious.reduce((s, x) => s + x, 0) / ious.length : 0,
      pixel_accuracy: total ? correct / total : 0,
      per_class_iou: per,
    };
  }
}
