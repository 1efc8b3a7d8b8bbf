/** Shared helpers of the stage tests: frames from photos / raw fixture files, lenient manifest loading. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Frame } from '../../src/core/frame.js';

export const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
export const SHARED = process.env.VIDFLOW_SHARED
  ? path.resolve(process.env.VIDFLOW_SHARED)
  : path.resolve(REPO, '..', 'shared');
export const FIXTURES = path.join(REPO, 'test', 'fixtures', 'models');
export const FFMPEG = existsSync('/usr/bin/ffmpeg') ? '/usr/bin/ffmpeg' : 'ffmpeg';

export function frameFrom(
  data: Uint8Array,
  width: number,
  height: number,
  index = 0,
  stream_id = 's0',
  pts = index / 10,
): Frame {
  return { stream_id, index, pts, width, height, data, decoded_at_ms: Date.now(), captured_at_ms: Date.now() };
}

/** Decodes an image file to packed RGB24 with ffmpeg. */
export function photoFrame(file: string, stream_id = 's0'): Frame {
  const probe = execFileSync(
    FFMPEG,
    ['-v', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { maxBuffer: 1 << 28 },
  );
  // ffmpeg does not print the size on stdout; read it from stderr of a null run.
  const info = execFileSync(FFMPEG, ['-hide_banner', '-i', file, '-f', 'null', '-'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
  void info;
  const size = imageSize(file);
  if (probe.length !== size.width * size.height * 3)
    throw new Error(`${file}: ${probe.length} bytes for ${size.width}x${size.height}`);
  return frameFrom(
    new Uint8Array(probe.buffer, probe.byteOffset, probe.length),
    size.width,
    size.height,
    0,
    stream_id,
    0,
  );
}

export function imageSize(file: string): { width: number; height: number } {
  let text = '';
  try {
    execFileSync(FFMPEG, ['-hide_banner', '-i', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    text = String((err as { stderr?: Buffer }).stderr ?? '');
  }
  const m = /Video:.*?(\d{2,5})x(\d{2,5})/.exec(text);
  if (!m) throw new Error(`cannot read the size of ${file}`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** Reads a fixture input frame (`input_N.rgb` + `input_N.json`). */
export function fixtureFrame(dir: string, n: number, stream_id = 's0'): Frame {
  const meta = JSON.parse(readFileSync(path.join(dir, `input_${n}.json`), 'utf8')) as { width: number; height: number };
  const buf = readFileSync(path.join(dir, `input_${n}.rgb`));
  return frameFrom(
    new Uint8Array(buf.buffer, buf.byteOffset, buf.length),
    meta.width,
    meta.height,
    n,
    stream_id,
    n / 10,
  );
}

export function readF32(file: string): Float32Array {
  const buf = readFileSync(file);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
}

/**
 * Loads a manifest like loadManifest, but tolerates `decoder.output_layout` (not yet in the
 * manifest schema) so that NHWC segmentation manifests can be tested.
 */

import type { Detection } from '../../src/models/decoders/detection.js';
import { iou } from '../../src/models/decoders/nms.js';
import type { StageContext } from '../../src/core/component.js';
import { fakeStageContext } from '../support/fakes.js';

export interface ExpectedDetection {
  box: [number, number, number, number];
  label: number;
  label_name: string;
  score: number;
}

/**
 * Matches every expected detection to a distinct decoded one with the same label and the highest
 * IoU; returns the matched pairs' IoUs (NaN for an unmatched expected detection).
 */
export function matchDetections(expected: readonly ExpectedDetection[], got: readonly Detection[]): number[] {
  const used = new Set<number>();
  return expected.map((e) => {
    let best = -1;
    let bestIou = -1;
    got.forEach((g, j) => {
      if (used.has(j) || g.label_id !== e.label) return;
      const v = iou(e.box, g.box);
      if (v > bestIou) {
        bestIou = v;
        best = j;
      }
    });
    if (best < 0) return NaN;
    used.add(best);
    return bestIou;
  });
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** A StageContext for create() tests. */
export function stageContext(baseDir: string, configPath = 'stages[0]'): StageContext {
  return fakeStageContext({ baseDir, configPath });
}
