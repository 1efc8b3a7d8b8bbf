/**
 * Model-free stages for runtime tests and benches: each frame becomes one record (through the
 * same `makeRecord` the model stages use), optionally after a fixed delay.
 */
import { concatMap, from, map, type Observable } from 'rxjs';
import type { Stage } from '../../src/core/component.js';
import type { Frame } from '../../src/core/frame.js';
import type { FrameOutcome } from '../../src/core/result.js';
import { makeRecord } from '../../src/stages/model-stage.js';

function outcome(pipeline: string, stage_id: string, f: Frame): FrameOutcome {
  return {
    stream_id: f.stream_id,
    frame_index: f.index,
    records: [makeRecord({ pipeline, stage_id, model_id: null, task: 'classification' }, f, null)],
  };
}

/** One record per frame, at once. */
export function passthroughStage(pipeline: string): Stage {
  return {
    id: 'pass',
    streams: null,
    operator: map((f: Frame) => outcome(pipeline, 'pass', f)),
    close: async () => undefined,
  };
}

/** One record per frame after `ms`, one frame at a time; `onFrame` sees each processed frame. */
export function slowStage(pipeline: string, ms: number, onFrame: (f: Frame) => void = () => undefined): Stage {
  return {
    id: 'slow',
    streams: null,
    operator: (src: Observable<Frame>) =>
      src.pipe(
        concatMap((f) => from(new Promise<Frame>((r) => setTimeout(() => r(f), ms)))),
        map((f) => {
          onFrame(f);
          return outcome(pipeline, 'slow', f);
        }),
      ),
    close: async () => undefined,
  };
}
