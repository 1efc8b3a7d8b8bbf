/**
 * Decoder `fastestdet`: FastestDet (dog-qiuqiu/FastestDet; shared/models/MODELS.md §1b). One
 * output, role `predictions`, `[N, 5 + classes, H, W]` (22×22 for the 352×352 input): per grid
 * cell `[obj, tx, ty, tw, th, cls_0..]` with obj sigmoided and cls softmaxed in the graph.
 * score = obj^0.6 × cls^0.4 (best allowed class); centre `((x + tanh(tx)) / W, (y + tanh(ty)) / H)`,
 * size `(sigmoid(tw), sigmoid(th))`, all normalized to the model input; then class-agnostic NMS
 * (the repository's IoU 0.45). Boxes are mapped to the frame through the input geometry.
 */
import { z } from 'zod';
import type { DetectionDecoder } from './decoder.js';
import { CandidateList, labelAllowed, mapCandidates } from './detection.js';
import { nms } from './nms.js';

/** The reference implementation's NMS IoU (class-agnostic). */
export const FASTESTDET_NMS_IOU = 0.45;

const options = z
  .object({
    nms_in_graph: z
      .literal(false)
      .default(false)
      .describe('FastestDet exports have no NMS: vidflow runs class-agnostic NMS.'),
  })
  .strict();

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

export const fastestdetDecoder: DetectionDecoder<z.infer<typeof options>> = {
  type: 'fastestdet',
  family: 'detection',
  summary:
    'FastestDet: `predictions` `[N, 5 + classes, H, W]`, one box per grid cell `[obj, tx, ty, tw, th, cls…]`; score ' +
    '= ' +
    'obj^0.6 × cls^0.4; centre (cell + tanh) / grid, size sigmoid, normalized to the input; class-agnostic NMS in ' +
    'vidflow (IoU 0.45).',
  tasks: ['detection'],
  roles: ['predictions'],
  options,
  decode(outputs, index, ctx) {
    const pred = outputs.predictions!;
    if (pred.dims.length !== 4)
      throw new Error(`fastestdet: predictions have rank ${pred.dims.length}, expected 4 ([N, 5 + classes, H, W])`);
    const [, channels, gh, gw] = pred.dims as [number, number, number, number];
    const classes = channels - 5;
    if (classes !== ctx.labels.length)
      throw new Error(`fastestdet: predictions have ${classes} classes, the labels ${ctx.labels.length}`);
    const data = pred.data as Float32Array;
    const plane = gh * gw;
    const base = index * channels * plane;
    const f = ctx.filter;
    const cands = new CandidateList();
    for (let y = 0; y < gh; y++) {
      for (let x = 0; x < gw; x++) {
        const cell = base + y * gw + x;
        const obj = data[cell]!;
        // score <= obj^0.6 (cls <= 1): skip cells that cannot reach the threshold.
        if (obj ** 0.6 < f.score_threshold) continue;
        let best = -1;
        let bestCls = -Infinity;
        for (let c = 0; c < classes; c++) {
          const v = data[cell + (5 + c) * plane]!;
          if (v > bestCls && labelAllowed(f, c)) {
            bestCls = v;
            best = c;
          }
        }
        if (best < 0) continue;
        const score = obj ** 0.6 * Math.max(0, bestCls) ** 0.4;
        if (!(score >= f.score_threshold)) continue;
        const cx = ((x + Math.tanh(data[cell + plane]!)) / gw) * ctx.inputWidth;
        const cy = ((y + Math.tanh(data[cell + 2 * plane]!)) / gh) * ctx.inputHeight;
        const w = sigmoid(data[cell + 3 * plane]!) * ctx.inputWidth;
        const h = sigmoid(data[cell + 4 * plane]!) * ctx.inputHeight;
        cands.push(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score, best);
      }
    }
    const keep = nms(cands.boxes, cands.scores, cands.count, ctx.nmsIou ?? FASTESTDET_NMS_IOU);
    return mapCandidates(cands.select(keep), ctx.geometry, ctx.frameWidth, ctx.frameHeight, ctx.labels, f);
  },
};
