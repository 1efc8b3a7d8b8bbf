/**
 * `track` stage: a detector (same model and options as `detect`) followed by a per-stream
 * SORT-style tracker (tracker.ts). Emits task `tracking` records with the reported tracks, the
 * track start/end events of the frame, and the frame's detections with their `track_id`.
 */
import { z } from 'zod';
import type { Stage, StageSpec } from '../core/component.js';
import type { Frame } from '../core/frame.js';
import type { Detection } from '../models/decoders/detection.js';
import { detectionModel, detectOptionFields, openDetector, type DetectResult } from './detect.js';
import type { FrameModel } from './model-stage.js';
import { modelStageFields, stageFor } from './model-stage.js';
import {
  DEFAULT_IOU_THRESHOLD,
  DEFAULT_MAX_AGE_FRAMES,
  DEFAULT_MIN_HITS,
  Tracker,
  type TrackerOptions,
  type TrackEvent,
  type TrackOut,
} from './tracker.js';

export const trackSchema = z
  .object({
    type: z.literal('track'),
    ...modelStageFields,
    ...detectOptionFields,
    max_age_frames: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(DEFAULT_MAX_AGE_FRAMES)
      .describe('Processed frames a track survives without a matching detection (occlusion gap) before it ends.'),
    min_hits: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(DEFAULT_MIN_HITS)
      .describe('Matched detections before a track is reported (and its `start` event sent).'),
    iou_threshold: z
      .number()
      .min(0)
      .max(1)
      .default(DEFAULT_IOU_THRESHOLD)
      .describe("Minimum IoU between a track's predicted box and a detection to associate them."),
  })
  .strict();
export type TrackConfig = z.infer<typeof trackSchema>;

export interface TrackingResult {
  tracks: TrackOut[];
  events: TrackEvent[];
  detections: Detection[];
}

/**
 * The per-stream tracking step: feeds one frame's detections to that stream's tracker (created on
 * first use) and builds the `tracking` payload. Frames of a stream must arrive in order.
 */
export function trackingStep(
  options: TrackerOptions,
): (result: DetectResult, frame: Pick<Frame, 'stream_id' | 'pts'>) => TrackingResult {
  const trackers = new Map<string, Tracker>();
  return (result, frame) => {
    let tracker = trackers.get(frame.stream_id);
    if (!tracker) {
      tracker = new Tracker(options);
      trackers.set(frame.stream_id, tracker);
    }
    const u = tracker.update(result.detections, frame.pts);
    const detections = result.detections.map((d, i) => {
      const id = u.track_ids[i];
      return id === null || id === undefined ? d : { ...d, track_id: id };
    });
    return { tracks: u.tracks, events: u.events, detections };
  };
}

export const trackSpec: StageSpec<TrackConfig> = {
  type: 'track',
  summary:
    'Multi-object tracking (SORT: IoU + Kalman) over a detector: stable per-stream track ids, start/end events, ' +
    'majority class per track.',
  schema: trackSchema,
  example: {
    type: 'track',
    id: 'people',
    model: 'yolox-nano',
    classes: ['person'],
    score_threshold: 0.4,
    max_age_frames: 15,
    min_hits: 3,
  },
  async create(config, ctx): Promise<Stage> {
    const { loaded, runner, options } = await openDetector(config, ctx, ['detection'], 'track');
    const det = detectionModel(loaded, runner, options);
    const model: FrameModel<DetectResult> = {
      ...det,
      task: 'tracking',
      run: (f, p) => det.run(f, p),
      close: () => det.close(),
    };
    return stageFor(
      config,
      ctx,
      model,
      trackingStep({
        max_age_frames: config.max_age_frames,
        min_hits: config.min_hits,
        iou_threshold: config.iou_threshold,
      }),
    );
  },
};
