#!/usr/bin/env python3
"""Builds the committed tiny fixtures in test/fixtures/models/<name>/: a tiny model built from
torchvision's own classes (small widths), its ONNX export + manifest (export.py), and
PyTorch references in reference/ for the Node parity tests (test/parity/).

    python tools/export/make_fixtures.py [--only name,name] [--out test/fixtures/models]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)

import export as E  # noqa: E402
import refs as R  # noqa: E402
from torchvision.models import resnet as tv_resnet  # noqa: E402
from torchvision.models import mobilenet_v3_large, mobilenet_v3_small  # noqa: E402
from torchvision.models._utils import IntermediateLayerGetter  # noqa: E402
from torchvision.models.detection import FasterRCNN, KeypointRCNN, MaskRCNN, RetinaNet  # noqa: E402
from torchvision.models.detection.backbone_utils import BackboneWithFPN  # noqa: E402
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead  # noqa: E402
from torchvision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor  # noqa: E402
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor  # noqa: E402
from torchvision.models.detection.retinanet import RetinaNetHead  # noqa: E402
from torchvision.ops.feature_pyramid_network import LastLevelP6P7  # noqa: E402
from torchvision.models.quantization.resnet import QuantizableBasicBlock, QuantizableResNet  # noqa: E402
from torchvision.models.segmentation import FCN, DeepLabV3  # noqa: E402
from torchvision.models.segmentation.deeplabv3 import ASPP  # noqa: E402
from torchvision.models.segmentation.fcn import FCNHead  # noqa: E402
from torchvision.models.segmentation.lraspp import _lraspp_mobilenetv3  # noqa: E402
from torchvision.models.video import resnet as tv_vres  # noqa: E402

SEED = 0
WIDTHS = (8, 16, 32, 64)


# --- tiny builders: torchvision's classes with small widths ---------------------------------
def _narrow_resnet_init(self, block, layers, widths, num_classes, dilation):
    nn.Module.__init__(self)
    self._norm_layer = nn.BatchNorm2d
    self.inplanes, self.dilation, self.groups, self.base_width = widths[0], 1, 1, 64
    self.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
    self.bn1 = nn.BatchNorm2d(widths[0])
    self.relu = nn.ReLU(inplace=True)
    self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
    dil = dilation or [False, False, False]
    self.layer1 = self._make_layer(block, widths[0], layers[0])
    self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2, dilate=dil[0])
    self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2, dilate=dil[1])
    self.layer4 = self._make_layer(block, widths[3], layers[3], stride=2, dilate=dil[2])
    self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
    self.fc = nn.Linear(widths[3] * block.expansion, num_classes)
    for m in self.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')


class TinyResNet(tv_resnet.ResNet):
    """torchvision ResNet (BasicBlock, forward and _make_layer unchanged) with narrow widths."""

    def __init__(self, num_classes=1000, widths=WIDTHS, dilation=None):
        _narrow_resnet_init(self, tv_resnet.BasicBlock, [1, 1, 1, 1], widths, num_classes, dilation)


class TinyQuantizableResNet(QuantizableResNet):
    def __init__(self, num_classes=1000, widths=WIDTHS):
        _narrow_resnet_init(self, QuantizableBasicBlock, [1, 1, 1, 1], widths, num_classes, None)
        self.quant = torch.ao.quantization.QuantStub()
        self.dequant = torch.ao.quantization.DeQuantStub()


class TinyVideoResNet(tv_vres.VideoResNet):
    """torchvision VideoResNet with one block per stage and narrow widths."""

    def __init__(self, conv_makers, stem: str, num_classes=400, widths=WIDTHS):
        nn.Module.__init__(self)
        self.inplanes = widths[0]
        if stem == 'r2plus1d':
            mid = 12
            self.stem = nn.Sequential(
                nn.Conv3d(3, mid, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False), nn.BatchNorm3d(mid), nn.ReLU(inplace=True),
                nn.Conv3d(mid, widths[0], (3, 1, 1), (1, 1, 1), (1, 0, 0), bias=False), nn.BatchNorm3d(widths[0]),
                nn.ReLU(inplace=True))
        else:
            self.stem = nn.Sequential(nn.Conv3d(3, widths[0], (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
                                      nn.BatchNorm3d(widths[0]), nn.ReLU(inplace=True))
        blk = tv_vres.BasicBlock
        self.layer1 = self._make_layer(blk, conv_makers[0], widths[0], 1, stride=1)
        self.layer2 = self._make_layer(blk, conv_makers[1], widths[1], 1, stride=2)
        self.layer3 = self._make_layer(blk, conv_makers[2], widths[2], 1, stride=2)
        self.layer4 = self._make_layer(blk, conv_makers[3], widths[3], 1, stride=2)
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc = nn.Linear(widths[3], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')


def tiny_fpn(returned=('layer1', 'layer2', 'layer3', 'layer4'), extra=None):
    body = TinyResNet()
    chans = dict(zip(('layer1', 'layer2', 'layer3', 'layer4'), WIDTHS))
    return BackboneWithFPN(body, {k: str(i) for i, k in enumerate(returned)}, [chans[k] for k in returned], 16,
                           extra_blocks=extra)


DET_KW = dict(min_size=128, max_size=160, rpn_pre_nms_top_n_test=200, rpn_post_nms_top_n_test=100)


def tiny_faster():
    return FasterRCNN(tiny_fpn(), num_classes=None, box_head=TwoMLPHead(16 * 7 * 7, 64), box_predictor=FastRCNNPredictor(64, 91),
                      box_detections_per_img=20, **DET_KW)


def tiny_mask():
    return MaskRCNN(tiny_fpn(), num_classes=None, box_head=TwoMLPHead(16 * 7 * 7, 64), box_predictor=FastRCNNPredictor(64, 91),
                    mask_head=MaskRCNNHeads(16, [16, 16], 1), mask_predictor=MaskRCNNPredictor(16, 16, 91),
                    box_detections_per_img=8, **DET_KW)


def tiny_keypoint():
    return KeypointRCNN(tiny_fpn(), num_classes=None, box_head=TwoMLPHead(16 * 7 * 7, 64), box_predictor=FastRCNNPredictor(64, 2),
                        keypoint_head=KeypointRCNNHeads(16, (16, 16, 16, 16)), keypoint_predictor=KeypointRCNNPredictor(16, 17),
                        box_detections_per_img=10, **DET_KW)


def tiny_retinanet():
    bb = tiny_fpn(('layer2', 'layer3', 'layer4'), LastLevelP6P7(16, 16))
    anchor_sizes = tuple((x, int(x * 2 ** (1.0 / 3)), int(x * 2 ** (2.0 / 3))) for x in [16, 32, 64, 128, 256])
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    ag = AnchorGenerator(anchor_sizes, ((0.5, 1.0, 2.0),) * len(anchor_sizes))
    return RetinaNet(bb, num_classes=91, anchor_generator=ag, head=RetinaNetHead(16, 9, 91), min_size=128, max_size=160,
                     detections_per_img=20, topk_candidates=200)


def tiny_fcn():
    body = IntermediateLayerGetter(TinyResNet(), {'layer4': 'out', 'layer3': 'aux'})
    return FCN(body, FCNHead(64, 21), FCNHead(32, 21))


def tiny_deeplabv3():
    body = IntermediateLayerGetter(TinyResNet(), {'layer4': 'out', 'layer3': 'aux'})
    head = nn.Sequential(ASPP(64, [12, 24, 36], out_channels=16), nn.Conv2d(16, 16, 3, padding=1, bias=False),
                         nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 21, 1))
    return DeepLabV3(body, head, FCNHead(32, 21))


def tiny_lraspp():
    return _lraspp_mobilenetv3(mobilenet_v3_large(width_mult=0.25, dilated=True), 21)


# name -> (family, builder, architecture it stands for, preset overrides, inputs, notes)
CLS_PRESET = {'resize': 256, 'crop': 224, 'mean': E.IMAGENET_MEAN, 'std': E.IMAGENET_STD}
SEG_PRESET = {'resize': 64, 'crop': None, 'mean': E.IMAGENET_MEAN, 'std': E.IMAGENET_STD}
VID_PRESET = {'resize_hw': [128, 171], 'crop': 112, 'clip': 16, 'mean': E.KINETICS_MEAN, 'std': E.KINETICS_STD}
CLS_IN = [('photo', 'cat.png', 160), ('photo', 'jockey-horse.jpg', 160)]
DET_IN = [('photo', 'highway-cars.jpg', 160), ('photo', 'girl-dog.jpg', 150)]
SEG_IN = [('photo', 'soccer.jpg', 160), ('photo', 'child-teddy.jpg', 160)]
VID_IN = [('clip', 0.2, 16), ('clip', 1.5, 16)]
COCO = {'set': 'coco-91', 'count': 91}
FIXTURES = {
    'tiny_resnet': ('classification', lambda: TinyResNet(), 'resnet18', CLS_PRESET, CLS_IN, {'set': 'imagenet-1k', 'count': 1000},
                    'torchvision ResNet(BasicBlock, [1,1,1,1]) with widths 8/16/32/64'),
    'tiny_mobilenet_v3_small': ('classification', lambda: mobilenet_v3_small(width_mult=0.25, num_classes=1000), 'mobilenet_v3_small',
                                CLS_PRESET, CLS_IN, {'set': 'imagenet-1k', 'count': 1000}, 'torchvision mobilenet_v3_small(width_mult=0.25)'),
    'tiny_quantized_resnet': ('quantized', lambda: TinyQuantizableResNet(), 'quantized_resnet18', CLS_PRESET, CLS_IN,
                              {'set': 'imagenet-1k', 'count': 1000}, 'torchvision QuantizableResNet(QuantizableBasicBlock, [1,1,1,1]) widths 8..64, eager INT8 (fbgemm) exported as QDQ'),
    'tiny_fcn': ('segmentation', tiny_fcn, 'fcn_resnet50', SEG_PRESET, SEG_IN, {'set': 'voc-21', 'count': 21},
                 'torchvision FCN over tiny ResNet (BasicBlock has no dilation: output stride 32), FCNHead main + aux'),
    'tiny_deeplabv3': ('segmentation', tiny_deeplabv3, 'deeplabv3_resnet50', SEG_PRESET, SEG_IN, {'set': 'voc-21', 'count': 21},
                       'torchvision DeepLabV3 over tiny ResNet (output stride 32), 16-channel ASPP head, FCNHead aux'),
    'tiny_lraspp': ('segmentation', tiny_lraspp, 'lraspp_mobilenet_v3_large', SEG_PRESET, SEG_IN, {'set': 'voc-21', 'count': 21},
                    'torchvision LR-ASPP over mobilenet_v3_large(width_mult=0.25, dilated=True)'),
    'tiny_fasterrcnn': ('detection', tiny_faster, 'fasterrcnn_resnet50_fpn', {}, DET_IN, COCO,
                        'torchvision FasterRCNN over BackboneWithFPN(tiny ResNet, 16 ch), min_size 128 / max_size 160'),
    'tiny_fasterrcnn_b2': ('detection', tiny_faster, 'fasterrcnn_resnet50_fpn', {'batch': 2}, DET_IN, COCO,
                           'same tiny Faster R-CNN exported with a fixed batch of 2 images (image_0, image_1)'),
    'tiny_retinanet': ('detection', tiny_retinanet, 'retinanet_resnet50_fpn', {}, DET_IN, COCO,
                       'torchvision RetinaNet over BackboneWithFPN(tiny ResNet layer2-4 + P6P7, 16 ch)'),
    'tiny_maskrcnn': ('detection', tiny_mask, 'maskrcnn_resnet50_fpn', {}, DET_IN, COCO,
                      'torchvision MaskRCNN over BackboneWithFPN(tiny ResNet, 16 ch), at most 8 detections'),
    'tiny_keypointrcnn': ('detection', tiny_keypoint, 'keypointrcnn_resnet50_fpn', {}, DET_IN,
                          {'set': 'custom', 'file': 'labels.txt', 'count': 2, 'write': ['no person', 'person']},
                          'torchvision KeypointRCNN over BackboneWithFPN(tiny ResNet, 16 ch), 17 keypoints, 2 classes'),
    'tiny_r3d_18': ('video', lambda: TinyVideoResNet([tv_vres.Conv3DSimple] * 4, 'basic'), 'r3d_18', VID_PRESET, VID_IN,
                    {'set': 'kinetics-400', 'count': 400}, 'torchvision VideoResNet Conv3DSimple x4, one block per stage, widths 8..64'),
    'tiny_mc3_18': ('video', lambda: TinyVideoResNet([tv_vres.Conv3DSimple] + [tv_vres.Conv3DNoTemporal] * 3, 'basic'), 'mc3_18',
                    VID_PRESET, VID_IN, {'set': 'kinetics-400', 'count': 400}, 'torchvision VideoResNet mixed convolutions, widths 8..64'),
    'tiny_r2plus1d_18': ('video', lambda: TinyVideoResNet([tv_vres.Conv2Plus1D] * 4, 'r2plus1d'), 'r2plus1d_18', VID_PRESET, VID_IN,
                         {'set': 'kinetics-400', 'count': 400}, 'torchvision VideoResNet (2+1)D convolutions, widths 8..64'),
}


def load_input(spec):
    kind, src, size = spec
    if kind == 'clip':
        return R.load_clip(src, frames=size)
    return R.load_photo(src, size)


def make(name: str, out_root: str, log=print) -> dict:
    family, builder, arch, preset, inputs, labels, desc = FIXTURES[name]
    d = os.path.join(out_root, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, 'reference'))
    torch.manual_seed(SEED)
    model = builder().eval()
    backend = 'fbgemm'
    b = E.Built(arch=f'{arch} (tiny: {desc})', family=family, model=model, weights_name=f'tiny-random-seed-{SEED}',
                preset={k: v for k, v in preset.items() if k != 'batch'}, labels=dict(labels),
                extra={'backend': backend, 'prequantized': False})
    batch = preset.get('batch', 1)
    det_size = (120, 160)
    testability = E.make_testable(b, SEED, det_size=det_size)
    onnx_path = os.path.join(d, f'{name}.onnx')
    if family == 'quantized':
        io = E.export_quantized(b, onnx_path, E.DEFAULT_OPSET, SEED, log)
        torch.backends.quantized.engine = backend
    elif family == 'detection':
        g = torch.Generator().manual_seed(7)
        ex = [E.smooth_noise(1, 3, 120 - 8 * i, 160 - 12 * i, g)[0] for i in range(batch)]
        io = E.export_onnx(b, onnx_path, E.DEFAULT_OPSET, batch, example=ex)
    elif family == 'segmentation':
        io = E.export_onnx(b, onnx_path, E.DEFAULT_OPSET, example=torch.randn(1, 3, 64, 85))
    else:
        io = E.export_onnx(b, onnx_path, E.DEFAULT_OPSET)
    E.write_labels_if_custom(b, d)
    man = E.manifest_for(b, name, f'{name}.onnx', io, E.DEFAULT_OPSET, batch, testability)
    man['provenance']['architecture'] = arch
    man['provenance']['tiny_variant'] = desc
    man['provenance']['generated_by'] = 'python tools/export/make_fixtures.py'
    R.write_json(os.path.join(d, f'{name}.manifest.json'), man)
    lab_names = R.read_labels(os.path.join(d, f'{name}.manifest.json'), man, REPO)

    # references
    ref = os.path.join(d, 'reference')
    raws = [load_input(s) for s in inputs]
    pre = []
    for k, (raw, spec) in enumerate(zip(raws, inputs)):
        raw.tofile(os.path.join(ref, f'input_{k}.rgb'))
        meta = {'width': int(raw.shape[-2]), 'height': int(raw.shape[-3]), 'format': 'rgb24 (uint8 RGB, HWC, row-major)'}
        if spec[0] == 'clip':
            meta.update(frames=int(raw.shape[0]), source='shared/media/videos/asl-walk.mkv', start_s=spec[1],
                        decoded='ffmpeg -ss START -i asl-walk.mkv -frames:v 16 -vf scale=160:120:flags=bicubic -pix_fmt rgb24',
                        format='rgb24 frames (uint8 RGB, THWC)')
        else:
            meta.update(source=f'shared/media/photos/{spec[1]}', downscaled=f'PIL Lanczos to width {spec[2]}')
        R.write_json(os.path.join(ref, f'input_{k}.json'), meta)
        t = R.preprocess(family, b.preset, raw)
        pre.append(t)
        pm = R.save_bin(os.path.join(ref, f'preprocessed_{k}.bin'), t.numpy().astype(np.float32))
        R.write_json(os.path.join(ref, f'preprocessed_{k}.json'), {**pm, 'preprocessing': preprocessing_desc(family, b.preset)})
    roles = E.DETECTION_OUTPUTS[E.detection_kind(b.model)] if family == 'detection' else None
    runs, expected = [], []
    groups = [list(range(len(pre)))] if batch > 1 else [[k] for k in range(len(pre))]
    for r, grp in enumerate(groups):
        feeds = [pre[k] for k in grp]
        outs = R.torch_outputs(family, b.model, feeds, roles)
        feed_meta = {}
        for i, k in enumerate(grp):
            pm = {'file': f'preprocessed_{k}.bin', 'dims': list(pre[k].shape), 'type': 'float32'}
            feed_meta[io['inputs'][i]] = pm
        out_meta = {}
        for oname, arr in outs.items():
            out_meta[oname] = R.save_bin(os.path.join(ref, f'output_{r}_{oname}.bin'), arr)
        runs.append({'inputs': grp, 'feeds': feed_meta, 'outputs': out_meta})
        expected.append(decode(family, outs, lab_names, ref, r, len(grp) if batch > 1 else 1))
    tol = dict(TOLERANCE[family])
    if family == 'quantized':
        tol['output_scale'] = float(b.model.fc.scale)  # one quantization step of the logits
    R.write_json(os.path.join(ref, 'runs.json'), {'name': name, 'family': family, 'runs': runs, 'tolerance': tol})
    R.write_json(os.path.join(ref, 'expected.json'), {'name': name, 'family': family, 'runs': expected})
    size = os.path.getsize(onnx_path)
    log(f'{name}: {size / 1e6:.2f} MB onnx, calibration {testability}')
    return {'name': name, 'onnx_bytes': size}


TOLERANCE = {
    'classification': {'max_abs': 1e-4},
    'segmentation': {'max_abs': 1e-4},
    'video': {'max_abs': 1e-4},
    'quantized': {'max_abs_output_steps': 4, 'note': 'INT8: onnxruntime QDQ vs PyTorch fbgemm kernels; compared in output quantization steps'},
    'detection': {'box_abs': 1e-3, 'score_abs': 1e-4, 'keypoint_abs': 1e-2, 'mask_iou_min': 0.98, 'min_matched_fraction': 1.0},
}


def preprocessing_desc(family, p):
    if family in ('classification', 'quantized'):
        return f'torchvision.transforms._presets.ImageClassification(crop_size={p["crop"]}, resize_size={p["resize"]}, antialias=True) on the uint8 CHW tensor, batched (N=1)'
    if family == 'segmentation':
        return f'torchvision.transforms._presets.SemanticSegmentation(resize_size={p["resize"]}, antialias=True) on the uint8 CHW tensor, batched'
    if family == 'video':
        return f'torchvision.transforms._presets.VideoClassification(crop_size=(112,112), resize_size=(128,171)) (antialias=False) on the uint8 TCHW clip, -> 1xCxTxHxW'
    return 'uint8 HWC -> float32 CHW / 255 (normalization and resize are in the graph)'


def decode(family, outs, labels, ref, r, batch):
    if family in ('classification', 'quantized', 'video'):
        return R.softmax_topk(outs['logits'][0], labels)
    if family == 'segmentation':
        amap = outs['out'][0].argmax(0).astype(np.uint8)
        m = R.save_bin(os.path.join(ref, f'argmax_{r}.bin'), amap)
        hist = np.bincount(amap.reshape(-1), minlength=len(labels))
        return {'argmax': m, 'class_pixels': {labels[i]: int(c) for i, c in enumerate(hist) if c}}
    res = []
    for i in range(batch):
        sfx = '' if batch == 1 else f'_{i}'
        dec = R.decode_detection(outs, sfx, labels)
        if 'masks' + sfx in outs:
            m = R.save_bin(os.path.join(ref, f'masks_{r}{sfx}.bin'), (outs['masks' + sfx] >= 0.5).astype(np.uint8))
            dec['masks_thresholded'] = m
        res.append(dec)
    return {'images': res}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--only', default='')
    ap.add_argument('--out', default=os.path.join(REPO, 'test', 'fixtures', 'models'))
    a = ap.parse_args()
    torch.set_num_threads(2)
    names = [n for n in FIXTURES if not a.only or n in a.only.split(',')]
    for n in names:
        make(n, a.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
