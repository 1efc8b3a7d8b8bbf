#!/usr/bin/env python3
"""The PyTorch reference for pipelines/eval-synth-masks.yaml: the trained Mask R-CNN
(train_mask_rcnn.py checkpoint) in PyTorch eager on the same frames vidflow's file source decodes
(ffmpeg, rgb24; detector_common.decode_video), scored by pycocotools' COCOeval, iouType 'segm'
(mask AP@[.5:.95], AP@0.5) and 'bbox', against the generate.py ground truth (masks: COCO RLE of the
visible pixels). Masks are binarised at 0.5, the manifest's mask_threshold. With --onnx also the
exported graph in onnxruntime (Python) on the same frames.

  python3 tools/synth/generate.py --out /tmp/det-heldout --split heldout --seed 1 --scenes 4 --motion 0 --frames 48
  python3 tools/train/reference_eval_masks.py --checkpoint models/synth-maskrcnn/synth-maskrcnn.pt \\
      --data /tmp/det-heldout --onnx models/synth-maskrcnn/synth-maskrcnn.onnx \\
      --out models/synth-maskrcnn/heldout-metrics.json

Compare with: VIDFLOW_SYNTH_HELDOUT=/tmp/det-heldout \\
  vidflow eval pipelines/eval-synth-masks.yaml --ground-truth /tmp/det-heldout/ground-truth
Needs torch, torchvision, pycocotools (and onnxruntime for --onnx).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from detector_common import LABELS, build_mask_model, load_split, load_trained, to_tensor  # noqa: E402
from reference_eval_detector import coco_scores  # noqa: E402

MASK_THRESHOLD = 0.5


def main() -> int:
    from pycocotools import mask as mask_utils
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('--data', required=True, help='a generate.py --split heldout output folder')
    ap.add_argument('--onnx', help='also score this exported graph in onnxruntime')
    ap.add_argument('--out', help='write the metrics here (JSON)')
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, ck = load_trained(args.checkpoint, build_mask_model)
    sess = None
    if args.onnx:
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
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
                         'bbox': a['bbox'], 'area': a['area'], 'iscrowd': a['iscrowd'],
                         'segmentation': a['segmentation']})
        for img in gt['images']:
            x = to_tensor(frames[img['frame_index']])
            runs = []
            with torch.no_grad():
                o = model([x])[0]
            runs.append(('pytorch', o['boxes'].numpy(), o['labels'].numpy(), o['scores'].numpy(), o['masks'].numpy()))
            if sess is not None:
                runs.append(('onnxruntime', *sess.run(['boxes', 'labels', 'scores', 'masks'], {'image': x.numpy()})))
            for which, b, lab, s, m in runs:
                for box, label, score, mask in zip(b, lab, s, m):
                    x0, y0, x1, y1 = (float(v) for v in box)
                    rle = mask_utils.encode(np.asfortranarray((mask[0] > MASK_THRESHOLD).astype(np.uint8)))
                    rle['counts'] = rle['counts'].decode('ascii')
                    dets[which].append({'image_id': remap[img['id']], 'category_id': int(label),
                                        'bbox': [x0, y0, x1 - x0, y1 - y0], 'score': float(score),
                                        'segmentation': rle})
    seconds = time.time() - t0
    result = {'data': args.data, 'videos': videos, 'images': len(images), 'annotations': len(anns),
              'labels': LABELS, 'checkpoint_info': ck.get('info'), 'mask_threshold': MASK_THRESHOLD,
              'scorer': 'pycocotools COCOeval segm and bbox'}
    for which in ('pytorch', 'onnxruntime'):
        if which == 'onnxruntime' and sess is None:
            continue
        # the same detections for both: loadRes takes each one's box (bbox) and its RLE (segm)
        result[which] = {'segm': coco_scores(images, anns, categories, dets[which], 'segm'),
                         'bbox': coco_scores(images, anns, categories, dets[which], 'bbox')}
    result['seconds'] = round(seconds, 1)
    print(json.dumps(result, indent=1))
    for which in ('pytorch', 'onnxruntime'):
        if which in result:
            for kind in ('segm', 'bbox'):
                r = result[which][kind]
                print(f"{which:12s} {kind} AP@[.5:.95] {r['ap']:.4f}  AP@0.5 {r['ap50']:.4f}  AP@0.75 {r['ap75']:.4f}")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
            f.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
