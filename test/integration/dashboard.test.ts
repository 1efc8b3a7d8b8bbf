/**
 * Live dashboard end to end: headless Debian Chromium (playwright-core) loads the page from the
 * WebSocket sink, the sink sends preview frames (ffmpeg-generated JPEGs) and records, and the
 * test reads the canvas back to check the overlay is drawn where the box is.
 *
 * The screenshot is written to the temp folder on every run, and to docs/images/dashboard.png
 * when that file is missing or VIDFLOW_UPDATE_SCREENSHOTS=1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { RESULT_SCHEMA_VERSION, type ResultRecord, type Task } from '../../src/core/result.js';
import { startDashboardServer, type WebSocketSink } from '../../src/sinks/websocket-sink.js';
import { SAFETY_NET_MS, waitFor } from '../support/wait.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const FFMPEG = '/usr/bin/ffmpeg';
const SCREENSHOT = join(ROOT, 'docs', 'images', 'dashboard.png');
const skip = !existsSync(CHROMIUM)
  ? `${CHROMIUM} not installed`
  : !existsSync(FFMPEG)
    ? `${FFMPEG} not installed`
    : false;

function jpeg(source: string): Buffer {
  return execFileSync(
    FFMPEG,
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `${source}=s=320x240`,
      '-frames:v',
      '1',
      '-f',
      'image2pipe',
      '-vcodec',
      'mjpeg',
      '-q:v',
      '4',
      '-',
    ],
    {
      maxBuffer: 16 * 1024 * 1024,
    },
  );
}

function rec(
  stream_id: string,
  stage_id: string,
  task: Task | string,
  width: number,
  height: number,
  results: unknown,
  extra: Record<string, unknown> = {},
): ResultRecord {
  return {
    schema_version: RESULT_SCHEMA_VERSION,
    pipeline: 'demo',
    stream_id,
    frame_index: 42,
    pts: 1.68,
    stage_id,
    model_id: 'model',
    task: task as Task,
    frame_width: width,
    frame_height: height,
    results,
    latency_ms: 38,
    ...extra,
  };
}

/** Uncompressed COCO RLE (column-major, runs start with zeros) of an ellipse. */
function ellipseRle(
  h: number,
  w: number,
  cx: number,
  cy: number,
  rx: number,
  ry: number,
): { size: [number, number]; counts: number[]; area: number } {
  const counts: number[] = [];
  let cur = 0;
  let run = 0;
  let area = 0;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const v = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1 ? 1 : 0;
      area += v;
      if (v === cur) run++;
      else {
        counts.push(run);
        cur = v;
        run = 1;
      }
    }
  }
  counts.push(run);
  return { size: [h, w], counts, area };
}

/** COCO compressed RLE string of a counts array (written from the format description). */
function cocoEncode(counts: number[]): string {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i]!;
    if (i > 2) x -= counts[i - 2]!;
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

/** Row-major label map RLE as value/length runs (the segment stage's `label_map: rle`). */
function labelMapRle(
  h: number,
  w: number,
  labelAt: (x: number, y: number) => number,
): { values: number[]; counts: number[] } {
  const values: number[] = [];
  const counts: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const l = labelAt(x, y);
      if (values.length > 0 && values[values.length - 1] === l) counts[counts.length - 1]! += 1;
      else {
        values.push(l);
        counts.push(1);
      }
    }
  }
  return { values, counts };
}

/** 8-bit grayscale PNG of a label map (pixel = class id), made by ffmpeg. */
function grayPng(h: number, w: number, labelAt: (x: number, y: number) => number): Buffer {
  const raw = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw[y * w + x] = labelAt(x, y);
  return execFileSync(
    FFMPEG,
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'gray',
      '-s',
      `${w}x${h}`,
      '-i',
      '-',
      '-frames:v',
      '1',
      '-f',
      'image2pipe',
      '-vcodec',
      'png',
      '-pix_fmt',
      'gray',
      '-',
    ],
    { input: raw },
  );
}

const VOC = [
  '__background__',
  'aeroplane',
  'bicycle',
  'bird',
  'boat',
  'bottle',
  'bus',
  'car',
  'cat',
  'chair',
  'cow',
  'diningtable',
  'dog',
  'horse',
  'motorbike',
  'person',
  'pottedplant',
  'sheep',
  'sofa',
  'train',
  'tvmonitor',
];

const KP = (pts: Array<[number, number]>) =>
  [
    'nose',
    'left_eye',
    'right_eye',
    'left_ear',
    'right_ear',
    'left_shoulder',
    'right_shoulder',
    'left_elbow',
    'right_elbow',
    'left_wrist',
    'right_wrist',
    'left_hip',
    'right_hip',
    'left_knee',
    'right_knee',
    'left_ankle',
    'right_ankle',
  ].map((name, i) => ({
    name,
    x: pts[i]![0],
    y: pts[i]![1],
    visible: true,
    score: 0.9,
  }));

describe('live dashboard in headless Chromium', { skip }, () => {
  let sink: WebSocketSink;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    const metrics = new Metrics();
    metrics.drop('cam-1', 'live_busy', 3);
    sink = await startDashboardServer({
      port: 0,
      health_interval_ms: 200,
      logger: silentLogger(),
      metrics,
      pipeline: 'demo',
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      timeout: SAFETY_NET_MS,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 800, height: 470 }, deviceScaleFactor: 1 });
    page.setDefaultTimeout(SAFETY_NET_MS);
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
  });

  after(async () => {
    await browser?.close();
    await sink?.close();
  });

  it('loads, connects, and draws frames with results over them', async () => {
    await page.goto(sink.dashboardUrl!);
    await page.waitForFunction(() => document.body.dataset.ws === 'connected', null, { timeout: SAFETY_NET_MS });
    assert.equal(await page.textContent('#status'), 'connected');
    await waitFor(() => sink.stats().clients >= 1, 'the page to appear as a client of the sink');
    assert.equal(sink.stats().clients, 1);

    // cam-1: 320×240 preview of a 640×480 source; detection + instance masks + keypoints.
    sink.writeFrame({ stream_id: 'cam-1', index: 42, pts: 1.68, width: 320, height: 240, jpeg: jpeg('testsrc2') });
    const mask = ellipseRle(480, 640, 445, 340, 110, 70);
    sink.write(
      rec('cam-1', 'maskrcnn', 'instance_segmentation', 640, 480, {
        detections: [
          {
            box: [335, 270, 555, 410],
            label_id: 3,
            label: 'car',
            score: 0.88,
            mask: { ...mask, counts: cocoEncode(mask.counts) },
          },
        ],
      }),
    );
    sink.write(
      rec('cam-1', 'detector', 'detection', 640, 480, {
        detections: [{ box: [100, 80, 300, 440], label_id: 1, label: 'person', score: 0.91 }],
      }),
    );
    sink.write(
      rec('cam-1', 'pose', 'keypoint_detection', 640, 480, {
        detections: [
          {
            box: [440, 60, 600, 410],
            label_id: 1,
            label: 'person',
            score: 0.86,
            keypoints: KP([
              [520, 100],
              [510, 92],
              [530, 92],
              [500, 98],
              [540, 98],
              [490, 150],
              [550, 150],
              [475, 210],
              [565, 210],
              [470, 265],
              [575, 260],
              [500, 270],
              [540, 270],
              [497, 335],
              [545, 335],
              [495, 395],
              [550, 395],
            ]),
          },
        ],
      }),
    );
    // cam-2: semantic segmentation, classification, clip label, tracking; plus an unknown task.
    sink.writeFrame({ stream_id: 'cam-2', index: 42, pts: 1.68, width: 320, height: 240, jpeg: jpeg('smptebars') });
    sink.write(
      rec('cam-2', 'deeplab', 'semantic_segmentation', 320, 240, {
        class_fractions: { __background__: 0.5, person: 0.25, car: 0.25 },
        label_map: {
          format: 'rle',
          size: [60, 80],
          order: 'row_major',
          labels: VOC,
          ...labelMapRle(60, 80, (x, y) => (y < 30 ? 0 : x < 40 ? 15 : 7)),
        },
      }),
    );
    sink.write(
      rec('cam-2', 'resnet', 'classification', 320, 240, {
        top: [
          { label_id: 817, label: 'sports car', score: 0.81 },
          { label_id: 511, label: 'convertible', score: 0.1 },
        ],
      }),
    );
    sink.write(
      rec(
        'cam-2',
        'r3d',
        'video_classification',
        320,
        240,
        { top: [{ label_id: 94, label: 'driving car', score: 0.66 }] },
        { pts_start: 0.0, pts_end: 0.64 },
      ),
    );
    sink.write(
      rec('cam-2', 'tracker', 'tracking', 320, 240, {
        tracks: [{ track_id: 3, label: 'car', box: [170, 135, 300, 225], age: 12, hits: 11 }],
        events: [{ type: 'start', track_id: 3, label: 'car' }],
      }),
    );
    sink.write(rec('cam-2', 'runtime', 'health', 320, 240, { ok: true, fps: 25 }));

    // (No named inner functions in page callbacks: tsx would wrap them in an undefined __name.)
    await page.waitForFunction(
      () =>
        [
          ['cam-1', 3],
          ['cam-2', 4],
        ].every(([id, layers]) => {
          const c = document.querySelector<HTMLCanvasElement>(`[data-stream="${id}"] canvas`);
          return (
            !!c && Number(c.dataset.frames) >= 1 && Number(c.dataset.layers) === layers && c.dataset.frameIndex === '42'
          );
        }),
      null,
      { timeout: SAFETY_NET_MS },
    );
    // Let a health message arrive so the drops figure is on screen.
    await page.waitForFunction(
      () => /drops 3/.test(document.querySelector('[data-stream="cam-1"] .stats')?.textContent ?? ''),
      null,
      { timeout: SAFETY_NET_MS },
    );

    const probe = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('[data-stream="cam-1"] canvas')!;
      const g = c.getContext('2d')!;
      // left and bottom edges of box [100,80,300,440] in a 640×480 source, drawn at half size; a point inside
      const [left, bottom, inside] = [
        [50, 130],
        [100, 220],
        [100, 130],
      ].map(([x, y]) => Array.from(g.getImageData(x!, y!, 1, 1).data));
      return {
        size: [c.width, c.height],
        expected: (window as any).vidflowDashboard.colorForDetection({ label_id: 1 }) as string,
        left: left!,
        bottom: bottom!,
        inside: inside!,
      };
    });
    assert.deepEqual(probe.size, [320, 240], 'canvas has the preview frame size');
    const hex = probe.expected.replace('#', '');
    const want = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const near = (px: number[], rgb: number[]) => rgb.every((v, i) => Math.abs(v - px[i]!) <= 6);
    assert.ok(near(probe.left, want), `left edge pixel ${probe.left} is the overlay colour ${want}`);
    assert.ok(near(probe.bottom, want), `bottom edge pixel ${probe.bottom} is the overlay colour ${want}`);
    assert.ok(!near(probe.inside, want), `inside the box the frame shows through (${probe.inside})`);

    const png = await page.screenshot({ type: 'png', fullPage: true });
    mkdirSync(tmpdir(), { recursive: true });
    writeFileSync(join(tmpdir(), 'vidflow-dashboard.png'), png);
    if (!existsSync(SCREENSHOT) || process.env.VIDFLOW_UPDATE_SCREENSHOTS === '1') {
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      writeFileSync(SCREENSHOT, png);
    }
    assert.deepEqual(pageErrors, []);
  });

  it('decodes COCO compressed RLE and label maps like the encoder in this test', async () => {
    const mask = ellipseRle(48, 64, 30, 20, 12, 9);
    const encoded = cocoEncode(mask.counts);
    const runs = labelMapRle(6, 8, (x, y) => (y < 3 ? 0 : x < 4 ? 15 : 7));
    const interleaved = runs.values.flatMap((v, i) => [v, runs.counts[i]!]);
    const out = await page.evaluate(
      ([s, m, lm]) => {
        const d = (window as any).vidflowDashboard;
        const counts = d.cocoStringToCounts(s) as number[];
        const decoded = d.decodeCocoMask({ size: m.size, counts: s });
        const fromArray = d.decodeCocoMask(m);
        const map = d.decodeLabelMap({ size: [6, 8], format: 'rle', order: 'row_major', values: lm[0], counts: lm[1] });
        const map2 = d.decodeLabelMap({ size: [6, 8], format: 'rle', counts: lm[2] });
        let ones = 0;
        let same = true;
        for (let i = 0; i < decoded.data.length; i++) {
          ones += decoded.data[i];
          if (decoded.data[i] !== fromArray.data[i]) same = false;
        }
        // pixel (x=30, y=20) is the ellipse centre: row-major index y*w + x
        return {
          counts,
          ones,
          same,
          centre: decoded.data[20 * 64 + 30],
          corner: decoded.data[0],
          map: Array.from(map.data as Int32Array),
          map2: Array.from(map2.data as Int32Array),
        };
      },
      [encoded, mask, [runs.values, runs.counts, interleaved]] as const,
    );
    assert.deepEqual(out.counts, mask.counts);
    assert.equal(out.ones, mask.area);
    assert.equal(out.same, true);
    assert.equal(out.centre, 1);
    assert.equal(out.corner, 0);
    const expected = [
      ...Array(24).fill(0),
      15,
      15,
      15,
      15,
      7,
      7,
      7,
      7,
      15,
      15,
      15,
      15,
      7,
      7,
      7,
      7,
      15,
      15,
      15,
      15,
      7,
      7,
      7,
      7,
    ];
    assert.deepEqual(out.map, expected);
    assert.deepEqual(out.map2, expected, 'interleaved [label, run, …] form');
  });

  it('draws a PNG label map (8-bit grayscale, pixel = class id)', async () => {
    const png = grayPng(6, 8, (x, y) => (y < 3 ? 0 : x < 4 ? 15 : 7));
    sink.write(
      rec('png-map', 'seg', 'semantic_segmentation', 160, 120, {
        class_fractions: { person: 0.25, car: 0.25 },
        label_map: { format: 'png', width: 8, height: 6, data: png.toString('base64') },
      }),
    );
    await page.waitForFunction(
      () => {
        const c = document.querySelector<HTMLCanvasElement>('[data-stream="png-map"] canvas');
        return (
          !!c &&
          c.width === 160 &&
          c
            .getContext('2d')!
            .getImageData(20, 100, 1, 1)
            .data.slice(0, 3)
            .some((v) => v > 0)
        );
      },
      null,
      { timeout: SAFETY_NET_MS },
    );
    const px = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('[data-stream="png-map"] canvas')!;
      const g = c.getContext('2d')!;
      const d = (window as any).vidflowDashboard;
      // 8×6 map stretched to 160×120: 20 px cells; the legend sits top right, the placeholder text mid-left
      return {
        top: Array.from(g.getImageData(20, 30, 1, 1).data),
        person: Array.from(g.getImageData(20, 100, 1, 1).data),
        car: Array.from(g.getImageData(140, 100, 1, 1).data),
        c15: d.colorFor(15) as string,
        c7: d.colorFor(7) as string,
      };
    });
    // black canvas (no preview frame) under the overlay at alpha 120/255
    const blend = (hex: string) =>
      [0, 2, 4].map((i) => Math.round((parseInt(hex.slice(1 + i, 3 + i), 16) * 120) / 255));
    const near = (a: number[], b: number[]) => b.every((v, i) => Math.abs(v - a[i]!) <= 8);
    assert.ok(near(px.person, blend(px.c15)), `class 15 pixel ${px.person} ≈ ${blend(px.c15)}`);
    assert.ok(near(px.car, blend(px.c7)), `class 7 pixel ${px.car} ≈ ${blend(px.c7)}`);
    assert.ok(near(px.top, [0, 0, 0]), `background stays unpainted (${px.top})`);
  });

  it('shows the connection drop and reconnects when the server comes back', async () => {
    const port = sink.port;
    await sink.close();
    await page.waitForFunction(() => document.body.dataset.ws !== 'connected', null, { timeout: SAFETY_NET_MS });
    sink = await startDashboardServer({ port, logger: silentLogger() });
    await page.waitForFunction(() => document.body.dataset.ws === 'connected', null, { timeout: SAFETY_NET_MS });
    assert.equal(sink.stats().connections_total, 1);
  });
});
