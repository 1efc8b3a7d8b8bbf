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

/** The source option: null (default) decodes at the source's size; `auto` is resolved when the pipeline is built. */
export const decodeSizeField = z
  .union([z.literal('auto'), decodeSizeSchema])
  .nullable()
  .default(null)
  .describe(
    "Scale frames in ffmpeg's filter graph before they reach Node (fast; not torchvision-exact, see " +
      'docs/parity.md): `{ max_width, max_height }` (fit keeping the aspect ratio: the YOLOX letterbox size), ' +
      "`{ shorter_side }` (torchvision's Resize(int) size), neither upscaling, or an exact `{ width, height }`; " +
      '`interpolation`: `bilinear` (default), `area` or `bicubic`. `auto`: the size every model stage reading ' +
      'this stream can take without upsampling, from their manifests (the largest of their resize targets; off ' +
      'when a stage takes the frame at its own size), logged at start-up (docs/parity.md "decode_size: auto"). ' +
      'Records, boxes, keypoints and masks stay in source-frame pixels. null: decode at the source size (default).',
  );

export type DecodeSizeOption = DecodeSize | 'auto' | null;

/**
 * A source whose config says `decode_size: auto`: the runtime chooses the size from the stages
 * reading its stream (src/runtime/decode-size-auto.ts) and applies it before `frames` is called.
 * Until then (or when nothing applies it) such a source decodes at the source's size.
 */
export interface AutoDecodeSizeSource {
  readonly id: string;
  /** Whether its config asks for `decode_size: auto`. */
  readonly decodeSizeAuto: boolean;
  /** The source's (upright) frame size when known before decoding (a probed file), else null. */
  readonly knownFrameSize: { width: number; height: number } | null;
  applyDecodeSize(size: DecodeSize | null): void;
}

export function wantsAutoDecodeSize(source: object): source is AutoDecodeSizeSource {
  return (source as Partial<AutoDecodeSizeSource>).decodeSizeAuto === true;
}

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

/** The size `scaleFilter(d)` gives a `width`×`height` frame (the same arithmetic, in the same double precision). */
export function decodedSize(d: DecodeSize, width: number, height: number): { width: number; height: number } {
  if (d.width !== undefined && d.height !== undefined) return { width: d.width, height: d.height };
  if (d.shorter_side !== undefined) {
    const s = d.shorter_side;
    if (Math.min(width, height) <= s) return { width, height };
    return width <= height
      ? { width: s, height: Math.trunc((s * height) / width) }
      : { width: Math.trunc((s * width) / height), height: s };
  }
  const parts = [
    d.max_width !== undefined ? d.max_width / width : null,
    d.max_height !== undefined ? d.max_height / height : null,
  ];
  const r = Math.min(1, ...parts.filter((p): p is number => p !== null));
  return { width: Math.max(1, Math.trunc(width * r)), height: Math.max(1, Math.trunc(height * r)) };
}

/** `max 416×416`, `shorter side 256`, `exact 641×481` (log lines). */
export function describeDecodeSize(d: DecodeSize): string {
  if (d.width !== undefined && d.height !== undefined) return `exact ${d.width}×${d.height}`;
  if (d.shorter_side !== undefined) return `shorter side ${d.shorter_side}`;
  if (d.max_width !== undefined && d.max_height !== undefined) return `max ${d.max_width}×${d.max_height}`;
  return d.max_width !== undefined ? `max width ${d.max_width}` : `max height ${d.max_height}`;
}
