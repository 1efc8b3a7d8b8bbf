#!/usr/bin/env python3
"""Train a small torchvision LR-ASPP semantic segmenter on tools/synth/generate.py scene videos (CPU).

    python3 tools/synth/generate.py --out /tmp/synth-seg-train120 --split train --seed 1 --scenes 120 --frames 16 --motion 0
    python tools/train/train_segmenter.py --data /tmp/synth-seg-train120 --out models/synth-lraspp/synth-lraspp.pt
    python tools/export/export.py --checkpoint models/synth-lraspp/synth-lraspp.pt --out models/synth-lraspp

Model: torchvision's LR-ASPP composition (`_lraspp_mobilenetv3`, what `lraspp_mobilenet_v3_large`
builds) over `mobilenet_v3_large(width_mult=--width, dilated=True)`, 5 classes (the generator's
semantic ids: 0 background, 1 square, 2 disc, 3 triangle, 4 person), random initialisation (no
pretrained weights). The build is export.py's `build_small`, so the exported graph is this model.

Data: every scene video of --data, decoded by ffmpeg as vidflow's file source decodes it (rgb24 at
the source's displayed size, tools/train/synth_data.py); labels are the ground truth's label maps.

Preprocessing is the one the exported manifest tells vidflow to do (docs/manifest.md), i.e.
torchvision's semantic-segmentation preset with this model's size: resize the shorter side to
--resize (torchvision `Resize(int)`: the long side truncated; bilinear, antialias, on the uint8
frame), scale 1/255, ImageNet mean/std. Targets are the label maps at that size, each model pixel
taking the label under its centre. Training crops --crop x --crop windows (random position) of
the resized frames and flips half of them horizontally.

Loss: cross-entropy weighted per class by (median class frequency / class frequency) ** 0.5 over
the training pixels. AdamW (--lr, weight decay 1e-4), linear warm-up over the first 5 % of
--steps, cosine decay to 0. torch.set_num_threads(--threads, default 1). Deterministic for a given
--seed, data and torch build.

Writes --out, a checkpoint for export.py --checkpoint (format vidflow-checkpoint-1: build spec,
state dict, labels, preprocessing, the settings and the training log), and prints one line of
progress every --log-every steps.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'export'))
import torch  # noqa: E402
import torch.nn.functional as nnf  # noqa: E402
from torchvision.transforms import InterpolationMode  # noqa: E402
from torchvision.transforms import functional as tvf  # noqa: E402

import synth_data  # noqa: E402
from export import CHECKPOINT_FORMAT, IMAGENET_MEAN, IMAGENET_STD, build_small  # noqa: E402

LABELS = ['background', 'square', 'disc', 'triangle', 'person']


def resize_frames(frames: np.ndarray, size: int) -> torch.Tensor:
    """uint8 [N,H,W,3] -> uint8 [N,3,h,w]: torchvision's Resize(size) (bilinear, antialias) on the uint8 frames."""
    t = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    return tvf.resize(t, [size], interpolation=InterpolationMode.BILINEAR, antialias=True)


def resize_labels(labels: np.ndarray, h: int, w: int) -> torch.Tensor:
    """uint8 [N,H,W] -> int64 [N,h,w]: each model pixel takes the label under its centre."""
    n, H, W = labels.shape
    rows, cols = synth_data.nearest_index(h, H), synth_data.nearest_index(w, W)
    return torch.from_numpy(labels[:, rows][:, :, cols].astype(np.int64))


def normalize(x: torch.Tensor) -> torch.Tensor:
    """uint8 [N,3,h,w] -> float: scale 1/255, ImageNet mean/std (the preset's convert_image_dtype + normalize)."""
    return tvf.normalize(tvf.convert_image_dtype(x, torch.float), IMAGENET_MEAN, IMAGENET_STD)


def load(folder: str, size: int, log) -> tuple[list[torch.Tensor], list[torch.Tensor], list[str]]:
    images, targets, names = [], [], []
    for video, _gt_path, gt in synth_data.scene_videos(folder):
        frames, labels = synth_data.frames_and_labels(video, gt)
        x = resize_frames(frames, size)
        images.append(x)
        targets.append(resize_labels(labels, x.shape[2], x.shape[3]))
        names.append(os.path.basename(video))
    log(f'{len(names)} videos, {sum(len(x) for x in images)} frames from {folder}')
    return images, targets, names


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', required=True, help='a generate.py --split train output folder')
    ap.add_argument('--out', required=True, help='checkpoint to write (.pt)')
    ap.add_argument('--name', default='synth-lraspp', help='model name the export gives it')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--steps', type=int, default=700)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--width', type=float, default=0.25, help='MobileNetV3-Large width_mult of the backbone')
    ap.add_argument('--resize', type=int, default=240, help='shorter side the frames are resized to (the manifest)')
    ap.add_argument('--crop', type=int, default=240, help='square training crop of the resized frames')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--log-every', type=int, default=50)
    a = ap.parse_args(argv)
    if a.crop > a.resize:
        ap.error('--crop must not exceed --resize')
    try:
        with open(os.path.join(a.data, 'manifest.json')) as f:
            split = json.load(f).get('split')
    except OSError as err:
        ap.error(f'--data {a.data}: no generate.py manifest.json ({err.strerror})')
    if split != 'train':
        ap.error(f'--data {a.data}: manifest.json split is {split!r}; train on --split train videos only')
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    t_start = time.time()
    log = lambda m: print(f'[{time.time() - t_start:7.1f} s] {m}', file=sys.stderr, flush=True)  # noqa: E731

    images, targets, names = load(a.data, a.resize, log)
    index = [(v, f) for v, x in enumerate(images) for f in range(len(x))]
    counts = torch.zeros(len(LABELS), dtype=torch.float64)
    for t in targets:
        counts += torch.bincount(t.flatten(), minlength=len(LABELS)).double()
    freq = counts / counts.sum()
    weights = (freq.median() / freq).sqrt().float()
    log(f'class pixel shares {[round(float(f), 4) for f in freq]}, loss weights {[round(float(w), 3) for w in weights]}')

    spec = {'num_classes': len(LABELS), 'backbone_width_mult': a.width}
    model = build_small('lraspp_mobilenet_v3_large', spec)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    warm = max(1, a.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, a.steps - warm))))
    model.train()
    history = []
    running = 0.0
    order = rng.permutation(len(index))
    pos = 0
    for step in range(a.steps):
        xs, ys = [], []
        for _ in range(a.batch):
            if pos == len(order):
                order, pos = rng.permutation(len(index)), 0
            v, f = index[order[pos]]
            pos += 1
            x, y = images[v][f], targets[v][f]
            h, w = y.shape
            oy, ox = int(rng.integers(0, h - a.crop + 1)), int(rng.integers(0, w - a.crop + 1))
            x, y = x[:, oy:oy + a.crop, ox:ox + a.crop], y[oy:oy + a.crop, ox:ox + a.crop]
            if rng.random() < 0.5:
                x, y = x.flip(-1), y.flip(-1)
            xs.append(x)
            ys.append(y)
        out = model(normalize(torch.stack(xs)))['out']
        loss = nnf.cross_entropy(out, torch.stack(ys), weight=weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running += loss.item()
        if (step + 1) % a.log_every == 0 or step + 1 == a.steps:
            k = (step % a.log_every) + 1
            history.append({'step': step + 1, 'loss': round(running / k, 4), 'seconds': round(time.time() - t_start, 1)})
            log(f'step {step + 1}/{a.steps} loss {running / k:.4f} lr {sched.get_last_lr()[0]:.2e}')
            running = 0.0
    model.eval()
    seconds = time.time() - t_start
    ck = {
        'format': CHECKPOINT_FORMAT,
        'arch': 'lraspp_mobilenet_v3_large',
        'model': spec,
        'weights_name': f'trained on tools/synth scenes (train_segmenter.py --seed {a.seed})',
        'labels': LABELS,
        'preset': {'resize': a.resize, 'crop': None, 'mean': IMAGENET_MEAN, 'std': IMAGENET_STD},
        'state_dict': model.state_dict(),
        'training': {
            'name': a.name,
            'script': 'tools/train/train_segmenter.py',
            'settings': {k: v for k, v in vars(a).items() if k not in ('out', 'log_every')},
            'data_videos': names,
            'frames': len(index),
            'parameters': params,
            'loss_weights': [round(float(w), 4) for w in weights],
            'seconds': round(seconds, 1),
            'torch': str(torch.__version__),
            'history': history,
        },
    }
    torch.save(ck, a.out)
    log(f'wrote {a.out}: {params} parameters, {a.steps} steps in {seconds:.0f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
