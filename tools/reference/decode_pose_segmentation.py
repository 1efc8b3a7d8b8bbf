#!/usr/bin/env python3
"""Reference decode of BodyPix MobileNetV1 0.50 stride 16 (keypoints + person mask) and
road-segmentation-adas-0001 with onnxruntime + numpy, independent of vidflow.

Follows shared/models/MODELS.md (sections 2 and 3b) for the outputs; the preprocessing is the one
the vidflow manifests declare (models/bodypix-keypoints, models/bodypix-person-segmentation,
models/road-segmentation-adas-0001), with the frame decode and the half-pixel bilinear resize of
decode_detectors.py (this tool's sibling, shared code imported from it):
* BodyPix: RGB, resize to 641x481, x/127.5 - 1, NHWC. Single-person keypoints: per keypoint the
  heatmap cell with the largest logit, position (cell*16 + short offset) in input pixels scaled to
  the frame, score sigmoid(logit); the person's score is the mean keypoint score. Person mask:
  sigmoid(segments) > 0.5 per grid cell; each frame pixel takes the cell round(u / 16), u being
  its centre in input-pixel coordinates ((i + 0.5) * input/frame - 0.5).
* road-segmentation-adas-0001: BGR, resize to 896x512, raw 0..255, NHWC; argmax over the 4
  probabilities; each frame pixel takes the output pixel floor((i + 0.5) * input/frame).
Label maps are written as row-major (value, length) runs, vidflow's `label_map: rle` format.

Usage: python3 tools/reference/decode_pose_segmentation.py [--shared ../shared] [--out test/fixtures/reference/pose-segmentation.json]
Needs numpy and onnxruntime (e.g. a venv outside the repository) and ffmpeg on PATH.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decode_detectors import first_frame_rgb, resize_u8  # noqa: E402

BODYPIX_MEDIA = [
    'media/photos/astronaut.png',
    'media/photos/girl-dog.jpg',
    'media/photos/soccer.jpg',
    'media/videos/asl-walk.mkv',
    'media/videos/worker-walking.mp4',
    'media/photos/highway-cars.jpg',
]
ROAD_MEDIA = [
    'media/photos/highway-cars.jpg',
    'media/videos/highway-dashcam.mp4',
    'media/videos/parking-cars.mp4',
    'media/photos/girl-dog.jpg',
]
KEYPOINTS = ['nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle']
BP_W, BP_H, STRIDE = 641, 481, 16
ROAD_W, ROAD_H = 896, 512


def rle(labels):
    flat = labels.reshape(-1)
    change = np.nonzero(flat[1:] != flat[:-1])[0] + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [flat.size]])
    return {'format': 'rle', 'size': [int(labels.shape[0]), int(labels.shape[1])], 'order': 'row_major', 'values': [int(flat[s]) for s in starts], 'counts': [int(e - s) for s, e in zip(starts, ends)]}


def fractions(labels, names):
    return {names[k]: round(float(np.mean(labels == k)), 6) for k in range(len(names)) if np.any(labels == k)}


def bodypix(sess, img):
    h, w, _ = img.shape
    x = resize_u8(img, BP_W, BP_H, antialias=False).astype(np.float32)
    x = (x * np.float32(1 / 127.5) - np.float32(1))[None]
    heat, off, seg = sess.run(['heatmaps', 'short_offsets', 'segments'], {'input': x})
    heat, off, seg = heat[0], off[0], seg[0, :, :, 0]
    gh, gw, k = heat.shape
    kps = []
    for j in range(k):
        cell = int(np.argmax(heat[:, :, j]))  # first maximum in row-major order
        cy, cx = divmod(cell, gw)
        iy = cy * STRIDE + float(off[cy, cx, j])
        ix = cx * STRIDE + float(off[cy, cx, k + j])
        score = 1 / (1 + np.exp(-float(heat[cy, cx, j])))
        kps.append({'name': KEYPOINTS[j], 'x': round(ix * w / BP_W, 3), 'y': round(iy * h / BP_H, 3), 'score': round(score, 6)})
    person = (1 / (1 + np.exp(-seg.astype(np.float64)))) > 0.5
    def cells(n_frame, n_input, n_grid):
        u = (np.arange(n_frame) + 0.5) * (n_input / n_frame) - 0.5
        return np.clip(np.floor(u / STRIDE + 0.5).astype(int), 0, n_grid - 1)
    mask = person[cells(h, BP_H, gh)][:, cells(w, BP_W, gw)].astype(np.uint8)
    return {'score': round(float(np.mean([p['score'] for p in kps])), 6), 'keypoints': kps}, mask


def road(sess, img):
    h, w, _ = img.shape
    x = resize_u8(img, ROAD_W, ROAD_H, antialias=False)[:, :, ::-1].astype(np.float32)[None]
    p = sess.run(['tf.identity'], {'data': np.ascontiguousarray(x)})[0][0]
    labels = np.argmax(p, axis=2).astype(np.uint8)
    rows = np.clip(np.floor((np.arange(h) + 0.5) * (ROAD_H / h)).astype(int), 0, ROAD_H - 1)
    cols = np.clip(np.floor((np.arange(w) + 0.5) * (ROAD_W / w)).astype(int), 0, ROAD_W - 1)
    return labels[rows][:, cols]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap.add_argument('--shared', default=os.environ.get('VIDFLOW_SHARED', os.path.join(repo, '..', 'shared')))
    ap.add_argument('--out', default=os.path.join(repo, 'test', 'fixtures', 'reference', 'pose-segmentation.json'))
    a = ap.parse_args()
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 1
    bp = ort.InferenceSession(os.path.join(a.shared, 'models', 'pose', 'bodypix_mobilenetv1_050_stride16.onnx'), so, providers=['CPUExecutionProvider'])
    rs = ort.InferenceSession(os.path.join(a.shared, 'models', 'segmentation', 'road_segmentation_adas_0001.onnx'), so, providers=['CPUExecutionProvider'])
    cases = []
    for media in BODYPIX_MEDIA:
        img = first_frame_rgb(os.path.join(a.shared, media))
        pose, mask = bodypix(bp, img)
        cases.append({'model': 'bodypix-keypoints', 'media': media, 'frame_width': img.shape[1], 'frame_height': img.shape[0], 'person': pose})
        cases.append({'model': 'bodypix-person-segmentation', 'media': media, 'frame_width': img.shape[1], 'frame_height': img.shape[0], 'class_fractions': fractions(mask, ['background', 'person']), 'label_map': rle(mask)})
        print(f'bodypix {media}: score {pose["score"]}, person {np.mean(mask):.3f}', file=sys.stderr)
    for media in ROAD_MEDIA:
        img = first_frame_rgb(os.path.join(a.shared, media))
        labels = road(rs, img)
        fr = fractions(labels, ['background', 'road', 'curb', 'mark'])
        cases.append({'model': 'road-segmentation-adas-0001', 'media': media, 'frame_width': img.shape[1], 'frame_height': img.shape[0], 'class_fractions': fr, 'label_map': rle(labels)})
        print(f'road {media}: {fr}', file=sys.stderr)
    doc = {
        'generated_by': 'tools/reference/decode_pose_segmentation.py',
        'onnxruntime': ort.__version__,
        'numpy': np.__version__,
        'note': 'First frame of each file. bodypix-keypoints: single-person decode, keypoints in frame pixels, person score = mean keypoint score. Label maps at frame resolution, row-major RLE.',
        'cases': cases,
    }
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')


if __name__ == '__main__':
    main()
