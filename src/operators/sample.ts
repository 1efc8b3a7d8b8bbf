/**
 * `sampleFrames`: per stream, keep every n-th frame and/or at most `fps` frames per second of video
 * time. Every frame comes out, in order and synchronously, tagged `keep: true | false`: a stage
 * still owes an outcome for a frame it does not run on (that outcome releases the frame), so
 * frames not kept are marked, never lost. The per-stream state lives inside the subscription.
 */
import { defer, map, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import type { Frame } from '../core/frame.js';

export const sampleSchema = z
  .object({
    every_n_frames: z.number().int().min(1).default(1).describe('Keep frames whose index is a multiple of n.'),
    fps: z
      .number()
      .positive()
      .nullable()
      .default(null)
      .describe('Keep at most this many frames per second of video time, per stream.'),
  })
  .strict();
export type SampleOptions = z.infer<typeof sampleSchema>;

/** A stateful predicate (state per stream, inside the closure) deciding which frames a stage runs on. */
export function frameSampler(options: SampleOptions): (frame: Pick<Frame, 'stream_id' | 'index' | 'pts'>) => boolean {
  const lastKept = new Map<string, number>();
  const step = options.fps ? 1 / options.fps : 0;
  const tolerance = step * 0.02;
  return (frame) => {
    if (options.every_n_frames > 1 && frame.index % options.every_n_frames !== 0) return false;
    if (step > 0) {
      const last = lastKept.get(frame.stream_id);
      if (last !== undefined && frame.pts - last < step - tolerance) return false;
      lastKept.set(frame.stream_id, frame.pts);
    }
    return true;
  };
}

/** A frame and whether the stage runs on it. */
export interface Sampled<F> {
  frame: F;
  keep: boolean;
}

/** Tags every frame with `keep` (frameSampler's decision); a fresh sampler per subscription. */
export function sampleFrames<F extends Pick<Frame, 'stream_id' | 'index' | 'pts'>>(
  options: SampleOptions,
): OperatorFunction<F, Sampled<F>> {
  return (source) =>
    defer(() => {
      const keep = frameSampler(options);
      return source.pipe(map((frame) => ({ frame, keep: keep(frame) })));
    });
}
