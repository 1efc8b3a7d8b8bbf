/**
 * `sample`: per stream, keep every n-th frame and/or at most `fps` frames per second of video
 * time. Frames not kept go to `skipped` so the runtime can release them (they are not lost:
 * the stage simply does not run on them).
 */
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
export function frameSampler(options: SampleOptions): (frame: Frame) => boolean {
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
