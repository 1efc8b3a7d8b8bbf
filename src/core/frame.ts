/**
 * A decoded video frame as it travels through the operator graph.
 * Pixels are packed RGB24 (HWC), `width`×`height` after rotation was applied.
 */
export interface Frame {
  /** Stream id from the pipeline file (`sources[i].id`). */
  readonly stream_id: string;
  /** 0-based index of this frame among the frames the source emitted (after its `fps` sampling). */
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
