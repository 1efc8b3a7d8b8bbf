/**
 * Takes the dashboard screenshot of the docs from a REAL pipeline: YOLOX-nano detection +
 * tracking on two shared videos, results and previews through the websocket sink, the page in
 * headless Debian Chromium. Writes docs/images/dashboard-live.png.
 * Usage: node --import tsx scripts/dashboard-screenshot.ts
 */
import path from 'node:path';
import { chromium } from 'playwright-core';
import { parsePipeline } from '../src/config/load.js';
import { silentLogger } from '../src/core/logger.js';
import { buildPipeline } from '../src/runtime/run.js';
import type { WebSocketSink } from '../src/sinks/websocket-sink.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const shared = process.env.VIDFLOW_SHARED ?? path.resolve(REPO, '..', 'shared');
const cfg = parsePipeline(
  `name: dashboard-demo
preview: { fps: 4, max_width: 480 }
sources:
  - { type: file, id: store-aisle, path: ${shared}/media/videos/store-aisle.mp4, realtime: true, loop: true }
  - { type: file, id: parking, path: ${shared}/media/videos/parking-person-bike-car.mp4, realtime: true, loop: true }
stages:
  - { type: track, id: people, model: yolox-nano, streams: [store-aisle], classes: [person], score_threshold: 0.35, ` +
    `min_hits: 2 }
  - { type: detect, id: objects, model: yolox-nano, streams: [parking], score_threshold: 0.3 }
sinks:
  - { type: websocket, port: 0 }
`,
  'dashboard-demo.yaml',
  path.join(REPO, 'pipelines'),
);
const pipeline = await buildPipeline(cfg, { logger: silentLogger() });
const sink = pipeline.sinks[0] as WebSocketSink;
const done = pipeline.run();
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
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
const page = await browser.newPage({ viewport: { width: 1100, height: 560 } });
await page.goto(sink.dashboardUrl!);
await page.waitForTimeout(6000);
const out = path.join(REPO, 'docs', 'images', 'dashboard-live.png');
await page.screenshot({ path: out });
await browser.close();
pipeline.stop('screenshot taken');
await done;
console.log(`wrote ${out}`);
