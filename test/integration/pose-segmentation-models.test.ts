/**
 * BodyPix MobileNetV1 0.50 stride 16 (`detect_keypoints` with model bodypix-keypoints, `segment`
 * with bodypix-person-segmentation) and road-segmentation-adas-0001 (`segment`) run by name through
 * the whole pipeline (CLI, ffmpeg decode, preprocessing, onnxruntime-node, decoders, JSONL) on the
 * shared photos and videos. Checks what shared/media/MEDIA.md says is visible (a person's face
 * keypoints in the upper part of the person, person pixels under them, none on the highway; road
 * in the lower half of the highway frames, none on the girl-and-dog field) and that the results
 * agree with the independent onnxruntime + numpy decode of the first frames committed by
 * tools/reference/decode_pose_segmentation.py: keypoints within 0.5 px, label maps within 0.5 % of
 * the pixels.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { decodeLabelMapRle, type LabelMapRle } from '../../src/models/decoders/rle.js';
import { REPO, SHARED, sharedModel } from '../support/media.js';
import { runPipelineRecords } from '../support/pipeline.js';

interface Kp {
  name: string;
  x: number;
  y: number;
  visible: boolean;
  score: number;
}
interface Person {
  box: [number, number, number, number];
  label: string;
  score: number;
  keypoints: Kp[];
}
interface Rec {
  stream_id: string;
  stage_id: string;
  frame_index: number;
  frame_width: number;
  frame_height: number;
  results: { detections?: Person[]; class_fractions?: Record<string, number>; label_map?: LabelMapRle };
}
interface RefCase {
  model: string;
  media: string;
  frame_width: number;
  frame_height: number;
  person?: { score: number; keypoints: Array<{ name: string; x: number; y: number; score: number }> };
  class_fractions?: Record<string, number>;
  label_map?: LabelMapRle;
}

const FIXTURE = path.join(REPO, 'test', 'fixtures', 'reference', 'pose-segmentation.json');
const SCORE_THRESHOLD = 0.3;
const have =
  ['pose/bodypix_mobilenetv1_050_stride16.onnx', 'segmentation/road_segmentation_adas_0001.onnx'].every((m) =>
    existsSync(sharedModel(m)),
  ) && existsSync(path.join(SHARED, 'media', 'photos', 'astronaut.png'));

describe('BodyPix keypoints / person mask and road segmentation through the CLI on the shared media', {
  skip: have ? false : 'shared models/media missing',
  timeout: 10 * 60_000,
}, () => {
  const ref = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { cases: RefCase[] };
  const streamId = (media: string) => path.basename(media).replace(/\W+/g, '_');
  const streams = (model: string) => ref.cases.filter((c) => c.model === model).map((c) => streamId(c.media));
  let recs: Rec[] = [];
  const of = (stream: string, stage: string) =>
    recs.filter((r) => r.stream_id === stream && r.stage_id === stage).sort((a, b) => a.frame_index - b.frame_index);
  const kp = (p: Person, name: string) => p.keypoints.find((k) => k.name === name)!;

  before(async () => {
    const media = [...new Set(ref.cases.map((c) => c.media))];
    recs = await runPipelineRecords<Rec>('pose-segmentation', [
      'sources:',
      // fps 2 keeps the first frame of each video (the reference decodes frame 0) and a few more.
      ...media.map((m) => {
        const file = JSON.stringify(path.join(SHARED, m));
        return `  - { type: file, id: ${streamId(m)}, path: ${file}${m.includes('/videos/') ? ', fps: 2' : ''} }`;
      }),
      'stages:',
      `  - { type: detect_keypoints, id: pose, model: bodypix-keypoints, score_threshold: ${SCORE_THRESHOLD}, ` +
        `streams: [${streams('bodypix-keypoints').join(', ')}] }`,
      `  - { type: segment, id: person, model: bodypix-person-segmentation, label_map: rle, streams: ` +
        `[${streams('bodypix-person-segmentation').join(', ')}] }`,
      `  - { type: segment, id: road, model: road-segmentation-adas-0001, label_map: rle, streams: ` +
        `[${streams('road-segmentation-adas-0001').join(', ')}] }`,
    ]);
  });

  it(
    'bodypix-keypoints: one person with the 17 COCO keypoints, face keypoints in the upper part of its box, on the ' +
      'photos and every asl-walk frame; none on the highway',
    () => {
      const check = (r: Rec) => {
        const where = `${r.stream_id} frame ${r.frame_index}: ${JSON.stringify(r.results.detections)}`;
        assert.equal(r.results.detections!.length, 1, where);
        const p = r.results.detections![0]!;
        assert.equal(p.label, 'person');
        assert.equal(p.keypoints.length, 17);
        assert.deepEqual(
          p.keypoints.slice(0, 3).map((k) => k.name),
          ['nose', 'left_eye', 'right_eye'],
        );
        const [x1, y1, x2, y2] = p.box;
        assert.ok(x1 >= 0 && y1 >= 0 && x2 <= r.frame_width && y2 <= r.frame_height && x2 > x1 && y2 > y1, where);
        const nose = kp(p, 'nose');
        assert.ok(nose.visible && nose.score > 0.8, where);
        assert.ok(
          nose.x >= x1 && nose.x <= x2 && nose.y >= y1 && nose.y <= y1 + (y2 - y1) / 3,
          `nose not in the upper third of the box: ${where}`,
        );
        // The eyes are above the shoulders.
        for (const eye of ['left_eye', 'right_eye'])
          for (const sh of ['left_shoulder', 'right_shoulder']) assert.ok(kp(p, eye).y < kp(p, sh).y, where);
        return p;
      };
      const astro = check(of('astronaut_png', 'pose')[0]!);
      assert.ok(kp(astro, 'nose').y < 512 / 2, "the astronaut's face is in the upper half");
      check(of('girl_dog_jpg', 'pose')[0]!);
      const asl = of('asl_walk_mkv', 'pose');
      assert.ok(asl.length >= 5, `${asl.length} asl-walk frames`);
      asl.forEach(check);
      assert.equal(of('highway_cars_jpg', 'pose')[0]!.results.detections!.length, 0);
    },
  );

  it('bodypix-person-segmentation: person pixels under the nose and around the person box; none on the highway', () => {
    const mask = (stream: string, i = 0) => {
      const r = of(stream, 'person')[i]!;
      return { r, m: decodeLabelMapRle(r.results.label_map!) };
    };
    for (const stream of ['astronaut_png', 'girl_dog_jpg', 'asl_walk_mkv']) {
      const { r, m } = mask(stream);
      const p = of(stream, 'pose')[0]!.results.detections![0]!;
      const nose = kp(p, 'nose');
      assert.equal(
        m[Math.round(nose.y) * r.frame_width + Math.round(nose.x)],
        1,
        `${stream}: the nose pixel is person`,
      );
      const [x1, y1, x2, y2] = p.box.map(Math.round) as [number, number, number, number];
      let inside = 0;
      let total = 0;
      let sumX = 0;
      for (let y = 0; y < r.frame_height; y++)
        for (let x = 0; x < r.frame_width; x++) {
          if (m[y * r.frame_width + x] !== 1) continue;
          total++;
          sumX += x;
          if (x >= x1 - 0.5 * (x2 - x1) && x <= x2 + 0.5 * (x2 - x1) && y >= y1 - 0.25 * (y2 - y1)) inside++;
        }
      assert.ok(
        sumX / total >= x1 && sumX / total <= x2,
        `${stream}: person pixels centred at x ${(sumX / total).toFixed(1)}, outside the box ${p.box.join(',')}`,
      );
      const share = r.results.class_fractions!.person!;
      assert.ok(share > 0.1 && share < 0.6, `${stream}: person ${share}`);
      assert.ok(
        inside / total > 0.75,
        `${stream}: ${inside}/${total} person pixels around the keypoint box (widened by half its width each side, ` +
          `and below it: the body)`,
      );
    }
    assert.deepEqual(of('highway_cars_jpg', 'person')[0]!.results.class_fractions, { background: 1 });
  });

  it(
    'road-segmentation-adas-0001: road in the lower half of the highway frames (about a quarter to a third of the ' +
      'frame), mostly road on the parking lane, none on the field',
    () => {
      for (const stream of ['highway_cars_jpg', 'highway_dashcam_mp4']) {
        const frames = of(stream, 'road');
        assert.ok(frames.length >= 1);
        for (const r of frames) {
          const road = r.results.class_fractions!.road ?? 0;
          assert.ok(road > 0.15 && road < 0.45, `${stream} frame ${r.frame_index}: road ${road}`);
          const m = decodeLabelMapRle(r.results.label_map!);
          let lower = 0;
          let all = 0;
          m.forEach((v, i) => {
            if (v !== 1) return;
            all++;
            if (i >= (r.frame_height / 2) * r.frame_width) lower++;
          });
          assert.ok(lower / all > 0.95, `${stream}: ${lower}/${all} road pixels in the lower half`);
        }
      }
      assert.ok((of('parking_cars_mp4', 'road')[0]!.results.class_fractions!.road ?? 0) > 0.4);
      assert.equal(of('girl_dog_jpg', 'road')[0]!.results.class_fractions!.road, undefined);
    },
  );

  it(
    'agrees with the Python onnxruntime reference: keypoints within 0.5 px, scores within 1e-3, label maps within ' +
      '0.5 % of the pixels',
    (t) => {
      let keypoints = 0;
      let worstKp = 0;
      let worstMap = 0;
      for (const c of ref.cases) {
        const where = `${c.model} on ${c.media}`;
        const stage =
          c.model === 'bodypix-keypoints' ? 'pose' : c.model === 'bodypix-person-segmentation' ? 'person' : 'road';
        const rec = of(streamId(c.media), stage)[0];
        assert.ok(rec, `${where}: no record`);
        assert.deepEqual([rec.frame_width, rec.frame_height], [c.frame_width, c.frame_height], where);
        if (c.person) {
          const got = rec.results.detections!;
          if (c.person.score < SCORE_THRESHOLD) {
            assert.equal(got.length, 0, where);
            continue;
          }
          assert.equal(got.length, 1, where);
          assert.ok(
            Math.abs(got[0]!.score - c.person.score) <= 1e-3,
            `${where}: score ${got[0]!.score} vs ${c.person.score}`,
          );
          c.person.keypoints.forEach((e, j) => {
            const g = got[0]!.keypoints[j]!;
            assert.equal(g.name, e.name);
            const d = Math.max(Math.abs(g.x - e.x), Math.abs(g.y - e.y));
            assert.ok(d <= 0.5, `${where}: ${e.name} at ${g.x},${g.y} vs reference ${e.x},${e.y}`);
            assert.ok(Math.abs(g.score - e.score) <= 1e-3, `${where}: ${e.name} score ${g.score} vs ${e.score}`);
            worstKp = Math.max(worstKp, d);
            keypoints++;
          });
        } else {
          const a = decodeLabelMapRle(rec.results.label_map!);
          const b = decodeLabelMapRle(c.label_map!);
          assert.equal(a.length, b.length, where);
          let diff = 0;
          for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff++;
          assert.ok(diff / a.length <= 0.005, `${where}: ${diff} of ${a.length} pixels differ`);
          worstMap = Math.max(worstMap, diff / a.length);
        }
      }
      assert.ok(keypoints >= 4 * 17, `${keypoints} keypoints compared`);
      t.diagnostic(
        `${keypoints} keypoints compared, largest difference ${worstKp.toFixed(3)} px; largest label-map difference ` +
          `${(worstMap * 100).toFixed(3)} % of the pixels`,
      );
    },
  );
});
