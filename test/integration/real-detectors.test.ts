/**
 * FastestDet (decoder `fastestdet`) and UltraFace RFB-320 (decoder `ultraface`) run through the
 * whole pipeline (CLI, ffmpeg decode, detect stage, JSONL sink) on the shared photos and videos,
 * and find what shared/media/MEDIA.md says is visible: cars on the highway, people in the photos
 * of people, faces where there are faces and none on the highway. Thresholds are the reference
 * repositories' (FastestDet 0.65, UltraFace 0.7).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { sharedMedia, sharedModel } from '../support/media.js';
import { runPipelineRecords } from '../support/pipeline.js';

interface Det {
  box: [number, number, number, number];
  label: string;
  score: number;
}
interface Rec {
  stream_id: string;
  stage_id: string;
  frame_index: number;
  frame_width: number;
  frame_height: number;
  results: { detections: Det[] };
}

const have =
  ['detection/fastestdet.onnx', 'detection/ultraface_rfb_320.onnx'].every((m) => existsSync(sharedModel(m))) &&
  existsSync(sharedMedia('photos/apollo-crew.jpg'));

describe('FastestDet and UltraFace through the CLI on the shared media', {
  skip: have ? false : 'shared models/media missing',
  timeout: 10 * 60_000,
}, () => {
  let recs: Rec[] = [];
  const of = (stream: string, stage: string) =>
    recs.filter((r) => r.stream_id === stream && r.stage_id === stage).sort((a, b) => a.frame_index - b.frame_index);
  const labels = (r: Rec, label: string) => r.results.detections.filter((d) => d.label === label);

  before(async () => {
    const src = (id: string, rel: string, fps?: number) =>
      `  - { type: file, id: ${id}, path: ${JSON.stringify(sharedMedia(rel))}${fps ? `, fps: ${fps}` : ''} }`;
    recs = await runPipelineRecords<Rec>('real-detectors', [
      'sources:',
      src('highway', 'photos/highway-cars.jpg'),
      src('dashcam', 'videos/highway-dashcam.mp4', 5),
      src('soccer', 'photos/soccer.jpg'),
      src('apollo', 'photos/apollo-crew.jpg'),
      src('cat', 'photos/cat.png'),
      src('astronaut', 'photos/astronaut.png'),
      src('headpose', 'videos/faces-head-pose.mp4', 3),
      src('walking', 'videos/walking-pair-faces.mp4', 4),
      'stages:',
      '  - { type: detect, id: objects, model: fastestdet, score_threshold: 0.65, streams: [highway, dashcam, ' +
        'soccer, apollo, cat] }',
      '  - { type: detect, id: faces, model: ultraface-rfb-320, score_threshold: 0.7, streams: [astronaut, apollo, ' +
        'headpose, walking, highway] }',
    ]);
  });

  it('every box lies inside its frame', () => {
    assert.ok(recs.length > 0);
    for (const r of recs) {
      for (const d of r.results.detections) {
        const [x1, y1, x2, y2] = d.box;
        assert.ok(
          x1 >= 0 && y1 >= 0 && x2 <= r.frame_width && y2 <= r.frame_height && x2 > x1 && y2 > y1,
          `${r.stream_id} ${JSON.stringify(d)}`,
        );
      }
    }
  });

  it(
    'fastestdet: the 2 cars ahead on the right of the highway photo and of every dash-camera frame; no person ' +
      'there',
    () => {
      const [photo] = of('highway', 'objects');
      const right = (r: Rec) => labels(r, 'car').filter((d) => (d.box[0] + d.box[2]) / 2 > r.frame_width / 2);
      assert.ok(right(photo!).length >= 2, JSON.stringify(photo!.results));
      assert.equal(labels(photo!, 'person').length, 0);
      const dash = of('dashcam', 'objects');
      assert.equal(dash.length, 8); // 1.52 s at fps 5
      for (const r of dash) {
        assert.ok(right(r).length >= 2, `frame ${r.frame_index}: ${JSON.stringify(r.results)}`);
        assert.equal(labels(r, 'person').length, 0);
      }
    },
  );

  it('fastestdet: the 3 soccer players, the 3 Apollo astronauts, the cat', () => {
    assert.ok(labels(of('soccer', 'objects')[0]!, 'person').length >= 3);
    assert.equal(labels(of('apollo', 'objects')[0]!, 'person').length, 3);
    const cat = of('cat', 'objects')[0]!;
    assert.ok(labels(cat, 'cat').length >= 1 && labels(cat, 'person').length === 0, JSON.stringify(cat.results));
  });

  it('ultraface: 1 face on the astronaut portrait (upper half), 3 on the Apollo crew, none on the highway', () => {
    const [astro] = of('astronaut', 'faces');
    assert.equal(astro!.results.detections.length, 1, JSON.stringify(astro!.results));
    const f = astro!.results.detections[0]!;
    assert.equal(f.label, 'face');
    assert.ok(f.box[3] < astro!.frame_height / 2, JSON.stringify(f));
    assert.equal(of('apollo', 'faces')[0]!.results.detections.length, 3);
    assert.equal(of('highway', 'faces')[0]!.results.detections.length, 0);
  });

  it('ultraface: the two heads of faces-head-pose (one left, one right) and the walking pair', () => {
    const hp = of('headpose', 'faces');
    assert.equal(hp.length, 14); // 4.667 s at fps 3
    const both = hp.filter((r) => {
      const cx = r.results.detections.map((d) => (d.box[0] + d.box[2]) / 2);
      return cx.length === 2 && cx.some((x) => x < r.frame_width / 2) && cx.some((x) => x > r.frame_width / 2);
    });
    assert.ok(both.length >= 0.8 * hp.length, `${both.length}/${hp.length} frames with one face each side`);
    const walk = of('walking', 'faces');
    assert.ok(walk.length >= 11);
    assert.ok(walk.every((r) => r.results.detections.length >= 1));
    assert.ok(walk.filter((r) => r.results.detections.length === 2).length >= walk.length / 2);
  });
});
