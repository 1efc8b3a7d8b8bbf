/** The committed held-out scene clip the trained detector, tracker and Mask R-CNN tests score (test/fixtures/eval). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO, tmpDir } from './media.js';

export const SYNTH_DETECT_DIR = path.join(REPO, 'test/fixtures/eval/synth-detect');
export const SYNTH_DETECT_CLIP = 'heldout-1000004-003-scene';
export const SYNTH_DETECT_GROUND_TRUTH = path.join(SYNTH_DETECT_DIR, 'ground-truth');

/**
 * Writes pipeline `name` into the tests' temporary folder as `file`: the clip (source id = its
 * name, the ground truth's stream_id) → one stage (`stage`: its `key: value` lines) → JSONL
 * `out.jsonl` beside it. Returns the pipeline's path.
 */
export function synthDetectPipeline(name: string, file: string, stage: string[]): string {
  const pipeline = path.join(tmpDir(), file);
  const video = path.join(SYNTH_DETECT_DIR, 'videos', `${SYNTH_DETECT_CLIP}.mp4`);
  writeFileSync(
    pipeline,
    `name: ${name}\nsources:\n  - type: file\n    id: ${SYNTH_DETECT_CLIP}\n    path: ${video}\nstages:\n` +
      `  - ${stage.join('\n    ')}\nsinks:\n  - type: jsonl\n    path: out.jsonl\n`,
  );
  return pipeline;
}
