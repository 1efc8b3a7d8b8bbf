/**
 * vidflow's FastestDet and UltraFace boxes (whole pipeline: CLI, ffmpeg decode, preprocessing,
 * onnxruntime-node, decoder, NMS, JSONL) against an independent Python onnxruntime + numpy decode
 * of the same first frames, committed as test/fixtures/reference/detectors.json by
 * tools/reference/decode_detectors.py: the same detections, each corner within 0.5 px.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO, sharedMedia, sharedModel } from '../support/media.js';
import { runPipelineRecords } from '../support/pipeline.js';

interface Det {
  box: [number, number, number, number];
  label: string;
  score: number;
}
interface RefCase {
  model: string;
  media: string;
  frame_width: number;
  frame_height: number;
  score_threshold: number;
  detections: Det[];
}
interface Rec {
  stream_id: string;
  stage_id: string;
  frame_index: number;
  frame_width: number;
  frame_height: number;
  results: { detections: Det[] };
}

const FIXTURE = path.join(REPO, 'test', 'fixtures', 'reference', 'detectors.json');
const have =
  ['detection/fastestdet.onnx', 'detection/ultraface_rfb_320.onnx'].every((m) => existsSync(sharedModel(m))) &&
  existsSync(sharedMedia('photos/astronaut.png'));

describe('FastestDet and UltraFace match the Python onnxruntime reference within 0.5 px', {
  skip: have ? false : 'shared models/media missing',
  timeout: 10 * 60_000,
}, () => {
  const ref = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { cases: RefCase[] };
  const streamId = (media: string) => path.basename(media).replace(/\W+/g, '_');
  it('same detections, same labels, corners within 0.5 px, scores within 1e-3', async (t) => {
    const media = [...new Set(ref.cases.map((c) => c.media))];
    const streams = (model: string) => ref.cases.filter((c) => c.model === model).map((c) => streamId(c.media));
    const stage = (model: string) => {
      const thr = ref.cases.find((c) => c.model === model)!.score_threshold;
      const ids = streams(model).join(', ');
      return `  - { type: detect, id: ${model}, model: ${model}, score_threshold: ${thr}, streams: [${ids}] }`;
    };
    const recs = await runPipelineRecords<Rec>('reference-detectors', [
      'sources:',
      // fps 1 keeps the first frame of the videos (the reference decodes frame 0 only).
      ...media.map((m) => {
        const file = JSON.stringify(path.join(path.dirname(sharedMedia('x')), '..', m));
        return `  - { type: file, id: ${streamId(m)}, path: ${file}${m.includes('/videos/') ? ', fps: 1' : ''} }`;
      }),
      'stages:',
      stage('fastestdet'),
      stage('ultraface-rfb-320'),
    ]);
    let compared = 0;
    let worst = 0;
    let worstScore = 0;
    for (const c of ref.cases) {
      const where = `${c.model} on ${c.media}`;
      const rec = recs
        .filter((x) => x.stream_id === streamId(c.media) && x.stage_id === c.model)
        .sort((a, b) => a.frame_index - b.frame_index)[0];
      assert.ok(rec, `${where}: no record`);
      assert.deepEqual([rec.frame_width, rec.frame_height], [c.frame_width, c.frame_height], where);
      const got = rec.results.detections;
      assert.equal(
        got.length,
        c.detections.length,
        `${where}: vidflow ${JSON.stringify(got)} vs reference ${JSON.stringify(c.detections)}`,
      );
      const used = new Set<number>();
      for (const e of c.detections) {
        const dist = (g: Det) => Math.max(...g.box.map((v, k) => Math.abs(v - e.box[k]!)));
        let best = -1;
        got.forEach((g, j) => {
          if (!used.has(j) && g.label === e.label && (best < 0 || dist(g) < dist(got[best]!))) best = j;
        });
        assert.ok(best >= 0, `${where}: no ${e.label} for ${JSON.stringify(e)}`);
        used.add(best);
        const g = got[best]!;
        assert.ok(
          dist(g) <= 0.5,
          `${where}: ${JSON.stringify(g.box)} vs reference ${JSON.stringify(e.box)} (max corner diff ` +
            `${dist(g).toFixed(3)} px)`,
        );
        assert.ok(Math.abs(g.score - e.score) <= 1e-3, `${where}: score ${g.score} vs reference ${e.score}`);
        worst = Math.max(worst, dist(g));
        worstScore = Math.max(worstScore, Math.abs(g.score - e.score));
        compared++;
      }
    }
    assert.ok(compared >= 15, `${compared} detections compared`);
    t.diagnostic(
      `${compared} detections compared; largest corner difference ${worst.toFixed(3)} px, largest score difference ` +
        `${worstScore.toExponential(1)}`,
    );
  });
});
