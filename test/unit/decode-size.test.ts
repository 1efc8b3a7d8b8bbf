/**
 * Decode-time resize (`decode_size` of the file and camera sources): the ffmpeg arguments, the
 * showinfo pairing, the config errors, and the mapping of model outputs back to source pixels.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, formatIssue, parsePipeline } from '../../src/config/load.js';
import { sourceSize } from '../../src/core/frame.js';
import { mapBox } from '../../src/models/decoders/detection.js';
import { inputSize, preprocessInto, toSourceGeometry } from '../../src/models/preprocess.js';
import { decodeSizeSchema, scaleFilter } from '../../src/sources/decode-size.js';
import {
  buildDecodeArgs,
  parseShowinfo,
  sourceShowinfoIndex,
  type DecodeOptions,
} from '../../src/sources/ffmpeg/decoder.js';
import { decodeOptions } from '../support/decode-options.js';

const letterbox = {
  resize: { mode: 'letterbox' as const, width: 416, height: 416, pad_value: 114, align: 'top_left' as const },
  crop: null,
  scale: 1,
  mean: [0, 0, 0] as [number, number, number],
  std: [1, 1, 1] as [number, number, number],
  color: 'BGR' as const,
  interpolation: 'bilinear' as const,
};

function rgb(width: number, height: number): Uint8Array {
  const d = new Uint8Array(width * height * 3);
  for (let i = 0; i < d.length; i++) d[i] = (i * 7919) % 251;
  return d;
}

const base: DecodeOptions = decodeOptions({ start: 2, end: 5 });

describe('decode_size: mapping back to source pixels', () => {
  it('a 768×432 source decoded to 416×233 maps YOLOX boxes exactly as the default path', () => {
    const full = preprocessInto(rgb(768, 432), 768, 432, letterbox, new Float32Array(3 * 416 * 416), 0, 'NCHW');
    const frame = { width: 416, height: 233, source_width: 768, source_height: 432 };
    const small = preprocessInto(rgb(416, 233), 416, 233, letterbox, new Float32Array(3 * 416 * 416), 0, 'NCHW');
    assert.equal(small.scale_x, 1, 'the decoded frame is already at the letterbox size');
    assert.equal(small.scale_y, 1);
    assert.deepEqual(toSourceGeometry(small, frame), full);
    const box = mapBox(100.5, 40.25, 300, 232.9, toSourceGeometry(small, frame), 768, 432);
    assert.deepEqual(box, mapBox(100.5, 40.25, 300, 232.9, full, 768, 432));
    assert.ok(Math.abs(box[0] - (100.5 * 768) / 416) < 1e-9, String(box));
    assert.ok(Math.abs(box[3] - (232.9 * 432) / 233) < 1e-9, String(box));
  });

  it('an aspect-changing exact size scales each axis on its own, crop offsets kept', () => {
    const g = { scale_x: 0.5, scale_y: 0.25, offset_x: -3, offset_y: 7, width: 224, height: 224 };
    const frame = { width: 384, height: 384, source_width: 768, source_height: 432 };
    const s = toSourceGeometry(g, frame);
    assert.deepEqual(s, { ...g, scale_x: 0.25, scale_y: (0.25 * 384) / 432 });
    // A model pixel maps to the decoded pixel (x - offset) / scale, then × source/decoded.
    const [x1, y1] = mapBox(50, 60, 60, 70, s, 768, 432);
    assert.ok(Math.abs(x1 - ((50 + 3) / 0.5) * 2) < 1e-9, String(x1));
    assert.ok(Math.abs(y1 - ((60 - 7) / 0.25) * (432 / 384)) < 1e-9, String(y1));
  });

  it('frames decoded at the source size keep their geometry and size', () => {
    const g = { scale_x: 0.5, scale_y: 0.5, offset_x: 0, offset_y: 0, width: 10, height: 10 };
    assert.equal(toSourceGeometry(g, { width: 20, height: 20 }), g);
    assert.deepEqual(sourceSize({ width: 20, height: 10 }), { width: 20, height: 10 });
    assert.deepEqual(sourceSize({ width: 416, height: 233, source_width: 768, source_height: 432 }), {
      width: 768,
      height: 432,
    });
  });

  it('the JavaScript letterbox only pads a frame decoded at the letterbox size', () => {
    const data = rgb(416, 233);
    assert.deepEqual(inputSize(416, 233, letterbox), { width: 416, height: 416 });
    const out = new Float32Array(3 * 416 * 416);
    preprocessInto(data, 416, 233, letterbox, out, 0, 'NCHW');
    const plane = 416 * 416;
    for (const [x, y] of [
      [0, 0],
      [415, 0],
      [200, 117],
      [415, 232],
    ] as const) {
      const s = (y * 416 + x) * 3;
      assert.equal(out[y * 416 + x], data[s + 2], `B at ${x},${y}`);
      assert.equal(out[plane + y * 416 + x], data[s + 1], `G at ${x},${y}`);
      assert.equal(out[2 * plane + y * 416 + x], data[s], `R at ${x},${y}`);
    }
    assert.equal(out[233 * 416], 114, 'padding below the image');
    assert.equal(out[415 * 416 + 415], 114);
  });
});

describe('decode_size: ffmpeg arguments and showinfo', () => {
  const filterOf = (o: DecodeOptions) => {
    const args = buildDecodeArgs(o);
    return args[args.indexOf('-filter:v') + 1]!;
  };

  it('scales after a first showinfo, before format and the last showinfo', () => {
    const d = decodeSizeSchema.parse({ max_width: 416, max_height: 416, interpolation: 'area' });
    const vf = filterOf({ ...base, decode_size: d });
    const parts = vf.split(/(?<!\\),/);
    assert.equal(parts.length, 5, vf);
    assert.match(parts[0]!, /^select=/);
    assert.equal(parts[1], 'showinfo=checksum=0');
    assert.equal(parts[2], scaleFilter(d));
    assert.deepEqual(parts.slice(3), ['format=rgb24', 'showinfo=checksum=0']);
    assert.equal(sourceShowinfoIndex({ ...base, decode_size: d }), 1);
    assert.equal(sourceShowinfoIndex(base), null);
    assert.doesNotMatch(filterOf(base), /scale=/);
  });

  it('builds the letterbox, shorter-side and exact sizes as ffmpeg expressions', () => {
    assert.equal(
      scaleFilter(decodeSizeSchema.parse({ max_width: 416, max_height: 416, interpolation: 'area' })),
      'scale=w=max(1\\,trunc(iw*min(1\\,min(416/iw\\,416/ih)))):h=max(1\\,trunc(ih*min(1\\,min(416/iw\\,416/ih)))):' +
        'flags=area',
    );
    assert.match(scaleFilter(decodeSizeSchema.parse({ max_width: 320 })), /min\(1\\,320\/iw\)/);
    assert.match(scaleFilter(decodeSizeSchema.parse({ shorter_side: 256 })), /trunc\(256\*iw\/ih\).*flags=bilinear$/);
    assert.equal(scaleFilter(decodeSizeSchema.parse({ width: 352, height: 352 })), 'scale=w=352:h=352:flags=bilinear');
  });

  it('reads the filter index of each showinfo line', () => {
    const line = (k: number, s: string) =>
      `[Parsed_showinfo_${k} @ 0x55] [info] n:   3 pts:  60000 pts_time:0.3     pos:    40524 fmt:rgb24 s:${s} i:P`;
    assert.deepEqual(parseShowinfo(line(1, '768x432')), { filter: 1, n: 3, pts_time: 0.3, width: 768, height: 432 });
    assert.equal(parseShowinfo(line(4, '416x233'))?.filter, 4);
  });
});

describe('decode_size: config errors', () => {
  const text = (ds: string) =>
    `name: ok\nsources:\n  - type: file\n    id: cam1\n    path: a.mp4\n    decode_size: ${ds}\n` +
    'stages:\n  - type: classify\n    id: scene\n    model: some-model\nsinks:\n  - type: stdout\n';
  const issues = (ds: string): string[] => {
    try {
      parsePipeline(text(ds), 'p.yaml', '/tmp', { env: {} });
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.issues.map(formatIssue);
    }
    return [];
  };

  it('accepts each form and defaults to off', () => {
    assert.deepEqual(issues('{ max_width: 416, max_height: 416 }'), []);
    assert.deepEqual(issues('{ shorter_side: 256, interpolation: area }'), []);
    assert.deepEqual(issues('{ width: 352, height: 352 }'), []);
    assert.deepEqual(issues('null'), []);
  });

  it('names the field and what was expected, one line each', () => {
    const one = (ds: string) => {
      const found = issues(ds);
      assert.equal(found.length, 1, found.join('\n'));
      assert.doesNotMatch(found[0]!, /\n/);
      return found[0]!;
    };
    assert.match(
      one('{ max_width: 416, shorter_side: 256 }'),
      /^p\.yaml\(6,\d+\) sources\[0\]\.decode_size: expected exactly one of/,
    );
    assert.match(one('{ interpolation: area }'), /sources\[0\]\.decode_size: expected exactly one of/);
    assert.match(one('{ width: 416 }'), /sources\[0\]\.decode_size\.height: width and height go together/);
    assert.match(one('{ max_width: 4 }'), /sources\[0\]\.decode_size\.max_width: must be greater than or equal to 16/);
    assert.match(one('{ max_width: 416.5 }'), /decode_size\.max_width: .*expected integer/);
    assert.match(one('{ max_width: 416, interpolation: lanczos }'), /decode_size\.interpolation: .*expected one of/);
    assert.match(one('{ shorter_side: 256, scale: 2 }'), /decode_size\.scale: unknown key "scale"/);
    assert.match(one('416'), /sources\[0\]\.decode_size: found number 416, expected "auto" or object/);
  });

  it('is an option of camera sources too', () => {
    const cam = text('{ max_width: 4 }')
      .replace('type: file', 'type: camera')
      .replace('path: a.mp4', 'url: rtsp://h/s');
    try {
      parsePipeline(cam, 'p.yaml', '/tmp', { env: {} });
      assert.fail('expected a config error');
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.issues.map(formatIssue).join('\n'), /sources\[0\]\.decode_size\.max_width/);
    }
  });
});
