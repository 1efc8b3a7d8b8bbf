#!/usr/bin/env python3
"""Trains a small Faster R-CNN (torchvision's FasterRCNN class, MobileNetV3-Small FPN backbone at
width 0.5, the 320 variant's input size; detector_common.build_model) on the frames of
tools/synth/generate.py train-split scene videos, decoded by ffmpeg as vidflow decodes them,
with the COCO ground truth's boxes as targets. CPU, one thread.

  python3 tools/synth/generate.py --out /tmp/det-train --split train --seed 1 --scenes 12 --motion 0 \\
      --frames 48 --rotate-tag 0
  python3 tools/train/train_detector.py --data /tmp/det-train --out /tmp/synth-frcnn.pt --seed 0 --steps 1400 \
      --max-minutes 27

(models/synth-frcnn came from that command; the time limit stopped it after 1214 steps. `--stop-after 1214`
instead of `--max-minutes 27` runs the same schedule without depending on the machine's speed. Two runs with
`--stop-after 5` gave identical state dicts; a full 1214-step replay was not compared with the committed model.)

Writes the state dict and the settings (a .pt holding {'state_dict', 'settings'}); export with
tools/train/export_detector.py, score with tools/train/reference_eval_detector.py.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from detector_common import build_model, load_split, targets_by_frame, to_tensor  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', required=True, help='a generate.py --split train output folder')
    ap.add_argument('--out', required=True, help='checkpoint to write (.pt)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--steps', type=int, default=1400, help='length of the cosine learning-rate schedule')
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--lr', type=float, default=2e-3, help='AdamW peak learning rate (cosine decay, 100-step warm-up)')
    ap.add_argument('--weight-decay', type=float, default=1e-4)
    ap.add_argument('--width', type=float, default=0.5, help='MobileNetV3-Small width multiplier')
    ap.add_argument('--fpn-channels', type=int, default=64)
    ap.add_argument('--head-dim', type=int, default=128)
    ap.add_argument('--rpn-train-proposals', type=int, default=300, help='RPN proposals kept per image in training')
    ap.add_argument('--roi-samples', type=int, default=128, help='RoIs sampled per image for the box head loss')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--stop-after', type=int, default=0,
                    help='stop after this many steps, the schedule still spanning --steps (0: run all --steps); '
                         'stops where a --max-minutes run stopped, independent of speed')
    ap.add_argument('--max-minutes', type=float, default=0, help='stop after this many minutes (0: no limit)')
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    samples = []  # (frame HWC uint8, boxes, labels)
    for name, frames, gt in load_split(args.data):
        for fi, (_, boxes, labels) in sorted(targets_by_frame(gt).items()):
            samples.append((frames[fi], boxes, labels))
    print(f'{len(samples)} training frames from {args.data}', flush=True)

    settings = {'width': args.width, 'fpn_channels': args.fpn_channels, 'head_dim': args.head_dim}
    model = build_model(**settings)
    # training-time sampling only (the exported graph uses the test-time settings of build_model)
    model.rpn._pre_nms_top_n['training'] = args.rpn_train_proposals * 2
    model.rpn._post_nms_top_n['training'] = args.rpn_train_proposals
    model.roi_heads.fg_bg_sampler.batch_size_per_image = args.roi_samples
    n_params = sum(p.numel() for p in model.parameters())
    print(f'{n_params} parameters ({n_params * 4 / 1e6:.2f} MB float32)', flush=True)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr,
                            weight_decay=args.weight_decay)
    warm = 100
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + np.cos(np.pi * min(s, args.steps) / args.steps)))
    model.train()
    t0 = time.time()
    order: list[int] = []
    avg = None
    step = 0
    for step in range(args.steps):
        if len(order) < args.batch:
            order += random.sample(range(len(samples)), len(samples))
        idx, order = order[: args.batch], order[args.batch:]
        images, targets = [], []
        for i in idx:
            frame, boxes, labels = samples[i]
            img = to_tensor(frame)
            b = torch.from_numpy(boxes.copy())
            if random.random() < 0.5:  # horizontal flip
                img = img.flip(-1)
                w = img.shape[-1]
                b = torch.stack([w - b[:, 2], b[:, 1], w - b[:, 0], b[:, 3]], 1) if len(b) else b
            images.append(img)
            targets.append({'boxes': b, 'labels': torch.from_numpy(labels.copy())})
        losses = model(images, targets)
        loss = sum(losses.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        v = {k: float(x.detach()) for k, x in losses.items()}
        avg = v if avg is None else {k: 0.95 * avg[k] + 0.05 * v[k] for k in v}
        if step % 50 == 0 or step == args.steps - 1:
            print(f'step {step} {time.time() - t0:.0f}s loss {sum(avg.values()):.3f} '
                  + ' '.join(f'{k[5:]}={x:.3f}' for k, x in avg.items()), flush=True)
        if args.stop_after and step + 1 >= args.stop_after:
            print(f'stopping at step {step}: --stop-after {args.stop_after}', flush=True)
            break
        if args.max_minutes and time.time() - t0 > args.max_minutes * 60:
            print(f'stopping at step {step}: --max-minutes {args.max_minutes}', flush=True)
            break
    seconds = time.time() - t0
    model.eval()
    info = {'settings': settings, 'seed': args.seed, 'steps_done': step + 1, 'steps': args.steps, 'batch': args.batch,
            'lr': args.lr, 'train_seconds': round(seconds, 1), 'train_frames': len(samples), 'data': args.data,
            'threads': args.threads, 'parameters': n_params}
    torch.save({'state_dict': model.state_dict(), 'settings': settings, 'info': info}, args.out)
    print(json.dumps(info), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
