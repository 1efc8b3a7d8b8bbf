#!/usr/bin/env python3
"""Measures vidflow's stages against torchvision on real frames (the figures in docs/stages.md).

    .venv/bin/python tools/export/measure_stages.py [--seg lraspp_mobilenet_v3_large,deeplabv3_mobilenet_v3_large]

Frames: full-resolution RGB frames decoded with ffmpeg (`-pix_fmt rgb24`, no scaling) from the
videos of shared/media (FRAMES below) plus the 8 photos of shared/media/photos.

1. Classification preprocessing: vidflow's tensor (tools/export/stage_runner.ts → buildImageBatch
   with the mobilenetv2-12-int8 manifest: shorter side 256 antialiased, center crop 224, ImageNet
   mean/std) vs torchvision's ImageClassification preset on the same uint8 frame; per frame, how
   many of the 3x224x224 = 150,528 values differ, and by how many uint8 levels.
2. Segmentation end to end: each --seg architecture exported with seeded random weights (as
   `vidflow models export <arch> --random-seed 0`; no internet here for pretrained weights), then
   per frame vidflow's preprocessing + onnxruntime-node + vidflow's argmax vs torchvision's
   SemanticSegmentation preset (shorter side 520) + eager PyTorch + argmax: the share of equal
   pixels at model resolution. Also the preprocessing difference, as in 1.
Prints a JSON summary (and writes it to --json if given).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import export as E  # noqa: E402
import refs as R  # noqa: E402

MEDIA = os.path.join(R.SHARED, 'media')
FFMPEG = R.FFMPEG
# (video, seconds): real frames at the videos' own resolutions (480x270 ... 1280x720).
FRAMES = [
    ('videos/people-one-by-one.mp4', 20), ('videos/people-one-by-one.mp4', 75), ('videos/parking-cars.mp4', 12),
    ('videos/store-aisle.mp4', 1.0), ('videos/store-aisle.mp4', 3.5), ('videos/classroom.mp4', 1.5),
    ('videos/worker-walking.mp4', 2.0), ('videos/parking-person-bike-car.mp4', 1.0), ('videos/walking-pair-faces.mp4', 2.0),
    ('videos/asl-walk.mkv', 1.0), ('videos/highway-dashcam.mp4', 0.8), ('videos/faces-head-pose.mp4', 2.0),
]
PHOTOS = ['highway-cars.jpg', 'astronaut.png', 'cat.png', 'apollo-crew.jpg', 'soccer.jpg', 'girl-dog.jpg', 'jockey-horse.jpg', 'child-teddy.jpg']


def probe_size(path: str) -> tuple[int, int]:
    out = subprocess.run(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', path],
                         check=True, capture_output=True, text=True).stdout.strip().split('\n')[0]
    w, h = out.split(',')[:2]
    return int(w), int(h)


def decode(path: str, t: float | None) -> np.ndarray:
    w, h = probe_size(path)
    cmd = [FFMPEG, '-v', 'error'] + (['-ss', str(t)] if t is not None else []) + ['-i', path, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    assert len(raw) == w * h * 3, (path, len(raw), w, h)
    return np.frombuffer(raw, dtype=np.uint8).reshape(h, w, 3).copy()


def frames() -> list[tuple[str, np.ndarray]]:
    out = [(f'{v}@{t}s', decode(os.path.join(MEDIA, v), t)) for v, t in FRAMES]
    out += [(f'photos/{p}', decode(os.path.join(MEDIA, 'photos', p), None)) for p in PHOTOS]
    return out


def run_vidflow(manifest: str, fr: list[tuple[str, np.ndarray]], work: str, run_model: bool, ref_pre: list[np.ndarray] | None = None) -> list[dict]:
    items = []
    for i, (_, rgb) in enumerate(fr):
        f = os.path.join(work, f'frame_{i}.rgb')
        rgb.tofile(f)
        items.append({'file': f, 'width': rgb.shape[1], 'height': rgb.shape[0]})
        if ref_pre is not None:
            rf = os.path.join(work, f'ref_pre_{i}.bin')
            ref_pre[i].astype('<f4').tofile(rf)
            items[-1]['ref_pre'] = {'file': rf, 'dims': list(ref_pre[i].shape)}
    job = os.path.join(work, 'job.json')
    R.write_json(job, {'manifest': manifest, 'run_model': run_model, 'out': work, 'frames': items})
    subprocess.run(['node', '--import', 'tsx', os.path.join(HERE, 'stage_runner.ts'), job], check=True, cwd=REPO)
    with open(os.path.join(work, 'result.json')) as fh:
        return json.load(fh)


def pre_diff(mine: np.ndarray, ref: np.ndarray, std: list[float]) -> dict:
    """Differences in uint8 levels (value * std * 255) between two normalized NCHW tensors."""
    assert mine.shape == ref.shape, (mine.shape, ref.shape)
    s = np.asarray(std, dtype=np.float64)[None, :, None, None]
    levels = np.abs(mine.astype(np.float64) - ref.astype(np.float64)) * s * 255
    return {'values': int(levels.size), 'differ': int((levels > 0.5).sum()), 'max_levels': float(np.round(levels.max(), 3))}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--seg', default='lraspp_mobilenet_v3_large,deeplabv3_mobilenet_v3_large')
    ap.add_argument('--json')
    a = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    fr = frames()
    summary: dict = {'frames': [n for n, _ in fr], 'torch': torch.__version__}
    work = tempfile.mkdtemp(prefix='vidflow-measure-')

    # 1. classification preprocessing
    man_path = os.path.join(REPO, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.manifest.json')
    preset = {'resize': 256, 'crop': 224, 'mean': E.IMAGENET_MEAN, 'std': E.IMAGENET_STD}
    d = os.path.join(work, 'cls'); os.makedirs(d)
    res = run_vidflow(man_path, fr, d, False)
    rows = []
    for i, (name, rgb) in enumerate(fr):
        ref = R.preprocess('classification', preset, rgb).numpy()
        mine = np.fromfile(os.path.join(d, f'pre_{i}.bin'), dtype='<f4').reshape(res[i]['pre_dims'])
        rows.append({'frame': name, 'size': f'{rgb.shape[1]}x{rgb.shape[0]}', **pre_diff(mine, ref, E.IMAGENET_STD)})
    summary['classification_preprocessing'] = {'rows': rows, 'max_differ': max(r['differ'] for r in rows),
                                               'median_differ': float(np.median([r['differ'] for r in rows])),
                                               'max_levels': max(r['max_levels'] for r in rows)}
    print(json.dumps(summary['classification_preprocessing']), flush=True)

    # 2. segmentation end to end
    summary['segmentation'] = {}
    for arch in [x for x in a.seg.split(',') if x]:
        d = os.path.join(work, arch); os.makedirs(d)
        ex = E.export_arch(arch, d, None, 0, log=lambda *_: None)
        model = ex['built'].model.eval()
        seg_preset = ex['built'].preset
        xs = [R.preprocess('segmentation', seg_preset, rgb) for _, rgb in fr]
        res = run_vidflow(os.path.join(d, f'{arch}.manifest.json'), fr, d, True, [x.numpy() for x in xs])
        rows = []
        for i, (name, rgb) in enumerate(fr):
            x = xs[i]
            with torch.no_grad():
                ref = model(x)['out'][0].argmax(0).numpy().astype(np.uint8)
            mine = np.fromfile(os.path.join(d, f'argmax_{i}.bin'), dtype=np.uint8).reshape(res[i]['argmax_dims'])
            ort_tv = np.fromfile(os.path.join(d, f'argmax_ref_{i}.bin'), dtype=np.uint8).reshape(res[i]['argmax_dims'])
            assert mine.shape == ref.shape, (mine.shape, ref.shape)
            pre = np.fromfile(os.path.join(d, f'pre_{i}.bin'), dtype='<f4').reshape(res[i]['pre_dims'])
            rows.append({'frame': name, 'model_input': f'{ref.shape[1]}x{ref.shape[0]}', 'agreement_pct': round(float((mine == ref).mean()) * 100, 3),
                         'runtime_only_pct': round(float((ort_tv == ref).mean()) * 100, 3),
                         'classes_in_ref': int(len(np.unique(ref))), 'pre': pre_diff(pre, x.numpy(), E.IMAGENET_STD)})
            print(json.dumps({arch: rows[-1]}), flush=True)
        ag = [r['agreement_pct'] for r in rows]
        rt = [r['runtime_only_pct'] for r in rows]
        summary['segmentation'][arch] = {'rows': rows, 'weights': 'random-seed-0 (calibrated, export.py make_testable)',
                                         'mean_pct': round(float(np.mean(ag)), 3), 'min_pct': min(ag), 'max_pct': max(ag),
                                         'runtime_only_mean_pct': round(float(np.mean(rt)), 3), 'runtime_only_min_pct': min(rt),
                                         'pre_max_differ_share_pct': round(max(r['pre']['differ'] / r['pre']['values'] for r in rows) * 100, 4),
                                         'pixels_total': int(sum(int(r['model_input'].split('x')[0]) * int(r['model_input'].split('x')[1]) for r in rows))}
    out = json.dumps(summary, indent=1)
    if a.json:
        with open(a.json, 'w') as fh:
            fh.write(out + '\n')
    brief = {'classification_preprocessing': {k: v for k, v in summary['classification_preprocessing'].items() if k != 'rows'},
             'segmentation': {arch: {k: v for k, v in s.items() if k != 'rows'} for arch, s in summary['segmentation'].items()}}
    print(json.dumps(brief))
    return 0


if __name__ == '__main__':
    sys.exit(main())
