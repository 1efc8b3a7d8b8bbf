/**
 * The test RTSP server itself (test/support/rtsp/rtsp_server.py) survives what the live tests do to
 * it: many clients connecting and leaving at the same moment.
 *
 * Regression: CI failed when gst-rtsp-server aborted (rtsp-media.c gst_rtsp_media_get_rates:
 * assertion failed) while 8 camera sources connected at once to one *shared* media; every camera
 * then stayed in `reconnecting` until the test's safety net. Reproduced here in 18 rounds of 8
 * clients with the shared media; the server now gives every client its own pipeline, as a real
 * camera gives each viewer its own session. Run with VIDFLOW_TEST_RTSP_SHARED=1 to see the abort.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { ffmpegBinaries } from '../../src/sources/ffmpeg/binaries.js';
import { startRtspServer } from '../support/rtsp-server.js';
import { SAFETY_NET_MS } from '../support/wait.js';

const ROUNDS = 20;
const CLIENTS = 8;

/** One RTSP client: reads `frames` decoded frames and exits. Resolves with ffmpeg's exit code. */
function client(url: string, frames: number): Promise<number> {
  return new Promise((resolve) => {
    const args = ['-nostdin', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', url];
    args.push('-frames:v', String(frames), '-f', 'null', '-');
    const p = spawn(ffmpegBinaries().ffmpeg.path, args, { stdio: 'ignore' });
    const net = setTimeout(() => p.kill('SIGKILL'), SAFETY_NET_MS);
    p.on('exit', (code) => {
      clearTimeout(net);
      resolve(code ?? -1);
    });
  });
}

describe('test RTSP server', () => {
  it(`survives ${ROUNDS} rounds of ${CLIENTS} clients connecting and leaving at once`, {
    timeout: 20 * 60_000,
  }, async () => {
    const server = await startRtspServer({ fps: 25, shared: process.env.VIDFLOW_TEST_RTSP_SHARED === '1' });
    try {
      let served = 0;
      for (let round = 1; round <= ROUNDS; round++) {
        // Clients leave after 1..8 frames, so connects and teardowns of different clients overlap.
        const codes = await Promise.all(
          Array.from({ length: CLIENTS }, (_, i) => client(server.url(), 1 + ((round + i) % 8))),
        );
        assert.ok(server.alive(), `the RTSP server died in round ${round}`);
        served += codes.filter((c) => c === 0).length;
      }
      // After the storm it still serves a new client.
      assert.equal(await client(server.url(), 5), 0, 'a client after the rounds read 5 frames');
      assert.equal(served, ROUNDS * CLIENTS, 'every client of every round read its frames');
    } finally {
      await server.stop();
    }
  });
});
