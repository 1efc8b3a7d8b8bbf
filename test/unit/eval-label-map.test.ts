import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';
import type { ResultRecord } from '../../src/core/result.js';
import { loadGroundTruth, scoreClips, scoreRecords } from '../../src/eval/cli.js';
import { decodeGrayPng, readLabelMap } from '../../src/eval/label-map.js';
import { crc32, encodeGrayPng } from '../../src/models/decoders/png.js';
import { encodeLabelMapRle } from '../../src/models/decoders/rle.js';
import { tmpDir } from '../support/media.js';

function chunk(type: string, body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const tb = Buffer.concat([Buffer.from(type, 'latin1'), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE((crc32(tb) ^ 0xffffffff) >>> 0);
  return Buffer.concat([len, tb, crc]);
}

/** A grayscale PNG whose row y uses filter y % 5 (None, Sub, Up, Average, Paeth), as encoders may choose. */
function filteredPng(px: Uint8Array, w: number, h: number): Buffer {
  const raw = Buffer.alloc((w + 1) * h);
  const at = (x: number, y: number) => (x < 0 || y < 0 ? 0 : px[y * w + x]!);
  for (let y = 0; y < h; y++) {
    const f = y % 5;
    raw[y * (w + 1)] = f;
    for (let x = 0; x < w; x++) {
      const a = at(x - 1, y),
        b = at(x, y - 1),
        c = at(x - 1, y - 1);
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a),
          pb = Math.abs(p - b),
          pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      raw[y * (w + 1) + 1 + x] = (at(x, y) - pred) & 0xff;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const W = 23,
  H = 11;
const pixels = Uint8Array.from({ length: W * H }, (_, i) => (i * 37 + (i % W) * 11) % 256);

test('decodeGrayPng reads all five row filters and the record encoder', () => {
  assert.deepEqual(decodeGrayPng(filteredPng(pixels, W, H), 'x').data, pixels);
  const fromEncoder = decodeGrayPng(encodeGrayPng(pixels, W, H), 'x');
  assert.equal(fromEncoder.width, W);
  assert.deepEqual(fromEncoder.data, pixels);
});

test('readLabelMap: rle, png data, png file; bad input names the place', () => {
  const rle = encodeLabelMapRle(pixels, H, W);
  assert.deepEqual(readLabelMap(rle, 'x').data, pixels);
  const data = encodeGrayPng(pixels, W, H).toString('base64');
  assert.deepEqual(readLabelMap({ format: 'png', data }, 'x').data, pixels);
  const dir = tmpDir();
  writeFileSync(path.join(dir, 'm.png'), filteredPng(pixels, W, H));
  assert.deepEqual(readLabelMap({ format: 'png', file: 'm.png' }, 'x', dir).data, pixels);
  assert.throws(() => readLabelMap({ ...rle, counts: [1] }, 'image 3 label_map'), /image 3 label_map: rle counts sum/);
  assert.throws(() => readLabelMap({ format: 'bmp' }, 'image 4 label_map'), /image 4 label_map: expected a label map/);
});

test('semantic and clip scores from records; label-map files relative to the ground truth; ids renumbered', () => {
  const dir = path.join(tmpDir(), 'clips');
  mkdirSync(path.join(dir, 'maps'), { recursive: true });
  const gtMap = Uint8Array.from({ length: 4 * 3 }, (_, i) => (i < 6 ? 0 : i < 10 ? 1 : 255));
  writeFileSync(path.join(dir, 'maps', 'a.png'), encodeGrayPng(gtMap, 4, 3));
  const doc = (stream: string) => ({
    images: [
      {
        id: 1,
        stream_id: stream,
        frame_index: 0,
        width: 4,
        height: 3,
        label_map: { format: 'png', file: 'maps/a.png' },
      },
    ],
    annotations: [],
    categories: [],
    semantic_categories: [
      { id: 0, name: 'background' },
      { id: 1, name: 'thing' },
    ],
    clips: [{ stream_id: stream, frame_start: 0, frame_end: 9, label: 'growing' }],
  });
  writeFileSync(path.join(dir, 'a.json'), JSON.stringify(doc('a')));
  writeFileSync(path.join(dir, 'b.json'), JSON.stringify(doc('b')));
  const gt = loadGroundTruth(dir);
  assert.deepEqual(
    gt.images.map((i) => i.id),
    [1, 2],
  );
  // prediction: one background pixel called thing (pixels 0..5 bg, 6..9 thing, 10..11 ignored)
  const pred = Uint8Array.from(gtMap, (v, i) => (i === 0 ? 1 : v === 255 ? 0 : v));
  const rec = (stream: string, task: string, frame: number, results: unknown) =>
    ({ stream_id: stream, frame_index: frame, task, results }) as unknown as ResultRecord;
  const records = [
    rec('a', 'semantic_segmentation', 0, { label_map: encodeLabelMapRle(pred, 3, 4) }),
    rec('a', 'video_classification', 7, { top: [{ label: 'growing' }, { label: 'static' }] }),
    rec('b', 'video_classification', 9, { top: [{ label: 'static' }, { label: 'growing' }] }),
    rec('b', 'video_classification', 12, { top: [{ label: 'growing' }] }),
  ];
  const s = scoreRecords(gt, records) as {
    semantic: { miou: number; pixel_accuracy: number; images_scored: number; images_without_prediction: number };
    clip: { top1: number; top5: number; records: number; records_outside_clips: number; clips_with_records: number };
  };
  // bg: inter 5, gt 6, pred 5 -> 5/6; thing: inter 4, gt 4, pred 5 -> 4/5; 9 of 10 counted pixels right
  assert.ok(Math.abs(s.semantic.miou - (5 / 6 + 4 / 5) / 2) < 1e-12, `mIoU ${s.semantic.miou}`);
  assert.ok(Math.abs(s.semantic.pixel_accuracy - 0.9) < 1e-12);
  assert.equal(s.semantic.images_scored, 1);
  assert.equal(s.semantic.images_without_prediction, 1);
  assert.deepEqual(
    { top1: s.clip.top1, top5: s.clip.top5, n: s.clip.records, out: s.clip.records_outside_clips },
    { top1: 0.5, top5: 1, n: 2, out: 1 },
  );
  assert.equal(s.clip.clips_with_records, 2);
  assert.equal(scoreClips([], records).records, 0);
});

test('ground truth errors name the file and field', () => {
  const dir = path.join(tmpDir(), 'errors');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'g.json'), JSON.stringify({ images: [], clips: [{ stream_id: 'a', label: 'x' }] }));
  assert.throws(
    () => loadGroundTruth(dir),
    /g\.json: clips\[0\] needs stream_id \(string\), frame_start and frame_end/,
  );
  writeFileSync(
    path.join(dir, 'g.json'),
    JSON.stringify({ images: [{ id: 1 }], annotations: [{ id: 1, image_id: 5, category_id: 1, bbox: [0, 0, 1, 1] }] }),
  );
  assert.throws(() => loadGroundTruth(dir), /g\.json: annotations\[0\]\.image_id 5 is no image/);
  const size = {
    images: [{ id: 1, stream_id: 's', frame_index: 0, label_map: encodeLabelMapRle(new Uint8Array(6), 2, 3) }],
    annotations: [],
    categories: [],
  };
  writeFileSync(path.join(dir, 'g.json'), JSON.stringify(size));
  const rec = {
    stream_id: 's',
    frame_index: 0,
    task: 'semantic_segmentation',
    results: { label_map: encodeLabelMapRle(new Uint8Array(4), 2, 2) },
  } as unknown as ResultRecord;
  assert.throws(
    () => scoreRecords(loadGroundTruth(dir), [rec]),
    /g\.json image 1 label_map: 3x2, but the record's label map is 2x2/,
  );
});
