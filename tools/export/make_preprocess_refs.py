#!/usr/bin/env python3
"""Writes test/fixtures/preprocess/: real frames and torchvision's classification preprocessing of
them, for test/unit/preprocess-torchvision.test.ts (which needs no torch).

    .venv/bin/python tools/export/make_preprocess_refs.py

Per frame: <name>.rgb.gz (the frame, uint8 RGB HWC, as decoded by ffmpeg `-pix_fmt rgb24`) and
<name>.torchvision.u8.gz (uint8 CHW 3x224x224: torchvision's ImageClassification preset before
normalization, F.center_crop(F.resize(img, 256, antialias=True), 224) on the uint8 tensor), and
index.json with the sizes.
"""
import gzip
import json
import os
import sys

import torch
from torchvision.transforms import functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import measure_stages as M  # noqa: E402

OUT = os.path.join(M.REPO, 'test', 'fixtures', 'preprocess')
FRAMES = [('parking-person-bike-car-1s', 'videos/parking-person-bike-car.mp4', 1.0)]  # the worst frame of measure_stages.py (111 values off)


def main() -> int:
    os.makedirs(OUT, exist_ok=True)
    index = []
    for name, rel, t in FRAMES:
        rgb = M.decode(os.path.join(M.MEDIA, rel), t)
        img = torch.from_numpy(rgb).permute(2, 0, 1).contiguous()
        ref = F.center_crop(F.resize(img, [256], antialias=True), [224])
        assert ref.dtype == torch.uint8
        for suffix, data in (('rgb.gz', rgb.tobytes()), ('torchvision.u8.gz', ref.numpy().tobytes())):
            with open(os.path.join(OUT, f'{name}.{suffix}'), 'wb') as fh:
                fh.write(gzip.compress(data, 9, mtime=0))
        index.append({'name': name, 'source': f'shared/media/{rel}' + (f' at {t} s' if t is not None else ''), 'width': rgb.shape[1], 'height': rgb.shape[0]})
    with open(os.path.join(OUT, 'index.json'), 'w') as fh:
        json.dump({'torch': torch.__version__, 'frames': index}, fh, indent=1)
        fh.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
