/**
 * `decode_size` of the `file` and `camera` sources: ffmpeg scales frames in its filter graph
 * (swscale, on ffmpeg's own threads) before they reach Node, so stages whose models need a small
 * input never receive, copy or resize full-size frames. Frames keep the source's size in
 * `source_width`/`source_height`, and every geometric output (boxes, keypoints, masks, label maps,
 * `frame_width`/`frame_height` of records) is mapped back to source pixels.
 *
 * The sizes follow the preprocessing of the models (src/models/preprocess.ts `resizedSize`) so
 * that the JavaScript resize finds nothing left to do: `max_width`/`max_height` computes the
 * YOLOX letterbox size (`r = min(W/w, H/h)`, both sides truncated), `shorter_side` torchvision's
 * `Resize(int)` size. Neither upscales: a source already inside the box is passed through.
 */
import { z } from 'zod';

const side = z.number().int().min(16).max(8192);

export const decodeSizeSchema = z
  .object({
    width: side.optional().describe('Exact output width (with `height`); the aspect ratio may change.'),
    height: side.optional().describe('Exact output height (with `width`).'),
    max_width: side
      .optional()
      .describe('Fit inside this width keeping the aspect ratio (YOLOX letterbox size); never upscales.'),
    max_height: side
      .optional()
      .describe('Fit inside this height keeping the aspect ratio (YOLOX letterbox size); never upscales.'),
    shorter_side: side
      .optional()
      .describe("Shorter side to this, the longer truncated (torchvision's Resize(int) size); never upscales."),
    interpolation: z
      .enum(['bilinear', 'area', 'bicubic'])
      .default('bilinear')
      .describe(
        "swscale filter (`-vf scale=...:flags=`). Downscaling, swscale's bilinear widens its filter like " +
          "torchvision's antialiased resize; `area` comes closest to plain bilinear (YOLOX); see docs/parity.md.",
      ),
  })
  .strict()
  .superRefine((c, ctx) => {
    const exact = c.width !== undefined || c.height !== undefined;
    const fit = c.max_width !== undefined || c.max_height !== undefined;
    const shorter = c.shorter_side !== undefined;
    if (Number(exact) + Number(fit) + Number(shorter) !== 1) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message:
          'expected exactly one of {width, height}, {max_width and/or max_height} or {shorter_side} ' +
          '(e.g. { max_width: 416, max_height: 416 })',
      });
      return;
    }
    if (exact && (c.width === undefined || c.height === undefined))
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: 'width and height go together (for a size keeping the aspect ratio use max_width/max_height)',
        path: [c.width === undefined ? 'width' : 'height'],
      });
  });

export type DecodeSize = z.infer<typeof decodeSizeSchema>;

/** The source option: null (default) decodes at the source's size. */
export const decodeSizeField = decodeSizeSchema
  .nullable()
  .default(null)
  .describe(
    "Scale frames in ffmpeg's filter graph before they reach Node (fast; not torchvision-exact, see " +
      'docs/parity.md): `{ max_width, max_height }` (fit keeping the aspect ratio: the YOLOX letterbox size), ' +
      "`{ shorter_side }` (torchvision's Resize(int) size), neither upscaling, or an exact `{ width, height }`; " +
      '`interpolation`: `bilinear` (default), `area` or `bicubic`. Records, boxes, keypoints and masks stay in ' +
      'source-frame pixels. null: decode at the source size (default).',
  );

/** The ffmpeg `scale` filter for `d` (expressions of the input size `iw`/`ih`, evaluated per input size). */
export function scaleFilter(d: DecodeSize): string {
  let w: string;
  let h: string;
  if (d.width !== undefined && d.height !== undefined) {
    w = String(d.width);
    h = String(d.height);
  } else if (d.shorter_side !== undefined) {
    const s = d.shorter_side;
    // As resizedSize's shorter_side: (s * long) / short, truncated; kept as is when already small enough.
    w = `if(lte(min(iw\\,ih)\\,${s})\\,iw\\,if(lte(iw\\,ih)\\,${s}\\,trunc(${s}*iw/ih)))`;
    h = `if(lte(min(iw\\,ih)\\,${s})\\,ih\\,if(lte(iw\\,ih)\\,trunc(${s}*ih/iw)\\,${s}))`;
  } else {
    // As resizedSize's letterbox: r = min(W/w, H/h), each side trunc(side * r), at least 1; r capped at 1.
    const parts = [
      d.max_width !== undefined ? `${d.max_width}/iw` : null,
      d.max_height !== undefined ? `${d.max_height}/ih` : null,
    ].filter((p): p is string => p !== null);
    const r = `min(1\\,${parts.length === 2 ? `min(${parts[0]}\\,${parts[1]})` : parts[0]})`;
    w = `max(1\\,trunc(iw*${r}))`;
    h = `max(1\\,trunc(ih*${r}))`;
  }
  return `scale=w=${w}:h=${h}:flags=${d.interpolation}`;
}
