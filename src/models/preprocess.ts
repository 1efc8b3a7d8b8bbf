/**
 * Image preprocessing in tight typed-array code, following torchvision's presets
 * (`transforms._presets`: ImageClassification, SemanticSegmentation, VideoClassification) on
 * uint8 tensors: `F.resize` casts to float32, interpolates (antialiased bilinear — the triangle
 * filter widened by the scale — or plain bilinear; horizontal pass, then vertical, no rounding in
 * between), then rounds half to even (torch.round) back to uint8; center crop with Python's
 * round-half-even offsets; scale to [0,1]; normalize with mean/std; write into an NCHW/NHWC
 * float tensor. Only the output window that survives the crop is computed.
 */
import { sourceSize, type Frame } from '../core/frame.js';
import type { ModelInputSpec, ResizeSpec } from './manifest.js';

export type Interpolation = 'bilinear' | 'bilinear_antialias' | 'nearest';

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision's `Resize(int)`: shorter side to `size`, the longer side truncated. */
export function resizedSize(width: number, height: number, resize: ResizeSpec): { width: number; height: number } {
  switch (resize.mode) {
    case 'none':
      return { width, height };
    case 'exact':
      return { width: resize.width, height: resize.height };
    case 'letterbox': {
      const r = Math.min(resize.width / width, resize.height / height);
      return { width: Math.max(1, Math.trunc(width * r)), height: Math.max(1, Math.trunc(height * r)) };
    }
    case 'shorter_side': {
      const short = Math.min(width, height);
      const long = Math.max(width, height);
      let newShort = resize.size;
      let newLong = Math.trunc((resize.size * long) / short);
      if (resize.max_size !== undefined && newLong > resize.max_size) {
        newShort = Math.trunc((resize.max_size * newShort) / newLong);
        newLong = resize.max_size;
      }
      return width <= height ? { width: newShort, height: newLong } : { width: newLong, height: newShort };
    }
  }
}

/** Per output pixel: first source index and normalised weights. */
interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  stride: number;
}

const tapsCache = new Map<string, Taps>();

/** Resampling taps for one axis, for output pixels [from, from+n) of a `dst`-sized axis. */
export function computeTaps(src: number, dst: number, interp: Interpolation): Taps {
  const key = `${src}:${dst}:${interp}`;
  const hit = tapsCache.get(key);
  if (hit) return hit;
  const scale = src / dst;
  let taps: Taps;
  if (interp === 'nearest') {
    const start = new Int32Array(dst);
    const count = new Int32Array(dst).fill(1);
    const weights = new Float32Array(dst).fill(1);
    for (let i = 0; i < dst; i++) start[i] = Math.min(src - 1, Math.floor(i * scale));
    taps = { start, count, weights, stride: 1 };
  } else if (interp === 'bilinear' || scale <= 1) {
    // Plain bilinear, align_corners=False (also what antialias does when upsampling).
    const start = new Int32Array(dst);
    const count = new Int32Array(dst).fill(2);
    const weights = new Float32Array(dst * 2);
    for (let i = 0; i < dst; i++) {
      let x = (i + 0.5) * scale - 0.5;
      if (x < 0) x = 0;
      let x0 = Math.floor(x);
      if (x0 > src - 1) x0 = src - 1;
      const x1 = Math.min(x0 + 1, src - 1);
      const l = x - x0;
      start[i] = x0;
      if (x1 === x0) {
        // Clamped at the last source column/row: one tap, so no read past the frame.
        count[i] = 1;
        weights[i * 2] = 1;
        weights[i * 2 + 1] = 0;
      } else {
        weights[i * 2] = 1 - l;
        weights[i * 2 + 1] = l;
      }
    }
    taps = { start, count, weights, stride: 2 };
  } else {
    // Antialiased bilinear (triangle filter widened by the scale), as Pillow / torchvision.
    const support = scale; // bilinear support 1.0 × scale
    const stride = Math.ceil(support) * 2 + 1;
    const start = new Int32Array(dst);
    const count = new Int32Array(dst);
    const weights = new Float32Array(dst * stride);
    for (let i = 0; i < dst; i++) {
      const center = (i + 0.5) * scale;
      const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
      const xmax = Math.min(Math.trunc(center + support + 0.5), src);
      let total = 0;
      const n = xmax - xmin;
      for (let j = 0; j < n; j++) {
        const w = Math.max(0, 1 - Math.abs((j + xmin - center + 0.5) / scale));
        weights[i * stride + j] = w;
        total += w;
      }
      if (total > 0) for (let j = 0; j < n; j++) weights[i * stride + j]! /= total;
      start[i] = xmin;
      count[i] = n;
    }
    taps = { start, count, weights, stride };
  }
  if (tapsCache.size > 256) tapsCache.clear();
  tapsCache.set(key, taps);
  return taps;
}

/** torch.round (half to even) of a float32 value, clamped to 0..255. */
function roundByte(v: number): number {
  const f = Math.fround(v);
  let r = Math.round(f);
  if (r - f === 0.5 && r % 2 !== 0) r -= 1;
  return r < 0 ? 0 : Math.min(r, 255);
}

export interface Window {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Resizes packed RGB24 `src` (sw×sh) to a dw×dh grid and returns only `win` of it, packed RGB24.
 * Horizontal pass first into float32, then vertical, then one rounding to uint8.
 */
export function resizeRgb(
  src: Uint8Array,
  sw: number,
  sh: number,
  dw: number,
  dh: number,
  interp: Interpolation,
  win: Window = { x: 0, y: 0, width: dw, height: dh },
): Uint8Array {
  if (sw === dw && sh === dh) {
    if (win.x === 0 && win.y === 0 && win.width === sw && win.height === sh) return src;
    const out = new Uint8Array(win.width * win.height * 3);
    for (let y = 0; y < win.height; y++)
      out.set(
        src.subarray(((y + win.y) * sw + win.x) * 3, ((y + win.y) * sw + win.x + win.width) * 3),
        y * win.width * 3,
      );
    return out;
  }
  const hx = computeTaps(sw, dw, interp);
  const vy = computeTaps(sh, dh, interp);
  // Rows of the source needed by the vertical pass for the window.
  const rowLo = vy.start[win.y]!;
  let rowHi = rowLo;
  for (let y = win.y; y < win.y + win.height; y++) rowHi = Math.max(rowHi, vy.start[y]! + vy.count[y]!);
  const rows = rowHi - rowLo;
  // Horizontal pass: rows [rowLo,rowHi) × window columns.
  const tmp = new Float32Array(rows * win.width * 3);
  const hStart = hx.start;
  const hCount = hx.count;
  const hWeights = hx.weights;
  const hStride = hx.stride;
  const winW = win.width;
  const winX = win.x;
  for (let r = 0; r < rows; r++) {
    const srow = (r + rowLo) * sw * 3;
    let t = r * winW * 3;
    for (let x = 0; x < winW; x++, t += 3) {
      const ox = x + winX;
      const n = hCount[ox]!;
      let wo = ox * hStride;
      let p = srow + hStart[ox]! * 3;
      let a = 0;
      let b = 0;
      let c = 0;
      for (let j = 0; j < n; j++, wo++, p += 3) {
        const w = hWeights[wo]!;
        a += src[p]! * w;
        b += src[p + 1]! * w;
        c += src[p + 2]! * w;
      }
      tmp[t] = a;
      tmp[t + 1] = b;
      tmp[t + 2] = c;
    }
  }
  // Vertical pass: accumulate whole rows (sequential memory access), then round once.
  const out = new Uint8Array(win.width * win.height * 3);
  const rowLen = win.width * 3;
  const acc = new Float32Array(rowLen);
  for (let y = 0; y < win.height; y++) {
    const oy = y + win.y;
    const s0 = vy.start[oy]! - rowLo;
    const n = vy.count[oy]!;
    const wo = oy * vy.stride;
    acc.fill(0);
    for (let j = 0; j < n; j++) {
      const w = vy.weights[wo + j]!;
      if (w === 0) continue;
      const base = (s0 + j) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i]! += tmp[base + i]! * w;
    }
    const orow = y * rowLen;
    for (let i = 0; i < rowLen; i++) out[orow + i] = roundByte(acc[i]!);
  }
  return out;
}

const lutCache = new Map<string, Float32Array>();

/** (v * scale - mean[c]) / std[c] for c = 0..2 and v = 0..255, computed as float32 like torchvision. */
export function normalizationTable(scale: number, mean: readonly number[], std: readonly number[]): Float32Array {
  const key = `${scale}:${mean.join(',')}:${std.join(',')}`;
  let t = lutCache.get(key);
  if (!t) {
    t = new Float32Array(768);
    for (let c = 0; c < 3; c++)
      for (let v = 0; v < 256; v++) t[c * 256 + v] = (Math.fround(v * scale) - mean[c]!) / std[c]!;
    if (lutCache.size > 64) lutCache.clear();
    lutCache.set(key, t);
  }
  return t;
}

/** Where a model input pixel comes from: source = (input - offset) / scale. */
export interface Geometry {
  /** Model-input pixels per source pixel, per axis. */
  scale_x: number;
  scale_y: number;
  /** Model-input pixel of source (0,0), per axis (negative after a crop). */
  offset_x: number;
  offset_y: number;
  /** Size of the tensor written. */
  width: number;
  height: number;
}

/** Size of the tensor `spec` produces for a frame of this size. */
export function inputSize(
  width: number,
  height: number,
  spec: Pick<ModelInputSpec, 'resize' | 'crop'>,
): { width: number; height: number } {
  if (spec.crop) return { width: spec.crop.width, height: spec.crop.height };
  if (spec.resize.mode === 'letterbox') return { width: spec.resize.width, height: spec.resize.height };
  return resizedSize(width, height, spec.resize);
}

/**
 * Preprocesses one RGB24 frame into `out` at `offset` (NCHW planes or NHWC), returning the
 * geometry that maps model pixels back to the frame.
 */
export function preprocessInto(
  data: Uint8Array,
  width: number,
  height: number,
  spec: Pick<ModelInputSpec, 'resize' | 'crop' | 'scale' | 'mean' | 'std' | 'color' | 'interpolation'>,
  out: Float32Array,
  offset: number,
  layout: 'NCHW' | 'NHWC' | 'CHW',
): Geometry {
  const rs = resizedSize(width, height, spec.resize);
  let win: Window = { x: 0, y: 0, width: rs.width, height: rs.height };
  let tw = rs.width;
  let th = rs.height;
  let padX = 0;
  let padY = 0;
  if (spec.crop) {
    tw = spec.crop.width;
    th = spec.crop.height;
    // torchvision center_crop: pads when the image is smaller than the crop.
    const top = roundHalfEven((rs.height - th) / 2);
    const left = roundHalfEven((rs.width - tw) / 2);
    win = { x: Math.max(0, left), y: Math.max(0, top), width: Math.min(tw, rs.width), height: Math.min(th, rs.height) };
    padX = Math.max(0, -left);
    padY = Math.max(0, -top);
  } else if (spec.resize.mode === 'letterbox') {
    tw = spec.resize.width;
    th = spec.resize.height;
    if (spec.resize.align === 'center') {
      padX = Math.trunc((tw - rs.width) / 2);
      padY = Math.trunc((th - rs.height) / 2);
    }
  }
  const pixels = resizeRgb(data, width, height, rs.width, rs.height, spec.interpolation, win);
  const plane = tw * th;
  const bgr = spec.color === 'BGR';
  // value(c, v) = (v * scale - mean[c]) / std[c], tabulated for the 256 byte values.
  const lut = normalizationTable(spec.scale, spec.mean, spec.std);
  // Source channel feeding model channel 0 and 2 (RGB or BGR order).
  const c0 = bgr ? 2 : 0;
  const c2 = bgr ? 0 : 2;
  const padValue = spec.resize.mode === 'letterbox' ? spec.resize.pad_value : 0;
  const fill = padX > 0 || padY > 0 || win.width < tw || win.height < th;
  if (fill) {
    const p = [0, 1, 2].map((c) => (padValue * spec.scale - spec.mean[c]!) / spec.std[c]!);
    if (layout === 'NHWC') for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[offset + i * 3 + c] = p[c]!;
    else for (let c = 0; c < 3; c++) out.fill(p[c]!, offset + c * plane, offset + (c + 1) * plane);
  }
  const ww = win.width;
  for (let y = 0; y < win.height; y++) {
    let s = y * ww * 3;
    let i = (y + padY) * tw + padX;
    if (layout === 'NHWC') {
      for (let x = 0; x < ww; x++, s += 3, i++) {
        const o = offset + i * 3;
        out[o] = lut[pixels[s + c0]!]!;
        out[o + 1] = lut[256 + pixels[s + 1]!]!;
        out[o + 2] = lut[512 + pixels[s + c2]!]!;
      }
    } else {
      const o0 = offset;
      const o1 = offset + plane;
      const o2 = offset + 2 * plane;
      for (let x = 0; x < ww; x++, s += 3, i++) {
        out[o0 + i] = lut[pixels[s + c0]!]!;
        out[o1 + i] = lut[256 + pixels[s + 1]!]!;
        out[o2 + i] = lut[512 + pixels[s + c2]!]!;
      }
    }
  }
  const sx = rs.width / width;
  const sy = rs.height / height;
  return { scale_x: sx, scale_y: sy, offset_x: padX - win.x, offset_y: padY - win.y, width: tw, height: th };
}

/**
 * The geometry of a frame's pixels (`preprocessInto` on `frame.data`) extended to the source's
 * pixels when the frame was scaled at decode time (`decode_size`): source = data × source/decoded
 * per axis, so each scale shrinks by decoded/source and the offsets stay. Unchanged otherwise.
 * A 768×432 source decoded to 416×233 for a 416 letterbox gives exactly the geometry of the
 * default path (scale 416/768 and 233/432), so boxes map back the same way.
 */
export function toSourceGeometry(
  g: Geometry,
  frame: Pick<Frame, 'width' | 'height' | 'source_width' | 'source_height'>,
): Geometry {
  const src = sourceSize(frame);
  if (src.width === frame.width && src.height === frame.height) return g;
  return { ...g, scale_x: (g.scale_x * frame.width) / src.width, scale_y: (g.scale_y * frame.height) / src.height };
}
