#!/usr/bin/env python3
"""Exports a train_mask_rcnn.py checkpoint with the project's export tool (tools/export/export.py,
imported as a module: the same export_onnx / manifest_for the zoo export uses, so the manifest is
the one users get for a Mask R-CNN: task instance_segmentation) to models/synth-maskrcnn/:
synth-maskrcnn.onnx, synth-maskrcnn.manifest.json, labels.txt. Same approach as export_detector.py.

  python3 tools/train/export_mask_rcnn.py --checkpoint /tmp/synth-maskrcnn.pt --out models/synth-maskrcnn

It then runs the ONNX graph in onnxruntime on one 320x240 and one 270x480 image and checks boxes,
scores and masks (probabilities, and the pixels over 0.5) against PyTorch eager.
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
from detector_common import LABELS, build_mask_model, load_trained  # noqa: E402

NAME = 'synth-maskrcnn'


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('--out', default=os.path.join('models', NAME))
    ap.add_argument('--opset', type=int, default=vexport.DEFAULT_OPSET)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, ck = load_trained(args.checkpoint, build_mask_model)
    info = ck.get('info', {})
    s = ck['settings']
    b = vexport.Built(arch=NAME, family='detection', model=model,
                      weights_name=f"trained-synth-seed-{info.get('seed', 0)}", preset={},
                      labels={'set': 'custom', 'file': 'labels.txt', 'count': len(LABELS), 'write': LABELS},
                      notes=[f"MaskRCNN class of torchvision with a MobileNetV3-Small (width {s['width']}) FPN "
                             f"backbone and a small mask head ({s['mask_layers']} convolutions of {s['mask_dim']} "
                             'channels), trained by tools/train/train_mask_rcnn.py on tools/synth/generate.py '
                             'train-split scene videos.'])
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, f'{NAME}.onnx')
    g = torch.Generator().manual_seed(7)
    example = [vexport.smooth_noise(1, 3, 240, 320, g)[0]]
    io = vexport.export_onnx(b, onnx_path, args.opset, 1, example)
    vexport.write_labels_if_custom(b, args.out)
    man = vexport.manifest_for(b, NAME, f'{NAME}.onnx', io, args.opset, 1, None)
    man['provenance']['license'] = 'weights trained here on synthetic data (tools/train/train_mask_rcnn.py)'
    man['provenance']['training'] = info
    with open(os.path.join(args.out, f'{NAME}.manifest.json'), 'w') as f:
        json.dump(man, f, indent=2)
        f.write('\n')
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.2f} MB), task {man['task']}")

    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(onnx_path, so, providers=['CPUExecutionProvider'])
    for h, w in ((240, 320), (270, 480)):
        img = vexport.smooth_noise(1, 3, h, w, g)[0]
        with torch.no_grad(), vexport.detection_resize_fix():
            ref = model([img])[0]
        boxes, labels, scores, masks = sess.run(['boxes', 'labels', 'scores', 'masks'], {'image': img.numpy()})
        # pair each PyTorch detection with the onnxruntime one of the same label and closest box
        rb, rl, rs, rm = ref['boxes'].numpy(), ref['labels'].numpy(), ref['scores'].numpy(), ref['masks'].numpy()
        worst_box = worst_score = worst_mask = 0.0
        px_diff = 0
        for i in range(len(rs)):
            same = np.where(labels == rl[i])[0]
            if len(same) == 0:
                worst_box = float('inf')
                continue
            j = same[np.abs(boxes[same] - rb[i]).max(1).argmin()]
            worst_box = max(worst_box, float(np.abs(boxes[j] - rb[i]).max()))
            worst_score = max(worst_score, float(abs(scores[j] - rs[i])))
            worst_mask = max(worst_mask, float(np.abs(masks[j] - rm[i]).max()))
            px_diff += int(((masks[j] > 0.5) != (rm[i] > 0.5)).sum())
        print(f'{h}x{w}: onnxruntime {len(scores)} detections (masks {list(masks.shape)}), PyTorch {len(rs)}; '
              f'max |box diff| {worst_box:.2e}, max |score diff| {worst_score:.2e}, '
              f'max |mask prob diff| {worst_mask:.2e}, mask pixels flipped at 0.5: {px_diff}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
