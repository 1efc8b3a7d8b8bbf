#!/usr/bin/env python3
"""Seeded random ground truth + predictions scored by pycocotools, py-motmetrics and TrackEval (HOTA).

Writes test/fixtures/eval/crosscheck.json (inputs and reference scores); test/unit/eval-crosscheck.test.ts
scores the same inputs with src/eval and asserts agreement to 1e-4.
Run: python3 -m venv /tmp/venv-eval && /tmp/venv-eval/bin/pip install pycocotools motmetrics trackeval scipy numpy
     /tmp/venv-eval/bin/python tools/eval/crosscheck.py
"""
import contextlib, io, json, os
import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from pycocotools import mask as mu
if not hasattr(np, "asfarray"):  # motmetrics 1.4 uses np.asfarray, removed in NumPy 2
    np.asfarray = lambda a, dtype=float: np.asarray(a, dtype=dtype)
import motmetrics as mm

rng = np.random.default_rng(11)
MOT_METRICS = ['mota', 'idf1', 'num_switches', 'num_misses', 'num_false_positives', 'num_objects']
H, W = 40, 60

def rle_of(m):
    # uncompressed COCO RLE (column-major runs starting with 0s)
    flat = np.asfortranarray(m).flatten(order='F')
    counts, cur, run = [], 0, 0
    for v in flat:
        if v != cur:
            counts.append(run); run = 0; cur = v
        run += 1
    counts.append(run)
    return {'size': [H, W], 'counts': [int(c) for c in counts]}

def blob(x, y, w, h):
    m = np.zeros((H, W), np.uint8)
    yy, xx = np.mgrid[0:H, 0:W]
    m[((xx - x - w / 2) / (w / 2)) ** 2 + ((yy - y - h / 2) / (h / 2)) ** 2 <= 1] = 1
    return m

images, gts, dts = [], [], []
aid = 1
for img in range(1, 13):
    images.append({'id': img, 'width': W, 'height': H})
    for _ in range(rng.integers(0, 5)):
        cat = int(rng.integers(1, 4))
        w, h = float(rng.uniform(6, 30)), float(rng.uniform(6, 20))
        x, y = float(rng.uniform(0, W - w)), float(rng.uniform(0, H - h))
        m = blob(x, y, w, h)
        kps = []
        for k in range(17):
            kps += [x + float(rng.uniform(0, w)), y + float(rng.uniform(0, h)), int(rng.choice([0, 1, 2]))]
        crowd = int(rng.random() < 0.08)
        gts.append({'id': aid, 'image_id': img, 'category_id': cat, 'bbox': [x, y, w, h], 'area': float(m.sum()),
                    'iscrowd': crowd,
                    'segmentation': rle_of(m), 'keypoints': kps,
                    'num_keypoints': sum(1 for k in range(17) if kps[3 * k + 2] > 0)})
        aid += 1
        if rng.random() < 0.8:  # a noisy detection of it
            dx, dy, s = rng.normal(0, 2), rng.normal(0, 2), rng.uniform(0.8, 1.2)
            bx, by, bw, bh = x + dx, y + dy, w * s, h * s
            dk = []
            for k in range(17):
                dk += [kps[3 * k] + float(rng.normal(0, 2)), kps[3 * k + 1] + float(rng.normal(0, 2)), 1]
            dts.append({'image_id': img, 'category_id': cat if rng.random() < 0.9 else int(rng.integers(1, 4)),
                        'score': round(float(rng.random()), 6),
                        'bbox': [bx, by, bw, bh], 'segmentation': rle_of(blob(bx, by, bw, bh)), 'keypoints': dk})
    for _ in range(rng.integers(0, 3)):  # false positives
        w, h = float(rng.uniform(6, 30)), float(rng.uniform(6, 20))
        x, y = float(rng.uniform(0, W - w)), float(rng.uniform(0, H - h))
        dk = []
        for k in range(17):
            dk += [x + float(rng.uniform(0, w)), y + float(rng.uniform(0, h)), 1]
        dts.append({'image_id': img, 'category_id': int(rng.integers(1, 4)), 'score': round(float(rng.random()), 6),
                    'bbox': [x, y, w, h],
                    'segmentation': rle_of(blob(x, y, w, h)), 'keypoints': dk})

cats = [{'id': c, 'name': f'c{c}'} for c in (1, 2, 3)]

def score(iou_type):
    gt_anns = []
    for g in gts:
        a = dict(g)
        if iou_type == 'segm':
            a['segmentation'] = mu.frPyObjects(g['segmentation'], H, W)
        else:
            a.pop('segmentation')
        if iou_type == 'keypoints':
            a['category_id'] = 1
        gt_anns.append(a)
    coco = COCO()
    coco.dataset = {'images': images, 'annotations': gt_anns, 'categories': cats}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
        res = []
        for d in dts:
            a = {'image_id': d['image_id'], 'category_id': 1 if iou_type == 'keypoints' else d['category_id'],
                 'score': d['score']}
            if iou_type == 'bbox': a['bbox'] = d['bbox']
            if iou_type == 'segm': a['segmentation'] = mu.frPyObjects(d['segmentation'], H, W)
            if iou_type == 'keypoints': a['keypoints'] = d['keypoints']
            res.append(a)
        dt = coco.loadRes(res)
        ev = COCOeval(coco, dt, iou_type)
        ev.evaluate(); ev.accumulate(); ev.summarize()
    return {'ap': float(ev.stats[0]), 'ap50': float(ev.stats[1]), 'ap75': float(ev.stats[2])}

# Tracks: objects moving linearly, a noisy tracker with misses, false positives and id swaps.
frames = []
objs = [{'id': i + 1, 'x': rng.uniform(0, 200), 'y': rng.uniform(0, 200), 'vx': rng.normal(0, 3),
         'vy': rng.normal(0, 3),
         'w': rng.uniform(20, 50), 'h': rng.uniform(20, 50),
         'start': int(rng.integers(0, 20)), 'end': int(rng.integers(30, 60)), 'hid': 100 + i} for i in range(6)]
acc = mm.MOTAccumulator(auto_id=False)
next_hid = 200
for t in range(60):
    gt, hyp = [], []
    for o in objs:
        if not (o['start'] <= t < o['end']): continue
        b = [o['x'] + o['vx'] * t, o['y'] + o['vy'] * t, o['w'], o['h']]
        gt.append({'id': o['id'], 'box': [float(v) for v in b]})
        if rng.random() < 0.1: continue
        if rng.random() < 0.03:
            o['hid'] = next_hid; next_hid += 1
        n = rng.normal(0, 3, 4)
        hyp.append({'id': o['hid'], 'box': [float(b[0] + n[0]), float(b[1] + n[1]),
                                            float(b[2] + n[2]), float(b[3] + n[3])]})
    if rng.random() < 0.2:
        hyp.append({'id': int(next_hid), 'box': [float(rng.uniform(0, 200)), float(rng.uniform(0, 200)), 30.0, 30.0]})
        next_hid += 1
    frames.append({'gt': gt, 'hyp': hyp})
    d = mm.distances.iou_matrix([g['box'] for g in gt], [h['box'] for h in hyp], max_iou=0.5)
    acc.update([g['id'] for g in gt], [h['id'] for h in hyp], d, frameid=t)
summ = mm.metrics.create().compute(acc, metrics=MOT_METRICS, name='x')
track_ref = {k: float(summ[k].iloc[0]) for k in summ.columns}

# HOTA with TrackEval's metric class on the same frames (its own box IoU; ids made dense, 0-based).
import trackeval
from trackeval.datasets._base_dataset import _BaseDataset

def hota_ref(frames):
    gmap, pmap = {}, {}
    for f in frames:
        for g in f['gt']: gmap.setdefault(g['id'], len(gmap))
        for h in f['hyp']: pmap.setdefault(h['id'], len(pmap))
    def sims(f):
        return _BaseDataset._calculate_box_ious(np.array([g['box'] for g in f['gt']]).reshape(-1, 4),
                                                np.array([h['box'] for h in f['hyp']]).reshape(-1, 4),
                                                box_format='xywh')
    data = {'num_timesteps': len(frames), 'num_gt_ids': len(gmap), 'num_tracker_ids': len(pmap),
            'num_gt_dets': sum(len(f['gt']) for f in frames), 'num_tracker_dets': sum(len(f['hyp']) for f in frames),
            'gt_ids': [np.array([gmap[g['id']] for g in f['gt']], dtype=int) for f in frames],
            'tracker_ids': [np.array([pmap[h['id']] for h in f['hyp']], dtype=int) for f in frames],
            'similarity_scores': [sims(f) for f in frames]}
    r = trackeval.metrics.HOTA().eval_sequence(data)
    keys = ('HOTA', 'DetA', 'AssA', 'LocA', 'DetRe', 'DetPr', 'AssRe', 'AssPr')
    return {k.lower(): float(np.mean(r[k])) for k in keys}

track_ref['hota'] = hota_ref(frames)

# Second sequence (own seed, so the one above is unchanged): objects crossing in pairs; at each
# crossing the tracker swaps the two ids with probability 1/2, and boxes are noisier.
rng2 = np.random.default_rng(12)
crossing = []
pairs = [(float(rng2.uniform(20, 160)), float(rng2.uniform(1, 4))) for _ in range(3)]
swapped = [False] * 3
for t in range(50):
    gt, hyp = [], []
    for k, (y, v) in enumerate(pairs):
        xa, xb = 10 + v * t, 10 + v * 49 - v * t
        if abs(xa - xb) < v and rng2.random() < 0.5: swapped[k] = not swapped[k]
        for side, x in ((0, xa), (1, xb)):
            gid = 2 * k + side + 1
            gt.append({'id': gid, 'box': [float(x), y, 30.0, 40.0]})
            if rng2.random() < 0.15: continue
            hid = 10 + 2 * k + (side ^ int(swapped[k]))
            n = rng2.normal(0, 5, 4)
            hyp.append({'id': hid, 'box': [float(x + n[0]), float(y + n[1]), float(30 + n[2]), float(40 + n[3])]})
    crossing.append({'gt': gt, 'hyp': hyp})
acc2 = mm.MOTAccumulator(auto_id=False)
for t, f in enumerate(crossing):
    d = mm.distances.iou_matrix([g['box'] for g in f['gt']], [h['box'] for h in f['hyp']], max_iou=0.5)
    acc2.update([g['id'] for g in f['gt']], [h['id'] for h in f['hyp']], d, frameid=t)
summ2 = mm.metrics.create().compute(acc2, metrics=MOT_METRICS, name='x')
crossing_ref = {k: float(summ2[k].iloc[0]) for k in summ2.columns}
crossing_ref['hota'] = hota_ref(crossing)

out = {'comment': ('generated by tools/eval/crosscheck.py (seeds 11, 12); reference scores from pycocotools, '
                   'py-motmetrics and TrackEval'),
       'versions': {'motmetrics': mm.__version__, 'trackeval': getattr(trackeval, '__version__', '1.3.0'),
                    'numpy': np.__version__},
       'images': images, 'categories': cats, 'gt': gts, 'dt': dts, 'frames': frames, 'crossing_frames': crossing,
       'reference': {'bbox': score('bbox'), 'segm': score('segm'), 'keypoints': score('keypoints'),
                     'tracking': track_ref, 'crossing': crossing_ref}}
path = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'eval', 'crosscheck.json')
with open(path, 'w') as f:
    json.dump(out, f, separators=(',', ':'))
print(json.dumps(out['reference'], indent=1))
