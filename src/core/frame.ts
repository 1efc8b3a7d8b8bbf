/**
 * A decoded video frame as it travels through the operator graph.
 * Pixels are packed RGB24 (HWC), `width`×`height` after rotation was applied.
 */
export interface Frame {
  /** Stream id from the pipeline file (`sources[i].id`). */
  readonly stream_id: string;
  /** 0-based index among the frames the source decoded (after its `fps` sampling). File sources never drop, so indices are contiguous; a live source's dropped frames show as gaps. */
  readonly index: number;
  /** Presentation timestamp in seconds, from the container (not index / fps). */
  readonly pts: number;
  readonly width: number;
  readonly height: number;
  /** Packed RGB24, length width*height*3. */
  readonly data: Uint8Array;
  /** Wall clock (ms since epoch) when the frame left the decoder; for latency figures. */
  readonly decoded_at_ms: number;
}

export function frameKey(stream_id: string, index: number): string {
  return `${stream_id}#${index}`;
}
