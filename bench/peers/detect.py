#!/usr/bin/env python3
"""Python peer of a vidflow `detect` pipeline with YOLOX-Nano, written the way a user would write it.

Decodes a video with PyAV (ffmpeg) into BGR frames, preprocesses them exactly as the model's
vidflow manifest says, in numpy (models/yolox-nano: BGR, raw 0..255 float32, letterbox
r = min(416/H, 416/W), bilinear resize to (int(W*r), int(H*r)) pasted at the top-left of a
416x416 canvas of 114, NCHW), runs onnxruntime (batch 1), decodes the YOLOX grid (strides 8/16/32), keeps
obj*cls >= score threshold, class-agnostic NMS at IoU 0.45, at most 100 boxes, maps boxes back to
the frame (/r, clamped), and writes one JSON line per frame:
{"frame_index", "pts", "detections": [{"box": [x1, y1, x2, y2], "label_id", "label", "score"}]}.

    python bench/peers/detect.py VIDEO --model yolox_nano.onnx --labels models/yolox-nano/coco-80.txt --out out.jsonl
"""
import argparse
import json
import sys

import av
import numpy as np
import onnxruntime as ort

SIZE = 416
STRIDES = (8, 16, 32)



def open_output(path: str):
    """The JSON-lines output, line-buffered: a file, or standard output for "-"."""
    if path == "-":
        sys.stdout.reconfigure(line_buffering=True)
        return sys.stdout
    return open(path, "w", encoding="utf-8", buffering=1)

def bilinear_taps(src: int, dst: int) -> tuple[np.ndarray, np.ndarray]:
    """Plain bilinear (align_corners=False, no antialias, as cv2.resize INTER_LINEAR samples):
    per output pixel two source indexes and float32 weights; one tap at the last source pixel."""
    scale = src / dst
    idx = np.zeros((dst, 2), dtype=np.intp)
    wts = np.zeros((dst, 2), dtype=np.float32)
    for i in range(dst):
        x = max((i + 0.5) * scale - 0.5, 0.0)
        x0 = min(int(np.floor(x)), src - 1)
        x1 = min(x0 + 1, src - 1)
        idx[i] = (x0, x1)
        wts[i] = (1.0, 0.0) if x1 == x0 else (1.0 - (x - x0), x - x0)
    return idx, wts.astype(np.float64)


_plans: dict[tuple[int, int], tuple] = {}


def letterbox(bgr: np.ndarray) -> tuple[np.ndarray, float]:
    """HxWx3 uint8 BGR -> 1x3x416x416 float32 raw 0..255: r = min(416/H, 416/W), bilinear resize to
    (int(W*r), int(H*r)) (horizontal pass, then vertical accumulated in float32, rounded half to
    even to uint8), pasted at the top-left of a canvas of 114."""
    h, w = bgr.shape[:2]
    plan = _plans.get((w, h))
    if plan is None:
        r = min(SIZE / h, SIZE / w)
        plan = _plans[(w, h)] = (r, *bilinear_taps(w, int(w * r)), *bilinear_taps(h, int(h * r)))
    r, xi, xw, yi, yw = plan
    src = bgr.transpose(2, 0, 1).astype(np.float64)  # 3 x H x W
    tmp = (src[:, :, xi[:, 0]] * xw[:, 0] + src[:, :, xi[:, 1]] * xw[:, 1]).astype(np.float32)
    acc = (tmp[:, yi[:, 0], :].astype(np.float64) * yw[:, 0, None]).astype(np.float32)
    acc = (acc + tmp[:, yi[:, 1], :].astype(np.float64) * yw[:, 1, None]).astype(np.float32)
    out = np.full((1, 3, SIZE, SIZE), 114, dtype=np.float32)
    out[0, :, : acc.shape[1], : acc.shape[2]] = np.clip(np.rint(acc), 0, 255)
    return out, r


def letterbox_cv2(bgr: np.ndarray) -> tuple[np.ndarray, float]:
    """The usual user code (YOLOX's demo): cv2.resize INTER_LINEAR (fixed-point weights, so pixels
    can differ from the float resize by a grey level), same canvas."""
    import cv2

    h, w = bgr.shape[:2]
    r = min(SIZE / h, SIZE / w)
    canvas = np.full((SIZE, SIZE, 3), 114, dtype=np.uint8)
    canvas[: int(h * r), : int(w * r)] = cv2.resize(bgr, (int(w * r), int(h * r)), interpolation=cv2.INTER_LINEAR)
    return canvas.transpose(2, 0, 1)[None].astype(np.float32), r


def grid() -> tuple[np.ndarray, np.ndarray]:
    grids, strides = [], []
    for s in STRIDES:
        g = SIZE // s
        xv, yv = np.meshgrid(np.arange(g), np.arange(g))
        grids.append(np.stack((xv, yv), 2).reshape(-1, 2))
        strides.append(np.full((g * g, 1), s))
    return np.concatenate(grids).astype(np.float32), np.concatenate(strides).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(int(i))
        xx1 = np.maximum(x1[i], x1[order[1:]])
        yy1 = np.maximum(y1[i], y1[order[1:]])
        xx2 = np.minimum(x2[i], x2[order[1:]])
        yy2 = np.minimum(y2[i], y2[order[1:]])
        inter = np.maximum(0.0, xx2 - xx1) * np.maximum(0.0, yy2 - yy1)
        ovr = inter / (areas[i] + areas[order[1:]] - inter)
        order = order[1:][ovr <= iou]
    return keep


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("video")
    ap.add_argument("--model", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--out", required=True, help="JSON lines file, or - for standard output")
    ap.add_argument("--end-secs", type=float, default=None, help="stop before this time (seconds)")
    ap.add_argument("--score-threshold", type=float, default=0.3)
    ap.add_argument("--nms-iou", type=float, default=0.45)
    ap.add_argument("--max-detections", type=int, default=100)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0: onnxruntime default)")
    ap.add_argument("--allow-spinning", choices=["0", "1"], default="0")
    ap.add_argument("--resize", choices=["numpy", "cv2"], default="numpy", help="numpy: bit-identical to vidflow; cv2: cv2.resize (needs opencv-python-headless)")
    args = ap.parse_args()
    prep = letterbox if args.resize == "numpy" else letterbox_cv2

    labels = [l.rstrip("\n") for l in open(args.labels, encoding="utf-8")]
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.add_session_config_entry("session.intra_op.allow_spinning", args.allow_spinning)
    so.log_severity_level = 3
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0].name
    grids, strides = grid()

    with av.open(args.video) as container, open_output(args.out) as out:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            pts = float(frame.time or 0.0)
            if args.end_secs is not None and pts >= args.end_secs:
                break
            img = frame.to_ndarray(format="bgr24")
            h, w = img.shape[:2]
            x, r = prep(img)
            pred = sess.run(None, {inp: x})[0][0]
            obj = pred[:, 4]
            cls = pred[:, 5:].argmax(1)
            scores = obj * pred[np.arange(len(pred)), 5 + cls]
            m = scores >= args.score_threshold
            dets = []
            if m.any():
                p, scores, cls = pred[m], scores[m], cls[m]
                cxcy = (p[:, :2] + grids[m]) * strides[m]
                wh = np.exp(p[:, 2:4]) * strides[m]
                boxes = np.concatenate([cxcy - wh / 2, cxcy + wh / 2], 1)
                for k in nms(boxes, scores, args.nms_iou)[: args.max_detections]:
                    b = boxes[k] / r
                    b = np.clip(b, 0, [w, h, w, h])
                    dets.append({"box": [round(float(v), 2) for v in b], "label_id": int(cls[k]), "label": labels[int(cls[k])], "score": round(float(scores[k]), 6)})
            out.write(json.dumps({"frame_index": index, "pts": pts, "detections": dets}) + "\n")


if __name__ == "__main__":
    main()
