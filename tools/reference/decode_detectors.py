#!/usr/bin/env python3
"""Reference decode of FastestDet and UltraFace RFB-320 with onnxruntime + numpy, independent of vidflow.

Follows shared/models/MODELS.md (sections 1b and 1c) for the outputs; the preprocessing is the one
the vidflow manifests declare (models/fastestdet, models/ultraface-rfb-320), written here in numpy:
frames are decoded to RGB24 with ffmpeg (as vidflow's file source does), resized with
half-pixel bilinear (UltraFace, like cv2.resize INTER_LINEAR) or antialiased bilinear (FastestDet,
Pillow's triangle filter, vidflow's stand-in for cv2 INTER_AREA), rounded half to even to uint8,
then scaled/normalized. Detections are written in source-frame pixels, clipped to the frame.

Usage: python3 tools/reference/decode_detectors.py [--shared ../shared] [--out test/fixtures/reference/detectors.json]
Needs numpy and onnxruntime (e.g. a venv outside the repository) and ffmpeg on PATH.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort

CASES = [
    # (model, media path under shared/, score threshold): the repositories' thresholds.
    ('fastestdet', 'media/photos/highway-cars.jpg', 0.65),
    ('fastestdet', 'media/photos/soccer.jpg', 0.65),
    ('fastestdet', 'media/photos/apollo-crew.jpg', 0.65),
    ('fastestdet', 'media/photos/cat.png', 0.65),
    ('fastestdet', 'media/videos/highway-dashcam.mp4', 0.65),
    ('ultraface-rfb-320', 'media/photos/astronaut.png', 0.7),
    ('ultraface-rfb-320', 'media/photos/apollo-crew.jpg', 0.7),
    ('ultraface-rfb-320', 'media/photos/soccer.jpg', 0.7),
    ('ultraface-rfb-320', 'media/photos/girl-dog.jpg', 0.7),
    ('ultraface-rfb-320', 'media/videos/faces-head-pose.mp4', 0.7),
]


def first_frame_rgb(path):
    """The first video frame as HxWx3 uint8 RGB, decoded by ffmpeg like vidflow's file source."""
    probe = subprocess.run(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'json', path], check=True, capture_output=True, text=True)
    s = json.loads(probe.stdout)['streams'][0]
    w, h = s['width'], s['height']
    raw = subprocess.run(['ffmpeg', '-v', 'error', '-nostdin', '-i', path, '-map', '0:v:0', '-an', '-frames:v', '1', '-vf', 'format=rgb24', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'], check=True, capture_output=True).stdout
    return np.frombuffer(raw[: w * h * 3], dtype=np.uint8).reshape(h, w, 3)


def taps(src, dst, antialias):
    """Resampling matrix [dst, src] (float32): half-pixel bilinear, or the triangle filter widened by the scale when downscaling."""
    scale = src / dst
    m = np.zeros((dst, src), dtype=np.float32)
    if not antialias or scale <= 1:
        for i in range(dst):
            x = max((i + 0.5) * scale - 0.5, 0.0)
            x0 = min(int(np.floor(x)), src - 1)
            x1 = min(x0 + 1, src - 1)
            lam = x - x0
            if x1 == x0:
                m[i, x0] = 1
            else:
                m[i, x0] = 1 - lam
                m[i, x1] = lam
        return m
    support = scale
    for i in range(dst):
        center = (i + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), src)
        j = np.arange(xmin, xmax)
        w = np.maximum(0.0, 1.0 - np.abs((j - center + 0.5) / scale))
        if w.sum() > 0:
            w = w / w.sum()
        m[i, xmin:xmax] = w
    return m


def resize_u8(img, dw, dh, antialias):
    """Horizontal pass (accumulated in float64, stored as float32), then vertical (one float32
    accumulator per output row, each tap added in float64 and stored back as float32), then one
    round half to even back to uint8: the accumulation vidflow uses, so that ties round alike."""
    h, w, _ = img.shape
    wx = taps(w, dw, antialias).astype(np.float64)
    wy = taps(h, dh, antialias)
    tmp = np.einsum('xw,hwc->hxc', wx, img.astype(np.float64)).astype(np.float32)
    out = np.zeros((dh, dw, 3), dtype=np.float32)
    for y in range(dh):
        acc = np.zeros((dw, 3), dtype=np.float32)
        for j in np.nonzero(wy[y])[0]:
            acc = (acc.astype(np.float64) + tmp[j].astype(np.float64) * np.float64(wy[y, j])).astype(np.float32)
        out[y] = acc
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)  # rint: half to even


def nms(boxes, scores, iou_thr):
    """Greedy NMS, best score first (ties: lower index first); drops IoU > iou_thr."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    keep = []
    suppressed = np.zeros(len(scores), dtype=bool)
    for a, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        for j in order[a + 1:]:
            if suppressed[j]:
                continue
            ix = min(boxes[i][2], boxes[j][2]) - max(boxes[i][0], boxes[j][0])
            iy = min(boxes[i][3], boxes[j][3]) - max(boxes[i][1], boxes[j][1])
            if ix <= 0 or iy <= 0:
                continue
            inter = ix * iy
            area = lambda b: max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
            if inter / (area(boxes[i]) + area(boxes[j]) - inter) > iou_thr:
                suppressed[j] = True
    return keep


def clip_box(b, w, h):
    return [float(min(w, max(0.0, b[0]))), float(min(h, max(0.0, b[1]))), float(min(w, max(0.0, b[2]))), float(min(h, max(0.0, b[3])))]


def fastestdet(sess, img, thr, labels):
    h, w, _ = img.shape
    x = resize_u8(img, 352, 352, antialias=True)[:, :, ::-1]  # RGB -> BGR
    x = (x.astype(np.float32) / np.float32(255)).transpose(2, 0, 1)[None]
    pred = sess.run(['758'], {'input.1': x})[0][0]  # [85, 22, 22]
    p = pred.transpose(1, 2, 0)  # [22, 22, 85]
    gh, gw = p.shape[:2]
    boxes, scores, cls = [], [], []
    for gy in range(gh):
        for gx in range(gw):
            obj, tx, ty, tw, th = (float(v) for v in p[gy, gx, :5])
            c = p[gy, gx, 5:]
            k = int(np.argmax(c))
            score = obj ** 0.6 * float(c[k]) ** 0.4
            if score < thr:
                continue
            cx = (gx + np.tanh(tx)) / gw
            cy = (gy + np.tanh(ty)) / gh
            bw = 1 / (1 + np.exp(-tw))
            bh = 1 / (1 + np.exp(-th))
            boxes.append([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
            scores.append(score)
            cls.append(k)
    keep = nms(boxes, scores, 0.45)
    return [{'box': clip_box(boxes[i], w, h), 'label_id': cls[i], 'label': labels[cls[i]], 'score': scores[i]} for i in keep]


def ultraface(sess, img, thr):
    h, w, _ = img.shape
    x = resize_u8(img, 320, 240, antialias=False)
    x = ((x.astype(np.float32) - np.float32(127)) / np.float32(128)).transpose(2, 0, 1)[None]
    scores, boxes = sess.run(['scores', 'boxes'], {'input': x})
    s = scores[0][:, 1]
    idx = np.nonzero(s >= thr)[0]
    cand = [[float(boxes[0][i][0]) * w, float(boxes[0][i][1]) * h, float(boxes[0][i][2]) * w, float(boxes[0][i][3]) * h] for i in idx]
    sc = [float(s[i]) for i in idx]
    keep = nms(cand, sc, 0.3)
    return [{'box': clip_box(cand[i], w, h), 'label_id': 1, 'label': 'face', 'score': sc[i]} for i in keep]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap.add_argument('--shared', default=os.environ.get('VIDFLOW_SHARED', os.path.join(repo, '..', 'shared')))
    ap.add_argument('--out', default=os.path.join(repo, 'test', 'fixtures', 'reference', 'detectors.json'))
    a = ap.parse_args()
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 1
    sessions = {
        'fastestdet': ort.InferenceSession(os.path.join(a.shared, 'models', 'detection', 'fastestdet.onnx'), so, providers=['CPUExecutionProvider']),
        'ultraface-rfb-320': ort.InferenceSession(os.path.join(a.shared, 'models', 'detection', 'ultraface_rfb_320.onnx'), so, providers=['CPUExecutionProvider']),
    }
    with open(os.path.join(a.shared, 'models', 'detection', 'fastestdet.labels.txt')) as f:
        coco = [l.strip() for l in f.read().splitlines() if l.strip()]
    cases = []
    for model, media, thr in CASES:
        img = first_frame_rgb(os.path.join(a.shared, media))
        dets = fastestdet(sessions[model], img, thr, coco) if model == 'fastestdet' else ultraface(sessions[model], img, thr)
        for d in dets:
            d['box'] = [round(v, 3) for v in d['box']]
            d['score'] = round(d['score'], 6)
        cases.append({'model': model, 'media': media, 'frame_width': img.shape[1], 'frame_height': img.shape[0], 'score_threshold': thr, 'detections': dets})
        print(f'{model} {media}: {len(dets)} ({", ".join(sorted(set(d["label"] for d in dets)))})', file=sys.stderr)
    doc = {
        'generated_by': 'tools/reference/decode_detectors.py',
        'onnxruntime': ort.__version__,
        'numpy': np.__version__,
        'note': 'First frame of each file; boxes x1,y1,x2,y2 in frame pixels, clipped; FastestDet NMS IoU 0.45 (class-agnostic), UltraFace hard NMS IoU 0.3.',
        'cases': cases,
    }
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
