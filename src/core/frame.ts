/**
 * A decoded video frame as it travels through the operator graph.
 * Pixels are packed RGB24 (HWC), `width`×`height` after rotation was applied.
 */
export interface Frame {
  /** Stream id from the pipeline file (`sources[i].id`). */
  readonly stream_id: string;
  /** 0-based index among the frames the source decoded (after its `fps` sampling). File sources never drop, so
   * indices are contiguous; a live source's dropped frames show as gaps. */
  readonly index: number;
  /** Presentation timestamp in seconds, from the container (not index / fps). */
  readonly pts: number;
  /** Size of `data`: the decoded size, smaller than the source's with the sources' `decode_size`. */
  readonly width: number;
  readonly height: number;
  /**
   * The source's frame size when ffmpeg scaled the frame at decode time (`decode_size`; absent
   * otherwise). Results are reported in these coordinates: see `sourceSize`.
   */
  readonly source_width?: number;
  readonly source_height?: number;
  /** Packed RGB24, length width*height*3. */
  readonly data: Uint8Array;
  /** Wall clock (ms since epoch) when the frame left the decoder (was handed to the graph). */
  readonly decoded_at_ms: number;
  /**
   * Wall clock (ms since epoch) when the frame was captured, as far as vidflow can know: when its
   * last byte was read from ffmpeg (files, and live frames read promptly). For live sources, when
   * bytes were read late (they waited in a pipe or socket buffer) the estimate is earlier: the
   * arrival clock anchored on the stream's pts (see `liveCaptureClock`), so waiting anywhere
   * before vidflow's drop policy counts as latency. `latency_ms` is measured from here.
   */
  readonly captured_at_ms: number;
  /**
   * Live sources only: `captured_at_ms` + the source's `latency_budget_ms`. A stage drops a frame
   * whose result it expects after the deadline (`dropped.<stream>.stale`) instead of processing it late.
   */
  readonly deadline_ms?: number;
  /**
   * Sources that read one file per frame (`images`): the absolute path of the file this frame was
   * decoded from. Carried into every record as `source_path`.
   */
  readonly source_path?: string;
}

/**
 * The size of the frame as the source has it: what records' `frame_width`/`frame_height` and every
 * geometric output (boxes, keypoints, masks, label maps) refer to, whatever size it was decoded at.
 */
export function sourceSize(frame: Pick<Frame, 'width' | 'height' | 'source_width' | 'source_height'>): {
  width: number;
  height: number;
} {
  return { width: frame.source_width ?? frame.width, height: frame.source_height ?? frame.height };
}

export function frameKey(stream_id: string, index: number): string {
  return `${stream_id}#${index}`;
}

/**
 * A live stream's capture clock: maps (when a frame's bytes were read, its pts) to when it was
 * most likely captured. Bytes read promptly are stamped with their read time; bytes that waited
 * in a pipe or socket buffer (the process was busy) are read late but their pts still advance at
 * the camera's rate, so anchoring the pts on the earliest arrival seen (`read − pts`, minimum)
 * recovers how long they waited. The anchor may rise by 0.2 % of stream time (camera clock
 * drift) and restarts when pts go backwards (a new stream); never later than the read time.
 */
export function liveCaptureClock(driftAllowance = 0.002): (read_ms: number, pts_s: number) => number {
  let anchor = Number.NaN;
  let lastPtsMs = Number.NaN;
  return (read_ms, pts_s) => {
    if (!Number.isFinite(pts_s)) return read_ms;
    const ptsMs = pts_s * 1000;
    const offset = read_ms - ptsMs;
    if (Number.isNaN(anchor) || ptsMs < lastPtsMs) anchor = offset;
    else anchor = Math.min(anchor + (ptsMs - lastPtsMs) * driftAllowance, offset);
    lastPtsMs = ptsMs;
    return Math.min(read_ms, anchor + ptsMs);
  };
}
