/**
 * Decoder `ultraface`: Ultra-Light-Fast-Generic-Face-Detector-1MB (version-RFB-320/640 with the
 * priors decoded in the graph; shared/models/MODELS.md §1c). Outputs `scores` `[N, P, 2]`
 * (softmax `[p_background, p_face]`) and `boxes` `[N, P, 4]` (x1, y1, x2, y2 normalized to the
 * model input). Faces scoring at least the threshold go through hard NMS (the repository's IoU
 * 0.3); boxes are mapped to the frame through the input geometry and clipped to it. Labels:
 * `BACKGROUND`, `face` (every detection has label id 1).
 */
import { z } from 'zod';
import type { DetectionDecoder } from './decoder.js';
import { CandidateList, labelAllowed, mapCandidates } from './detection.js';
import { nms } from './nms.js';

/** The reference implementation's hard-NMS IoU. */
export const ULTRAFACE_NMS_IOU = 0.3;
/** Class id of `face` in the two-class output. */
const FACE = 1;

const options = z
  .object({
    nms_in_graph: z
      .literal(false)
      .default(false)
      .describe('The RFB-320 export decodes the priors but has no NMS: vidflow runs hard NMS.'),
  })
  .strict();

export const ultrafaceDecoder: DetectionDecoder<z.infer<typeof options>> = {
  type: 'ultraface',
  family: 'detection',
  summary:
    'UltraFace (Ultra-Light-Fast-Generic-Face-Detector-1MB, priors decoded in the graph): `scores` `[N, P, 2]` ' +
    '(background, face) and `boxes` `[N, P, 4]` normalized x1,y1,x2,y2; hard NMS in vidflow (IoU 0.3); label `face`.',
  tasks: ['detection'],
  roles: ['scores', 'boxes'],
  options,
  decode(outputs, index, ctx) {
    const scores = outputs.scores!;
    const boxes = outputs.boxes!;
    const p = scores.dims[1]!;
    if (scores.dims[2] !== 2 || boxes.dims[1] !== p || boxes.dims[2] !== 4)
      throw new Error(
        `ultraface: scores ${scores.dims.join('x')} / boxes ${boxes.dims.join('x')}, expected [N,P,2] / [N,P,4]`,
      );
    const f = ctx.filter;
    const cands = new CandidateList();
    if (labelAllowed(f, FACE)) {
      const s = scores.data as Float32Array;
      const b = boxes.data as Float32Array;
      const so = index * p * 2;
      const bo = index * p * 4;
      for (let i = 0; i < p; i++) {
        const score = s[so + i * 2 + FACE]!;
        if (!(score >= f.score_threshold)) continue;
        const o = bo + i * 4;
        cands.push(
          b[o]! * ctx.inputWidth,
          b[o + 1]! * ctx.inputHeight,
          b[o + 2]! * ctx.inputWidth,
          b[o + 3]! * ctx.inputHeight,
          score,
          FACE,
        );
      }
    }
    const keep = nms(cands.boxes, cands.scores, cands.count, ctx.nmsIou ?? ULTRAFACE_NMS_IOU);
    return mapCandidates(cands.select(keep), ctx.geometry, ctx.frameWidth, ctx.frameHeight, ctx.labels, f);
  },
};
