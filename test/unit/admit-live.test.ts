import assert from 'node:assert/strict';
import { it } from 'node:test';
import { admitLive } from '../../src/operators/model-stage.js';

it('file frames (no deadline) are always admitted', () => {
  assert.equal(admitLive({ captured_at_ms: 0 }, 1e9, 5000), true);
});

it('a live frame is dropped when its result would come after its deadline', () => {
  const f = { captured_at_ms: 1000, deadline_ms: 2000 }; // 1 s budget
  assert.equal(admitLive(f, 1500, 100), true, 'now + 100 ms ≤ deadline');
  assert.equal(admitLive(f, 1950, 100), false, 'would finish at 2050 > 2000');
  assert.equal(admitLive(f, 2001, 0), false, 'deadline passed');
  assert.equal(admitLive(f, 1000, 0), true, 'before the first batch was measured');
});

it('a model that alone takes most of the budget still gets the frames whose deadline has not passed', () => {
  const f = { captured_at_ms: 1000, deadline_ms: 2000 };
  assert.equal(admitLive(f, 1100, 900), true, '900 ms ≥ 80 % of the 1 s budget: fall back to the deadline');
  assert.equal(admitLive(f, 2100, 900), false);
});
