/** failureWarner: the first failing frame is logged, then at most one summary per interval with the count. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failureWarner } from '../../src/stages/model-stage.js';
import { capturingLogger } from '../support/fakes.js';

describe('failureWarner', () => {
  it('logs the first failure, then one summary per interval with the count', () => {
    const { logger, lines } = capturingLogger();
    let t = 0;
    const scheduler = { now: () => t };
    const warn = failureWarner('det', logger, scheduler, 1000);
    const f = (index: number) => ({ stream_id: 'cam', index });
    warn(f(0), 'boom');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!.msg, /failed on frame 0 of `cam`: boom/);
    for (let i = 1; i <= 5; i++) {
      t = i * 100; // 100..500 ms: inside the interval
      warn(f(i), 'boom');
    }
    assert.equal(lines.length, 1, 'no line per frame inside the interval');
    t = 1000;
    warn(f(6), 'bang');
    assert.equal(lines.length, 2);
    assert.equal(lines[1]!.obj.failed, 6);
    assert.match(lines[1]!.msg, /6 more frame\(s\).*frame 6 of `cam`: bang/);
    t = 1500;
    warn(f(7), 'x');
    assert.equal(lines.length, 2);
    t = 2000;
    warn(f(8), 'x');
    assert.equal(lines.length, 3);
    assert.equal(lines[2]!.obj.failed, 2);
  });
});
