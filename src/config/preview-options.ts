/** The pipeline's `preview:` field (JPEG previews for live views; runtime/preview.ts encodes them). */
import { z } from 'zod';

export const previewSchema = z
  .object({
    fps: z.number().positive().max(60).default(2).describe('Preview frames per second of wall time, per stream.'),
    max_width: z.number().int().min(32).max(4096).default(640).describe('Previews wider than this are downscaled.'),
    quality: z.number().int().min(2).max(31).default(5).describe('JPEG quality scale of ffmpeg (2 best … 31 worst).'),
  })
  .strict();
export type PreviewOptions = z.infer<typeof previewSchema>;
