#!/usr/bin/env python3
"""Trains a small Mask R-CNN (torchvision's MaskRCNN class; detector_common.build_mask_model: the
synth-frcnn backbone, RPN and box head plus a small mask head) on the frames of tools/synth/generate.py
train-split scene videos, decoded by ffmpeg as vidflow decodes them, with the COCO ground truth's boxes
and instance masks (RLE of the visible pixels) as targets. CPU, one thread.

  python3 tools/synth/generate.py --out /tmp/det-train --split train --seed 1 --scenes 12 --motion 0 \\
      --frames 48 --rotate-tag 0
  python3 tools/train/train_mask_rcnn.py --data /tmp/det-train --out /tmp/synth-maskrcnn.pt --seed 0 \\
      --init models/synth-frcnn/synth-frcnn.pt --steps 700 --max-minutes 15

--init loads a train_detector.py checkpoint into the backbone, RPN and box head (the mask head starts
from torchvision's default initialisation); without it everything starts from scratch. `--stop-after N`
instead of `--max-minutes` runs the same schedule without depending on the machine's speed.

Writes {'state_dict', 'settings', 'info'} (.pt); export with tools/train/export_mask_rcnn.py, score with
tools/train/reference_eval_masks.py.
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
from detector_common import build_mask_model, load_split, to_tensor  # noqa: E402


def mask_targets(gt: dict) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """frame_index → (boxes [K,4] xyxy, labels [K], masks [K,H,W] uint8) from the RLE segmentations;
    annotations whose visible mask is empty are left out (nothing to learn a mask from)."""
    from pycocotools import mask as mask_utils
    per: dict[int, list] = {img['id']: [] for img in gt['images']}
    for a in gt['annotations']:
        per[a['image_id']].append(a)
    out = {}
    for img in gt['images']:
        h, w = img['height'], img['width']
        boxes, labels, masks = [], [], []
        for a in per[img['id']]:
            seg = a['segmentation']
            rle = {'size': seg['size'], 'counts': seg['counts']}
            if isinstance(rle['counts'], list):
                rle = mask_utils.frPyObjects(rle, h, w)
            m = mask_utils.decode(rle)
            if m.sum() == 0 or a['bbox'][2] <= 0 or a['bbox'][3] <= 0:
                continue
            x, y, bw, bh = a['bbox']
            boxes.append([x, y, x + bw, y + bh])
            labels.append(a['category_id'])
            masks.append(m)
        out[img['frame_index']] = (np.array(boxes, np.float32).reshape(-1, 4), np.array(labels, np.int64),
                                   np.array(masks, np.uint8).reshape(-1, h, w))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', required=True, help='a generate.py --split train output folder')
    ap.add_argument('--out', required=True, help='checkpoint to write (.pt)')
    ap.add_argument('--init', help='train_detector.py checkpoint for the backbone, RPN and box head')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--steps', type=int, default=700, help='length of the cosine learning-rate schedule')
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--lr', type=float, default=1e-3, help='AdamW peak learning rate (cosine decay, 50-step warm-up)')
    ap.add_argument('--weight-decay', type=float, default=1e-4)
    ap.add_argument('--width', type=float, default=0.5, help='MobileNetV3-Small width multiplier')
    ap.add_argument('--fpn-channels', type=int, default=64)
    ap.add_argument('--head-dim', type=int, default=128)
    ap.add_argument('--mask-dim', type=int, default=32, help='channels of the mask head convolutions')
    ap.add_argument('--mask-layers', type=int, default=2, help='3x3 convolutions in the mask head')
    ap.add_argument('--rpn-train-proposals', type=int, default=300, help='RPN proposals kept per image in training')
    ap.add_argument('--roi-samples', type=int, default=128, help='RoIs sampled per image for the box head loss')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--stop-after', type=int, default=0,
                    help='stop after this many steps, the schedule still spanning --steps (0: run all --steps)')
    ap.add_argument('--max-minutes', type=float, default=0, help='stop after this many minutes (0: no limit)')
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    samples = []  # (frame HWC uint8, boxes, labels, masks)
    for name, frames, gt in load_split(args.data):
        for fi, (boxes, labels, masks) in sorted(mask_targets(gt).items()):
            samples.append((frames[fi], boxes, labels, masks))
    print(f'{len(samples)} training frames from {args.data}', flush=True)

    settings = {'width': args.width, 'fpn_channels': args.fpn_channels, 'head_dim': args.head_dim,
                'mask_dim': args.mask_dim, 'mask_layers': args.mask_layers}
    model = build_mask_model(**settings)
    init = None
    if args.init:
        ck = torch.load(args.init, map_location='cpu', weights_only=False)
        for k in ('width', 'fpn_channels', 'head_dim'):
            if ck['settings'][k] != settings[k]:
                raise SystemExit(f'--init {args.init}: settings.{k} is {ck["settings"][k]}, expected {settings[k]}')
        missing, unexpected = model.load_state_dict(ck['state_dict'], strict=False)
        if unexpected or any(not k.startswith('roi_heads.mask_') for k in missing):
            raise SystemExit(f'--init {args.init}: unexpected keys {unexpected}, missing {missing}')
        init = {'checkpoint': args.init, 'loaded': len(ck['state_dict']), 'fresh': len(missing)}
        print(f'initialised from {args.init}: {len(ck["state_dict"])} tensors loaded, {len(missing)} mask-head '
              'tensors fresh', flush=True)
    model.rpn._pre_nms_top_n['training'] = args.rpn_train_proposals * 2
    model.rpn._post_nms_top_n['training'] = args.rpn_train_proposals
    model.roi_heads.fg_bg_sampler.batch_size_per_image = args.roi_samples
    n_params = sum(p.numel() for p in model.parameters())
    print(f'{n_params} parameters ({n_params * 4 / 1e6:.2f} MB float32)', flush=True)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr,
                            weight_decay=args.weight_decay)
    warm = 50
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
            frame, boxes, labels, masks = samples[i]
            img = to_tensor(frame)
            b = torch.from_numpy(boxes.copy())
            m = torch.from_numpy(masks.copy())
            if random.random() < 0.5:  # horizontal flip
                img = img.flip(-1)
                m = m.flip(-1)
                w = img.shape[-1]
                b = torch.stack([w - b[:, 2], b[:, 1], w - b[:, 0], b[:, 3]], 1) if len(b) else b
            images.append(img)
            targets.append({'boxes': b, 'labels': torch.from_numpy(labels.copy()), 'masks': m})
        losses = model(images, targets)
        loss = sum(losses.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        v = {k: float(x.detach()) for k, x in losses.items()}
        avg = v if avg is None else {k: 0.95 * avg[k] + 0.05 * v[k] for k in v}
        if step % 25 == 0 or step == args.steps - 1:
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
    info = {'settings': settings, 'seed': args.seed, 'init': init, 'steps_done': step + 1, 'steps': args.steps,
            'batch': args.batch, 'lr': args.lr, 'train_seconds': round(seconds, 1), 'train_frames': len(samples),
            'data': args.data, 'threads': args.threads, 'parameters': n_params}
    torch.save({'state_dict': model.state_dict(), 'settings': settings, 'info': info}, args.out)
    print(json.dumps(info), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
