/**
 * The synthetic ground truth of tools/synth/generate.py (a committed heldout clip: one 16-frame scene with six
 * objects that enter, leave and occlude each other, and one 8-frame motion clip) read by `vidflow eval`'s loader and
 * scored through the metric code: the ground truth turned into the records a pipeline would write scores 1.0
 * everywhere, and perturbed copies score what the perturbation predicts. When python3 with numpy is available
 * (VIDFLOW_PYTHON, default python3) the generator is also run and must reproduce the fixture byte for byte.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { ResultRecord } from '../../src/core/result.js';
import { type CocoDoc, loadGroundTruth, scoreRecords } from '../../src/eval/cli.js';
import { readLabelMap } from '../../src/eval/label-map.js';
import { REPO, tmpDir } from '../support/media.js';
import { runEvalJson } from '../support/pipeline.js';

const FIXTURE = path.join(REPO, 'test/fixtures/eval/synth');
const GT_DIR = path.join(FIXTURE, 'ground-truth');

interface Perturb {
  /** shift every box right by this fraction of its width */
  shift?: number;
  /** semantic class id predicted as background */
  dropClass?: number;
  /** from frame `at` on, the hypothesis of this track gets a new id */
  switchTrack?: { stream: string; id: number; at: number };
  clipLabel?: string;
}

function recordsFrom(gt: CocoDoc, p: Perturb = {}): ResultRecord[] {
  const names = new Map(gt.categories.map((c) => [c.id, c.name]));
  const records: ResultRecord[] = [];
  for (const img of gt.images) {
    const base = { schema_version: 1, pipeline: 'gt', stream_id: img.stream_id!, frame_index: img.frame_index! };
    const detections = gt.annotations
      .filter((a) => a.image_id === img.id)
      .map((a) => {
        const [x, y, w, h] = a.bbox;
        const dx = (p.shift ?? 0) * w;
        const k = a.keypoints;
        return {
          box: [x + dx, y, x + dx + w, y + h],
          label: names.get(a.category_id)!,
          score: 1,
          mask: a.segmentation,
          keypoints: k
            ? Array.from({ length: k.length / 3 }, (_, i) => ({ x: k[3 * i]!, y: k[3 * i + 1]! }))
            : undefined,
          track_id:
            p.switchTrack &&
            a.track_id === p.switchTrack.id &&
            img.stream_id === p.switchTrack.stream &&
            img.frame_index! >= p.switchTrack.at
              ? 99
              : a.track_id,
        };
      });
    records.push({ ...base, task: 'tracking', results: { detections } } as unknown as ResultRecord);
    let labelMap = img.label_map;
    if (p.dropClass !== undefined) {
      const m = readLabelMap(img.label_map, 'gt');
      const data = m.data.map((v) => (v === p.dropClass ? 0 : v));
      labelMap = { format: 'png', data: pngOf(data, m.width, m.height) };
    }
    records.push({
      ...base,
      task: 'semantic_segmentation',
      results: { label_map: labelMap },
    } as unknown as ResultRecord);
  }
  for (const c of gt.clips ?? [])
    records.push({
      schema_version: 1,
      stream_id: c.stream_id,
      frame_index: c.frame_end,
      task: 'video_classification',
      results: { top: [{ label: p.clipLabel ?? c.label, score: 0.9 }] },
    } as unknown as ResultRecord);
  return records;
}

// PNG label maps exercise the record form a `segment` stage writes with `label_map: png`.
let encodeGrayPng: (px: Uint8Array, w: number, h: number) => Buffer;
function pngOf(px: Uint8Array, w: number, h: number): string {
  return encodeGrayPng(px, w, h).toString('base64');
}

type Scores = {
  images: number;
  matched_images: number;
  bbox: { ap: number; ap50: number; ap75: number };
  segm: { ap: number };
  keypoints: { ap: number };
  semantic: { miou: number; pixel_accuracy: number; images_scored: number; per_class_iou: Record<string, number> };
  tracking: {
    mota: number;
    idf1: number;
    num_switches: number;
    num_objects: number;
    hota: { hota: number; loca: number };
  };
  clip: { top1: number; records: number; clips: number };
};
const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a}, expected ${b} ± ${tol}`);

test('synthetic ground truth scored as its own prediction: every metric is 1', async () => {
  encodeGrayPng = (await import('../../src/models/decoders/png.js')).encodeGrayPng;
  const gt = loadGroundTruth(GT_DIR);
  assert.equal(gt.images.length, 24);
  assert.ok(
    gt.annotations.some((a) => (a.keypoints ?? []).some((v, i) => i % 3 === 2 && v === 1)),
    'occluded keypoints',
  );
  const s = scoreRecords(gt, recordsFrom(gt)) as unknown as Scores;
  assert.equal(s.matched_images, 24);
  close(s.bbox.ap, 1, 1e-12, 'box AP');
  close(s.segm.ap, 1, 1e-12, 'mask AP');
  close(s.keypoints.ap, 1, 1e-12, 'keypoint AP');
  close(s.semantic.miou, 1, 1e-12, 'mIoU');
  close(s.semantic.pixel_accuracy, 1, 1e-12, 'pixel accuracy');
  assert.equal(s.semantic.images_scored, 24);
  close(s.tracking.mota, 1, 1e-12, 'MOTA');
  close(s.tracking.idf1, 1, 1e-12, 'IDF1');
  close(s.tracking.hota.hota, 1, 1e-12, 'HOTA');
  assert.equal(s.clip.records, 1);
  close(s.clip.top1, 1, 0, 'clip top-1');
});

test('perturbed copies score what the perturbation predicts', async () => {
  encodeGrayPng = (await import('../../src/models/decoders/png.js')).encodeGrayPng;
  const gt = loadGroundTruth(GT_DIR);
  // A box shifted right by f of its width has IoU (1 - f) / (1 + f) with its ground truth; f = 0.28 / 1.72 gives
  // 0.72: a match at the IoU thresholds .50 … .70 (5 of 10), none from .75 on. So AP@[.5:.95] = 0.5, AP@0.5 = 1,
  // AP@0.75 = 0; MOTA stays 1 (pairs at IoU >= 0.5); HOTA is 1 for alpha .05 … .70 and 0 above: 14 / 19.
  const shifted = scoreRecords(gt, recordsFrom(gt, { shift: 0.28 / 1.72 })) as unknown as Scores;
  close(shifted.bbox.ap50, 1, 1e-9, 'shifted box AP@0.5');
  close(shifted.bbox.ap, 0.5, 1e-9, 'shifted box AP@[.5:.95]');
  close(shifted.bbox.ap75, 0, 1e-9, 'shifted box AP@0.75');
  close(shifted.segm.ap, 1, 1e-12, 'masks were not shifted');
  close(shifted.tracking.mota, 1, 1e-12, 'shifted MOTA');
  close(shifted.tracking.hota.hota, 14 / 19, 1e-9, 'shifted HOTA');
  close(shifted.tracking.hota.loca, (14 * 0.72 + 5) / 19, 1e-6, 'shifted LocA (no TP above .72: counted as 1)');

  // The longest track of the scene changes id half way: one ID switch, MOTA = 1 - 1 / objects.
  const frames = new Map<number, number[]>();
  const scene = gt.images.find((i) => i.stream_id!.endsWith('-scene'))!.stream_id!;
  for (const a of gt.annotations) {
    const img = gt.images.find((i) => i.id === a.image_id)!;
    if (img.stream_id === scene)
      (frames.get(a.track_id!) ?? frames.set(a.track_id!, []).get(a.track_id!)!).push(img.frame_index!);
  }
  const [id, seen] = [...frames].sort((a, b) => b[1].length - a[1].length)[0]!;
  const at = seen.sort((a, b) => a - b)[Math.floor(seen.length / 2)]!;
  const switched = scoreRecords(gt, recordsFrom(gt, { switchTrack: { stream: scene, id, at } })) as unknown as Scores;
  assert.equal(switched.tracking.num_switches, 1);
  close(switched.tracking.mota, 1 - 1 / switched.tracking.num_objects, 1e-12, 'MOTA with one switch');
  assert.ok(switched.tracking.hota.hota < 1 && switched.tracking.idf1 < 1, 'HOTA and IDF1 fall with a switch');

  // Discs (class 2) predicted as background: their pixels are wrong, background IoU = N0 / (N0 + N2).
  let n = 0,
    n0 = 0,
    n2 = 0;
  const present = new Set<number>();
  for (const img of gt.images) {
    const m = readLabelMap(img.label_map, 'gt').data;
    for (const v of m) {
      n++;
      if (v === 0) n0++;
      if (v === 2) n2++;
      present.add(v);
    }
  }
  assert.ok(n2 > 0 && present.size === 5, `every class is in the fixture (${[...present]})`);
  const dropped = scoreRecords(gt, recordsFrom(gt, { dropClass: 2 })) as unknown as Scores;
  close(dropped.semantic.pixel_accuracy, 1 - n2 / n, 1e-12, 'pixel accuracy without discs');
  close(dropped.semantic.miou, (n0 / (n0 + n2) + 0 + 3) / 5, 1e-12, 'mIoU without discs');

  const wrongClip = scoreRecords(gt, recordsFrom(gt, { clipLabel: 'static' })) as unknown as Scores;
  close(wrongClip.clip.top1, 0, 0, 'wrong clip label');
});

test('generator output equals the fixture; vidflow eval matches its decoded frames (python3 + numpy)', async (t) => {
  const python = process.env.VIDFLOW_PYTHON ?? 'python3';
  const probe = spawnSync(python, ['-c', 'import numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip(`${python} with numpy is not available (set VIDFLOW_PYTHON)`);
    return;
  }
  const manifest = JSON.parse(readFileSync(path.join(FIXTURE, 'manifest.json'), 'utf8')) as {
    settings: Record<string, string | number | boolean>;
  };
  const out = path.join(tmpDir(), 'synth-regenerated');
  const st = manifest.settings;
  const args = ['tools/synth/generate.py', '--out', out, '--split', String(st.split), '--seed', String(st.seed)];
  for (const k of ['scenes', 'motion', 'frames', 'motion_frames', 'objects', 'sizes', 'crf', 'rotate_tag'])
    args.push(`--${k.replace('_', '-')}`, String(st[k]));
  const r = spawnSync(python, args, { cwd: REPO, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // the encoded videos decode to exactly the frames the ground truth has (frame_index matching relies on it)
  for (const f of readdirSync(path.join(out, 'videos'))) {
    const frames = spawnSync(
      process.env.FFPROBE_PATH ?? 'ffprobe',
      [
        '-v',
        'error',
        '-count_frames',
        '-select_streams',
        'v:0',
        '-show_entries',
        'stream=nb_read_frames',
        '-of',
        'csv=p=0',
        path.join(out, 'videos', f),
      ],
      { encoding: 'utf8' },
    );
    const gtFile = JSON.parse(readFileSync(path.join(out, 'ground-truth', f.replace(/\.mp4$/, '.json')), 'utf8'));
    assert.equal(
      Number.parseInt(frames.stdout, 10),
      gtFile.images.length,
      `${f}: decoded frames vs ground-truth images`,
    );
  }
  for (const f of readdirSync(GT_DIR))
    assert.ok(
      readFileSync(path.join(out, 'ground-truth', f)).equals(readFileSync(path.join(GT_DIR, f))),
      `${f} differs from the committed fixture`,
    );
  // Through a real pipeline: ffmpeg decode of the scene video (stored turned, with a rotation tag) -> track
  // (yolox-nano) + segment (deeplabv3): every ground-truth frame of that stream is matched and every label map has
  // the record's size (160x120 only once the rotation is applied).
  const scene = readdirSync(path.join(out, 'videos')).find((f) => f.endsWith('-scene.mp4'))!;
  const pipeline = path.join(out, 'p.yaml');
  writeFileSync(
    pipeline,
    `name: synth-e2e\nsources:\n  - type: file\n    id: ${scene.replace(/\.mp4$/, '')}\n    path: ` +
      `${path.join(out, 'videos', scene)}\nstages:\n  - type: track\n    id: people\n    model: yolox-nano\n` +
      `  - type: segment\n    id: scene\n    model: deeplabv3-mobilenetv2-257\n    label_map: rle\n` +
      `sinks:\n  - type: jsonl\n    path: ${path.join(out, 'out.jsonl')}\n`,
  );
  const scores = await runEvalJson<Scores>(pipeline, GT_DIR, 240_000);
  assert.equal(scores.matched_images, 16, 'the 16 scene frames (the 8 motion frames have no source here)');
  assert.equal(scores.semantic.images_scored, 16);
  assert.ok(scores.tracking.num_objects > 0);
});
