/** Camera reconnect backoff: capped doubling with jitter; socket timeouts per protocol. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, cameraInputOptions } from '../../src/sources/camera-source.js';

describe('backoffDelay', () => {
  const o = { initial_ms: 500, max_ms: 30_000 };
  it('doubles per failure in a row and never exceeds the cap', () => {
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => backoffDelay(n, o, () => 0)),
      [500, 1000, 2000, 4000],
    );
    assert.equal(
      backoffDelay(40, o, () => 0),
      30_000,
    );
  });
  it('jitter draws each delay in [50 %, 100 %] of the capped value', () => {
    assert.equal(
      backoffDelay(3, o, () => 1),
      1000,
    );
    assert.equal(
      backoffDelay(3, o, () => 0.5),
      1500,
    );
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(10, o);
      assert.ok(d >= 15_000 && d <= 30_000, String(d));
    }
  });
});

describe('cameraInputOptions', () => {
  it('sets a socket I/O timeout for RTSP (-timeout µs) and HTTP (-rw_timeout µs), none for UDP', () => {
    const c = { rtsp_transport: 'tcp' as const, connect_timeout_ms: 4000 };
    assert.deepEqual(cameraInputOptions({ ...c, url: 'rtsp://h/x' }).slice(-4), [
      '-rtsp_transport',
      'tcp',
      '-timeout',
      '4000000',
    ]);
    assert.deepEqual(cameraInputOptions({ ...c, url: 'http://h/x' }).slice(-2), ['-rw_timeout', '4000000']);
    assert.ok(!cameraInputOptions({ ...c, url: 'udp://h:1' }).some((a) => a.includes('timeout')));
  });
});
