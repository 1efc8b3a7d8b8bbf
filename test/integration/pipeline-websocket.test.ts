/**
 * A pipeline with a `websocket` sink, end to end: real video through ffmpeg and the real
 * classifier; a real WebSocket client subscribes and receives the result records and the JPEG
 * preview frames the runtime encodes for the dashboard.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { it } from 'node:test';
import WebSocket from 'ws';
import { parsePipeline } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { buildPipeline } from '../../src/runtime/run.js';
import { decodeFrameMessage } from '../../src/sinks/websocket/protocol.js';
import type { WebSocketSink } from '../../src/sinks/websocket-sink.js';
import { media, REPO } from '../support/media.js';

const MANIFEST = path.join(REPO, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.manifest.json');

it('streams results and JPEG previews of a running pipeline to a WebSocket client', {
  timeout: 10 * 60_000,
}, async () => {
  const cfg = parsePipeline(
    `name: ws-e2e
preview: { fps: 5, max_width: 320 }
sources:
  - { type: file, id: cam, path: ${media.testsrc(4)}, fps: 5, realtime: true }
stages:
  - { type: classify, id: scene, model: ${MANIFEST}, top_k: 2 }
sinks:
  - { type: websocket, port: 0, heartbeat_ms: 0 }
`,
    'ws-e2e.yaml',
    REPO,
  );
  const pipeline = await buildPipeline(cfg, { logger: silentLogger() });
  const sink = pipeline.sinks[0] as WebSocketSink;
  const client = new WebSocket(`ws://127.0.0.1:${sink.port}/ws`);
  const results: Array<Record<string, any>> = [];
  const frames: Array<{ header: Record<string, unknown>; jpeg: Buffer }> = [];
  client.on('message', (data, isBinary) => {
    if (isBinary) frames.push(decodeFrameMessage(data as Buffer));
    else {
      const msg = JSON.parse(data.toString());
      if (msg.type === 'result') results.push(msg.record);
    }
  });
  await new Promise<void>((resolve, reject) => {
    client.once('open', () => resolve());
    client.once('error', reject);
  });
  client.send(JSON.stringify({ type: 'subscribe', streams: ['cam'], frames: true }));
  const summary = await pipeline.run();
  client.close();
  assert.equal(summary.ok, true, summary.errors.join('\n'));
  assert.equal(results.length, 20, `results ${results.length}`);
  assert.ok(results.every((r) => r.stream_id === 'cam' && r.task === 'classification' && r.results.top.length === 2));
  assert.ok(frames.length >= 5, `preview frames ${frames.length}`);
  for (const f of frames) {
    assert.equal(f.header.stream_id, 'cam');
    assert.equal(f.header.width, 640);
    assert.equal(f.jpeg[0], 0xff);
    assert.equal(f.jpeg[1], 0xd8);
    assert.equal(f.jpeg[f.jpeg.length - 2], 0xff);
    assert.equal(f.jpeg[f.jpeg.length - 1], 0xd9);
  }
  // Previews are downscaled to max_width: the JPEG's SOF0 marker holds its size.
  const jpeg = frames[0]!.jpeg;
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
  assert.ok(sof > 0);
  assert.equal(jpeg.readUInt16BE(sof + 7), 320, 'preview width');
  assert.equal(jpeg.readUInt16BE(sof + 5), 180, 'preview height');
});
