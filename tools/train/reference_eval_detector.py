#!/usr/bin/env python3
"""The PyTorch reference for pipelines/eval-synth-detect.yaml: the trained detector
(train_detector.py checkpoint) in PyTorch eager on the same frames vidflow's file source decodes
(ffmpeg, rgb24; detector_common.decode_video), scored by pycocotools' COCOeval (box AP@[.5:.95],
AP@0.5) against the generate.py ground truth. With --onnx also the exported graph in onnxruntime
(Python) on the same frames, which separates export differences from pipeline differences.

  python3 tools/synth/generate.py --out /tmp/det-heldout --split heldout --seed 1 --scenes 4 --motion 0 --frames 48
  python3 tools/train/reference_eval_detector.py --checkpoint models/synth-frcnn/synth-frcnn.pt --data /tmp/det-heldout \\
      --onnx models/synth-frcnn/synth-frcnn.onnx --out models/synth-frcnn/heldout-metrics.json

Compare with: VIDFLOW_SYNTH_HELDOUT=/tmp/det-heldout \\
  vidflow eval pipelines/eval-synth-detect.yaml --ground-truth /tmp/det-heldout/ground-truth
Needs torch, torchvision, pycocotools (and onnxruntime for --onnx).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from detector_common import LABELS, load_split, load_trained, to_tensor  # noqa: E402


def coco_scores(gt_images, gt_anns, categories, dets, iou_type: str = 'bbox') -> dict:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    gt = COCO()
    gt.dataset = {'images': gt_images, 'annotations': gt_anns, 'categories': categories}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes(dets) if dets else COCO()
        ev = COCOeval(gt, dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    out = {'ap': float(ev.stats[0]), 'ap50': float(ev.stats[1]), 'ap75': float(ev.stats[2]), 'per_category_ap50': {}}
    prec = ev.eval['precision']  # [T, R, K, A, M]
    for k, cid in enumerate(ev.params.catIds):
        p = prec[0, :, k, 0, -1]
        p = p[p > -1]
        out['per_category_ap50'][next(c['name'] for c in categories if c['id'] == cid)] = \
            float(p.mean()) if len(p) else -1.0
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('--data', required=True, help='a generate.py --split heldout output folder')
    ap.add_argument('--onnx', help='also score this exported graph in onnxruntime')
    ap.add_argument('--out', help='write the metrics here (JSON)')
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, ck = load_trained(args.checkpoint)
    sess = None
    if args.onnx:
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(args.onnx, so, providers=['CPUExecutionProvider'])

    images, anns, categories, videos = [], [], None, []
    dets: dict[str, list] = {'pytorch': [], 'onnxruntime': []}
    t0 = time.time()
    for name, frames, gt in load_split(args.data):
        videos.append(name)
        categories = categories or [{'id': c['id'], 'name': c['name']} for c in gt['categories']]
        remap = {}
        for img in gt['images']:
            remap[img['id']] = len(images) + 1
            images.append({'id': len(images) + 1, 'width': img['width'], 'height': img['height'],
                           'stream_id': img['stream_id'], 'frame_index': img['frame_index']})
        for a in gt['annotations']:
            anns.append({'id': len(anns) + 1, 'image_id': remap[a['image_id']], 'category_id': a['category_id'],
                         'bbox': a['bbox'], 'area': a['area'], 'iscrowd': a['iscrowd']})
        for img in gt['images']:
            x = to_tensor(frames[img['frame_index']])
            runs = []
            with torch.no_grad():
                o = model([x])[0]
            runs.append(('pytorch', o['boxes'].numpy(), o['labels'].numpy(), o['scores'].numpy()))
            if sess is not None:
                b, lab, s = sess.run(['boxes', 'labels', 'scores'], {'image': x.numpy()})
                runs.append(('onnxruntime', b, lab, s))
            for which, b, lab, s in runs:
                for box, label, score in zip(b, lab, s):
                    x0, y0, x1, y1 = (float(v) for v in box)
                    dets[which].append({'image_id': remap[img['id']], 'category_id': int(label),
                                        'bbox': [x0, y0, x1 - x0, y1 - y0], 'score': float(score)})
    seconds = time.time() - t0
    result = {'data': args.data, 'videos': videos, 'images': len(images), 'annotations': len(anns),
              'labels': LABELS, 'checkpoint_info': ck.get('info'), 'scorer': 'pycocotools COCOeval bbox',
              'pytorch': coco_scores(images, anns, categories, dets['pytorch'])}
    if sess is not None:
        result['onnxruntime'] = coco_scores(images, anns, categories, dets['onnxruntime'])
    result['seconds'] = round(seconds, 1)
    print(json.dumps(result, indent=1))
    for which in ('pytorch', 'onnxruntime'):
        if which in result:
            r = result[which]
            print(f"{which:12s} box AP@[.5:.95] {r['ap']:.4f}  AP@0.5 {r['ap50']:.4f}  AP@0.75 {r['ap75']:.4f}")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
            f.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
