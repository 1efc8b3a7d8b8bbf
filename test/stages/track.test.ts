/**
 * `track` on real video: YOLOX-nano + the SORT tracker over people-one-by-one.mp4 (six people
 * visit the table one at a time, MEDIA.md) yields one track per visit, with matching start/end
 * events, and the `tracking` payload shape.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadManifest } from '../../src/models/manifest.js';
import { OnnxRunner } from '../../src/models/onnx-runner.js';
import { detectionModel } from '../../src/stages/detect.js';
import { trackingStep } from '../../src/stages/track.js';
import type { TrackEvent } from '../../src/stages/tracker.js';
import { FFMPEG, frameFrom, REPO, SHARED } from './helpers.js';

const VIDEO = path.join(SHARED, 'media', 'videos', 'people-one-by-one.mp4');

describe('track: people-one-by-one.mp4 (real video)', {
  skip:
    existsSync(VIDEO) && existsSync(path.join(SHARED, 'models', 'detection', 'yolox_nano.onnx'))
      ? false
      : 'shared media/models missing',
}, () => {
  it('six visits → six person tracks with start/end events and track ids on detections', async () => {
    const fps = 1;
    const buf = execFileSync(
      FFMPEG,
      ['-v', 'error', '-i', VIDEO, '-vf', `fps=${fps}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
      { maxBuffer: 1 << 30 },
    );
    const [W, H] = [768, 432];
    const size = W * H * 3;
    const n = buf.length / size;
    assert.ok(n >= 130, `${n} frames`);
    const loaded = loadManifest(path.join(REPO, 'models', 'yolox-nano', 'yolox-nano.manifest.json'));
    const model = detectionModel(loaded, await OnnxRunner.create(loaded.modelPath), {
      score_threshold: 0.35,
      max_detections: 100,
      min_box_area: 400,
      nms_iou: 0.45,
      filter: { allow: new Set([0]), deny: new Set() },
    });
    const step = trackingStep({ max_age_frames: 2, min_hits: 3, iou_threshold: 0.3 });
    const events: TrackEvent[] = [];
    let withTracks = 0;
    for (let i = 0; i < n; i++) {
      const f = frameFrom(new Uint8Array(buf.buffer, buf.byteOffset + i * size, size), W, H, i, 'office', i / fps);
      const [r] = await model.run([f]);
      const t = step(r!, f);
      events.push(...t.events);
      if (t.tracks.length > 0) {
        withTracks++;
        for (const tr of t.tracks) {
          assert.equal(tr.label, 'person');
          assert.ok(
            t.detections.some((d) => d.track_id === tr.track_id),
            "the track's detection carries its id",
          );
        }
      }
    }
    const starts = events.filter((e) => e.type === 'start');
    const ends = events.filter((e) => e.type === 'end');
    assert.equal(starts.length, 6, JSON.stringify(events));
    assert.ok(ends.length >= 5, JSON.stringify(events));
    for (const e of ends) assert.ok(starts.some((s) => s.track_id === e.track_id && s.pts < e.pts));
    // every visit lasts a while: no track shorter than 5 s
    for (const e of ends) assert.ok(e.pts - starts.find((s) => s.track_id === e.track_id)!.pts >= 5);
    assert.ok(withTracks > n / 3 && withTracks < n, `${withTracks}/${n} frames with a track`);
    await model.close();
  });
});
