#!/usr/bin/env python3
"""Seeded synthetic videos with exact ground truth for `vidflow eval --ground-truth`.

Python 3 + numpy only; videos are encoded by ffmpeg (libx264). For each video <name> it writes
  videos/<name>.mp4   H.264 (yuv420p, CRF --crf), at one of the --sizes (WxH@fps, cycled over the videos)
  ground-truth/<name>.json  COCO ground truth (docs/accuracy.md "Ground-truth format"): per frame an `images`
               entry (stream_id = <name>, frame_index, width, height, label_map as a row-major
               RLE), per visible object an annotation (bbox = the visible extent, area, segmentation
               as uncompressed COCO RLE of the visible pixels, iscrowd 0, track_id persistent over
               the video, for `person` the 17 COCO keypoints with visibility 0 outside the frame,
               1 hidden by another object, 2 visible), categories, semantic_categories and `clips`
               (motion videos: one clip, the whole video, labelled with its motion class).
and manifest.json (seed, split, settings, the videos).

Two kinds of video: `scene` (several objects of all classes entering, leaving, moving, rotating,
scaling and occluding each other; no clip label) and `motion` (one object whose motion
is the video's class: moving_left, moving_right, moving_up, moving_down, growing, shrinking, rotating,
static). Every video has a textured background that drifts, per-frame sensor noise, an optional
blur and H.264 compression; the last --rotate-tag scene videos (default 1) are stored turned by 90
degrees with a rotation tag, their ground truth in displayed pixels. Same seed, same settings: same
ground truth, byte for byte (the .mp4 also depends on the ffmpeg/x264 build).

Splits: --split train uses --seed as given; --split heldout offsets it by 1_000_003, so the two
never share a seed.

  python3 tools/synth/generate.py --out /tmp/synth-train --split train --seed 1 --scenes 4 --motion 8
  python3 tools/synth/generate.py --out /tmp/synth-heldout --split heldout --seed 1 --scenes 2 --motion 8
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

CATEGORIES = [
    {'id': 1, 'name': 'square', 'supercategory': 'shape'},
    {'id': 2, 'name': 'disc', 'supercategory': 'shape'},
    {'id': 3, 'name': 'triangle', 'supercategory': 'shape'},
    {'id': 4, 'name': 'person', 'supercategory': 'figure',
     'keypoints': ['nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
                   'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
                   'right_knee', 'left_ankle', 'right_ankle'],
     # COCO's person skeleton, 1-based keypoint indices
     'skeleton': [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
                  [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]},
]
SEMANTIC_CATEGORIES = [{'id': 0, 'name': 'background'}] + [{'id': c['id'], 'name': c['name']} for c in CATEGORIES]
MOTION_CLASSES = ['moving_left', 'moving_right', 'moving_up', 'moving_down', 'growing', 'shrinking', 'rotating',
                  'static']
HELDOUT_SEED_OFFSET = 1_000_003
MIN_VISIBLE_PIXELS = 6


# ---------------------------------------------------------------- rasterisation (pixel centres)

def grid(x0, y0, x1, y1):
    xs = np.arange(x0, x1) + 0.5
    ys = np.arange(y0, y1) + 0.5
    return np.meshgrid(xs, ys)


def convex_polygon(pts, X, Y):
    """Inside test for a convex polygon given counter- or clockwise."""
    n = len(pts)
    sign = None
    inside = np.ones(X.shape, bool)
    area = 0.0
    for i in range(n):
        (ax, ay), (bx, by) = pts[i], pts[(i + 1) % n]
        area += ax * by - bx * ay
    sign = 1.0 if area > 0 else -1.0
    for i in range(n):
        (ax, ay), (bx, by) = pts[i], pts[(i + 1) % n]
        inside &= sign * ((bx - ax) * (Y - ay) - (by - ay) * (X - ax)) >= 0
    return inside


def capsule(a, b, r, X, Y):
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    L2 = dx * dx + dy * dy
    t = np.clip(((X - ax) * dx + (Y - ay) * dy) / L2, 0, 1) if L2 > 0 else np.zeros(X.shape)
    px, py = ax + t * dx, ay + t * dy
    return (X - px) ** 2 + (Y - py) ** 2 <= r * r


def rot(pts, c, angle):
    ca, sa = np.cos(angle), np.sin(angle)
    return [(c[0] + ca * x - sa * y, c[1] + sa * x + ca * y) for x, y in pts]


# ---------------------------------------------------------------- objects

def figure_keypoints(cx, cy, s, lean, phase):
    """17 COCO keypoints of a frontal stick figure of height s with hip centre (cx, cy).
    The figure faces the camera, so its left side is on the image's right."""
    sw = np.sin(phase)
    local = {}
    local['neck'] = (0.0, -0.30 * s)
    head = (0.0, -0.42 * s)
    local['head'] = head
    local['nose'] = (head[0], head[1] + 0.015 * s)
    local['left_eye'] = (head[0] + 0.025 * s, head[1] - 0.01 * s)
    local['right_eye'] = (head[0] - 0.025 * s, head[1] - 0.01 * s)
    local['left_ear'] = (head[0] + 0.055 * s, head[1])
    local['right_ear'] = (head[0] - 0.055 * s, head[1])
    for side, sx in (('left', 1.0), ('right', -1.0)):
        sh = (sx * 0.10 * s, -0.28 * s)
        a1 = sx * (0.25 + 0.35 * sw * sx)  # upper arm angle from straight down, outward positive
        el = (sh[0] + sx * 0.0 + np.sin(a1) * 0.15 * s * sx * sx, sh[1] + np.cos(a1) * 0.15 * s)
        a2 = a1 + sx * 0.3
        wr = (el[0] + np.sin(a2) * 0.14 * s, el[1] + np.cos(a2) * 0.14 * s)
        hp = (sx * 0.06 * s, 0.0)
        l1 = sx * (0.08 - 0.30 * sw * sx)
        kn = (hp[0] + np.sin(l1) * 0.22 * s, hp[1] + np.cos(l1) * 0.22 * s)
        l2 = l1 - sx * 0.1
        an = (kn[0] + np.sin(l2) * 0.22 * s, kn[1] + np.cos(l2) * 0.22 * s)
        local[f'{side}_shoulder'], local[f'{side}_elbow'], local[f'{side}_wrist'] = sh, el, wr
        local[f'{side}_hip'], local[f'{side}_knee'], local[f'{side}_ankle'] = hp, kn, an
    names = list(local)
    world = rot([local[n] for n in names], (cx, cy), lean)
    return dict(zip(names, world))


def figure_mask(kp, s, X, Y):
    r = 0.035 * s
    m = np.zeros(X.shape, bool)
    pelvis = ((kp['left_hip'][0] + kp['right_hip'][0]) / 2, (kp['left_hip'][1] + kp['right_hip'][1]) / 2)
    m |= capsule(kp['neck'], pelvis, 0.07 * s, X, Y)
    m |= (X - kp['head'][0]) ** 2 + (Y - kp['head'][1]) ** 2 <= (0.075 * s) ** 2
    for side in ('left', 'right'):
        for a, b in (('shoulder', 'elbow'), ('elbow', 'wrist'), ('hip', 'knee'), ('knee', 'ankle')):
            m |= capsule(kp[f'{side}_{a}'], kp[f'{side}_{b}'], r, X, Y)
        m |= capsule(kp['neck'], kp[f'{side}_shoulder'], r, X, Y)
        m |= capsule(kp[f'{side}_hip'], pelvis, r, X, Y)
    return m


class Obj:
    def __init__(self, rng, cat, W, H, t0, t1, motion=None):
        self.cat, self.t0, self.t1 = cat, t0, t1
        self.color = rng.uniform(30, 230, 3)
        self.tex = rng.uniform(4, 20)  # amplitude of the object's own texture
        self.size = float(rng.uniform(0.12, 0.32) * min(W, H)) * (1.8 if cat == 4 else 1.0)
        self.aspect = float(rng.uniform(0.6, 1.5)) if cat in (1, 2) else 1.0
        self.angle = float(rng.uniform(0, 2 * np.pi)) if cat != 4 else 0.0
        self.phase = float(rng.uniform(0, 2 * np.pi))
        self.omega = float(rng.normal(0, 0.05)) if cat != 4 else 0.0
        self.scale_rate = float(rng.normal(0, 0.008))
        speed = rng.uniform(0.004, 0.02) * W
        if motion is None:
            # enter from an edge when it starts after frame 0, otherwise start inside
            if t0 > 0:
                edge = rng.integers(0, 4)
                if edge == 0: self.x, self.y, d = -0.3 * self.size, rng.uniform(0, H), (1, rng.normal(0, 0.3))
                elif edge == 1: self.x, self.y, d = W + 0.3 * self.size, rng.uniform(0, H), (-1, rng.normal(0, 0.3))
                elif edge == 2: self.x, self.y, d = rng.uniform(0, W), -0.3 * self.size, (rng.normal(0, 0.3), 1)
                else: self.x, self.y, d = rng.uniform(0, W), H + 0.3 * self.size, (rng.normal(0, 0.3), -1)
                n = np.hypot(*d)
                self.vx, self.vy = speed * d[0] / n, speed * d[1] / n
            else:
                self.x, self.y = rng.uniform(0.15 * W, 0.85 * W), rng.uniform(0.15 * H, 0.85 * H)
                a = rng.uniform(0, 2 * np.pi)
                self.vx, self.vy = speed * np.cos(a), speed * np.sin(a)
        else:
            self.x, self.y = W / 2 + rng.normal(0, 0.05 * W), H / 2 + rng.normal(0, 0.05 * H)
            self.vx = self.vy = self.omega = self.scale_rate = 0.0
            fast = float(rng.uniform(0.012, 0.025)) * W
            if motion == 'moving_left': self.vx, self.x = -fast, 0.75 * W
            elif motion == 'moving_right': self.vx, self.x = fast, 0.25 * W
            elif motion == 'moving_up': self.vy, self.y = -fast * H / W, 0.72 * H
            elif motion == 'moving_down': self.vy, self.y = fast * H / W, 0.28 * H
            elif motion == 'growing': self.scale_rate, self.size = float(rng.uniform(0.025, 0.04)), self.size * 0.6
            elif motion == 'shrinking': self.scale_rate = -float(rng.uniform(0.02, 0.03))
            elif motion == 'rotating': self.omega = float(rng.choice([-1, 1]) * rng.uniform(0.12, 0.25))
            if cat == 4 and motion == 'rotating': self.cat = cat = 1  # a figure does not spin: use a square
        self.cat = cat

    def state(self, t):
        dt = t - self.t0
        s = self.size * np.exp(self.scale_rate * dt)
        return self.x + self.vx * dt, self.y + self.vy * dt, s, self.angle + self.omega * dt

    def render(self, t, W, H):
        """(mask patch, x0, y0, keypoints or None) in frame pixels; None when off-frame."""
        cx, cy, s, ang = self.state(t)
        kp = None
        if self.cat == 4:
            kp = figure_keypoints(cx, cy, s, 0.15 * np.sin(0.05 * t + self.phase), self.phase + 0.35 * t)
            xs = [p[0] for p in kp.values()]
            ys = [p[1] for p in kp.values()]
            pad = 0.08 * s
            bx0, by0, bx1, by1 = min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad
        else:
            r = s * max(self.aspect, 1 / self.aspect) * 0.75
            bx0, by0, bx1, by1 = cx - r, cy - r, cx + r, cy + r
        x0, y0 = max(0, int(np.floor(bx0))), max(0, int(np.floor(by0)))
        x1, y1 = min(W, int(np.ceil(bx1)) + 1), min(H, int(np.ceil(by1)) + 1)
        if x1 <= x0 or y1 <= y0:
            return None, 0, 0, kp
        X, Y = grid(x0, y0, x1, y1)
        if self.cat == 1:
            hw, hh = 0.5 * s * self.aspect, 0.5 * s / self.aspect
            m = convex_polygon(rot([(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)], (cx, cy), ang), X, Y)
        elif self.cat == 2:
            a, b = 0.5 * s * self.aspect, 0.5 * s / self.aspect
            ca, sa = np.cos(ang), np.sin(ang)
            u, v = (X - cx) * ca + (Y - cy) * sa, -(X - cx) * sa + (Y - cy) * ca
            m = (u / a) ** 2 + (v / b) ** 2 <= 1
        elif self.cat == 3:
            r = 0.6 * s
            corners = [k * 2 * np.pi / 3 - np.pi / 2 for k in range(3)]
            m = convex_polygon(rot([(r * np.cos(c), r * np.sin(c)) for c in corners], (cx, cy), ang), X, Y)
        else:
            m = figure_mask(kp, s, X, Y)
        return m, x0, y0, kp


# ---------------------------------------------------------------- ground-truth encodings

def coco_rle(mask):
    """Uncompressed COCO RLE of a full-frame bool mask: column-major runs, starting with 0s."""
    flat = mask.flatten(order='F').astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0] + counts
    return {'size': [int(mask.shape[0]), int(mask.shape[1])], 'counts': [int(c) for c in counts]}


def label_map_rle(labels):
    """Row-major multi-class RLE, the `label_map` form of a `segment` record (docs/result-schema.md)."""
    flat = labels.reshape(-1)
    change = np.flatnonzero(np.diff(flat)) + 1
    starts = np.concatenate([[0], change])
    counts = np.diff(np.concatenate([starts, [flat.size]]))
    H, W = labels.shape
    return {'format': 'rle', 'size': [int(H), int(W)], 'order': 'row_major',
            'values': [int(v) for v in flat[starts]], 'counts': [int(c) for c in counts]}


# ---------------------------------------------------------------- background and camera

def smooth_noise(rng, h, w, scale):
    small = rng.uniform(0, 1, (h // scale + 2, w // scale + 2, 3))
    ys = np.linspace(0, small.shape[0] - 1.001, h)
    xs = np.linspace(0, small.shape[1] - 1.001, w)
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    a = small[y0][:, x0]
    b = small[y0][:, x0 + 1]
    c = small[y0 + 1][:, x0]
    d = small[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def box_blur(img):
    p = np.pad(img, ((1, 1), (1, 1), (0, 0)), mode='edge')
    out = np.zeros_like(img)
    for dy in range(3):
        for dx in range(3):
            out += p[dy:dy + img.shape[0], dx:dx + img.shape[1]]
    return out / 9


# ---------------------------------------------------------------- one video

def make_video(rng, name, kind, W, H, fps, frames, motion=None, n_objects=5):
    if kind == 'scene':
        objs = []
        for i in range(n_objects):
            cat = int(rng.integers(1, 5)) if i >= 4 else i + 1  # every class at least once
            if rng.random() < 0.5:
                t0 = 0
            else:
                t0 = int(rng.integers(1, max(2, frames // 2)))
            t1 = frames if rng.random() < 0.6 else int(rng.integers(t0 + frames // 4, frames + 1))
            objs.append(Obj(rng, cat, W, H, t0, t1))
        objs = [objs[i] for i in rng.permutation(len(objs))]  # depth order (and track ids) random
        drift = rng.normal(0, 0.8, 2)
    else:
        objs = [Obj(rng, int(rng.integers(1, 5)), W, H, 0, frames, motion=motion)]
        drift = rng.normal(0, 0.15, 2)
    bg_h, bg_w = H + 80, W + 80
    bg = 60 + 120 * smooth_noise(rng, bg_h, bg_w, 24) + 30 * smooth_noise(rng, bg_h, bg_w, 5)
    blur = bool(rng.random() < 0.5)
    noise_sigma = float(rng.uniform(2, 7))
    images, annotations = [], []
    rgb = []
    ann_id = 1
    for t in range(frames):
        ox = int(np.clip(40 + drift[0] * t, 0, 80))
        oy = int(np.clip(40 + drift[1] * t, 0, 80))
        img = bg[oy:oy + H, ox:ox + W].copy()
        owner = np.zeros((H, W), np.int32)  # 1-based index of the object on top, 0 background
        rendered = []
        for k, o in enumerate(objs):  # list order is depth order: later ones occlude earlier ones
            if not (o.t0 <= t < o.t1):
                rendered.append(None)
                continue
            m, x0, y0, kp = o.render(t, W, H)
            rendered.append((m, x0, y0, kp))
            if m is None:
                continue
            sub = owner[y0:y0 + m.shape[0], x0:x0 + m.shape[1]]
            sub[m] = k + 1
            gx = np.arange(x0, x0 + m.shape[1])[None, :]
            gy = np.arange(y0, y0 + m.shape[0])[:, None]
            tex = o.tex * np.sin(0.3 * (gx + 0.7 * gy))
            patch = img[y0:y0 + m.shape[0], x0:x0 + m.shape[1]]
            patch[m] = (o.color[None, :] + tex[..., None])[m]
        semantic = np.zeros((H, W), np.uint8)
        for k, o in enumerate(objs):
            semantic[owner == k + 1] = o.cat
        image_id = t + 1
        images.append({'id': image_id, 'stream_id': name, 'frame_index': t,
                       'width': W, 'height': H, 'label_map': label_map_rle(semantic)})
        for k, o in enumerate(objs):
            r = rendered[k]
            if r is None or r[0] is None:
                continue
            vis = owner == k + 1
            area = int(vis.sum())
            if area < MIN_VISIBLE_PIXELS:
                continue
            ys, xs = np.nonzero(vis)
            x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
            a = {'id': ann_id, 'image_id': image_id, 'category_id': o.cat, 'bbox': [x0, y0, x1 - x0, y1 - y0],
                 'area': area, 'iscrowd': 0, 'segmentation': coco_rle(vis), 'track_id': k + 1}
            if o.cat == 4:
                kps, nvis = [], 0
                for kn in CATEGORIES[3]['keypoints']:
                    x, y = r[3][kn]
                    if not (0 <= x < W and 0 <= y < H):
                        kps += [0, 0, 0]
                        continue
                    top = owner[int(y), int(x)]
                    v = 2 if top in (0, k + 1) else 1
                    kps += [round(float(x), 2), round(float(y), 2), v]
                    nvis += 1
                a['keypoints'] = kps
                a['num_keypoints'] = nvis
            annotations.append(a)
            ann_id += 1
        if blur:
            img = box_blur(img)
        img = img + rng.normal(0, noise_sigma, img.shape)
        rgb.append(np.clip(img, 0, 255).astype(np.uint8))
    label = motion if kind == 'motion' else None
    gt = {'info': {'generator': 'tools/synth/generate.py', 'kind': kind, 'width': W, 'height': H, 'fps': fps,
                   'frames': frames, 'blur': blur, 'noise_sigma': round(noise_sigma, 3)},
          'images': images, 'annotations': annotations, 'categories': CATEGORIES,
          'semantic_categories': SEMANTIC_CATEGORIES,
          'clips': [{'stream_id': name, 'frame_start': 0, 'frame_end': frames - 1, 'label': label}] if motion else []}
    return gt, rgb


def encode(path, frames, W, H, fps, crf, rotation_tag=0):
    """frames are W x H as displayed; with rotation_tag 90 they are stored turned 90 degrees clockwise (H x W) and
    tagged `rotate=90`, which ffmpeg's autorotate (5.1, measured) undoes by turning them counter-clockwise."""
    if rotation_tag == 90:
        frames = [np.ascontiguousarray(np.rot90(f, -1)) for f in frames]
        W, H = H, W
    cmd = ['ffmpeg', '-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24',
           '-s', f'{W}x{H}', '-r', str(fps), '-i', '-', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', str(crf),
           '-pix_fmt', 'yuv420p', '-g', str(2 * fps), '-bf', '0', '-threads', '1']
    tmp = path + '.untagged.mp4' if rotation_tag else path
    cmd.append(tmp)
    p = subprocess.run(cmd, input=b''.join(f.tobytes() for f in frames), capture_output=True)
    if p.returncode == 0 and rotation_tag:
        # ffmpeg writes the tag when remuxing (stream copy), not when encoding from raw frames
        p = subprocess.run(['ffmpeg', '-hide_banner', '-loglevel', 'error', '-y', '-i', tmp, '-c', 'copy',
                            '-metadata:s:v:0', f'rotate={rotation_tag}', path], capture_output=True)
        os.remove(tmp)
    if p.returncode != 0:
        sys.exit(f'ffmpeg failed for {path}: {p.stderr.decode(errors="replace").strip()}')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', required=True)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--split', choices=['train', 'heldout'], default='train')
    ap.add_argument('--scenes', type=int, default=2, help='multi-object scene videos')
    ap.add_argument('--motion', type=int, default=8, help='single-object motion-class videos (classes cycled)')
    ap.add_argument('--frames', type=int, default=48)
    ap.add_argument('--motion-frames', type=int, default=16)
    ap.add_argument('--objects', type=int, default=6, help='objects per scene video')
    ap.add_argument('--sizes', default='320x240@15,480x270@25', help='WxH@fps list, cycled over the videos')
    ap.add_argument('--crf', type=int, default=26)
    ap.add_argument('--rotate-tag', type=int, default=1,
                    help='the last N scene videos are stored turned and carry a 90-degree rotation tag')
    ap.add_argument('--no-encode', action='store_true', help='ground truth only, no .mp4')
    a = ap.parse_args(argv)
    sizes = []
    for s in a.sizes.split(','):
        wh, fps = s.split('@')
        w, h = wh.split('x')
        sizes.append((int(w), int(h), int(fps)))
    seed = a.seed + (HELDOUT_SEED_OFFSET if a.split == 'heldout' else 0)
    os.makedirs(os.path.join(a.out, 'ground-truth'), exist_ok=True)
    if not a.no_encode:
        os.makedirs(os.path.join(a.out, 'videos'), exist_ok=True)
    videos = []
    jobs = [('scene', None)] * a.scenes + [('motion', MOTION_CLASSES[i % len(MOTION_CLASSES)]) for i in range(a.motion)]
    for i, (kind, motion) in enumerate(jobs):
        rng = np.random.default_rng([seed, i])  # one stream per video: adding videos keeps earlier ones
        W, H, fps = sizes[i % len(sizes)]
        name = f'{a.split}-{seed}-{i:03d}-{kind}' + (f'-{motion}' if motion else '')
        n = a.frames if kind == 'scene' else a.motion_frames
        gt, rgb = make_video(rng, name, kind, W, H, fps, n, motion=motion, n_objects=a.objects)
        rotation = 90 if kind == 'scene' and i >= a.scenes - a.rotate_tag else 0
        gt['info']['rotation_tag'] = rotation  # the ground truth is in displayed (rotated) pixels
        with open(os.path.join(a.out, 'ground-truth', f'{name}.json'), 'w') as f:
            json.dump(gt, f, separators=(',', ':'))
        if not a.no_encode:
            encode(os.path.join(a.out, 'videos', f'{name}.mp4'), rgb, W, H, fps, a.crf, rotation)
        videos.append({'name': name, 'kind': kind, 'label': motion, 'width': W, 'height': H,
                       'fps': fps, 'frames': n, 'rotation_tag': rotation, 'annotations': len(gt['annotations'])})
        print(f'{name}: {W}x{H}@{fps}, {n} frames, {len(gt["annotations"])} annotations', file=sys.stderr)
    with open(os.path.join(a.out, 'manifest.json'), 'w') as f:
        json.dump({'generator': 'tools/synth/generate.py', 'seed': a.seed, 'split': a.split, 'effective_seed': seed,
                   'settings': vars(a), 'videos': videos}, f, indent=1)


if __name__ == '__main__':
    main()
