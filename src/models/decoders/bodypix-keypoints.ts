/**
 * Decoder `bodypix_keypoints`: single-person pose of BodyPix 2.0 / PoseNet (MobileNetV1, output
 * stride 16; shared/models/MODELS.md §2). Outputs are NHWC grids of `Hg = (H-1)/stride + 1` by
 * `Wg = (W-1)/stride + 1` cells: `heatmaps` `[N, Hg, Wg, K]` (logits) and `short_offsets`
 * `[N, Hg, Wg, 2K]` (channels 0..K-1 y offsets, K..2K-1 x offsets, in input pixels). For each
 * keypoint k the cell (y, x) with the largest heatmap logit gives the position
 * `(x*stride + off_x, y*stride + off_y)` in model-input pixels (mapped to the frame through the
 * input geometry) and the score `sigmoid(logit)`. One `person` instance per image: its score is
 * the mean keypoint score (PoseNet's pose score), its box the extent of the keypoints scoring at
 * least `keypoint_threshold` (all keypoints when none does), clamped to the frame.
 */
import { z } from 'zod';
import { boxArea, type Box } from './nms.js';
import type { DecodedKeypoint, DetectionDecoder } from './decoder.js';
import { labelAllowed, round } from './detection.js';

const options = z
  .object({
    output_stride: z
      .number()
      .int()
      .positive()
      .default(16)
      .describe("Input pixels per grid cell (the export's output stride)."),
    keypoint_threshold: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe('Keypoints scoring at least this are `visible` and span the person box.'),
  })
  .strict();

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

export const bodypixKeypointsDecoder: DetectionDecoder<z.infer<typeof options>> = {
  type: 'bodypix_keypoints',
  family: 'detection',
  summary:
    'BodyPix / PoseNet single-person pose: NHWC `heatmaps` `[N, Hg, Wg, K]` (logits) and `short_offsets` `[N, Hg, ' +
    'Wg, ' +
    '2K]` (y then x); per keypoint the best cell + its offset, score sigmoid(logit); one `person` per image, score = ' +
    'mean keypoint score, box = extent of the keypoints scoring ≥ `keypoint_threshold`.',
  tasks: ['keypoint_detection'],
  roles: ['heatmaps', 'short_offsets'],
  options,
  decode(outputs, index, ctx) {
    const hm = outputs.heatmaps!;
    const off = outputs.short_offsets!;
    if (hm.dims.length !== 4 || off.dims.length !== 4)
      throw new Error(
        `bodypix_keypoints: heatmaps ${hm.dims.join('x')} / short_offsets ${off.dims.join('x')} are not NHWC grids`,
      );
    const [, gh, gw, k] = hm.dims as [number, number, number, number];
    if (off.dims[1] !== gh || off.dims[2] !== gw || off.dims[3] !== 2 * k)
      throw new Error(
        `bodypix_keypoints: short_offsets ${off.dims.join('x')} does not match heatmaps ${hm.dims.join('x')}`,
      );
    const h = hm.data as Float32Array;
    const o = off.data as Float32Array;
    const cells = gh * gw;
    const hBase = index * cells * k;
    const oBase = index * cells * 2 * k;
    const stride = ctx.options.output_stride;
    const g = ctx.geometry;
    const kps: DecodedKeypoint[] = [];
    let sum = 0;
    for (let j = 0; j < k; j++) {
      let best = 0;
      let bv = -Infinity;
      for (let c = 0; c < cells; c++) {
        const v = h[hBase + c * k + j]!;
        if (v > bv) {
          bv = v;
          best = c;
        }
      }
      const cy = Math.floor(best / gw);
      const cx = best - cy * gw;
      const iy = cy * stride + o[oBase + best * 2 * k + j]!;
      const ix = cx * stride + o[oBase + best * 2 * k + k + j]!;
      const score = sigmoid(bv);
      sum += score;
      kps.push({
        x: round((ix - g.offset_x) / g.scale_x, 2),
        y: round((iy - g.offset_y) / g.scale_y, 2),
        visible: score >= ctx.options.keypoint_threshold,
        score: round(score, 6),
      });
    }
    const score = k > 0 ? sum / k : 0;
    const PERSON = 0;
    if (!(score >= ctx.filter.score_threshold) || !labelAllowed(ctx.filter, PERSON) || ctx.filter.max_detections < 1)
      return { detections: [], rows: [], keypoints: [] };
    const span = kps.some((p) => p.visible) ? kps.filter((p) => p.visible) : kps;
    const clampX = (v: number) => Math.min(ctx.frameWidth, Math.max(0, v));
    const clampY = (v: number) => Math.min(ctx.frameHeight, Math.max(0, v));
    const box: Box = [
      clampX(Math.min(...span.map((p) => p.x))),
      clampY(Math.min(...span.map((p) => p.y))),
      clampX(Math.max(...span.map((p) => p.x))),
      clampY(Math.max(...span.map((p) => p.y))),
    ];
    if (boxArea(box) < ctx.filter.min_box_area) return { detections: [], rows: [], keypoints: [] };
    return {
      detections: [
        {
          box: box.map((v) => round(v, 2)) as Box,
          label_id: PERSON,
          label: ctx.labels[PERSON] ?? 'person',
          score: round(score, 6),
        },
      ],
      rows: [0],
      keypoints: [kps],
    };
  },
};
