#!/usr/bin/env python3
"""Train a small torchvision VideoResNet clip classifier on tools/synth/generate.py motion videos (CPU).

    python3 tools/synth/generate.py --out /tmp/clip/train --split train --seed 1 --scenes 0 --motion 160 \
        --motion-frames 32
    python tools/train/train_clip_classifier.py --data /tmp/clip/train --out /tmp/clip/stage1.pt --steps 1500 \
        --max-minutes 12
    python tools/train/train_clip_classifier.py --data /tmp/clip/train --out models/synth-r3d/synth-r3d.pt \
        --steps 1500 --seed 1 --init-from /tmp/clip/stage1.pt --max-minutes 8
    python tools/export/export.py --checkpoint models/synth-r3d/synth-r3d.pt --out models/synth-r3d

(models/synth-r3d came from those commands: the 12-minute limit stopped the first run after 1062 of
its 1500 steps, in 722 s; the second continued the same schedule from step 1062 to 1500 in 220 s.
`--stop-after 1062` instead of `--max-minutes 12` replays the first run without depending on the
machine's speed. A replay was not compared with the committed checkpoint.)

Model: torchvision's VideoResNet (torchvision.models.video.resnet) with BasicBlock and r3d_18's
Conv3DSimple (--arch mc3_18 / r2plus1d_18: those conv makers), a stem of --stem-channels and layers
of --channels (one block each, --blocks), 8 classes = the generator's motion classes
(clip_data.MOTION_CLASSES), random initialisation. The build is export.py's `build_small`
(narrow_video_resnet), so the exported graph is this model and export.py's video manifest applies.

Data: every motion video of --data, decoded by ffmpeg as vidflow's file source decodes it (rgb24 at
the source's size, tools/train/synth_data.py), each frame preprocessed as the exported manifest tells
vidflow to (clip_data.py: resize 128x171 bilinear without antialias, center crop 112, Kinetics
mean/std). A training clip is 16 consecutive frames (the classify_clip stage's clips with
every_n_frames 1) starting anywhere in the video; half the clips are flipped left-right (labels
moving_left and moving_right swapped) and half, independently, upside down (moving_up / moving_down
swapped).

Loss: cross-entropy. AdamW (--lr, weight decay 1e-4), linear warm-up over the first 5 % of --steps,
cosine decay to 0; --max-minutes stops early (the schedule still spans --steps; `--stop-after N`
replays a stopped run without depending on the machine's speed). torch.set_num_threads(--threads,
default 1). Deterministic for a given --seed, data and torch build.

Writes --out, a checkpoint for export.py --checkpoint (format vidflow-checkpoint-1: build spec, state
dict, labels, preprocessing, settings, training log).
"""
from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'export'))
import torch  # noqa: E402

import clip_data  # noqa: E402
from export import CHECKPOINT_FORMAT, build_small  # noqa: E402

SWAP_LR = {'moving_left': 'moving_right', 'moving_right': 'moving_left'}
SWAP_UD = {'moving_up': 'moving_down', 'moving_down': 'moving_up'}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', required=True, help='a generate.py --split train output folder with motion videos')
    ap.add_argument('--out', required=True, help='checkpoint to write (.pt)')
    ap.add_argument('--name', default='synth-r3d')
    ap.add_argument('--arch', default='r3d_18', choices=['r3d_18', 'mc3_18', 'r2plus1d_18'])
    ap.add_argument('--stem-channels', type=int, default=8)
    ap.add_argument('--channels', default='8,16,32,64', help='layer1..4 widths')
    ap.add_argument('--blocks', default='1,1,1,1', help='BasicBlocks per layer')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--steps', type=int, default=2000, help='length of the learning-rate schedule')
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--stop-after', type=int, default=0, help='stop after this many steps (0: --steps)')
    ap.add_argument('--max-minutes', type=float, default=0, help='stop after this many minutes (0: no limit)')
    ap.add_argument('--init-from', help='continue a stopped run: start from this checkpoint\'s weights at the step it '
                    'stopped (its training.steps_done), the schedule still spanning --steps; the AdamW moments start '
                    'afresh and the clip order is drawn anew from --seed')
    ap.add_argument('--log-every', type=int, default=50)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)

    def log(msg: str) -> None:
        print(msg, flush=True)

    videos = clip_data.load_motion_frames(a.data)
    T = clip_data.CLIP_LENGTH
    short = [n for n, _, f in videos if f.shape[0] < T]
    if short:
        sys.exit(f'--data {a.data}: {len(short)} videos have fewer than {T} frames (e.g. {short[0]})')
    log(f'{len(videos)} motion videos from {a.data}, {sum(f.shape[0] for _, _, f in videos)} frames')

    spec = {'num_classes': len(clip_data.MOTION_CLASSES), 'stem_channels': a.stem_channels,
            'channels': [int(c) for c in a.channels.split(',')], 'blocks': [int(b) for b in a.blocks.split(',')]}
    model = build_small(a.arch, spec)
    start, prior = 0, None
    if a.init_from:
        ck0 = torch.load(a.init_from, map_location='cpu', weights_only=True)
        if ck0.get('arch') != a.arch or ck0.get('model') != spec:
            sys.exit(f'--init-from {a.init_from}: a {ck0.get("arch")} {ck0.get("model")}, not {a.arch} {spec}')
        model.load_state_dict(ck0['state_dict'])
        start = int(ck0['training']['steps_done'])
        prior = {k: ck0['training'][k] for k in ('settings', 'steps_done', 'seconds')}
        prior['seconds_total'] = ck0['training'].get('seconds_total', prior['seconds'])
        prior['file'] = os.path.basename(a.init_from)
        log(f'continuing from {a.init_from} at step {start}')
    params = sum(p.numel() for p in model.parameters())
    log(f'{a.arch} {spec}: {params} parameters ({params * 4 / 1e6:.2f} MB float32)')
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    warm = max(1, a.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + start + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s + start, a.steps) / a.steps)))
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    t0 = time.time()
    history = []
    running, correct, seen = 0.0, 0, 0
    step = start
    for step in range(start, a.steps):
        clips, targets = [], []
        for _ in range(a.batch):
            _, label, frames = videos[random.randrange(len(videos))]
            s = random.randrange(frames.shape[0] - T + 1)
            clip = frames[s: s + T]
            if random.random() < 0.5:
                clip, label = clip.flip(-1), SWAP_LR.get(label, label)
            if random.random() < 0.5:
                clip, label = clip.flip(-2), SWAP_UD.get(label, label)
            clips.append(clip)
            targets.append(clip_data.MOTION_CLASSES.index(label))
        x = clip_data.normalize(torch.stack(clips))
        y = torch.tensor(targets)
        out = model(x)
        loss = loss_fn(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running += float(loss.detach())
        correct += int((out.argmax(1) == y).sum())
        seen += len(targets)
        if (step + 1) % a.log_every == 0:
            k = min(step - start, step % a.log_every) + 1
            history.append({'step': step + 1, 'loss': round(running / k, 4), 'train_top1': round(correct / seen, 4),
                            'seconds': round(time.time() - t0, 1)})
            log(f'step {step + 1}/{a.steps} {time.time() - t0:.0f}s loss {running / k:.4f} '
                f'train top-1 {correct / seen:.3f} lr {sched.get_last_lr()[0]:.2e}')
            running, correct, seen = 0.0, 0, 0
        if a.stop_after and step + 1 >= a.stop_after:
            log(f'stopping at step {step + 1}: --stop-after {a.stop_after}')
            break
        if a.max_minutes and time.time() - t0 > a.max_minutes * 60:
            log(f'stopping at step {step + 1}: --max-minutes {a.max_minutes}')
            break
    seconds = time.time() - t0
    model.eval()
    ck = {
        'format': CHECKPOINT_FORMAT,
        'arch': a.arch,
        'model': spec,
        'weights_name': f'trained on tools/synth motion videos (train_clip_classifier.py --seed {a.seed})',
        'labels': clip_data.MOTION_CLASSES,
        'preset': {'resize_hw': list(clip_data.RESIZE_HW), 'crop': clip_data.CROP, 'clip': T,
                   'mean': clip_data.KINETICS_MEAN, 'std': clip_data.KINETICS_STD},
        'state_dict': model.state_dict(),
        'training': {
            'name': a.name,
            'script': 'tools/train/train_clip_classifier.py',
            'settings': {k: v for k, v in vars(a).items() if k not in ('out', 'log_every')},
            'data_videos': [n for n, _, _ in videos],
            'steps_done': step + 1,
            'parameters': params,
            'seconds': round(seconds, 1),
            'seconds_total': round(seconds + (prior['seconds_total'] if prior else 0), 1),
            'continued_from': prior,
            'torch': str(torch.__version__),
            'history': history,
        },
    }
    torch.save(ck, a.out)
    log(f'wrote {a.out}: {params} parameters, {step + 1} steps in {seconds:.0f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
