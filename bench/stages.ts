/**
 * Per-frame cost of the pre/post-processing steps of the stages, on 640×360 frames (CPU, no
 * inference). Run: `node --import tsx bench/stages.ts [iterations]`. Prints a table (median and
 * p90 ms per frame); docs/stages.md records a run.
 */
import { from, lastValueFrom, toArray } from 'rxjs';
import type { Frame } from '../src/core/frame.js';
import { encodeGrayPng } from '../src/models/decoders/png.js';
import { encodeLabelMapRle, encodeMaskRle } from '../src/models/decoders/rle.js';
import { argmaxLabels, classFractions, labelMapToFrame } from '../src/models/decoders/segmentation.js';
import { nms } from '../src/models/decoders/nms.js';
import { decodeYolox, yoloxRows } from '../src/models/decoders/yolox.js';
import type { ModelInputSpec } from '../src/models/manifest.js';
import { preprocessInto, resizeRgb } from '../src/models/preprocess.js';
import { assembleClip } from '../src/stages/classify-clip.js';
import { clipWindow } from '../src/operators/clip-window.js';
import { Tracker } from '../src/stages/tracker.js';

const W = 640;
const H = 360;
const ITER = Number(process.argv[2] ?? 50);

let seed = 1;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

function frame(i = 0): Frame {
  const data = new Uint8Array(W * H * 3);
  for (let k = 0; k < data.length; k++) data[k] = (k * 7 + i * 13 + ((k / 1920) | 0)) & 255;
  return { stream_id: 's', index: i, pts: i / 25, width: W, height: H, data, decoded_at_ms: 0, captured_at_ms: 0 };
}

function spec(p: Partial<ModelInputSpec>): ModelInputSpec {
  return {
    names: ['x'],
    layout: 'NCHW',
    batch: 1,
    color: 'RGB',
    resize: { mode: 'none' },
    crop: null,
    scale: 1 / 255,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    interpolation: 'bilinear',
    ...p,
  } as ModelInputSpec;
}

const rows: Array<[string, number, number, string]> = [];
async function bench(name: string, note: string, fn: () => unknown | Promise<unknown>): Promise<void> {
  for (let i = 0; i < Math.min(5, ITER); i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < ITER; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  rows.push([name, t[Math.floor(t.length / 2)]!, t[Math.floor(t.length * 0.9)]!, note]);
}

const f = frame();

// ---- preprocessing -------------------------------------------------------------------------
await bench('resize bilinear 640x360→416x234', 'resizeRgb (YOLOX letterbox scale)', () =>
  resizeRgb(f.data, W, H, 416, 234, 'bilinear'),
);
await bench('resize antialias 640x360→520x292', 'resizeRgb (segmentation shorter_side 520)', () =>
  resizeRgb(f.data, W, H, 924, 520, 'bilinear_antialias'),
);
const chw = new Float32Array(3 * W * H);
await bench('normalize to [0,1] CHW 640x360', 'detection input (resize in graph)', () =>
  preprocessInto(f.data, W, H, spec({ layout: 'CHW' }), chw, 0, 'CHW'),
);
const lb = new Float32Array(3 * 416 * 416);
await bench('letterbox+BGR 416x416 (YOLOX)', 'full YOLOX preprocessing', () =>
  preprocessInto(
    f.data,
    W,
    H,
    spec({
      color: 'BGR',
      scale: 1,
      resize: { mode: 'letterbox', width: 416, height: 416, pad_value: 114, align: 'top_left' },
    }),
    lb,
    0,
    'NCHW',
  ),
);
// With the sources' decode_size, ffmpeg delivers the frame at the letterbox size: pad and normalize only.
const small = new Uint8Array(416 * 234 * 3).map((_, k) => f.data[k]!);
await bench('letterbox+BGR 416x416 of a 416x234 frame', 'decode_size: max 416×416 (resize is a no-op)', () =>
  preprocessInto(
    small,
    416,
    234,
    spec({
      color: 'BGR',
      scale: 1,
      resize: { mode: 'letterbox', width: 416, height: 416, pad_value: 114, align: 'top_left' },
    }),
    lb,
    0,
    'NCHW',
  ),
);
const cls = spec({
  resize: { mode: 'shorter_side', size: 256 },
  crop: { width: 224, height: 224 },
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  interpolation: 'bilinear_antialias',
});
const clsOut = new Float32Array(3 * 224 * 224);
await bench('resize 256 + crop 224 + normalize', 'classification preset (ImageNet)', () =>
  preprocessInto(f.data, W, H, cls, clsOut, 0, 'NCHW'),
);
const small256 = new Uint8Array(455 * 256 * 3).map((_, k) => f.data[k]!);
await bench('crop 224 + normalize of a 455x256 frame', 'decode_size: shorter_side 256 (resize is a no-op)', () =>
  preprocessInto(small256, 455, 256, cls, clsOut, 0, 'NCHW'),
);
const vid = spec({
  layout: 'NCTHW',
  resize: { mode: 'exact', width: 171, height: 128 },
  crop: { width: 112, height: 112 },
  mean: [0.43216, 0.394666, 0.37645],
  std: [0.22803, 0.22145, 0.216989],
});
const slot = new Float32Array(3 * 112 * 112);
await bench('resize 128x171 + crop 112 + normalize', 'one clip frame (video preset)', () =>
  preprocessInto(f.data, W, H, vid, slot, 0, 'CHW'),
);

// ---- clip window ----------------------------------------------------------------------------
const frames = Array.from({ length: 32 }, (_, i) => frame(i));
await bench('clip window, per frame (T=16, stride 8)', 'preprocess on arrival + clip copy every 8', async () => {
  const items = await lastValueFrom(
    from(frames).pipe(
      clipWindow<Frame, Float32Array, Float32Array>({
        clip_length: 16,
        stride_frames: 8,
        key: (x) => x.stream_id,
        allocate: () => new Float32Array(3 * 112 * 112),
        fill: (x, s) => preprocessInto(x.data, W, H, vid, s, 0, 'CHW'),
        assemble: (s) => assembleClip(s, 112 * 112),
      }),
      toArray(),
    ),
  );
  return items.length;
});
rows[rows.length - 1]![1] /= frames.length;
rows[rows.length - 1]![2] /= frames.length;

// ---- masks ----------------------------------------------------------------------------------
const mask = new Float32Array(W * H);
for (let y = 80; y < 300; y++)
  for (let x = 200; x < 400; x++) mask[y * W + x] = (x - 200) * (300 - y) > 4000 ? 0.9 : 0.2;
await bench('mask threshold + RLE (1 mask, 640x360)', 'encodeMaskRle, source resolution', () =>
  encodeMaskRle(mask, 0, W, 0.5, W, H),
);
const masks10 = new Float32Array(10 * W * H);
for (let k = 0; k < 10; k++) masks10.set(mask, k * W * H);
await bench('mask threshold + RLE (10 masks)', 'a frame with 10 instances', () => {
  for (let k = 0; k < 10; k++) encodeMaskRle(masks10, k * W * H, W, 0.5, W, H);
});

// ---- segmentation ---------------------------------------------------------------------------
const logits = new Float32Array(257 * 257 * 21);
for (let i = 0; i < logits.length; i++) logits[i] = rnd();
const g257 = { scale_x: 257 / W, scale_y: 257 / H, offset_x: 0, offset_y: 0, width: 257, height: 257 };
await bench('argmax 21x257x257 (NHWC)', 'DeepLabV3 MobileNetV2 output', () =>
  argmaxLabels(logits, [1, 257, 257, 21], 'NHWC'),
);
await bench('argmax 21x257x257 (NCHW)', 'torchvision layout', () => argmaxLabels(logits, [1, 21, 257, 257], 'NCHW'));
const lm = argmaxLabels(logits, [1, 257, 257, 21], 'NHWC').labels;
for (let i = 0; i < lm.length; i++) lm[i] = ((i % 257) / 60 + ((i / 257) | 0) / 80) | 0; // blocky map, like real output
await bench('label-map resize 257²→640x360 (nearest)', 'labelMapToFrame', () =>
  labelMapToFrame(lm, 257, 257, g257, W, H),
);
const big = labelMapToFrame(lm, 257, 257, g257, W, H);
await bench('class fractions 640x360', 'classFractions', () => classFractions(big, []));
await bench('label map RLE 640x360', 'encodeLabelMapRle', () => encodeLabelMapRle(big, H, W));
await bench('label map PNG 640x360 (+base64)', 'encodeGrayPng, zlib level 6', () =>
  encodeGrayPng(big, W, H).toString('base64'),
);

// ---- detection post-processing ---------------------------------------------------------------
const rowsN = yoloxRows(416, 416);
const pred = new Float32Array(rowsN * 85);
for (let r = 0; r < rowsN; r++) {
  const o = r * 85;
  pred[o] = rnd();
  pred[o + 1] = rnd();
  pred[o + 2] = rnd() * 2;
  pred[o + 3] = rnd() * 2;
  pred[o + 4] = rnd() < 0.06 ? 0.5 + rnd() / 2 : rnd() * 0.05; // ~200 candidates
  for (let c = 0; c < 80; c++) pred[o + 5 + c] = rnd() * (c === r % 80 ? 1 : 0.3);
}
await bench('YOLOX decode + NMS (3549 rows, ~200 cand.)', 'decodeYolox, threshold 0.3', () =>
  decodeYolox(pred, 0, rowsN, 85, 416, 416, {
    score_threshold: 0.3,
    max_detections: 100,
    allow: null,
    deny: new Set(),
  }),
);
const nb = new Float32Array(1000 * 4);
const ns = new Float32Array(1000);
for (let i = 0; i < 1000; i++) {
  const x = rnd() * 600;
  const y = rnd() * 320;
  nb.set([x, y, x + 20 + rnd() * 60, y + 20 + rnd() * 60], i * 4);
  ns[i] = rnd();
}
await bench('NMS 1000 boxes', 'class-agnostic, IoU 0.45', () => nms(nb, ns, 1000, 0.45));

// ---- tracker ------------------------------------------------------------------------------
const tracker = new Tracker({ max_age_frames: 15, min_hits: 3, iou_threshold: 0.3 });
let t = 0;
await bench('tracker update (20 objects)', 'Kalman predict/update + Hungarian', () => {
  t++;
  const dets = Array.from({ length: 20 }, (_, k) => {
    const x = 20 + k * 30 + t * 2;
    return {
      box: [x, 100 + (k % 4) * 50, x + 25, 140 + (k % 4) * 50] as [number, number, number, number],
      label_id: 1,
      label: 'person',
      score: 0.9,
    };
  });
  return tracker.update(dets, t / 25);
});

// ---- table --------------------------------------------------------------------------------
const w0 = Math.max(...rows.map((r) => r[0].length));
console.log(`pre/post-processing cost per frame (${W}x${H}, ${ITER} iterations, node ${process.version})`);
console.log(`${'step'.padEnd(w0)} | median ms | p90 ms | note`);
console.log(`${'-'.repeat(w0)} | --------- | ------ | ----`);
for (const [name, med, p90, note] of rows)
  console.log(`${name.padEnd(w0)} | ${med.toFixed(3).padStart(9)} | ${p90.toFixed(3).padStart(6)} | ${note}`);
