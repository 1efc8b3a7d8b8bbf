#!/usr/bin/env python3
"""Scores the records of a `track` pipeline (its JSONL sink) with py-motmetrics against generate.py ground truth:
MOTA, IDF1, ID switches and fragmentations (which `vidflow eval` does not report), one accumulator per stream,
the same pairing as src/eval/tracking.ts (IoU >= 0.5: iou_matrix max_iou 0.5; hypotheses = the detections with a
track_id and a label of the ground truth's categories).

  VIDFLOW_SYNTH_HELDOUT=/tmp/det-heldout vidflow run pipelines/eval-synth-track.yaml
  python3 tools/train/track_motmetrics.py --records pipelines/out/eval-synth-track.jsonl \\
      --ground-truth /tmp/det-heldout/ground-truth

Needs numpy, pandas and motmetrics (pip install motmetrics).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

if not hasattr(np, 'asfarray'):  # motmetrics 1.4.0 still calls np.asfarray, removed in NumPy 2
    np.asfarray = lambda a, dtype=float: np.asarray(a, dtype=dtype)
import motmetrics as mm  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--records', required=True)
    ap.add_argument('--ground-truth', required=True, help='folder of generate.py ground-truth JSON files')
    args = ap.parse_args()
    recs: dict[tuple[str, int], list] = {}
    with open(args.records) as f:
        for line in f:
            r = json.loads(line)
            if r.get('task') == 'tracking':
                recs.setdefault((r['stream_id'], r['frame_index']), []).append(r)
    accs, names = [], []
    for fn in sorted(os.listdir(args.ground_truth)):
        gt = json.load(open(os.path.join(args.ground_truth, fn)))
        cats = {c['name'] for c in gt['categories']}
        by_img: dict[int, list] = {}
        for a in gt['annotations']:
            by_img.setdefault(a['image_id'], []).append(a)
        acc = mm.MOTAccumulator(auto_id=False)
        for img in sorted(gt['images'], key=lambda i: i['frame_index']):
            anns = by_img.get(img['id'], [])
            hyp = [d for r in recs.get((img['stream_id'], img['frame_index']), [])
                   for d in (r['results'] or {}).get('detections', [])
                   if d.get('track_id') is not None and d['label'] in cats]
            g = np.array([a['bbox'] for a in anns], float).reshape(-1, 4)
            h = np.array([[d['box'][0], d['box'][1], d['box'][2] - d['box'][0], d['box'][3] - d['box'][1]]
                          for d in hyp], float).reshape(-1, 4)
            acc.update([a['track_id'] for a in anns], [d['track_id'] for d in hyp],
                       mm.distances.iou_matrix(g, h, max_iou=0.5), frameid=img['frame_index'])
        accs.append(acc)
        names.append(os.path.splitext(fn)[0])
    mh = mm.metrics.create()
    metrics = ['mota', 'idf1', 'num_switches', 'num_fragmentations', 'num_misses', 'num_false_positives',
               'num_objects', 'num_predictions', 'mostly_tracked', 'partially_tracked', 'mostly_lost']
    summary = mh.compute_many(accs, metrics=metrics, names=names, generate_overall=True)
    print(summary.to_string())
    print(json.dumps({k: float(v) for k, v in summary.loc['OVERALL'].items()}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
