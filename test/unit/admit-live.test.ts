import assert from 'node:assert/strict';
import { it } from 'node:test';
import { admitLive, batchTimeEstimate } from '../../src/stages/model-stage.js';

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

it('the batch time estimate is the first batch, then a moving mean plus two mean deviations', () => {
  const t = batchTimeEstimate();
  assert.equal(t.expectedMs(), 0, 'nothing measured yet');
  t.observe(100);
  assert.equal(t.expectedMs(), 100);
  t.observe(200); // mean 100 + 0.2·100 = 120; deviation 0 + 0.2·100 = 20
  assert.equal(t.expectedMs(), 160);
  for (let i = 0; i < 200; i++) t.observe(50);
  assert.ok(Math.abs(t.expectedMs() - 50) < 0.01, 'steady batches: the estimate settles on their time');
});
