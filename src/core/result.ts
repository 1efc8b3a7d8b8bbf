/**
 * The versioned result record shared by every sink (docs/result-schema.md).
 * Bump RESULT_SCHEMA_VERSION on any incompatible change.
 */
export const RESULT_SCHEMA_VERSION = 1;

/** The tasks a model manifest can declare. */
export const MODEL_TASKS = ['classification', 'detection', 'instance_segmentation', 'keypoint_detection', 'semantic_segmentation', 'video_classification'] as const;

/** Every task a result record can carry (model tasks plus `tracking`). */
export const TASKS = [...MODEL_TASKS, 'tracking'] as const;
export type Task = (typeof TASKS)[number];

export interface ClassScore {
  label_id: number;
  label: string;
  score: number;
}

export interface ResultRecord {
  schema_version: typeof RESULT_SCHEMA_VERSION;
  pipeline: string;
  stream_id: string;
  frame_index: number;
  /** Presentation timestamp of the frame, seconds. For clips: the last frame's pts. */
  pts: number;
  stage_id: string;
  model_id: string | null;
  task: Task;
  /** Frame size the coordinates in `results` refer to (source pixels after rotation). */
  frame_width: number;
  frame_height: number;
  /** Task-specific payload; see docs/result-schema.md. */
  results: unknown;
  /** Milliseconds from decode to result. */
  latency_ms: number;
  /** Extra task-specific fields at top level, e.g. `pts_start` for clips. */
  [extra: string]: unknown;
}

/**
 * What a stage emits for every frame it receives: exactly one outcome, carrying zero or more
 * records. The runtime counts outcomes to release the frame's flow-control credit, so a stage
 * that skips a frame (sampling) still emits an outcome with no records.
 */
export interface FrameOutcome {
  stream_id: string;
  frame_index: number;
  records: ResultRecord[];
}
