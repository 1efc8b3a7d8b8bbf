/**
 * `decode_size: auto`: the size chosen from the stages' manifests (chooseAutoDecodeSize), its
 * log line, and how it reaches the sources (applyAutoDecodeSizes). The real pipeline is in
 * test/integration/decode-size.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { StageFrameInput } from '../../src/core/component.js';
import { ConfigError, formatIssue, parsePipeline } from '../../src/config/load.js';
import {
  applyAutoDecodeSizes,
  chooseAutoDecodeSize,
  type AutoDecodeStage,
} from '../../src/runtime/decode-size-auto.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { CameraSource, cameraSourceSchema } from '../../src/sources/camera-source.js';
import { decodedSize, wantsAutoDecodeSize, type DecodeSize } from '../../src/sources/decode-size.js';
import type { VideoInfo } from '../../src/sources/ffmpeg/probe.js';
import { FileSource } from '../../src/sources/file-source.js';

const yolox: StageFrameInput = {
  model: 'yolox-nano',
  resize: { mode: 'letterbox', width: 416, height: 416 },
  interpolation: 'bilinear',
};
const mobilenet: StageFrameInput = {
  model: 'mobilenetv2-12-int8',
  resize: { mode: 'shorter_side', size: 256 },
  interpolation: 'bilinear_antialias',
};
const fasterrcnn: StageFrameInput = { model: 'fasterrcnn', resize: { mode: 'none' }, interpolation: 'bilinear' };
const bodypix: StageFrameInput = {
  model: 'bodypix',
  resize: { mode: 'exact', width: 641, height: 481 },
  interpolation: 'bilinear',
};
const deeplab: StageFrameInput = {
  model: 'deeplabv3',
  resize: { mode: 'exact', width: 257, height: 257 },
  interpolation: 'bilinear',
};

const stage = (id: string, frameInput?: StageFrameInput, streams: string[] | null = null): AutoDecodeStage => ({
  id,
  streams,
  ...(frameInput ? { frameInput } : {}),
});
const size = (width: number, height: number) => ({ width, height });

describe('decode_size auto: the choice', () => {
  it('one YOLOX detector: its letterbox box, with `area` for its plain bilinear resize', () => {
    const c = chooseAutoDecodeSize('cam', size(768, 432), [stage('det', yolox)]);
    assert.deepEqual(c.decode_size, { max_width: 416, max_height: 416, interpolation: 'area' });
    // 432 × (416/768) is 233.99… in double precision: 233, as the JavaScript letterbox (docs/parity.md).
    assert.deepEqual(c.decoded, size(416, 233));
    assert.equal(c.reason, 'stage `det`: yolox-nano letterbox 416×416');
    // A camera (size unknown): the same box, applied by ffmpeg to whatever size it sends.
    const cam = chooseAutoDecodeSize('cam', null, [stage('det', yolox)]);
    assert.deepEqual(cam.decode_size, c.decode_size);
    assert.equal(cam.decoded, null);
  });

  it('detector + classifier on the same stream: the largest need wins, which depends on the aspect ratio', () => {
    const both = [stage('det', yolox), stage('cls', mobilenet)];
    // 16:9: the letterbox is 416×234, the classifier needs its shorter side at 256 → 455×256 serves both.
    const wide = chooseAutoDecodeSize('s', size(640, 360), both);
    assert.deepEqual(wide.decode_size, { shorter_side: 256, interpolation: 'bilinear' });
    assert.deepEqual(wide.decoded, size(455, 256));
    assert.match(wide.reason, /^largest need: stage `cls`: mobilenetv2-12-int8 shorter side 256; also stage `det`/);
    // 4:3: the letterbox (416×312) holds the classifier's 341×256.
    const square = chooseAutoDecodeSize('s', size(640, 480), both);
    assert.deepEqual(square.decode_size, { max_width: 416, max_height: 416, interpolation: 'area' });
    assert.deepEqual(square.decoded, size(416, 312));
    // Camera: neither is the largest for every frame size → off, saying why.
    const cam = chooseAutoDecodeSize('s', null, both);
    assert.equal(cam.decode_size, null);
    assert.match(cam.reason, /no one size is the largest for every frame size/);
    // …unless one is: a shorter side of at least the box's larger side always holds the letterbox.
    const big = { ...mobilenet, resize: { mode: 'shorter_side' as const, size: 416 } };
    assert.equal(
      chooseAutoDecodeSize('s', null, [stage('det', yolox), stage('cls', big)]).decode_size?.shorter_side,
      416,
    );
  });

  it('every chosen size holds every stage target (no stage upsamples), over several frame sizes', () => {
    const combos = [
      [yolox, mobilenet],
      [yolox, deeplab],
      [mobilenet, deeplab, yolox],
      [bodypix, yolox],
    ];
    for (const combo of combos) {
      for (const s of [size(1920, 1080), size(1280, 720), size(720, 1280), size(1024, 1024), size(800, 600)]) {
        const c = chooseAutoDecodeSize(
          's',
          s,
          combo.map((fi, i) => stage(`st${i}`, fi)),
        );
        if (c.decode_size === null) continue;
        const d = decodedSize(c.decode_size, s.width, s.height);
        assert.deepEqual(c.decoded, d);
        for (const fi of combo) {
          const r = fi.resize;
          const need =
            r.mode === 'letterbox'
              ? decodedSize({ max_width: r.width, max_height: r.height, interpolation: 'area' }, s.width, s.height)
              : r.mode === 'shorter_side'
                ? decodedSize({ shorter_side: r.size, interpolation: 'area' }, s.width, s.height)
                : r.mode === 'exact'
                  ? size(Math.min(r.width, s.width), Math.min(r.height, s.height))
                  : s;
          assert.ok(d.width >= need.width && d.height >= need.height, `${JSON.stringify({ s, combo, d, need })}`);
        }
      }
    }
  });

  it('a stage that takes the frame at its own size turns auto off', () => {
    const c = chooseAutoDecodeSize('s', size(1280, 720), [stage('det', yolox), stage('rcnn', fasterrcnn)]);
    assert.equal(c.decode_size, null);
    assert.equal(c.reason, 'stage `rcnn`: fasterrcnn takes the frame at its own size (resizes in its graph)');
  });

  it('a stage on another stream does not count', () => {
    const stages = [
      stage('det', yolox, ['lobby']),
      stage('rcnn', fasterrcnn, ['gate']),
      stage('cls', mobilenet, ['gate']),
    ];
    assert.deepEqual(chooseAutoDecodeSize('lobby', size(768, 432), stages).decoded, size(416, 233));
    assert.equal(chooseAutoDecodeSize('gate', size(768, 432), stages).decode_size, null);
    const none = chooseAutoDecodeSize('yard', size(768, 432), stages);
    assert.equal(none.decode_size, null);
    assert.equal(none.reason, 'no model stage reads this stream');
  });

  it('a stage that feeds no frames to a model does not count', () => {
    assert.equal(chooseAutoDecodeSize('s', size(768, 432), [stage('noop')]).reason, 'no model stage reads this stream');
    const c = chooseAutoDecodeSize('s', size(768, 432), [stage('noop'), stage('det', yolox)]);
    assert.deepEqual(c.decoded, size(416, 233));
    assert.equal(c.reason, 'stage `det`: yolox-nano letterbox 416×416');
  });

  it('stretching stages only: the largest width and height; beside a letterbox: a covering shorter side', () => {
    const stretch = chooseAutoDecodeSize('s', size(1280, 720), [stage('seg', deeplab), stage('pose', bodypix)]);
    assert.deepEqual(stretch.decode_size, { width: 641, height: 481, interpolation: 'area' });
    assert.match(stretch.reason, /^largest need: stage `pose`: bodypix exact 641×481; also stage `seg`/);
    // Not larger than the source: decoding at its size.
    assert.equal(chooseAutoDecodeSize('s', size(640, 360), [stage('pose', bodypix)]).decode_size, null);
    // 257×257 stretched beside a 416 letterbox on 640×360: 416×234 is too short, 456×257 covers both.
    const mixed = chooseAutoDecodeSize('s', size(640, 360), [stage('seg', deeplab), stage('det', yolox)]);
    assert.deepEqual(mixed.decode_size, { shorter_side: 257, interpolation: 'area' });
    assert.deepEqual(mixed.decoded, size(456, 257));
    assert.equal(chooseAutoDecodeSize('s', null, [stage('seg', deeplab), stage('det', yolox)]).decode_size, null);
  });

  it('a source already within the need decodes at its own size', () => {
    const c = chooseAutoDecodeSize('s', size(320, 240), [stage('det', yolox)]);
    assert.equal(c.decode_size, null);
    assert.match(c.reason, /the source's 320×240 is already what stage `det`/);
  });
});

describe('decode_size auto: config and sources', () => {
  it('the sources accept `decode_size: auto`', () => {
    const p = parsePipeline(
      [
        'name: t',
        'sources:',
        '  - { type: file, id: a, path: a.mp4, decode_size: auto }',
        '  - { type: camera, id: b, url: "rtsp://h/x", decode_size: auto }',
        'stages: [{ type: detect, id: det, model: yolox-nano }]',
        'sinks: [{ type: stdout }]',
      ].join('\n'),
      'p.yaml',
      '/tmp',
      { env: {} },
    );
    assert.deepEqual(
      p.sources.map((s) => (s.config as unknown as { decode_size: unknown }).decode_size),
      ['auto', 'auto'],
    );
  });

  it('a misspelt auto or field names what was expected, the object fields still checked one by one', () => {
    const issues = (ds: string): string[] => {
      const text =
        `name: t\nsources:\n  - { type: file, id: a, path: a.mp4, decode_size: ${ds} }\n` +
        'stages: [{ type: detect, id: det, model: yolox-nano }]\nsinks: [{ type: stdout }]\n';
      try {
        parsePipeline(text, 'p.yaml', '/tmp', { env: {} });
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.issues.map(formatIssue);
      }
      return [];
    };
    assert.deepEqual(issues('aut'), ['p.yaml(3,52) sources[0].decode_size: found "aut", expected "auto" or object']);
    const [unknown] = issues('{ shorter_side: 256, max_widht: 416 }');
    assert.match(unknown!, /sources\[0\]\.decode_size\.max_widht: unknown key "max_widht"; did you mean "max_width"\?/);
  });

  it('file and camera sources say whether they want auto; a file knows its upright size, a camera none', () => {
    const ctx = {
      pipeline: 't',
      configPath: 'sources[0]',
      baseDir: '/tmp',
      logger: silentLogger(),
      metrics: new Metrics(),
    };
    const info = { width: 432, height: 768, coded_width: 768, coded_height: 432, rotation: 90 } as VideoInfo;
    const opts = { id: 'f', path: '/x.mp4', fps: null, start_secs: null, end_secs: null, loop: false };
    const file = new FileSource({ ...opts, max_in_flight: 1, realtime: false, decode_size: 'auto' }, info, ctx);
    assert.ok(wantsAutoDecodeSize(file));
    assert.deepEqual(file.knownFrameSize, size(432, 768));
    assert.equal(wantsAutoDecodeSize(new FileSource({ ...opts, max_in_flight: 1, realtime: false }, info, ctx)), false);
    const cam = new CameraSource(
      cameraSourceSchema.parse({ type: 'camera', id: 'c', url: 'rtsp://h/x', decode_size: 'auto' }),
      ctx,
    );
    assert.ok(wantsAutoDecodeSize(cam));
    assert.equal(cam.knownFrameSize, null);
    const plain = new CameraSource(cameraSourceSchema.parse({ type: 'camera', id: 'c', url: 'rtsp://h/x' }), ctx);
    assert.equal(wantsAutoDecodeSize(plain), false);
  });

  it('applies the choice to each source with auto and logs one line per source', () => {
    const applied: Record<string, DecodeSize | null> = {};
    const fake = (id: string, auto: boolean, known: { width: number; height: number } | null) => ({
      id,
      kind: 'file' as const,
      maxInFlight: 1,
      frames: () => {
        throw new Error('not used');
      },
      decodeSizeAuto: auto,
      knownFrameSize: known,
      applyDecodeSize: (d: DecodeSize | null) => {
        applied[id] = d;
      },
    });
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s).msg) });
    applyAutoDecodeSizes(
      [fake('cam1', true, size(768, 432)), fake('fixed', false, size(768, 432)), fake('cam2', true, null)],
      [stage('det', yolox, ['cam1']), stage('rcnn', fasterrcnn, ['cam2'])],
      ['sources[0]', 'sources[1]', 'sources[2]'],
      logger,
    );
    assert.deepEqual(applied, { cam1: { max_width: 416, max_height: 416, interpolation: 'area' }, cam2: null });
    assert.deepEqual(lines, [
      'sources[0] (`cam1`): decode_size auto → max 416×416, interpolation area (stage `det`: yolox-nano letterbox ' +
        '416×416; 768×432 decodes at 416×233).',
      'sources[2] (`cam2`): decode_size auto → off (stage `rcnn`: fasterrcnn takes the frame at its own size ' +
        '(resizes in its graph)).',
    ]);
  });
});
