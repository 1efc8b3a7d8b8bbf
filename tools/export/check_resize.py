#!/usr/bin/env python3
"""Checks the detection resize fix: exports torchvision's GeneralizedRCNNTransform (min 320 /
max 640) with and without export.detection_resize_fix(), then compares onnxruntime with eager
PyTorch on N random input sizes (resized+padded tensor must match, so the resized size must).

    python tools/export/check_resize.py [N]
"""
import contextlib
import os
import random
import sys
import tempfile

import numpy as np
import onnxruntime as ort
import torch
from torchvision.models.detection.transform import GeneralizedRCNNTransform

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export as E  # noqa: E402


class Transform(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.t = GeneralizedRCNNTransform(320, 640, E.IMAGENET_MEAN, E.IMAGENET_STD).eval()

    def forward(self, x):
        return self.t([x])[0].tensors


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    model = Transform().eval()
    tmp = tempfile.mkdtemp()
    sessions = {}
    for fix in (False, True):
        path = os.path.join(tmp, f'fix{int(fix)}.onnx')
        with (E.detection_resize_fix() if fix else contextlib.nullcontext()), torch.no_grad():
            torch.onnx.export(model, (torch.rand(3, 200, 300),), path, dynamo=False, opset_version=E.DEFAULT_OPSET,
                              input_names=['image'], output_names=['out'], dynamic_axes={'image': {1: 'h', 2: 'w'}})
        sessions[fix] = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    rnd = random.Random(0)
    bad = {False: 0, True: 0}
    for _ in range(n):
        h, w = rnd.randint(60, 700), rnd.randint(60, 700)
        x = torch.rand(3, h, w)
        with torch.no_grad():
            ref = model(x).numpy()
        for fix, s in sessions.items():
            out = s.run(None, {'image': x.numpy()})[0]
            if out.shape != ref.shape or not np.allclose(out, ref, atol=1e-3):
                bad[fix] += 1
    print(f'{n} random sizes: mismatches without the fix {bad[False]}, with the fix {bad[True]}')
    return 1 if bad[True] else 0


if __name__ == '__main__':
    sys.exit(main())
