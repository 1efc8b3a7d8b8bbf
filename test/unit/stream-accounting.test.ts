import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics, streamAccounting } from '../../src/core/metrics.js';

describe('streamAccounting', () => {
  it('decoded = processed + dropped when the source drops late frames and a stage drops stale ones', () => {
    const m = new Metrics();
    m.inc('frames.decoded.cam', 10);
    m.drop('cam', 'late_read', 3); // dropped at the source: never reach a stage
    m.drop('cam', 'live_busy', 1); // dropped at the source: no credit
    m.inc('frames.done.cam', 6); // reached the stages; one of them was dropped there as stale
    m.drop('cam', 'stale', 1);
    const a = streamAccounting(m, ['cam']).cam!;
    assert.deepEqual(a.dropped, { late_read: 3, live_busy: 1, stale: 1 });
    assert.equal(a.processed, 5);
    assert.equal(a.decoded, a.processed + Object.values(a.dropped).reduce((s, n) => s + n, 0));
  });
});
