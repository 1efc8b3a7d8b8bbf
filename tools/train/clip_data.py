"""Shared pieces of the clip-classifier scripts (train_clip_classifier.py, reference_eval_clip.py):
the motion classes, the frames of a tools/synth/generate.py motion video as vidflow's file source
decodes them, the per-frame preprocessing the exported video manifest tells vidflow to do, and the
clip windows of the `classify_clip` stage.

* Decode: tools/train/synth_data.py `decode_rgb24` (ffmpeg, rgb24 at the source's displayed size).
* Preprocessing (torchvision's VideoClassification preset, what export.py's video manifest says:
  resize exact 128x171, bilinear without antialias, on the uint8 frame; center crop 112; scale
  1/255; Kinetics mean/std). vidflow preprocesses each sampled frame once into one C×H×W plane of
  the clip (src/models/clip-preprocess.ts), so doing it per frame here is the same arithmetic.
* Clip windows (src/operators/clip-window.ts with src/stages/classify-clip.ts): the stage samples
  frames with `every_n_frames` (frame index % n == 0); once a stream has `clip_length` sampled
  frames, every `stride_frames`-th sampled frame ends a clip of the last `clip_length` sampled
  frames, oldest first. The clip's record carries the frame_index of its last frame.
"""
from __future__ import annotations

import glob
import json
import os
import sys

import numpy as np
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as tvf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'export'))
import synth_data  # noqa: E402
from export import KINETICS_MEAN, KINETICS_STD  # noqa: E402,F401 (the video preset's, re-exported)

# the generator's motion classes (tools/synth/generate.py MOTION_CLASSES), in the model's label order
MOTION_CLASSES = ['moving_left', 'moving_right', 'moving_up', 'moving_down', 'growing', 'shrinking', 'rotating',
                  'static']
RESIZE_HW = (128, 171)
CROP = 112
CLIP_LENGTH = 16


def preprocess_uint8(frames: np.ndarray) -> torch.Tensor:
    """uint8 [N,H,W,3] -> uint8 [N,3,112,112]: resize to 128x171 (bilinear, antialias=False, on uint8:
    torchvision rounds back to uint8), center crop 112."""
    t = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    t = tvf.resize(t, list(RESIZE_HW), interpolation=InterpolationMode.BILINEAR, antialias=False)
    return tvf.center_crop(t, [CROP, CROP])


def normalize(clips_u8: torch.Tensor, mean=KINETICS_MEAN, std=KINETICS_STD) -> torch.Tensor:
    """uint8 [B,T,3,h,w] -> float [B,3,T,h,w]: scale 1/255, mean/std per channel (NCTHW, the manifest's layout)."""
    x = clips_u8.float() / 255.0
    x = (x - torch.tensor(mean).view(1, 1, 3, 1, 1)) / torch.tensor(std).view(1, 1, 3, 1, 1)
    return x.permute(0, 2, 1, 3, 4).contiguous()


def motion_videos(folder: str) -> list[tuple[str, str, str, int, int]]:
    """(name, video path, label, width, height) of each motion video of a generate.py output folder."""
    out = []
    for gt_path in sorted(glob.glob(os.path.join(folder, 'ground-truth', '*.json'))):
        with open(gt_path) as f:
            gt = json.load(f)
        if gt.get('info', {}).get('kind') != 'motion' or not gt.get('clips'):
            continue
        name = os.path.splitext(os.path.basename(gt_path))[0]
        video = os.path.join(folder, 'videos', f'{name}.mp4')
        if not os.path.exists(video):
            sys.exit(f'{gt_path}: no video {video} beside it')
        label = gt['clips'][0]['label']
        if label not in MOTION_CLASSES:
            sys.exit(f'{gt_path}: clips[0].label: expected one of {", ".join(MOTION_CLASSES)}, got {label!r}')
        out.append((name, video, label, int(gt['info']['width']), int(gt['info']['height'])))
    if not out:
        sys.exit(f'{folder}: no motion videos (expected ground-truth/*.json with clips and videos/*.mp4)')
    return out


def load_motion_frames(folder: str) -> list[tuple[str, str, torch.Tensor]]:
    """(name, label, preprocessed uint8 frames [N,3,112,112]) of each motion video of `folder`."""
    out = []
    for name, video, label, w, h in motion_videos(folder):
        out.append((name, label, preprocess_uint8(synth_data.decode_rgb24(video, w, h))))
    return out


def clip_windows(n_frames: int, clip_length: int = CLIP_LENGTH, stride_frames: int | None = None,
                 every_n_frames: int = 1) -> list[list[int]]:
    """Frame indices of each clip the classify_clip stage forms over a stream of `n_frames` frames
    (oldest first; the last one is the clip's record frame_index)."""
    stride = stride_frames or clip_length
    sampled = [i for i in range(n_frames) if i % every_n_frames == 0]
    return [sampled[k - clip_length + 1: k + 1] for k in range(clip_length - 1, len(sampled))
            if (k + 1 - clip_length) % stride == 0]
