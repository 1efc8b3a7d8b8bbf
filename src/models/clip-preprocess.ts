/**
 * Per-frame preprocessing of a video (clip) manifest: each frame becomes one C×H×W plane of the
 * clip, in this thread into a preallocated slot (`fill`) or on the preprocessing pool (`prepare`).
 * A video model needs a fixed input size, checked per frame.
 */
import { VidflowError } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { LoadedManifest } from './manifest.js';
import { inputSize, preprocessInto } from './preprocess.js';
import { preprocessFrame } from './preprocess-pool.js';

/** The per-frame preprocessing of a video manifest (C×H×W planes): in this thread (`fill`) or on the pool
 * (`prepare`). */
export function clipFramePreprocessor(loaded: LoadedManifest): {
  planeSize: number;
  width: number;
  height: number;
  fill(frame: Frame, slot: Float32Array): void;
  prepare(frame: Frame): Promise<Float32Array>;
} {
  const spec = loaded.manifest.input;
  const size = spec.crop ?? (spec.resize.mode === 'exact' || spec.resize.mode === 'letterbox' ? spec.resize : null);
  if (!size)
    throw new VidflowError(
      'MODEL_MANIFEST_INVALID',
      `${loaded.manifestPath}: a video model needs a fixed input size (input.crop, or an exact/letterbox resize)`,
    );
  const check = (frame: Frame) => {
    const s = inputSize(frame.width, frame.height, spec);
    if (s.width !== size.width || s.height !== size.height)
      throw new Error(`frame preprocesses to ${s.width}x${s.height}, the clip needs ${size.width}x${size.height}`);
  };
  return {
    planeSize: size.width * size.height,
    width: size.width,
    height: size.height,
    fill(frame, slot) {
      check(frame);
      if (slot.length !== 3 * size.width * size.height)
        throw new Error(`clip slot holds ${slot.length} values, the clip needs 3x${size.width}x${size.height}`);
      preprocessInto(frame.data, frame.width, frame.height, spec, slot, 0, 'CHW');
    },
    prepare(frame) {
      check(frame); // throws at once: the frame gets the error, not the clip
      return preprocessFrame(frame, spec, 'CHW').then((im) => im.data);
    },
  };
}
