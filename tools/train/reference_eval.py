#!/usr/bin/env python3
"""PyTorch eager reference for `vidflow eval` of a trained semantic segmenter on synthetic videos.

    python tools/train/reference_eval.py --checkpoint /tmp/synth-lraspp.pt \\
        --manifest models/synth-lraspp/synth-lraspp.manifest.json \\
        --data test/fixtures/eval/synth-heldout [--onnx] [--json out.json]

For every scene video of --data (a tools/synth/generate.py output folder): the frames ffmpeg
decodes with vidflow's file-source options (rgb24 at the displayed source size,
tools/train/synth_data.py) → torchvision's semantic-segmentation preset
(`torchvision.transforms._presets.SemanticSegmentation`) with the manifest's resize, mean and std
→ the checkpoint's model in eager PyTorch (export.py `load_checkpoint`, the model the .onnx was
exported from) → argmax over classes at model resolution (ties → lower id) → back to the frame by
nearest neighbour (each frame pixel takes the model pixel under its centre, as vidflow's
`segmentation_argmax` decoder) → scored against the ground truth's label maps like src/eval/semantic.ts:
one confusion matrix over all frames, ground-truth pixels equal to `semantic_ignore` (255) not
counted, IoU per class = TP / (TP + FP + FN), mIoU over the classes present in ground truth or
prediction, pixel accuracy = correct / counted.

--onnx also runs the manifest's .onnx with onnxruntime (Python) on the same preprocessed tensors
and reports its scores and the share of pixels whose label equals PyTorch's.

Prints one JSON object (also written to --json): overall and per-video mIoU, pixel accuracy and
per-class IoU, the frame count, the versions used.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'export'))
import torch  # noqa: E402
import torchvision  # noqa: E402
from torchvision.transforms import InterpolationMode  # noqa: E402
from torchvision.transforms._presets import SemanticSegmentation  # noqa: E402

import synth_data  # noqa: E402
from export import load_checkpoint  # noqa: E402


class Confusion:
    def __init__(self, ignore: int = 255):
        self.m = np.zeros((256, 256), np.int64)
        self.ignore = ignore

    def add(self, gt: np.ndarray, pred: np.ndarray) -> None:
        keep = gt != self.ignore
        np.add.at(self.m, (gt[keep].astype(np.int64), pred[keep].astype(np.int64)), 1)

    def result(self) -> dict:
        m = self.m
        gt_sum, pred_sum, tp = m.sum(1), m.sum(0), np.diag(m)
        present = np.flatnonzero((gt_sum + pred_sum) > 0)
        per = {int(c): float(tp[c] / (gt_sum[c] + pred_sum[c] - tp[c])) for c in present}
        total = int(m.sum())
        return {'miou': float(np.mean(list(per.values()))) if per else 0.0,
                'pixel_accuracy': float(tp.sum() / total) if total else 0.0,
                'per_class_iou': per, 'pixels': total}


def preset_from_manifest(man: dict, where: str) -> SemanticSegmentation:
    inp = man['input']
    expect = {'layout': 'NCHW', 'color': 'RGB', 'interpolation': 'bilinear_antialias', 'crop': None}
    for k, v in expect.items():
        if inp.get(k) != v:
            sys.exit(f'{where}: input.{k} is {inp.get(k)!r}; this reference implements {v!r}')
    if inp['resize'].get('mode') != 'shorter_side' or 'max_size' in inp['resize']:
        sys.exit(f'{where}: input.resize {inp["resize"]}: this reference implements shorter_side without max_size')
    if abs(inp['scale'] - 1 / 255) > 1e-9:
        sys.exit(f'{where}: input.scale {inp["scale"]}: the preset scales by 1/255')
    return SemanticSegmentation(resize_size=inp['resize']['size'], mean=tuple(inp['mean']), std=tuple(inp['std']),
                                interpolation=InterpolationMode.BILINEAR, antialias=True)


def to_frame(labels: np.ndarray, height: int, width: int) -> np.ndarray:
    mh, mw = labels.shape
    return labels[synth_data.nearest_index(height, mh)][:, synth_data.nearest_index(width, mw)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--checkpoint', required=True, help='the tools/train/ checkpoint the model was exported from')
    ap.add_argument('--manifest', required=True, help='the exported manifest (its preprocessing is applied)')
    ap.add_argument('--data', required=True, help='a generate.py output folder (its scene videos are scored)')
    ap.add_argument('--onnx', action='store_true', help="also score the manifest's .onnx through onnxruntime")
    ap.add_argument('--json', help='also write the result here')
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    with open(a.manifest) as f:
        man = json.load(f)
    preset = preset_from_manifest(man, a.manifest)
    b = load_checkpoint(a.checkpoint, None)
    if b.preset['resize'] != man['input']['resize']['size']:
        sys.exit(f'{a.manifest}: resize {man["input"]["resize"]["size"]} differs from the checkpoint\'s '
                 f'{b.preset["resize"]}: not exported from {a.checkpoint}?')
    model = b.model.eval()
    sess = None
    if a.onnx:
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        sess = ort.InferenceSession(os.path.join(os.path.dirname(a.manifest), man['model_file']), so,
                                    providers=['CPUExecutionProvider'])
    total, total_onnx = Confusion(), Confusion()
    agree = [0, 0]
    videos = {}
    frames_scored = 0
    for video, _gt_path, gt in synth_data.scene_videos(a.data):
        ignore = int(gt.get('semantic_ignore', 255))
        conf = Confusion(ignore)
        total.ignore = total_onnx.ignore = ignore
        frames, labels = synth_data.frames_and_labels(video, gt)
        n, h, w = labels.shape
        for i in range(n):
            x = preset(torch.from_numpy(np.ascontiguousarray(frames[i])).permute(2, 0, 1))[None]
            with torch.no_grad():
                pred = model(x)['out'][0].argmax(0).numpy().astype(np.uint8)
            pred = to_frame(pred, h, w)
            conf.add(labels[i], pred)
            total.add(labels[i], pred)
            if sess is not None:
                o = sess.run([man['outputs']['out']], {man['input']['names'][0]: x.numpy()})[0]
                po = to_frame(o[0].argmax(0).astype(np.uint8), h, w)
                total_onnx.add(labels[i], po)
                agree[0] += int((po == pred).sum())
                agree[1] += po.size
        frames_scored += n
        r = conf.result()
        videos[os.path.basename(video)] = {'frames': n, 'width': w, 'height': h, **r}
        print(f'{os.path.basename(video)}: {n} frames {w}x{h}, mIoU {r["miou"]:.4f}, '
              f'pixel accuracy {r["pixel_accuracy"]:.4f}', file=sys.stderr)
    out = {'reference': 'PyTorch eager (tools/train/reference_eval.py)', 'checkpoint': os.path.basename(a.checkpoint),
           'checkpoint_sha256': b.extra['checkpoint']['sha256'],
           'manifest': a.manifest, 'data': a.data, 'frames': frames_scored, **total.result(), 'videos': videos,
           'versions': {'torch': torch.__version__, 'torchvision': torchvision.__version__}}
    if sess is not None:
        import onnxruntime as ort
        out['onnxruntime_python'] = {**total_onnx.result(), 'pixels_equal_to_pytorch': agree[0] / agree[1],
                                     'onnxruntime': ort.__version__}
    text = json.dumps(out, indent=1)
    print(text)
    if a.json:
        with open(a.json, 'w') as f:
            f.write(text + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
