/**
 * Decoder `bodypix_person_mask`: the person mask of BodyPix 2.0 (shared/models/MODELS.md §2/§3).
 * `out` is the `segments` output, an NHWC grid `[N, Hg, Wg, 1]` of logits with one cell per
 * `output_stride` input pixels (cell i centred on input pixel i*stride, inputs of size
 * `stride*k + 1`). A cell is `person` (label 1) when sigmoid(logit) > `threshold`, else
 * `background` (0); each frame pixel takes the cell nearest to where its centre maps in the
 * model input (through the input geometry).
 */
import { z } from 'zod';
import type { SegmentationDecoder } from './decoder.js';
import { labelMapToFrame } from './segmentation.js';

const options = z
  .object({
    output_stride: z
      .number()
      .int()
      .positive()
      .default(16)
      .describe("Input pixels per grid cell (the export's output stride)."),
    threshold: z.number().gt(0).lt(1).default(0.5).describe('A cell is `person` when sigmoid(segments) is above this.'),
  })
  .strict();

export const bodypixPersonMaskDecoder: SegmentationDecoder<z.infer<typeof options>> = {
  type: 'bodypix_person_mask',
  family: 'segmentation',
  summary:
    'BodyPix person mask: `out` = NHWC `segments` logits `[N, Hg, Wg, 1]` at output stride 16; sigmoid > `threshold` ' +
    '→ label 1 (`person`), else 0 (`background`); each frame pixel takes the nearest grid cell.',
  tasks: ['semantic_segmentation'],
  roles: ['out'],
  options,
  decode(outputs, index, ctx) {
    const t = outputs[ctx.role]!;
    if (t.dims.length !== 4 || t.dims[3] !== 1)
      throw new Error(`bodypix_person_mask: ${ctx.role} is ${t.dims.join('x')}, expected [N, Hg, Wg, 1]`);
    const [, gh, gw] = t.dims as [number, number, number, number];
    const data = t.data as Float32Array;
    const cells = gh * gw;
    const logit = Math.log(ctx.options.threshold / (1 - ctx.options.threshold));
    const labels = new Uint8Array(cells);
    for (let c = 0; c < cells; c++) labels[c] = data[index * cells + c]! > logit ? 1 : 0;
    // Frame pixel centre → input pixel index u = (i + 0.5) * scale + offset - 0.5 → cell round(u / stride).
    const s = ctx.options.output_stride;
    const g = ctx.geometry;
    const og = {
      scale_x: g.scale_x / s,
      scale_y: g.scale_y / s,
      offset_x: (g.offset_x - 0.5 + s / 2) / s,
      offset_y: (g.offset_y - 0.5 + s / 2) / s,
    };
    return labelMapToFrame(labels, gw, gh, og, ctx.frameWidth, ctx.frameHeight);
  },
};
