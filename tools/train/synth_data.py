"""Frames and labels of tools/synth/generate.py videos, read the way vidflow reads them.

* `decode_rgb24(video, width, height)`: the frames ffmpeg decodes, with the options of vidflow's
  file source (src/sources/ffmpeg/decoder.ts: first video stream, `-vsync passthrough`,
  `-vf format=rgb24 -pix_fmt rgb24`, rawvideo; ffmpeg's autorotate applies the rotation tag), at
  the source's displayed size: uint8 [N, H, W, 3].
* `label_maps(gt)`: the ground truth's per-frame semantic label maps (row-major multi-class RLE,
  docs/accuracy.md), uint8 [N, H, W], in frame_index order.
* `scene_videos(folder)`: (video path, ground-truth path, ground truth) of a generate.py output folder.

Needs numpy and ffmpeg on PATH.
"""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import numpy as np


def decode_rgb24(video: str, width: int, height: int) -> np.ndarray:
    cmd = ['ffmpeg', '-hide_banner', '-nostdin', '-loglevel', 'error', '-i', video, '-map', '0:v:0', '-an', '-sn',
           '-dn', '-vsync', 'passthrough', '-vf', 'format=rgb24', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1']
    p = subprocess.run(cmd, capture_output=True)
    if p.returncode != 0:
        sys.exit(f'{video}: ffmpeg failed: {p.stderr.decode(errors="replace").strip()}')
    frame = width * height * 3
    if len(p.stdout) % frame:
        sys.exit(f'{video}: decoded {len(p.stdout)} bytes, not a whole number of {width}x{height} rgb24 frames')
    return np.frombuffer(bytearray(p.stdout), np.uint8).reshape(-1, height, width, 3)


def decode_label_map(lm: dict) -> np.ndarray:
    if lm.get('format') != 'rle' or lm.get('order') != 'row_major':
        raise ValueError(f'label_map: expected a row-major rle, got format {lm.get("format")!r}')
    h, w = lm['size']
    flat = np.repeat(np.asarray(lm['values'], np.uint8), np.asarray(lm['counts'], np.int64))
    if flat.size != h * w:
        raise ValueError(f'label_map: runs cover {flat.size} pixels, size is {h}x{w}')
    return flat.reshape(h, w)


def label_maps(gt: dict) -> np.ndarray:
    images = sorted(gt['images'], key=lambda im: im['frame_index'])
    return np.stack([decode_label_map(im['label_map']) for im in images])


def scene_videos(folder: str, kind: str = 'scene') -> list[tuple[str, str, dict]]:
    out = []
    for gt_path in sorted(glob.glob(os.path.join(folder, 'ground-truth', '*.json'))):
        with open(gt_path) as f:
            gt = json.load(f)
        if gt.get('info', {}).get('kind') != kind:
            continue
        name = os.path.splitext(os.path.basename(gt_path))[0]
        video = os.path.join(folder, 'videos', f'{name}.mp4')
        if not os.path.exists(video):
            sys.exit(f'{gt_path}: no video {video} beside it')
        out.append((video, gt_path, gt))
    if not out:
        sys.exit(f'{folder}: no {kind} videos (expected ground-truth/*.json and videos/*.mp4 of tools/synth/generate.py)')
    return out


def frames_and_labels(video: str, gt: dict) -> tuple[np.ndarray, np.ndarray]:
    """Decoded frames [N,H,W,3] and ground-truth label maps [N,H,W] of one video (same N, same size)."""
    labels = label_maps(gt)
    n, h, w = labels.shape
    frames = decode_rgb24(video, w, h)
    if frames.shape[0] != n:
        sys.exit(f'{video}: decoded {frames.shape[0]} frames, its ground truth has {n}')
    return frames, labels


def nearest_index(dst: int, src: int) -> np.ndarray:
    """For each of `dst` output pixels the `src` pixel its centre falls in (vidflow's nearestIndexMap)."""
    return np.clip(np.floor((np.arange(dst) + 0.5) * (src / dst)).astype(np.int64), 0, src - 1)
