#!/usr/bin/env python3
"""PyTorch's clip top-1 of a tools/train/ clip-classifier checkpoint on the clips the vidflow
pipeline classifies: the same ffmpeg-decoded frames, the same per-frame preprocessing (the exported
manifest's: clip_data.py) and the same clip windows as the `classify_clip` stage with
--every-n-frames / --stride-frames (pipelines/eval-synth-clip.yaml: 1 and 8), scored as `vidflow
eval` scores clips (every clip whose last frame lies in a ground-truth clip is one prediction of that
clip's label; top-1 and top-5 over those predictions).

    python tools/train/reference_eval_clip.py --checkpoint models/synth-r3d/synth-r3d.pt \\
        --data test/fixtures/eval/synth-clip --onnx models/synth-r3d/synth-r3d.onnx \
        --records pipelines/out/eval-synth-clip.jsonl --out models/synth-r3d/metrics.json

after `npx vidflow eval pipelines/eval-synth-clip.yaml --ground-truth test/fixtures/eval/synth-clip/ground-truth`
(which writes pipelines/out/eval-synth-clip.jsonl; --records compares each clip's top-1 label with it).

--onnx also runs the exported graph with onnxruntime on the same input tensors (a check of the export
alone, apart from vidflow's preprocessing).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'export'))
import torch  # noqa: E402

import clip_data  # noqa: E402
from export import load_checkpoint  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('--data', required=True, help='folder with ground-truth/*.json and videos/*.mp4 (motion videos)')
    ap.add_argument('--every-n-frames', type=int, default=1)
    ap.add_argument('--stride-frames', type=int, default=8)
    ap.add_argument('--onnx', help='also score this ONNX export on the same input tensors')
    ap.add_argument('--records', help="a vidflow JSONL sink's output of the same clips (pipelines/eval-synth-clip.yaml "
                    'writes pipelines/out/eval-synth-clip.jsonl): count the clips whose top-1 label agrees')
    ap.add_argument('--out', help='metrics JSON to write')
    a = ap.parse_args()
    torch.set_num_threads(1)
    b = load_checkpoint(a.checkpoint, None)
    model = b.model.eval()
    labels = b.labels['write']
    T = int(b.preset['clip'])
    sess = None
    if a.onnx:
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(a.onnx, opts, providers=['CPUExecutionProvider'])
    records = top1 = top5 = onnx_top1 = onnx_agree = 0
    max_diff = 0.0
    per_video = {}
    per_label: dict[str, dict[str, int]] = {}
    for name, label, frames in clip_data.load_motion_frames(a.data):
        wins = clip_data.clip_windows(frames.shape[0], T, a.stride_frames, a.every_n_frames)
        if not wins:
            continue
        x = clip_data.normalize(torch.stack([frames[w] for w in wins]), b.preset['mean'], b.preset['std'])
        with torch.no_grad():
            logits = model(x)
        order = logits.argsort(1, descending=True)
        preds = [labels[int(i)] for i in order[:, 0]]
        hits = sum(p == label for p in preds)
        records += len(wins)
        top1 += hits
        top5 += sum(label in [labels[int(i)] for i in row[:5]] for row in order)
        pl = per_label.setdefault(label, {'records': 0, 'top1': 0})
        pl['records'] += len(wins)
        pl['top1'] += hits
        per_video[name] = {'label': label, 'clips_end_at': [w[-1] for w in wins], 'predicted': preds}
        if sess is not None:
            o = torch.from_numpy(sess.run(['logits'], {'input': x.numpy()})[0])
            max_diff = max(max_diff, float((o - logits).abs().max()))
            onnx_top1 += sum(labels[int(i)] == label for i in o.argmax(1))
            onnx_agree += int((o.argmax(1) == logits.argmax(1)).sum())
    if not records:
        sys.exit(f'--data {a.data}: no clips (videos shorter than {T} sampled frames?)')
    with open(a.checkpoint, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    out = {'reference': 'PyTorch eager (tools/train/reference_eval_clip.py)',
           'checkpoint': os.path.basename(a.checkpoint), 'checkpoint_sha256': digest, 'data': a.data,
           'every_n_frames': a.every_n_frames, 'stride_frames': a.stride_frames, 'clip_length': T,
           'videos': len(per_video), 'records': records, 'top1': top1 / records, 'top5': top5 / records,
           'per_label': {k: {**v, 'top1': v['top1'] / v['records']} for k, v in sorted(per_label.items())}}
    if sess is not None:
        out['onnxruntime'] = {'top1': onnx_top1 / records, 'argmax_agreement': onnx_agree / records,
                              'max_abs_logit_diff': max_diff}
    if a.records:
        compared = agreed = 0
        with open(a.records) as f:
            for line in f:
                r = json.loads(line)
                top = (r.get('results') or {}).get('top')
                v = per_video.get(r.get('stream_id'))
                if not top or v is None or r.get('frame_index') not in v['clips_end_at']:
                    continue
                compared += 1
                agreed += top[0]['label'] == v['predicted'][v['clips_end_at'].index(r['frame_index'])]
        out['pipeline_records'] = {'file': a.records, 'compared': compared, 'top1_label_agrees': agreed}
    out['per_video'] = per_video
    summary = {k: out[k] for k in ('videos', 'records', 'top1', 'top5')}
    if a.records:
        summary['pipeline_records'] = out['pipeline_records']
    if sess is not None:
        summary['onnxruntime'] = out['onnxruntime']
    print(json.dumps(summary))
    if a.out:
        with open(a.out, 'w') as f:
            json.dump(out, f, indent=1)
            f.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
