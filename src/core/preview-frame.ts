/** The preview-frame contract: a JPEG of one decoded frame, made by the runtime (runtime/preview.ts) for sinks that
 * show video. */

/** A preview frame handed to the sink (`writeFrame`). */
export interface PreviewFrame {
  stream_id: string;
  index: number;
  /** Seconds. */
  pts: number;
  width: number;
  height: number;
  /** A complete JPEG image. */
  jpeg: Buffer;
}
