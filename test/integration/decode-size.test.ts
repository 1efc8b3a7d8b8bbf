/**
 * `decode_size` against real ffmpeg and a real pipeline: frames arrive at the scaled size and
 * carry the source's, and records of a YOLOX pipeline on a real video stay in source pixels,
 * close to the default (full-size decode, JavaScript letterbox) path on the same frames.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import pino from 'pino';
import { FlowGate } from '../../src/core/flow-gate.js';
import type { Frame } from '../../src/core/frame.js';
import { silentLogger } from '../../src/core/logger.js';
import type { ResultRecord } from '../../src/core/result.js';
import { loadPipelineFile } from '../../src/config/load.js';
import { buildPipeline } from '../../src/runtime/run.js';
import { Metrics } from '../../src/core/metrics.js';
import { decodeSizeSchema } from '../../src/sources/decode-size.js';
import { createFileSource } from '../../src/sources/file-source.js';
import { media, sharedMedia, sharedModel, tmpDir } from '../support/media.js';
import { runPipelineRecords } from '../support/pipeline.js';

const VIDEO = sharedMedia('videos/people-one-by-one.mp4');
const have = existsSync(VIDEO) && existsSync(sharedModel('detection/yolox_nano.onnx'));

async function decode(file: string, decode_size: unknown, end_secs: number | null = 1): Promise<Frame[]> {
  const ctx = {
    pipeline: 't',
    configPath: 'sources[0]',
    baseDir: process.cwd(),
    logger: silentLogger(),
    metrics: new Metrics(),
  };
  const src = await createFileSource(
    {
      id: 's',
      path: file,
      fps: null,
      start_secs: null,
      end_secs,
      loop: false,
      max_in_flight: 4,
      realtime: false,
      decode_size: decode_size === null ? null : decodeSizeSchema.parse(decode_size),
    },
    ctx,
  );
  const gate = new FlowGate(4);
  const frames: Frame[] = [];
  await new Promise<void>((resolve, reject) =>
    src.frames(gate).subscribe({
      next: (f) => {
        frames.push(f);
        gate.release();
      },
      error: reject,
      complete: resolve,
    }),
  );
  return frames;
}

describe('decode_size: the file source', { timeout: 120_000 }, () => {
  it('scales 640×360 in ffmpeg to the YOLOX letterbox size and the torchvision Resize(256) size', async () => {
    const file = media.testsrc(1);
    const lb = await decode(file, { max_width: 416, max_height: 416 });
    assert.equal(lb.length, 25);
    for (const f of lb) {
      // 640 × min(416/640, 416/360) = 416, 360 × 0.65 = 234 (the JavaScript letterbox's sizes).
      assert.deepEqual([f.width, f.height, f.source_width, f.source_height], [416, 234, 640, 360]);
      assert.equal(f.data.length, 416 * 234 * 3);
    }
    const ss = await decode(file, { shorter_side: 256, interpolation: 'area' });
    assert.deepEqual([ss[0]!.width, ss[0]!.height, ss[0]!.source_width], [455, 256, 640]);
    const exact = await decode(file, { width: 320, height: 320 });
    assert.deepEqual([exact[0]!.width, exact[0]!.height, exact[0]!.source_height], [320, 320, 360]);
  });

  it('scales a rotated video after the rotation: source size is the upright one', async () => {
    const frames = await decode(media.rotated(), { max_width: 120, max_height: 120 }, null);
    assert.ok(frames.length > 0);
    // 320×240 coded, rotate=90: decodes upright as 240×320, fitted into 120×120 → 90×120.
    assert.deepEqual(
      [frames[0]!.width, frames[0]!.height, frames[0]!.source_width, frames[0]!.source_height],
      [90, 120, 240, 320],
    );
  });

  it('passes a source already inside the box through at its size, pts unchanged', async () => {
    const file = media.testsrc(1);
    const [plain, big] = [await decode(file, null), await decode(file, { max_width: 1920 })];
    assert.deepEqual([big[0]!.width, big[0]!.height, big[0]!.source_width], [640, 360, 640]);
    assert.deepEqual(
      big.map((f) => f.pts),
      plain.map((f) => f.pts),
    );
    assert.equal(plain[0]!.source_width, undefined, 'no source size without decode_size');
  });
});

interface Rec {
  stream_id: string;
  frame_index: number;
  frame_width: number;
  frame_height: number;
  results: { detections: Array<{ box: [number, number, number, number]; label: string; score: number }> };
}

describe('decode_size: a YOLOX pipeline reports source coordinates', {
  skip: have ? false : 'shared video or yolox-nano missing',
  timeout: 10 * 60_000,
}, () => {
  let recs: Rec[] = [];
  before(async () => {
    const src = (id: string, extra: string) =>
      `  - { type: file, id: ${id}, path: ${JSON.stringify(VIDEO)}, start_secs: 6, end_secs: 14, fps: 2${extra} }`;
    recs = await runPipelineRecords<Rec>('decode-size', [
      'sources:',
      src('full', ''),
      src('small', ', decode_size: { max_width: 416, max_height: 416, interpolation: area }'),
      'stages:',
      '  - { type: detect, id: det, model: yolox-nano, score_threshold: 0.3, classes: [person] }',
    ]);
  });

  it('records carry the source frame size and person boxes inside it, close to the default path', () => {
    const of = (id: string) => new Map(recs.filter((r) => r.stream_id === id).map((r) => [r.frame_index, r]));
    const full = of('full');
    const small = of('small');
    assert.equal(small.size, 16);
    assert.deepEqual([...small.keys()].sort(), [...full.keys()].sort());
    let matched = 0;
    let worst = 0;
    for (const [k, s] of small) {
      assert.deepEqual([s.frame_width, s.frame_height], [768, 432], `frame ${k}`);
      const f = full.get(k)!;
      for (const d of s.results.detections) {
        const [x1, y1, x2, y2] = d.box;
        assert.ok(x1 >= 0 && y1 >= 0 && x2 <= 768 && y2 <= 432 && x2 > x1 && y2 > y1, `box ${d.box} in frame ${k}`);
        // The default path's box of the same person: the nearest one (largest corner difference).
        const diffs = f.results.detections.map((e) => Math.max(...e.box.map((v, c) => Math.abs(v - d.box[c]!))));
        const best = Math.min(...diffs);
        if (best < 40) {
          matched += 1;
          worst = Math.max(worst, best);
        }
      }
    }
    const people = [...full.values()].reduce((n, r) => n + r.results.detections.length, 0);
    assert.ok(people >= 10, `the default path found ${people} person boxes`);
    // Measured: every person box matched, largest corner difference under 10 px (docs/parity.md).
    assert.ok(matched >= people - 2, `${matched} of ${people} person boxes matched`);
    assert.ok(worst < 16, `largest corner difference ${worst.toFixed(2)} px`);
  });
});

interface PoseSegRec {
  stream_id: string;
  stage_id: string;
  frame_index: number;
  frame_width: number;
  frame_height: number;
  results: {
    class_fractions?: Record<string, number>;
    label_map?: { size: [number, number] };
    detections?: Array<{ box: number[]; keypoints?: Array<{ x: number; y: number }> }>;
  };
}

const havePose = existsSync(VIDEO) && existsSync(sharedModel('pose/bodypix_mobilenetv1_050_stride16.onnx'));

describe('decode_size: label maps and keypoints at the source size (BodyPix, aspect-changing exact size)', {
  skip: havePose ? false : 'shared video or BodyPix missing',
  timeout: 10 * 60_000,
}, () => {
  let recs: PoseSegRec[] = [];
  before(async () => {
    const src = (id: string, extra: string) =>
      `  - { type: file, id: ${id}, path: ${JSON.stringify(VIDEO)}, start_secs: 8, end_secs: 14, fps: 1${extra} }`;
    recs = (
      await runPipelineRecords<PoseSegRec>('decode-size-pose', [
        'sources:',
        src('full', ''),
        // BodyPix resizes to exactly 641×481: decoded at that size, the JS resize is a no-op.
        src('small', ', decode_size: { width: 641, height: 481 }'),
        'stages:',
        '  - { type: segment, id: seg, model: bodypix-person-segmentation, label_map: rle }',
        '  - { type: detect_keypoints, id: pose, model: bodypix-keypoints }',
      ])
    ).filter((r) => r.results);
  });

  it('label maps are 768×432 and the person fraction is close to the default path', () => {
    const seg = (id: string) => recs.filter((r) => r.stream_id === id && r.stage_id === 'seg');
    const small = seg('small');
    const full = new Map(seg('full').map((r) => [r.frame_index, r]));
    assert.equal(small.length, 6);
    for (const r of small) {
      assert.deepEqual([r.frame_width, r.frame_height], [768, 432]);
      assert.deepEqual(r.results.label_map?.size, [432, 768]);
      const a = r.results.class_fractions?.person ?? 0;
      const b = full.get(r.frame_index)!.results.class_fractions?.person ?? 0;
      assert.ok(Math.abs(a - b) < 0.02, `frame ${r.frame_index}: person ${a} vs ${b}`);
    }
    assert.ok(
      small.some((r) => (r.results.class_fractions?.person ?? 0) > 0.01),
      'someone is segmented',
    );
  });

  it('keypoints lie in the source frame, near the default path', () => {
    const pose = (id: string) => recs.filter((r) => r.stream_id === id && r.stage_id === 'pose');
    const full = new Map(pose('full').map((r) => [r.frame_index, r]));
    let compared = 0;
    for (const r of pose('small')) {
      assert.deepEqual([r.frame_width, r.frame_height], [768, 432]);
      const a = r.results.detections?.[0]?.keypoints ?? [];
      const b = full.get(r.frame_index)?.results.detections?.[0]?.keypoints ?? [];
      for (const k of a) assert.ok(k.x >= 0 && k.x <= 768 && k.y >= 0 && k.y <= 432, `${k.x},${k.y}`);
      if (a.length === 0 || a.length !== b.length) continue;
      const d = a.map((k, i) => Math.hypot(k.x - b[i]!.x, k.y - b[i]!.y)).sort((x, y) => x - y);
      assert.ok(d[Math.floor(d.length / 2)]! < 10, `frame ${r.frame_index}: median keypoint distance ${d}`);
      compared += 1;
    }
    assert.ok(compared >= 3, `${compared} frames with keypoints on both paths`);
  });
});

describe('decode_size: auto chooses the size from the stages reading each stream and applies it', {
  skip: have ? false : 'shared video or yolox-nano missing',
  timeout: 10 * 60_000,
}, () => {
  const logged: string[] = [];
  const frames = new Map<string, Array<[number, number, number | undefined, number | undefined]>>();
  const recs: ResultRecord[] = [];
  before(async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'decode-size-auto.yaml');
    const src = (id: string, extra: string) =>
      `  - { type: file, id: ${id}, path: ${JSON.stringify(VIDEO)}, start_secs: 6, end_secs: 14, fps: 2${extra} }`;
    writeFileSync(
      file,
      [
        'name: decode-size-auto',
        'sources:',
        src('auto', ', decode_size: auto'),
        // What auto should choose for a yolox-nano stage, written out: the records must be the same.
        src('explicit', ', decode_size: { max_width: 416, max_height: 416, interpolation: area }'),
        src('off', ''),
        // Read by the detector and a classifier: on 16:9 the classifier's shorter side 256 is the larger need.
        src('mixed', ', decode_size: auto'),
        'stages:',
        // `off` (no decode_size, no stage) decodes at the source's size.
        '  - { type: detect, id: det, model: yolox-nano, score_threshold: 0.3, classes: [person],',
        '      streams: [auto, explicit, mixed] }',
        '  - { type: classify, id: cls, model: mobilenetv2-12-int8, streams: [mixed] }',
        'sinks:',
        `  - { type: jsonl, path: ${JSON.stringify(path.join(dir, 'out.jsonl'))} }`,
        '',
      ].join('\n'),
    );
    const logger = pino({ level: 'info' }, { write: (s: string) => void logged.push(JSON.parse(s).msg) });
    const pipeline = await buildPipeline(loadPipelineFile(file), {
      logger,
      onFrame: (f) => {
        const list = frames.get(f.stream_id) ?? [];
        list.push([f.width, f.height, f.source_width, f.source_height]);
        frames.set(f.stream_id, list);
      },
      onRecord: (r) => void recs.push(r),
    });
    const summary = await pipeline.run();
    assert.ok(summary.ok, summary.errors.join('\n'));
  });

  it('logs the choice and why, and ffmpeg decodes at that size', () => {
    const lines = logged.filter((l) => l.includes('decode_size auto'));
    assert.deepEqual(lines, [
      'sources[0] (`auto`): decode_size auto → max 416×416, interpolation area (stage `det`: yolox-nano letterbox ' +
        '416×416; 768×432 decodes at 416×233).',
      'sources[3] (`mixed`): decode_size auto → shorter side 256, interpolation bilinear (largest need: stage ' +
        '`cls`: mobilenetv2-12-int8 shorter side 256; also stage `det`: yolox-nano letterbox 416×416; 768×432 ' +
        'decodes at 455×256).',
    ]);
    const mixed = frames.get('mixed') ?? [];
    assert.equal(mixed.length, 16);
    for (const f of mixed) assert.deepEqual(f, [455, 256, 768, 432]);
    // Both stages produced a record per frame from those frames, in source coordinates.
    const of = (stage: string) => recs.filter((r) => r.stream_id === 'mixed' && r.stage_id === stage);
    assert.equal(of('cls').length, 16);
    assert.equal(of('det').length, 16);
    for (const r of [...of('cls'), ...of('det')]) assert.deepEqual([r.frame_width, r.frame_height], [768, 432]);
    const auto = frames.get('auto') ?? [];
    assert.equal(auto.length, 16);
    for (const f of auto) assert.deepEqual(f, [416, 233, 768, 432]);
    assert.deepEqual(frames.get('off')?.[0], [768, 432, undefined, undefined]);
  });

  it('records are in source coordinates and the same as with the size written out', () => {
    type Det = { box: [number, number, number, number]; score: number };
    const of = (id: string) =>
      recs
        .filter((r) => r.stream_id === id)
        .sort((a, b) => a.frame_index - b.frame_index)
        .map((r) => ({
          frame: r.frame_index,
          size: [r.frame_width, r.frame_height],
          boxes: (r.results as { detections: Det[] }).detections.map((d) => [...d.box, d.score]),
        }));
    const auto = of('auto');
    assert.equal(auto.length, 16);
    assert.deepEqual(auto, of('explicit'));
    const boxes = auto.flatMap((r) => r.boxes);
    assert.ok(boxes.length >= 10, `${boxes.length} person boxes`);
    for (const r of auto) assert.deepEqual(r.size, [768, 432]);
    for (const [x1, y1, x2, y2] of boxes) assert.ok(x1! >= 0 && y1! >= 0 && x2! <= 768 && y2! <= 432);
    // Source pixels, not the decoded frame's: boxes reach past the decoded 416×233.
    assert.ok(
      boxes.some(([, , x2, y2]) => x2! > 416 || y2! > 233),
      'every box inside 416×233',
    );
  });
});
