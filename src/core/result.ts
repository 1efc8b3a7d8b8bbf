/**
 * The versioned result record shared by every sink (docs/result-schema.md).
 * Bump RESULT_SCHEMA_VERSION on any incompatible change.
 */
export const RESULT_SCHEMA_VERSION = 1;

/** The tasks a model manifest can declare. */
export const MODEL_TASKS = [
  'classification',
  'detection',
  'instance_segmentation',
  'keypoint_detection',
  'semantic_segmentation',
  'video_classification',
] as const;

/** Every task a result record can carry (model tasks, `tracking`, and `stream_health` events). */
export const TASKS = [...MODEL_TASKS, 'tracking', 'stream_health'] as const;
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

/** A live stream's health states (docs/result-schema.md, "Stream health events"). */
export const STREAM_STATES = ['connecting', 'live', 'stalled', 'reconnecting', 'failed'] as const;
export type StreamState = (typeof STREAM_STATES)[number];

/** One change of a live stream's health state. */
export interface StreamHealthEvent {
  stream_id: string;
  state: StreamState;
  /** The state before this change (null for the first event). */
  previous: StreamState | null;
  /** Reconnects of this stream so far (all attempts, not only the current run of failures). */
  reconnects: number;
  /** Why the state changed, one sentence without credentials (null when obvious). */
  reason: string | null;
  /** Wall clock of the change, ms since epoch. */
  at_ms: number;
}

/**
 * The record sinks receive for a health event: `task: "stream_health"`, `stage_id: "source"`,
 * `frame_index` the last frame index the source emitted (-1 before the first), `results` the event.
 */
export function healthRecord(
  pipeline: string,
  e: StreamHealthEvent,
  last: { index: number; pts: number; width: number; height: number } | null,
): ResultRecord {
  return {
    schema_version: RESULT_SCHEMA_VERSION,
    pipeline,
    stream_id: e.stream_id,
    frame_index: last?.index ?? -1,
    pts: last?.pts ?? 0,
    stage_id: 'source',
    model_id: null,
    task: 'stream_health',
    frame_width: last?.width ?? 0,
    frame_height: last?.height ?? 0,
    results: { state: e.state, previous: e.previous, reconnects: e.reconnects, reason: e.reason, at_ms: e.at_ms },
    latency_ms: 0,
  };
}
