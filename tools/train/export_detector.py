#!/usr/bin/env python3
"""Exports a train_detector.py checkpoint with the project's export tool (tools/export/export.py,
imported as a module: the same export_onnx / manifest_for the zoo export uses, so the manifest is
the one users get) to models/synth-frcnn/: synth-frcnn.onnx, synth-frcnn.manifest.json, labels.txt.

  python3 tools/train/export_detector.py --checkpoint /tmp/synth-frcnn.pt --out models/synth-frcnn

It then runs the ONNX graph in onnxruntime on one 320x240 and one 270x480 image and checks boxes,
labels and scores against PyTorch eager.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'export'))
import export as vexport  # noqa: E402  (tools/export/export.py)
from detector_common import LABELS, load_trained  # noqa: E402

NAME = 'synth-frcnn'


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('--out', default=os.path.join('models', NAME))
    ap.add_argument('--opset', type=int, default=vexport.DEFAULT_OPSET)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, ck = load_trained(args.checkpoint)
    info = ck.get('info', {})
    b = vexport.Built(arch=NAME, family='detection', model=model,
                      weights_name=f"trained-synth-seed-{info.get('seed', 0)}", preset={},
                      labels={'set': 'custom', 'file': 'labels.txt', 'count': len(LABELS), 'write': LABELS},
                      notes=['FasterRCNN class of torchvision with a MobileNetV3-Small (width '
                             f"{ck['settings']['width']}) FPN backbone, trained by tools/train/train_detector.py "
                             'on tools/synth/generate.py train-split scene videos.'])
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, f'{NAME}.onnx')
    g = torch.Generator().manual_seed(7)
    example = [vexport.smooth_noise(1, 3, 240, 320, g)[0]]
    io = vexport.export_onnx(b, onnx_path, args.opset, 1, example)
    vexport.write_labels_if_custom(b, args.out)
    man = vexport.manifest_for(b, NAME, f'{NAME}.onnx', io, args.opset, 1, None)
    man['provenance']['license'] = 'weights trained here on synthetic data (tools/train/train_detector.py)'
    man['provenance']['training'] = info
    with open(os.path.join(args.out, f'{NAME}.manifest.json'), 'w') as f:
        json.dump(man, f, indent=2)
        f.write('\n')
    print(f'wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.2f} MB)')

    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=['CPUExecutionProvider'])
    for h, w in ((240, 320), (270, 480)):
        img = vexport.smooth_noise(1, 3, h, w, g)[0]
        with torch.no_grad(), vexport.detection_resize_fix():
            ref = model([img])[0]
        boxes, labels, scores = sess.run(['boxes', 'labels', 'scores'], {'image': img.numpy()})
        # pair each PyTorch detection with the onnxruntime one of the same label and closest box (order can
        # differ between near-tied scores)
        rb, rl, rs = ref['boxes'].numpy(), ref['labels'].numpy(), ref['scores'].numpy()
        worst_box = worst_score = 0.0
        for i in range(len(rs)):
            same = np.where(labels == rl[i])[0]
            if len(same) == 0:
                worst_box = float('inf')
                continue
            j = same[np.abs(boxes[same] - rb[i]).max(1).argmin()]
            worst_box = max(worst_box, float(np.abs(boxes[j] - rb[i]).max()))
            worst_score = max(worst_score, float(abs(scores[j] - rs[i])))
        print(f'{h}x{w}: onnxruntime {len(scores)} detections, PyTorch {len(rs)}; max |box diff| {worst_box:.2e}, '
              f'max |score diff| {worst_score:.2e}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
