"""Shared pieces of the synthetic-data detector scripts (train_detector.py, export_detector.py,
reference_eval_detector.py, and the Mask R-CNN ones: train_mask_rcnn.py, export_mask_rcnn.py,
reference_eval_masks.py): the model (torchvision's own FasterRCNN class on a narrow
MobileNetV3-Small FPN backbone), the ffmpeg decode the pipeline uses, and the ground-truth reader."""
from __future__ import annotations

import json
import os
import subprocess
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
from torchvision.models import mobilenet_v3_small
from torchvision.models.detection import FasterRCNN, MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.ops import MultiScaleRoIAlign

# index = the model's label id (0 = background), as generate.py's category ids
LABELS = ['background', 'square', 'disc', 'triangle', 'person']


def _detector_parts(width: float, fpn_channels: int, head_dim: int):
    """The backbone (MobileNetV3-Small at `width`, FPN on the stride-8 and stride-16 stages + max-pool
    level), anchors, box RoI pool and box head shared by build_model and build_mask_model."""
    features = mobilenet_v3_small(weights=None, width_mult=width).features
    # the last layer of each output stride: probe with a dummy input
    x = torch.zeros(1, 3, 64, 64)
    last_at: dict[int, tuple[int, int]] = {}
    with torch.no_grad():
        for i, layer in enumerate(features):
            x = layer(x)
            last_at[64 // x.shape[-1]] = (i, x.shape[1])
    return_layers = OrderedDict()
    in_channels = []
    for k, stride in enumerate((8, 16)):
        i, c = last_at[stride]
        return_layers[str(i)] = str(k)
        in_channels.append(c)
    trunk = nn.Sequential(*list(features)[: max(int(i) for i in return_layers) + 1])
    backbone = BackboneWithFPN(trunk, return_layers, in_channels, fpn_channels)
    anchors = AnchorGenerator(sizes=((16, 32), (48, 64), (96, 128)), aspect_ratios=((0.5, 1.0, 2.0),) * 3)
    roi_pool = MultiScaleRoIAlign(featmap_names=['0', '1'], output_size=7, sampling_ratio=2)
    return dict(backbone=backbone, rpn_anchor_generator=anchors, box_roi_pool=roi_pool,
                box_head=TwoMLPHead(fpn_channels * 7 * 7, head_dim),
                box_predictor=FastRCNNPredictor(head_dim, len(LABELS)))


def _test_time(min_size: int, max_size: int, box_score_thresh: float) -> dict:
    return dict(num_classes=None, min_size=min_size, max_size=max_size, rpn_pre_nms_top_n_test=150,
                rpn_post_nms_top_n_test=150, rpn_score_thresh=0.05, box_score_thresh=box_score_thresh,
                box_detections_per_img=100)


def build_model(width: float = 0.5, fpn_channels: int = 64, head_dim: int = 128, min_size: int = 320,
                max_size: int = 640, box_score_thresh: float = 0.05) -> FasterRCNN:
    """Faster R-CNN (torchvision.models.detection.FasterRCNN) with the settings of torchvision's
    fasterrcnn_mobilenet_v3_large_320_fpn (min_size 320, max_size 640, 150 RPN proposals at test
    time, RPN score threshold 0.05) on a narrower backbone: MobileNetV3-Small features at
    `width` with an FPN on the stride-8 and stride-16 stages (+ max-pool level), a two-layer MLP
    box head of `head_dim`. No pretrained weights (weights=None)."""
    return FasterRCNN(**_detector_parts(width, fpn_channels, head_dim),
                      **_test_time(min_size, max_size, box_score_thresh))


def build_mask_model(width: float = 0.5, fpn_channels: int = 64, head_dim: int = 128, mask_dim: int = 32,
                     mask_layers: int = 2, min_size: int = 320, max_size: int = 640,
                     box_score_thresh: float = 0.05) -> MaskRCNN:
    """Mask R-CNN (torchvision.models.detection.MaskRCNN) on the same backbone, RPN and box head as
    build_model (so a train_detector.py state dict loads into it), with a small mask head: 14x14
    RoIAlign on the two FPN levels, `mask_layers` 3x3 convolutions of `mask_dim` channels, the
    transposed convolution to 28x28 and per-class mask logits."""
    return MaskRCNN(**_detector_parts(width, fpn_channels, head_dim),
                    mask_roi_pool=MultiScaleRoIAlign(featmap_names=['0', '1'], output_size=14, sampling_ratio=2),
                    mask_head=MaskRCNNHeads(fpn_channels, [mask_dim] * mask_layers, dilation=1),
                    mask_predictor=MaskRCNNPredictor(mask_dim, mask_dim, len(LABELS)),
                    **_test_time(min_size, max_size, box_score_thresh))


def decode_video(path: str) -> np.ndarray:
    """All frames as [N, H, W, 3] uint8 RGB, decoded as vidflow's file source does (ffmpeg's
    autorotation, `format=rgb24` filter, rawvideo rgb24, -vsync passthrough)."""
    probe = subprocess.run(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-show_entries',
                            'stream=width,height:stream_side_data=rotation', '-of', 'json', path],
                           check=True, capture_output=True, text=True)
    s = json.loads(probe.stdout)['streams'][0]
    w, h = s['width'], s['height']
    rot = next((int(sd.get('rotation', 0)) for sd in s.get('side_data_list', []) if 'rotation' in sd), 0)
    if rot % 180:
        w, h = h, w
    raw = subprocess.run(['ffmpeg', '-hide_banner', '-nostdin', '-loglevel', 'error', '-i', path, '-map', '0:v:0',
                          '-an', '-vsync', 'passthrough', '-vf', 'format=rgb24', '-pix_fmt', 'rgb24', '-f', 'rawvideo',
                          'pipe:1'], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def load_split(data_dir: str):
    """Yields (name, frames [N,H,W,3], gt doc) for every video of a generate.py output folder."""
    names = sorted(os.path.splitext(f)[0] for f in os.listdir(os.path.join(data_dir, 'ground-truth')))
    for name in names:
        gt = json.load(open(os.path.join(data_dir, 'ground-truth', name + '.json')))
        frames = decode_video(os.path.join(data_dir, 'videos', name + '.mp4'))
        img = gt['images'][0]
        assert frames.shape[1:3] == (img['height'], img['width']), (name, frames.shape, img['width'], img['height'])
        assert frames.shape[0] == len(gt['images']), (name, frames.shape[0], len(gt['images']))
        yield name, frames, gt


def targets_by_frame(gt: dict) -> dict[int, tuple[int, np.ndarray, np.ndarray]]:
    """frame_index → (image id, boxes [K,4] xyxy, labels [K])."""
    per: dict[int, list] = {img['id']: [] for img in gt['images']}
    for a in gt['annotations']:
        per[a['image_id']].append(a)
    out = {}
    for img in gt['images']:
        anns = per[img['id']]
        boxes = np.array([[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2], a['bbox'][1] + a['bbox'][3]]
                          for a in anns], np.float32).reshape(-1, 4)
        labels = np.array([a['category_id'] for a in anns], np.int64)
        out[img['frame_index']] = (img['id'], boxes, labels)
    return out


def to_tensor(frame: np.ndarray) -> torch.Tensor:
    """HWC uint8 → CHW float in [0, 1] (the manifest's scale 1/255; normalization is in the graph)."""
    return torch.from_numpy(frame.copy()).permute(2, 0, 1).float() / 255.0


def load_trained(checkpoint: str, builder=build_model):
    """A checkpoint of train_detector.py / train_mask_rcnn.py → (the model `builder` makes from its
    settings with its weights, in eval mode; the checkpoint dict)."""
    ck = torch.load(checkpoint, map_location='cpu', weights_only=False)
    model = builder(**ck['settings'])
    model.load_state_dict(ck['state_dict'])
    model.eval()
    return model, ck
