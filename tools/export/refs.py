"""Inputs, torchvision preprocessing, PyTorch references and decoding shared by the fixture
generator (make_fixtures.py) and the parity sweep (sweep.py)."""
from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import _presets

SHARED = os.environ.get('VIDFLOW_SHARED', '/work/shared')
PHOTOS = os.path.join(SHARED, 'media', 'photos')
VIDEO = os.path.join(SHARED, 'media', 'videos', 'asl-walk.mkv')
FFMPEG = os.environ.get('FFMPEG', '/usr/bin/ffmpeg')


def load_photo(name: str, width: int) -> np.ndarray:
    """A photo from shared/media/photos, downscaled (Lanczos, aspect kept) to `width`; HWC uint8 RGB."""
    im = Image.open(os.path.join(PHOTOS, name)).convert('RGB')
    h = max(1, round(im.height * width / im.width))
    return np.asarray(im.resize((width, h), Image.LANCZOS), dtype=np.uint8).copy()


def load_clip(start_s: float, frames: int = 16, width: int = 160, height: int = 120, path: str = VIDEO) -> np.ndarray:
    """`frames` consecutive frames decoded with ffmpeg, scaled to width x height; THWC uint8 RGB."""
    cmd = [FFMPEG, '-v', 'error', '-ss', str(start_s), '-i', path, '-frames:v', str(frames),
           '-vf', f'scale={width}:{height}:flags=bicubic', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    arr = np.frombuffer(raw, dtype=np.uint8)
    n = arr.size // (width * height * 3)
    if n < frames:
        raise RuntimeError(f'ffmpeg gave {n} frames, wanted {frames}')
    return arr[: frames * width * height * 3].reshape(frames, height, width, 3).copy()


# --- torchvision preprocessing (the presets, applied to the uint8 tensor) ---------------------
def preprocess(family: str, preset: dict[str, Any], rgb: np.ndarray) -> torch.Tensor:
    if family in ('classification', 'quantized'):
        t = _presets.ImageClassification(crop_size=preset['crop'], resize_size=preset['resize'],
                                         mean=tuple(preset['mean']), std=tuple(preset['std']), antialias=True)
        return t(torch.from_numpy(rgb).permute(2, 0, 1).contiguous())[None]
    if family == 'segmentation':
        t = _presets.SemanticSegmentation(resize_size=preset['resize'], mean=tuple(preset['mean']),
                                          std=tuple(preset['std']), antialias=True)
        return t(torch.from_numpy(rgb).permute(2, 0, 1).contiguous())[None]
    if family == 'video':
        t = _presets.VideoClassification(crop_size=(preset['crop'], preset['crop']), resize_size=tuple(preset['resize_hw']),
                                         mean=tuple(preset['mean']), std=tuple(preset['std']))
        return t(torch.from_numpy(rgb).permute(0, 3, 1, 2).contiguous())[None]  # T,C,H,W -> 1,C,T,H,W
    if family == 'detection':
        return torch.from_numpy(rgb).permute(2, 0, 1).contiguous().to(torch.float32) / 255.0
    raise AssertionError(family)


# --- running eager PyTorch and naming its outputs as the ONNX graph does -----------------------
def torch_outputs(family: str, model, feeds: list[torch.Tensor], roles=None) -> dict[str, np.ndarray]:
    """Raw outputs under the ONNX output names. Detection: feeds are the B images of one run."""
    with torch.no_grad():
        if family == 'detection':
            outs = model(list(feeds))
            res = {}
            for i, o in enumerate(outs):
                sfx = '' if len(feeds) == 1 else f'_{i}'
                for r in roles:
                    res[r + sfx] = o[r].numpy()
            return res
        y = model(feeds[0])
        if isinstance(y, dict):
            return {k: v.numpy() for k, v in y.items()}
        return {'logits': y.numpy()}


# --- decoding, as torchvision's eager model/users do ---------------------------------------------
def softmax_topk(logits: np.ndarray, labels: list[str], k: int = 5) -> dict[str, Any]:
    x = logits.reshape(-1).astype(np.float64)
    p = np.exp(x - x.max())
    p /= p.sum()
    idx = np.argsort(-p, kind='stable')[:k]
    return {'top1': int(idx[0]), 'top1_label': labels[idx[0]] if labels else None,
            'topk': [{'index': int(i), 'label': labels[i] if labels else None, 'probability': float(p[i])} for i in idx]}


def decode_detection(out: dict[str, np.ndarray], sfx: str, labels: list[str]) -> dict[str, Any]:
    boxes, lab, sc = out['boxes' + sfx], out['labels' + sfx], out['scores' + sfx]
    dets = []
    for j in range(len(sc)):
        d = {'box': [float(v) for v in boxes[j]], 'label': int(lab[j]),
             'label_name': labels[int(lab[j])] if labels and int(lab[j]) < len(labels) else None, 'score': float(sc[j])}
        if 'masks' + sfx in out:
            m = out['masks' + sfx][j, 0] >= 0.5
            d['mask_area'] = int(m.sum())
        if 'keypoints' + sfx in out:
            d['keypoints'] = [[float(a) for a in kp] for kp in out['keypoints' + sfx][j]]
            d['keypoints_scores'] = [float(a) for a in out['keypoints_scores' + sfx][j]]
        dets.append(d)
    return {'count': len(dets), 'detections': dets}


def match_detections(a: dict[str, np.ndarray], b: dict[str, np.ndarray], sfx_a: str = '', sfx_b: str = '',
                     box_tol: float = 1e-2) -> tuple[int, int, int, float]:
    """Greedy matching: same label and every box coordinate within box_tol. Returns
    (matched, len(a), len(b), max abs box diff over matches)."""
    ab, al = a['boxes' + sfx_a], a['labels' + sfx_a]
    bb, bl = b['boxes' + sfx_b], b['labels' + sfx_b]
    used = np.zeros(len(bb), dtype=bool)
    matched, worst = 0, 0.0
    for i in range(len(ab)):
        best, bj = None, -1
        for j in range(len(bb)):
            if used[j] or al[i] != bl[j]:
                continue
            d = float(np.abs(ab[i] - bb[j]).max())
            if d <= box_tol and (best is None or d < best):
                best, bj = d, j
        if bj >= 0:
            used[bj] = True
            matched += 1
            worst = max(worst, best)
    return matched, len(ab), len(bb), worst


def save_bin(path: str, arr: np.ndarray) -> dict[str, Any]:
    arr = np.ascontiguousarray(arr)
    typ = {np.dtype('float32'): 'float32', np.dtype('int64'): 'int64', np.dtype('uint8'): 'uint8'}[arr.dtype]
    arr.astype(arr.dtype.newbyteorder('<')).tofile(path)
    return {'file': os.path.basename(path), 'dims': list(arr.shape), 'type': typ}


def load_bin(path: str, dims, typ) -> np.ndarray:
    return np.fromfile(path, dtype={'float32': '<f4', 'int64': '<i8', 'uint8': 'u1'}[typ]).reshape(dims)


def read_labels(manifest_path: str, man: dict[str, Any], repo_root: str) -> list[str]:
    lab = man['labels']
    f = os.path.join(os.path.dirname(manifest_path), lab['file']) if lab.get('file') else os.path.join(repo_root, 'labels', lab['set'] + '.txt')
    return [l.strip() for l in open(f).read().splitlines() if l.strip() != '' or True][: lab['count']]


def write_json(path: str, obj: Any) -> None:
    with open(path, 'w') as f:
        json.dump(obj, f, indent=1)
        f.write('\n')
