#!/usr/bin/env python3
"""Python peer of a vidflow `classify` pipeline, written the way a user would write it.

Decodes a video with PyAV (ffmpeg), preprocesses each frame exactly as the model's vidflow
manifest says (models/mobilenetv2-12-int8: RGB, shorter side to 256 with antialiased bilinear
resize as torchvision computes it, center crop 224x224, scale 1/255, ImageNet mean/std, NCHW
float32) in numpy, runs onnxruntime in batches, softmax,
and writes one JSON line per frame: {"frame_index", "pts", "top": [{"label_id", "label", "score"}]}.

    python bench/peers/classify.py VIDEO --model M.onnx --labels labels/imagenet-1k.txt --out out.jsonl
"""
import argparse
import json
import sys

import av
import numpy as np
import onnxruntime as ort

SCALE = 0.00392156862745098  # manifest input.scale
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
# (float32(v * scale) - mean[c]) / std[c] for every byte value v, per channel, as float32.
LUT = np.array([[(float(np.float32(v * SCALE)) - MEAN[c]) / STD[c] for v in range(256)] for c in range(3)], dtype=np.float32)



def open_output(path: str):
    """The JSON-lines output, line-buffered: a file, or standard output for "-"."""
    if path == "-":
        sys.stdout.reconfigure(line_buffering=True)
        return sys.stdout
    return open(path, "w", encoding="utf-8", buffering=1)

def taps(src: int, dst: int) -> tuple[np.ndarray, np.ndarray]:
    """Antialiased bilinear resampling (the triangle filter widened by the scale when shrinking,
    as torchvision's resize(antialias=True) and Pillow): per output pixel the source indexes and
    float32 weights, padded with zero weights to the same count."""
    scale = src / dst
    support = max(scale, 1.0)
    rows = []
    for i in range(dst):
        center = (i + 0.5) * scale
        lo, hi = max(int(center - support + 0.5), 0), min(int(center + support + 0.5), src)
        w = np.maximum(0.0, 1.0 - np.abs((np.arange(lo, hi) - center + 0.5) / support))
        rows.append((lo, (w.astype(np.float32).astype(np.float64) / w.sum()).astype(np.float32)))
    n = max(len(w) for _, w in rows)
    idx = np.array([[min(lo + j, src - 1) for j in range(n)] for lo, _ in rows])
    wts = np.array([np.pad(w, (0, n - len(w))) for _, w in rows], dtype=np.float32)
    return idx, wts


_plans: dict[tuple[int, int], tuple] = {}


def preprocess(rgb: np.ndarray, size: int = 256, crop: int = 224) -> np.ndarray:
    """HxWx3 uint8 RGB -> 3x224x224 float32, as torchvision's ImageClassification preset on a uint8
    tensor: Resize(256, antialias: horizontal pass, then vertical accumulated in float32, rounded
    half to even to uint8), CenterCrop(224), scale, normalize. Only the pixels the crop keeps are
    computed."""
    h, w = rgb.shape[:2]
    plan = _plans.get((w, h))
    if plan is None:
        # torchvision Resize(256): shorter side to 256, the longer side truncated.
        nw, nh = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
        top, left = int(round((nh - crop) / 2.0)), int(round((nw - crop) / 2.0))
        xi, xw = taps(w, nw)
        yi, yw = taps(h, nh)
        xi, xw, yi, yw = xi[left:left + crop], xw[left:left + crop], yi[top:top + crop], yw[top:top + crop]
        lo, hi = int(yi.min()), int(yi.max()) + 1
        plan = _plans[(w, h)] = (xi, xw.astype(np.float64), yi - lo, yw.astype(np.float64), lo, hi)
    xi, xw, yi, yw, lo, hi = plan
    src = rgb[lo:hi].transpose(2, 0, 1).astype(np.float64)  # 3 x rows x W
    tmp = np.zeros((3, hi - lo, crop), dtype=np.float64)
    for j in range(xi.shape[1]):
        tmp += src[:, :, xi[:, j]] * xw[:, j]
    tmp = tmp.astype(np.float32)
    acc = np.zeros((3, crop, crop), dtype=np.float32)
    for j in range(yi.shape[1]):
        acc = (acc + tmp[:, yi[:, j], :].astype(np.float64) * yw[:, j, None]).astype(np.float32)
    q = np.clip(np.rint(acc), 0, 255).astype(np.intp)
    return np.stack([LUT[c][q[c]] for c in range(3)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("video")
    ap.add_argument("--model", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--out", required=True, help="JSON lines file, or - for standard output")
    ap.add_argument("--end-secs", type=float, default=None, help="stop before this time (seconds)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0: onnxruntime default)")
    ap.add_argument("--allow-spinning", choices=["0", "1"], default="0")
    args = ap.parse_args()

    labels = [l.rstrip("\n") for l in open(args.labels, encoding="utf-8")]
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.add_session_config_entry("session.intra_op.allow_spinning", args.allow_spinning)
    so.log_severity_level = 3
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0].name

    out = open_output(args.out)
    pending: list[tuple[int, float, np.ndarray]] = []

    def flush() -> None:
        if not pending:
            return
        logits = sess.run(None, {inp: np.stack([p[2] for p in pending])})[0]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs = e / e.sum(axis=1, keepdims=True)
        for (index, pts, _), p in zip(pending, probs):
            k = int(p.argmax())
            out.write(json.dumps({"frame_index": index, "pts": pts, "top": [{"label_id": k, "label": labels[k], "score": round(float(p[k]), 6)}]}) + "\n")
        pending.clear()

    with av.open(args.video) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            pts = float(frame.time or 0.0)
            if args.end_secs is not None and pts >= args.end_secs:
                break
            pending.append((index, pts, preprocess(frame.to_ndarray(format="rgb24"))))
            if len(pending) == args.batch:
                flush()
    flush()
    out.close()


if __name__ == "__main__":
    main()
