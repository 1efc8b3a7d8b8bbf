#!/usr/bin/env python3
"""Export a torchvision model-zoo architecture to ONNX plus a vidflow model manifest.

    python tools/export/export.py <arch> --out models/<arch> [--random-seed N | --weights default]
                                  [--batch B] [--opset N]
    python tools/export/export.py [<arch>] --checkpoint model.pt --out models/<name> [--name <name>]

Writes <out>/<arch>.onnx and <out>/<arch>.manifest.json (schema: src/models/manifest.ts); with
--checkpoint (a model trained by tools/train/, its state dict plus how to build it, its labels and
its preprocessing) <out>/<name>.onnx, <out>/<name>.manifest.json and <out>/labels.txt.
See tools/export/README.md for the conventions. Needs torch + torchvision (tools/export/requirements.txt);
vidflow itself and its CI do not.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

try:
    import torch
    import torch.nn as nn
    import torchvision
except ModuleNotFoundError as e:  # one line instead of a traceback (vidflow's CLI checks this first)
    sys.exit(f"error[EXPORT_SETUP]: {sys.executable} has no {e.name}; run `npm run models:setup` once "
             "(makes .venv/ with torch and torchvision, about 4.9 GB; tools/export/README.md)")
from torchvision import models as tvm
from torchvision.models import detection as tvd
from torchvision.models import segmentation as tvs
from torchvision.models import video as tvv

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
KINETICS_MEAN = [0.43216, 0.394666, 0.37645]
KINETICS_STD = [0.22803, 0.22145, 0.216989]
SCALE = 1 / 255
DEFAULT_OPSET = 17

# ---------------------------------------------------------------------------------------------
# The architectures of the spec (shared/spec/torchvision-models.md)
# ---------------------------------------------------------------------------------------------
CLASSIFICATION = [
    'alexnet', 'vgg11', 'vgg11_bn', 'vgg13', 'vgg13_bn', 'vgg16', 'vgg16_bn', 'vgg19', 'vgg19_bn',
    'resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'squeezenet1_0', 'squeezenet1_1',
    'densenet121', 'densenet161', 'densenet169', 'densenet201', 'inception_v3', 'googlenet',
    'shufflenet_v2_x0_5', 'shufflenet_v2_x1_0', 'shufflenet_v2_x1_5', 'shufflenet_v2_x2_0',
    'mobilenet_v2', 'mobilenet_v3_large', 'mobilenet_v3_small', 'resnext50_32x4d', 'resnext101_32x8d',
    'wide_resnet50_2', 'wide_resnet101_2', 'mnasnet0_5', 'mnasnet0_75', 'mnasnet1_0', 'mnasnet1_3',
]
QUANTIZED = [
    'googlenet', 'inception_v3', 'mobilenet_v2', 'mobilenet_v3_large', 'resnet18', 'resnet50',
    'resnext101_32x8d', 'shufflenet_v2_x0_5', 'shufflenet_v2_x1_0', 'shufflenet_v2_x1_5', 'shufflenet_v2_x2_0',
]
SEGMENTATION = ['fcn_resnet50', 'fcn_resnet101', 'deeplabv3_resnet50', 'deeplabv3_resnet101',
                'deeplabv3_mobilenet_v3_large', 'lraspp_mobilenet_v3_large']
DETECTION = ['fasterrcnn_resnet50_fpn', 'fasterrcnn_mobilenet_v3_large_fpn', 'fasterrcnn_mobilenet_v3_large_320_fpn',
             'retinanet_resnet50_fpn', 'maskrcnn_resnet50_fpn', 'keypointrcnn_resnet50_fpn']
VIDEO = ['r3d_18', 'mc3_18', 'r2plus1d_18']


def all_archs() -> list[str]:
    return CLASSIFICATION + ['quantized_' + a for a in QUANTIZED] + SEGMENTATION + DETECTION + VIDEO


def family_of(arch: str) -> str:
    if arch.startswith('quantized_'):
        return 'quantized'
    if arch in CLASSIFICATION:
        return 'classification'
    if arch in SEGMENTATION:
        return 'segmentation'
    if arch in DETECTION:
        return 'detection'
    if arch in VIDEO:
        return 'video'
    raise SystemExit(f'unknown architecture {arch!r}; known: {", ".join(all_archs())}')


def detection_kind(model: nn.Module) -> str:
    if isinstance(model, tvd.RetinaNet):
        return 'retinanet'
    if isinstance(model, tvd.KeypointRCNN):
        return 'keypoint'
    if isinstance(model, tvd.MaskRCNN):
        return 'mask'
    return 'faster'


DETECTION_OUTPUTS = {
    'faster': ['boxes', 'labels', 'scores'],
    'retinanet': ['boxes', 'labels', 'scores'],
    'mask': ['boxes', 'labels', 'scores', 'masks'],
    'keypoint': ['boxes', 'labels', 'scores', 'keypoints', 'keypoints_scores'],
}
DETECTION_TASK = {'faster': 'detection', 'retinanet': 'detection', 'mask': 'instance_segmentation',
                  'keypoint': 'keypoint_detection'}


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------
@dataclass
class Built:
    arch: str
    family: str             # classification | quantized | segmentation | detection | video
    model: nn.Module
    weights_name: str       # e.g. IMAGENET1K_V1 or random-seed-0
    preset: dict[str, Any]  # resize/crop/mean/std of the torchvision preset
    labels: dict[str, Any]  # manifest labels block (+ 'write': list of names for a custom file)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _weights_enum(arch: str, quantized: bool = False):
    name = ('quantized_' + arch) if quantized else arch
    return tvm.get_model_weights(name)


def classification_preset(arch: str, weights=None) -> dict[str, Any]:
    """Resize/crop of the torchvision preset. Random weights use the first (V1) weights' preset,
    which is the one the spec documents (inception_v3: 342 -> 299, everything else 256 -> 224)."""
    w = weights if weights is not None else list(_weights_enum(arch))[0]
    t = w.transforms()
    return {'resize': int(t.resize_size[0]), 'crop': int(t.crop_size[0]), 'mean': list(t.mean), 'std': list(t.std)}


def build(arch: str, weights: str | None, seed: int | None, num_classes: int | None = None) -> Built:
    fam = family_of(arch)
    if seed is not None:
        torch.manual_seed(seed)
    wname = f'random-seed-{seed}' if weights is None else None
    if fam == 'classification':
        w = _weights_enum(arch).DEFAULT if weights == 'default' else (_weights_enum(arch)[weights] if weights else None)
        kwargs: dict[str, Any] = {}
        if w is None and arch in ('googlenet', 'inception_v3'):
            # The pretrained graphs have transform_input=True and no aux heads; mirror that.
            kwargs = {'aux_logits': False, 'transform_input': True, 'init_weights': True}
        model = tvm.get_model(arch, weights=w, **kwargs)
        return Built(arch, fam, model, w.name if w else wname, classification_preset(arch, w),
                     {'set': 'imagenet-1k', 'count': 1000})
    if fam == 'quantized':
        base = arch[len('quantized_'):]
        qmod = tvm.quantization
        builder = getattr(qmod, base)
        if weights:
            qw = _weights_enum(base, quantized=True)
            w = qw.DEFAULT if weights == 'default' else qw[weights]
            model = builder(weights=w, quantize=True)
            return Built(arch, fam, model, w.name, classification_preset(base), {'set': 'imagenet-1k', 'count': 1000},
                         extra={'backend': w.meta.get('backend', 'fbgemm'), 'prequantized': True})
        kwargs = {'aux_logits': False, 'transform_input': True, 'init_weights': True} if base in ('googlenet', 'inception_v3') else {}
        model = builder(weights=None, quantize=False, **kwargs)  # float, quantizable; quantized after calibration
        backend = 'qnnpack' if base.startswith('mobilenet') else 'fbgemm'
        return Built(arch, fam, model, wname, classification_preset(base), {'set': 'imagenet-1k', 'count': 1000},
                     extra={'backend': backend, 'prequantized': False})
    if fam == 'segmentation':
        w = tvm.get_model_weights(arch).DEFAULT if weights == 'default' else (tvm.get_model_weights(arch)[weights] if weights else None)
        kwargs = {}
        if w is None:
            kwargs['weights_backbone'] = None
            if not arch.startswith('lraspp'):
                kwargs['aux_loss'] = True  # the pretrained checkpoints carry the aux head
        model = tvm.get_model(arch, weights=w, **kwargs)
        return Built(arch, fam, model, w.name if w else wname,
                     {'resize': 520, 'crop': None, 'mean': IMAGENET_MEAN, 'std': IMAGENET_STD},
                     {'set': 'voc-21', 'count': 21})
    if fam == 'detection':
        w = tvm.get_model_weights(arch).DEFAULT if weights == 'default' else (tvm.get_model_weights(arch)[weights] if weights else None)
        kwargs = {} if w else {'weights_backbone': None}
        model = tvm.get_model(arch, weights=w, **kwargs)
        if arch.startswith('keypointrcnn'):
            labels = {'set': 'custom', 'file': 'labels.txt', 'count': 2, 'write': ['no person', 'person']}
        else:
            labels = {'set': 'coco-91', 'count': 91}
        return Built(arch, fam, model, w.name if w else wname, {}, labels)
    if fam == 'video':
        w = tvm.get_model_weights(arch).DEFAULT if weights == 'default' else (tvm.get_model_weights(arch)[weights] if weights else None)
        model = tvm.get_model(arch, weights=w)
        return Built(arch, fam, model, w.name if w else wname,
                     {'resize_hw': [128, 171], 'crop': 112, 'clip': 16, 'mean': KINETICS_MEAN, 'std': KINETICS_STD},
                     {'set': 'kinetics-400', 'count': 400})
    raise AssertionError(fam)


# ---------------------------------------------------------------------------------------------
# Trained checkpoints (tools/train/): small versions of the architectures, trained weights
# ---------------------------------------------------------------------------------------------
CHECKPOINT_FORMAT = 'vidflow-checkpoint-1'


def build_small(arch: str, spec: dict[str, Any]) -> nn.Module:
    """A small version of `arch` from torchvision's own classes, as `spec` describes it (the same
    call for training and for export, so the state dict fits):
      lraspp_mobilenet_v3_large: {num_classes, backbone_width_mult}: torchvision's LR-ASPP composition
        (`_lraspp_mobilenetv3`, what `lraspp_mobilenet_v3_large` calls) over
        `mobilenet_v3_large(width_mult=backbone_width_mult, dilated=True)` (the builder has no width option)."""
    if arch == 'lraspp_mobilenet_v3_large':
        from torchvision.models.segmentation.lraspp import _lraspp_mobilenetv3
        backbone = tvm.mobilenet_v3_large(weights=None, width_mult=float(spec['backbone_width_mult']), dilated=True)
        return _lraspp_mobilenetv3(backbone, int(spec['num_classes']))
    if arch in VIDEO:
        return narrow_video_resnet(arch, spec)
    raise SystemExit(f'--checkpoint: no small build of {arch!r} (known: lraspp_mobilenet_v3_large, {", ".join(VIDEO)})')


def narrow_video_resnet(arch: str, spec: dict[str, Any]) -> nn.Module:
    """torchvision's VideoResNet with BasicBlock and the conv makers of `arch` (r3d_18: Conv3DSimple
    everywhere; mc3_18: Conv3DSimple then Conv3DNoTemporal; r2plus1d_18: Conv2Plus1D with its (2+1)D
    stem), but `spec['stem_channels']` stem channels and `spec['channels']` (4 widths) /
    `spec['blocks']` (4 counts) for layer1..4 instead of 64/128/256/512 and 2 blocks each;
    `spec['num_classes']` outputs. The layers are made by VideoResNet._make_layer and initialised as
    VideoResNet initialises them. Random initialisation."""
    from torchvision.models.video.resnet import (BasicBlock, Conv2Plus1D, Conv3DNoTemporal, Conv3DSimple,
                                                 VideoResNet)
    makers = {'r3d_18': [Conv3DSimple] * 4, 'mc3_18': [Conv3DSimple] + [Conv3DNoTemporal] * 3,
              'r2plus1d_18': [Conv2Plus1D] * 4}[arch]
    stem_c = int(spec['stem_channels'])
    widths = [int(c) for c in spec['channels']]
    blocks = [int(b) for b in spec['blocks']]
    if arch == 'r2plus1d_18':  # R2Plus1dStem: a (1,7,7) spatial conv to 45, a (3,1,1) temporal conv
        mid = max(1, stem_c * 45 // 64)
        stem = nn.Sequential(
            nn.Conv3d(3, mid, kernel_size=(1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
            nn.BatchNorm3d(mid), nn.ReLU(inplace=True),
            nn.Conv3d(mid, stem_c, kernel_size=(3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0), bias=False),
            nn.BatchNorm3d(stem_c), nn.ReLU(inplace=True))
    else:  # BasicStem with stem_c channels
        stem = nn.Sequential(
            nn.Conv3d(3, stem_c, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(stem_c), nn.ReLU(inplace=True))
    model = VideoResNet(BasicBlock, makers, [1, 1, 1, 1], lambda: stem, num_classes=int(spec['num_classes']))
    model.inplanes = stem_c
    for i, (c, n) in enumerate(zip(widths, blocks)):
        setattr(model, f'layer{i + 1}', model._make_layer(BasicBlock, makers[i], c, n, stride=1 if i == 0 else 2))
    model.fc = nn.Linear(widths[-1] * BasicBlock.expansion, int(spec['num_classes']))
    for m in model.modules():  # VideoResNet's own initialisation
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.constant_(m.bias, 0)
    return model


def load_checkpoint(path: str, arch: str | None) -> Built:
    """Builds the model a tools/train/ checkpoint describes and loads its state dict (strict)."""
    try:
        ck = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001 (missing file, not a torch file, unsafe pickle: one line)
        raise SystemExit(f'--checkpoint {path}: cannot load ({type(err).__name__}: {str(err).splitlines()[0]})')
    if not isinstance(ck, dict) or ck.get('format') != CHECKPOINT_FORMAT:
        raise SystemExit(f'--checkpoint {path}: format: expected {CHECKPOINT_FORMAT!r} (a tools/train/ checkpoint)')
    if arch and arch != ck['arch']:
        raise SystemExit(f'--checkpoint {path}: arch: the checkpoint is a {ck["arch"]}, not {arch}')
    fam = family_of(ck['arch'])
    model = build_small(ck['arch'], ck['model'])
    model.load_state_dict(ck['state_dict'])
    labels = list(ck['labels'])
    if len(labels) != int(ck['model']['num_classes']):
        raise SystemExit(f'--checkpoint {path}: labels: {len(labels)} names for {ck["model"]["num_classes"]} classes')
    b = Built(ck['arch'], fam, model.eval(), ck['weights_name'], dict(ck['preset']),
              {'set': 'custom', 'file': 'labels.txt', 'count': len(labels), 'write': labels})
    training = {k: v for k, v in ck.get('training', {}).items() if k not in ('history', 'data_videos')}
    if 'data_videos' in ck.get('training', {}):
        training['videos'] = len(ck['training']['data_videos'])
    import hashlib
    with open(path, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    b.extra['checkpoint'] = {'file': os.path.basename(path), 'sha256': digest, 'model': ck['model'], 'training': training}
    return b


# ---------------------------------------------------------------------------------------------
# Making random weights testable
# ---------------------------------------------------------------------------------------------
def smooth_noise(n: int, c: int, h: int, w: int, gen: torch.Generator) -> torch.Tensor:
    """The random calibration batch: images in [0,1] made of uniform random blocks at two scales
    (nearest-neighbour upsampled, so with hard edges and the full contrast range of photos).
    Measured: smooth (bilinear) noise has about half the contrast and few edges, so a net
    calibrated on it gives 5-100x larger outputs on real photos (RetinaNet scores then saturate
    at 1.0 and tie); with these blocks real photos land near the calibrated spread."""
    f = torch.nn.functional.interpolate
    coarse = f(torch.rand(n, c, max(2, h // 24), max(2, w // 24), generator=gen), size=(h, w), mode='nearest')
    fine = f(torch.rand(n, c, max(2, h // 6), max(2, w // 6), generator=gen), size=(h, w), mode='nearest')
    return (0.7 * coarse + 0.3 * fine).clamp(0, 1)


def calibrate_bn(model: nn.Module, run: Callable[[], Any]) -> int:
    """Recompute BatchNorm running statistics on one random batch (train mode, momentum=None,
    i.e. the exact batch statistics), leave every other module in eval mode."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    with torch.no_grad():
        run()
    for m in bns:
        m.momentum = 0.1
    model.eval()
    return len(bns)


def capture(module: nn.Module, run: Callable[[], Any]) -> torch.Tensor:
    outs: list[torch.Tensor] = []
    h = module.register_forward_hook(lambda _m, _i, o: outs.append(o.detach().reshape(-1)))
    try:
        with torch.no_grad():
            run()
    finally:
        h.remove()
    return torch.cat(outs) if outs else torch.zeros(0)


def rescale(modules: list[nn.Module], measure: Callable[[], torch.Tensor], std: float, mean: float | None) -> dict[str, float]:
    """Affinely rescale the output of head layers: y' = k*y + (mean - k*mu) so that the measured
    output has the given std (and mean). Multiple modules: their outputs are summed (LR-ASPP)."""
    y = measure()
    if y.numel() < 2:
        return {'skipped': 1.0}
    mu, sd = float(y.mean()), float(y.std())
    k = std / max(sd, 1e-12)
    with torch.no_grad():
        for m in modules:
            m.weight.mul_(k)
            if m.bias is not None:
                m.bias.mul_(k)
        if mean is not None and modules[0].bias is not None:
            modules[0].bias.add_(mean - k * mu)
    return {'std_before': round(sd, 6), 'k': round(k, 6)}


def last_of(model: nn.Module, types) -> nn.Module:
    found = [m for m in model.modules() if isinstance(m, types)]
    if not found:
        raise RuntimeError('no head layer found')
    return found[-1]


def make_testable(b: Built, seed: int, det_size: tuple[int, int] = (480, 640)) -> dict[str, Any]:
    """BN calibration + head rescaling so that random-weight parity is not vacuous."""
    gen = torch.Generator().manual_seed(seed + 1000)
    m = b.model
    info: dict[str, Any] = {}
    if b.family in ('classification', 'quantized'):
        s = b.preset.get('crop', 224)
        x = (smooth_noise(8, 3, s, s, gen) - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(IMAGENET_STD)[:, None, None]
        info['bn_layers'] = calibrate_bn(m, lambda: m(x))
        head = [l for l in m.modules() if isinstance(l, nn.Linear)]
        if head:
            info['logits'] = rescale([head[-1]], lambda: m(x).detach(), 1.5, 0.0)
        else:  # squeezenet: final 1x1 conv -> ReLU -> pool
            conv = last_of(m, nn.Conv2d)
            info['logits'] = rescale([conv], lambda: m(x).detach(), 1.5, None)
    elif b.family == 'segmentation':
        x = (smooth_noise(2, 3, 256, 320, gen) - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(IMAGENET_STD)[:, None, None]
        info['bn_layers'] = calibrate_bn(m, lambda: m(x))
        cls = m.classifier
        if hasattr(cls, 'low_classifier'):
            mods = [cls.low_classifier, cls.high_classifier]
        else:
            mods = [cls[-1]]
        info['out'] = rescale(mods, lambda: m(x)['out'].detach(), 1.5, 0.0)
        if getattr(m, 'aux_classifier', None) is not None:
            info['aux'] = rescale([m.aux_classifier[-1]], lambda: m(x)['aux'].detach(), 1.5, 0.0)
    elif b.family == 'video':
        t = b.preset.get('clip', 16)
        s = b.preset.get('crop', 112)
        x = smooth_noise(2 * t, 3, s, s, gen).reshape(2, t, 3, s, s).permute(0, 2, 1, 3, 4)
        x = (x - torch.tensor(KINETICS_MEAN)[:, None, None, None]) / torch.tensor(KINETICS_STD)[:, None, None, None]
        info['bn_layers'] = calibrate_bn(m, lambda: m(x))
        info['logits'] = rescale([m.fc], lambda: m(x).detach(), 1.5, 0.0)
    elif b.family == 'detection':
        h, w = det_size
        imgs = [smooth_noise(1, 3, h, w, gen)[0], smooth_noise(1, 3, w * 3 // 4, h, gen)[0]]
        run = lambda: m(imgs)  # noqa: E731
        info['bn_layers'] = calibrate_bn(m, run)
        kind = detection_kind(m)
        if kind == 'retinanet':
            info['cls_logits'] = rescale([m.head.classification_head.cls_logits], lambda: capture(m.head.classification_head.cls_logits, run), 1.0, -3.0)
            info['bbox_reg'] = rescale([m.head.regression_head.bbox_reg], lambda: capture(m.head.regression_head.bbox_reg, run), 0.2, 0.0)
        else:
            rpn = m.rpn.head
            info['rpn_cls'] = rescale([rpn.cls_logits], lambda: capture(rpn.cls_logits, run), 2.0, 0.0)
            info['rpn_bbox'] = rescale([rpn.bbox_pred], lambda: capture(rpn.bbox_pred, run), 0.3, 0.0)
            bp = m.roi_heads.box_predictor
            # 2 classes (Keypoint R-CNN): a smaller spread, or the top scores all sit at 1.0 and tie
            cls_std = 1.5 if bp.cls_score.out_features > 2 else 0.5
            info['cls_score'] = rescale([bp.cls_score], lambda: capture(bp.cls_score, run), cls_std, 0.0)
            info['bbox_pred'] = rescale([bp.bbox_pred], lambda: capture(bp.bbox_pred, run), 1.0, 0.0)
            if kind == 'mask':
                mp = m.roi_heads.mask_predictor.mask_fcn_logits
                info['mask_logits'] = rescale([mp], lambda: capture(mp, run), 2.0, 0.0)
            if kind == 'keypoint':
                kp = m.roi_heads.keypoint_predictor.kps_score_lowres
                info['keypoint_logits'] = rescale([kp], lambda: capture(kp, run), 2.0, 0.0)
        with torch.no_grad():
            info['detections_on_calibration'] = [int(o['boxes'].shape[0]) for o in m(imgs)]
    m.eval()
    return info


# ---------------------------------------------------------------------------------------------
# Quantization
# ---------------------------------------------------------------------------------------------
def quantize_eager(model: nn.Module, backend: str, calib: torch.Tensor) -> nn.Module:
    """What torchvision's quantize=True does (fuse, observe, convert), but observed on a real
    calibration batch instead of one random tensor."""
    torch.backends.quantized.engine = backend
    model.eval()
    model.fuse_model(is_qat=False)
    model.qconfig = torch.ao.quantization.get_default_qconfig(backend)
    torch.ao.quantization.prepare(model, inplace=True)
    with torch.no_grad():
        model(calib)
    torch.ao.quantization.convert(model, inplace=True)
    return model


def quantize_ort_qdq(float_onnx: str, out_onnx: str, input_name: str, calib: torch.Tensor) -> None:
    """ONNX-native INT8: static QDQ quantization with onnxruntime's quantizer."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{input_name: calib[i:i + 1].numpy()} for i in range(calib.shape[0])])

        def get_next(self):
            return next(self.items, None)

    quantize_static(float_onnx, out_onnx, Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True)


# ---------------------------------------------------------------------------------------------
# Detection export: the resize fix and the wrapper that names outputs
# ---------------------------------------------------------------------------------------------
from torchvision.models.detection import transform as _det_transform  # noqa: E402

_orig_resize = _det_transform._resize_image_and_masks


def _resize_image_and_masks_f64(image, self_min_size, self_max_size, target=None, fixed_size=None):
    """While tracing, compute the resized size in float64 with 1-d tensors, as eager PyTorch does
    with Python doubles (floor(side * min(min_size/short, max_size/long))), and pass `size=` to
    interpolate. The stock traced graph computes the scale in float32, which makes ~10 % of input
    sizes come out one pixel smaller than in eager mode."""
    if not torchvision._is_tracing() or fixed_size is not None or target is not None:
        return _orig_resize(image, self_min_size, self_max_size, target, fixed_size)
    hw = torch._shape_as_tensor(image)[-2:].to(torch.float64)  # 1-d [2]
    short = torch.amin(hw, dim=0, keepdim=True)
    long = torch.amax(hw, dim=0, keepdim=True)
    # Python scalars would become 0-d constants, which the exporter casts to float32: use 1-d float64.
    min_s = torch.tensor([float(self_min_size)], dtype=torch.float64)
    max_s = torch.tensor([float(self_max_size)], dtype=torch.float64)
    scale = torch.minimum(min_s / short, max_s / long)  # 1-d float64
    size = torch.floor(hw * scale).to(torch.int64)
    image = torch.nn.functional.interpolate(image[None], size=(size[0], size[1]), mode='bilinear', align_corners=False)[0]
    return image, target


@contextlib.contextmanager
def detection_resize_fix():
    _det_transform._resize_image_and_masks = _resize_image_and_masks_f64
    try:
        yield
    finally:
        _det_transform._resize_image_and_masks = _orig_resize


class DetectionWrapper(nn.Module):
    """Takes B images as separate arguments, returns the per-image outputs flattened in the
    fixed role order of DETECTION_OUTPUTS (RetinaNet's own dict order differs)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.roles = DETECTION_OUTPUTS[detection_kind(model)]

    def forward(self, *images):
        outs = self.model(list(images))
        flat = []
        for o in outs:
            for r in self.roles:
                flat.append(o[r])
        return tuple(flat)


class SegmentationWrapper(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.has_aux = getattr(model, 'aux_classifier', None) is not None

    def forward(self, x):
        o = self.model(x)
        return (o['out'], o['aux']) if self.has_aux else o['out']


def detection_names(kind: str, batch: int) -> tuple[list[str], list[str], dict[str, str]]:
    roles = DETECTION_OUTPUTS[kind]
    if batch == 1:
        return ['image'], list(roles), {r: r for r in roles}
    ins = [f'image_{i}' for i in range(batch)]
    outs = [f'{r}_{i}' for i in range(batch) for r in roles]
    return ins, outs, {r: f'{r}_{{i}}' for r in roles}


def export_onnx(b: Built, path: str, opset: int, batch: int = 1, example=None) -> dict[str, Any]:
    """Export with the TorchScript exporter (dynamo=False). Returns io names for the manifest."""
    try:
        return _export_onnx(b, path, opset, batch, example)
    finally:
        b.model.eval()  # the exporter restores the wrapper's mode; never leave the model in train mode


def _export_onnx(b: Built, path: str, opset: int, batch: int = 1, example=None) -> dict[str, Any]:
    m = b.model.eval()
    t0 = time.time()
    if b.family == 'detection':
        kind = detection_kind(m)
        ins, outs, roles = detection_names(kind, batch)
        if example is None:
            g = torch.Generator().manual_seed(7)
            example = [smooth_noise(1, 3, 480 - 40 * i, 640 - 32 * i, g)[0] for i in range(batch)]
        dyn: dict[str, dict[int, str]] = {}
        sfx = (lambda i: '') if batch == 1 else (lambda i: f'_{i}')
        for i, n in enumerate(ins):
            dyn[n] = {1: f'height{sfx(i) or "_0"}', 2: f'width{sfx(i) or "_0"}'}
        for i in range(batch):
            for r in DETECTION_OUTPUTS[kind]:
                dyn[f'{r}{sfx(i)}'] = {0: f'num_detections{sfx(i) or "_0"}'}
        with detection_resize_fix(), torch.no_grad():
            torch.onnx.export(DetectionWrapper(m).eval(), tuple(example), path, dynamo=False, opset_version=opset,
                              input_names=ins, output_names=outs, dynamic_axes=dyn, do_constant_folding=True)
        return {'inputs': ins, 'outputs': roles, 'seconds': time.time() - t0}
    if b.family == 'segmentation':
        w = SegmentationWrapper(m).eval()
        outs = ['out', 'aux'] if w.has_aux else ['out']
        if example is None:
            example = torch.randn(1, 3, 520, 693)
        dyn = {'input': {0: 'batch', 2: 'height', 3: 'width'}}
        for o in outs:
            dyn[o] = {0: 'batch', 2: 'height', 3: 'width'}
        with torch.no_grad():
            torch.onnx.export(w, (example,), path, dynamo=False, opset_version=opset, input_names=['input'],
                              output_names=outs, dynamic_axes=dyn, do_constant_folding=True)
        return {'inputs': ['input'], 'outputs': {o: o for o in outs}, 'seconds': time.time() - t0}
    if b.family == 'video':
        if example is None:
            example = torch.randn(1, 3, b.preset.get('clip', 16), b.preset.get('crop', 112), b.preset.get('crop', 112))
        with torch.no_grad():
            torch.onnx.export(m, (example,), path, dynamo=False, opset_version=opset, input_names=['input'],
                              output_names=['logits'], dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
                              do_constant_folding=True)
        return {'inputs': ['input'], 'outputs': {'logits': 'logits'}, 'seconds': time.time() - t0}
    # classification / quantized
    if example is None:
        s = b.preset.get('crop', 224)
        example = torch.randn(1, 3, s, s)
    with torch.no_grad():
        torch.onnx.export(m, (example,), path, dynamo=False, opset_version=opset, input_names=['input'],
                          output_names=['logits'], dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
                          do_constant_folding=True)
    return {'inputs': ['input'], 'outputs': {'logits': 'logits'}, 'seconds': time.time() - t0}


# ---------------------------------------------------------------------------------------------
# Manifest
# ---------------------------------------------------------------------------------------------
def manifest_for(b: Built, name: str, model_file: str, io: dict[str, Any], opset: int, batch: int,
                 testability: dict[str, Any] | None) -> dict[str, Any]:
    p = b.preset
    if b.family in ('classification', 'quantized'):
        task = 'classification'
        inp = {'names': io['inputs'], 'layout': 'NCHW', 'batch': 'dynamic', 'color': 'RGB',
               'resize': {'mode': 'shorter_side', 'size': p['resize']},
               'crop': {'width': p['crop'], 'height': p['crop']} if p.get('crop') else None,
               'scale': SCALE, 'mean': p['mean'], 'std': p['std'], 'interpolation': 'bilinear_antialias'}
        decoder = {'type': 'softmax_topk', 'outputs_are': 'logits'}
    elif b.family == 'segmentation':
        task = 'semantic_segmentation'
        inp = {'names': io['inputs'], 'layout': 'NCHW', 'batch': 'dynamic', 'color': 'RGB',
               'resize': {'mode': 'shorter_side', 'size': p['resize']}, 'crop': None,
               'scale': SCALE, 'mean': p['mean'], 'std': p['std'], 'interpolation': 'bilinear_antialias'}
        decoder = {'type': 'segmentation_argmax', 'outputs_are': 'logits'}
    elif b.family == 'video':
        task = 'video_classification'
        h, w = p['resize_hw']
        inp = {'names': io['inputs'], 'layout': 'NCTHW', 'batch': 'dynamic', 'color': 'RGB',
               'resize': {'mode': 'exact', 'width': w, 'height': h},
               'crop': {'width': p['crop'], 'height': p['crop']},
               'scale': SCALE, 'mean': p['mean'], 'std': p['std'], 'clip_length': p['clip'],
               # torchvision's VideoClassification preset resizes with antialias=False
               'interpolation': 'bilinear'}
        decoder = {'type': 'softmax_topk', 'outputs_are': 'logits'}
    else:
        kind = detection_kind(b.model)
        task = DETECTION_TASK[kind]
        inp = {'names': io['inputs'], 'layout': 'CHW', 'batch': batch, 'color': 'RGB', 'resize': {'mode': 'none'},
               'crop': None, 'scale': SCALE, 'mean': [0, 0, 0], 'std': [1, 1, 1], 'interpolation': 'bilinear'}
        decoder = {'type': 'torchvision_detection', 'outputs_are': 'probabilities', 'nms_in_graph': True,
                   'mask_threshold': 0.5}
    labels = {k: v for k, v in b.labels.items() if k != 'write'}
    labels.setdefault('format', 'plain')
    prov: dict[str, Any] = {
        'architecture': b.arch,
        'weights': b.weights_name,
        'source': f'torchvision {torchvision.__version__}',
        'exporter': 'torch.onnx.export(dynamo=False) (TorchScript exporter)',
        'torch': torch.__version__,
        'torchvision': torchvision.__version__,
        'opset': opset,
        'license': 'BSD-3-Clause (torchvision code); weights: see torchvision' if not b.weights_name.startswith(('random', 'tiny')) else 'random weights',
    }
    if b.family == 'detection':
        tr = b.model.transform
        prov['in_graph_preprocessing'] = {'normalize_mean': list(tr.image_mean), 'normalize_std': list(tr.image_std),
                                          'min_size': int(tr.min_size[0]), 'max_size': int(tr.max_size),
                                          'resize_fix': 'float64 size computation while tracing'}
        prov['batch'] = batch
    if b.family == 'quantized':
        prov['quantization'] = b.extra.get('quantization')
    if 'checkpoint' in b.extra:
        prov['license'] = 'BSD-3-Clause (torchvision code); weights trained by vidflow tools/train/ on synthetic data'
        prov['trained'] = b.extra['checkpoint']
    if testability:
        prov['random_weight_calibration'] = testability
    if b.notes:
        prov['notes'] = ' '.join(b.notes)
    man = {'manifest_version': 1, 'name': name, 'task': task, 'model_file': model_file, 'input': inp,
           'outputs': io['outputs'], 'decoder': decoder, 'labels': labels, 'provenance': prov}
    if task == 'keypoint_detection':
        pass  # keypoint names default to vidflow's labels/coco-keypoints-17.txt
    return man


def write_labels_if_custom(b: Built, out_dir: str) -> None:
    if 'write' in b.labels:
        with open(os.path.join(out_dir, b.labels['file']), 'w') as f:
            f.write('\n'.join(b.labels['write']) + '\n')


# ---------------------------------------------------------------------------------------------
# Full pipeline for one architecture
# ---------------------------------------------------------------------------------------------
def export_arch(arch: str, out_dir: str, weights: str | None, seed: int | None, batch: int = 1,
                opset: int = DEFAULT_OPSET, log=print, int8_method: str = 'auto') -> dict[str, Any]:
    os.makedirs(out_dir, exist_ok=True)
    if weights is None and seed is None:
        seed = 0
    b = build(arch, weights, seed)
    testability = None
    if weights is None:
        testability = make_testable(b, seed)
        log(f'{arch}: random weights calibrated: {json.dumps(testability)}')
    onnx_path = os.path.join(out_dir, f'{arch}.onnx')
    if b.family == 'quantized':
        io = export_quantized(b, onnx_path, opset, seed or 0, log, int8_method)
    else:
        if batch != 1 and b.family != 'detection':
            log(f'{arch}: --batch only applies to detection (fixed-batch export); batch stays dynamic')
        io = export_onnx(b, onnx_path, opset, batch if b.family == 'detection' else 1)
    write_labels_if_custom(b, out_dir)
    man = manifest_for(b, arch, f'{arch}.onnx', io, opset, batch if b.family == 'detection' else 1, testability)
    with open(os.path.join(out_dir, f'{arch}.manifest.json'), 'w') as f:
        json.dump(man, f, indent=2)
        f.write('\n')
    log(f'{arch}: wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.1f} MB) in {io["seconds"]:.1f} s')
    return {'built': b, 'manifest': man, 'onnx': onnx_path, 'io': io}


def export_checkpoint(path: str, arch: str | None, out_dir: str, name: str | None, opset: int = DEFAULT_OPSET,
                      log=print) -> dict[str, Any]:
    """Exports a tools/train/ checkpoint: <out>/<name>.onnx, <name>.manifest.json, labels.txt."""
    b = load_checkpoint(path, arch)
    name = name or b.extra['checkpoint']['training'].get('name') or b.arch
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, f'{name}.onnx')
    example = None
    if b.family == 'segmentation':
        example = torch.randn(1, 3, b.preset['resize'], b.preset['resize'] * 4 // 3)
    io = export_onnx(b, onnx_path, opset, 1, example)
    write_labels_if_custom(b, out_dir)
    man = manifest_for(b, name, f'{name}.onnx', io, opset, 1, None)
    with open(os.path.join(out_dir, f'{name}.manifest.json'), 'w') as f:
        json.dump(man, f, indent=2)
        f.write('\n')
    log(f'{name}: wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.2f} MB) in {io["seconds"]:.1f} s')
    return {'built': b, 'manifest': man, 'onnx': onnx_path, 'io': io}


def export_quantized(b: Built, onnx_path: str, opset: int, seed: int, log, method: str = 'auto') -> dict[str, Any]:
    """INT8: PyTorch eager quantization exported as a QDQ graph; if PyTorch's quantized ops do
    not export, quantize the float ONNX with onnxruntime (QDQ) instead and record why."""
    s = b.preset['crop']
    gen = torch.Generator().manual_seed(seed + 2000)
    calib = (smooth_noise(8, 3, s, s, gen) - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(IMAGENET_STD)[:, None, None]
    backend = b.extra['backend']
    float_model = None
    if not b.extra.get('prequantized'):
        import copy
        float_model = copy.deepcopy(b.model)
        quantize_eager(b.model, backend, calib)
    torch.backends.quantized.engine = backend
    t0 = time.time()
    try:
        if method == 'onnxruntime':
            raise RuntimeError('--int8-method onnxruntime asked for onnxruntime QDQ quantization')
        with torch.no_grad():
            torch.onnx.export(b.model, (calib[:1],), onnx_path, dynamo=False, opset_version=opset,
                              input_names=['input'], output_names=['logits'],
                              dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
        import onnxruntime as ort  # verify onnxruntime accepts the graph
        ort.InferenceSession(onnx_path, providers=['CPUExecutionProvider']).run(None, {'input': calib[:1].numpy()})
        b.extra['quantization'] = {'method': 'pytorch-eager', 'backend': backend, 'graph': 'QDQ (TorchScript exporter)'}
    except Exception as err:  # noqa: BLE001
        reason = f'{type(err).__name__}: {str(err).splitlines()[0][:300]}'
        log(f'{b.arch}: PyTorch quantized export failed ({reason}); using onnxruntime QDQ quantization')
        if float_model is None or method == 'pytorch':
            raise
        tmp = onnx_path + '.float.onnx'
        with torch.no_grad():
            torch.onnx.export(float_model.eval(), (calib[:1],), tmp, dynamo=False, opset_version=opset,
                              input_names=['input'], output_names=['logits'],
                              dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
        quantize_ort_qdq(tmp, onnx_path, 'input', calib)
        os.remove(tmp)
        b.model = float_model  # the PyTorch reference for this graph is the float model
        b.extra['quantization'] = {'method': 'onnxruntime-quantize_static', 'format': 'QDQ', 'activations': 'QUInt8',
                                   'weights': 'QInt8 per-channel', 'reason': reason}
    return {'inputs': ['input'], 'outputs': {'logits': 'logits'}, 'seconds': time.time() - t0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('arch', nargs='?', help='architecture (see --list); quantized builders are quantized_<arch>')
    ap.add_argument('--out', help='output folder (default models/<arch>)')
    g = ap.add_mutually_exclusive_group()
    g.add_argument('--random-seed', type=int, help='seeded random weights, calibrated to be testable')
    g.add_argument('--weights', help="'default' for torchvision's pretrained weights (downloads), or a weights enum name")
    g.add_argument('--checkpoint', help='a model trained by tools/train/ (.pt: state dict, build spec, labels, '
                   'preprocessing); <arch> may be omitted')
    ap.add_argument('--name', help='--checkpoint: model name, file names and manifest `name` (default: the checkpoint\'s)')
    ap.add_argument('--batch', type=int, default=1, help='detection: fixed number of images per run (inputs image_0..)')
    ap.add_argument('--opset', type=int, default=DEFAULT_OPSET)
    ap.add_argument('--int8-method', choices=['auto', 'pytorch', 'onnxruntime'], default='auto',
                    help='quantized_<arch>: PyTorch eager INT8 exported as QDQ (auto falls back to onnxruntime QDQ if that fails)')
    ap.add_argument('--list', action='store_true', help='list the architectures and exit')
    a = ap.parse_args(argv)
    if a.list:
        print('\n'.join(all_archs()))
        return 0
    if a.checkpoint:
        if a.batch != 1:
            ap.error('--batch does not apply to --checkpoint')
        out = a.out or os.path.join('models', a.name or a.arch or 'trained')
        export_checkpoint(a.checkpoint, a.arch, out, a.name, a.opset)
        return 0
    if not a.arch:
        ap.error('an architecture is required (see --list)')
    family_of(a.arch)
    out = a.out or os.path.join('models', a.arch)
    seed = a.random_seed if a.weights is None else None
    if a.weights is None and seed is None:
        seed = 0
    export_arch(a.arch, out, a.weights, seed, a.batch, a.opset, int8_method=a.int8_method)
    return 0


if __name__ == '__main__':
    sys.exit(main())
