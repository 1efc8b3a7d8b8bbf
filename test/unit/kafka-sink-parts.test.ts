/**
 * The Kafka sink's parts on their own: the retry policy (backoff sequence, jitter, reset, what is
 * given up), the record buffer (drop-oldest, blocked writers, close order), rate-limited warnings,
 * batching by topic and the spill path. The sink as a whole is in kafka-sink.test.ts.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Logger } from '../../src/core/logger.js';
import { type Entry, RecordBuffer } from '../../src/sinks/kafka/buffer.js';
import { KafkaClientError } from '../../src/sinks/kafka/client.js';
import { batchByTopic } from '../../src/sinks/kafka/delivery.js';
import { RateLimitedLog } from '../../src/sinks/kafka/rate-limited-log.js';
import { isResendable, RetryPolicy, retryDelayMs, retryLogLine } from '../../src/sinks/kafka/retry-policy.js';
import { spillPathFor } from '../../src/sinks/kafka/spill.js';

const entry = (value: string, topic = 't', control?: 'connected' | 'closed'): Entry => ({
  topic,
  message: { key: 'k', value, headers: {} },
  ...(control ? { control } : {}),
});
const values = (es: Entry[]) => es.map((e) => e.message.value);

describe('kafka retry policy', () => {
  const config = { retry_initial_ms: 250, retry_max_ms: 10_000 };

  it('doubles from retry_initial_ms up to retry_max_ms; jitter takes 50-100 % of it', () => {
    const full = new RetryPolicy(config, () => 1);
    const seq = Array.from({ length: 8 }, () => full.failed());
    assert.deepEqual(seq, [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    assert.equal(full.attempt, 8);
    assert.equal(full.failedAttempts, 8);
    const half = new RetryPolicy(config, () => 0);
    assert.deepEqual(
      Array.from({ length: 3 }, () => half.failed()),
      [125, 250, 500],
    );
    assert.equal(
      retryDelayMs(2, config, () => 0.5),
      750,
    );
  });

  it('a success starts the sequence again; the failure total keeps counting', () => {
    const p = new RetryPolicy(config, () => 1);
    p.failed();
    p.failed();
    p.failed();
    p.succeeded();
    assert.equal(p.attempt, 0);
    assert.equal(p.failed(), 250);
    assert.equal(p.failedAttempts, 4);
  });

  it('is at least 1 ms and does not overflow for huge attempt numbers', () => {
    assert.equal(
      retryDelayMs(0, { retry_initial_ms: 1, retry_max_ms: 1 }, () => 0),
      1,
    );
    assert.equal(
      retryDelayMs(10_000, config, () => 1),
      10_000,
    );
  });

  it('gives up records the broker rejects; resends after connection, auth and unknown errors', () => {
    assert.equal(isResendable(new KafkaClientError('MESSAGE_TOO_LARGE', 'record')), false);
    assert.equal(isResendable(new KafkaClientError('ECONNREFUSED', 'connection')), true);
    assert.equal(isResendable(new KafkaClientError('SASL failed', 'auth')), true);
    assert.equal(isResendable(new Error('something else')), true);
  });

  it('logs auth failures as errors, others as warnings', () => {
    assert.deepEqual(retryLogLine(new KafkaClientError('x', 'auth'), 'connect'), {
      kind: 'auth',
      level: 'error',
      message: 'kafka connect failed: authentication/authorization error; retrying',
    });
    assert.deepEqual(retryLogLine(new Error('x'), 'send'), {
      kind: 'other',
      level: 'warn',
      message: 'kafka send failed; retrying with backoff',
    });
  });
});

describe('kafka record buffer', () => {
  it('drops the oldest records beyond the cap and reports how many', () => {
    const drops: number[] = [];
    const b = new RecordBuffer(3, (n) => drops.push(n));
    for (const v of ['a', 'b', 'c', 'd', 'e']) b.pending.push(entry(v));
    b.dropOverflow();
    assert.deepEqual(drops, [2]);
    assert.deepEqual(values(b.pending.snapshot()), ['c', 'd', 'e']);
    b.dropOverflow();
    assert.deepEqual(drops, [2], 'nothing to drop, no report');
  });

  it('a full buffer makes writers wait; taking a batch admits them in order', () => {
    const b = new RecordBuffer(2, () => assert.fail('no drops in file mode'));
    b.pending.push(entry('a'));
    assert.equal(b.mustWait, false);
    b.pending.push(entry('b'));
    assert.equal(b.mustWait, true);
    const admitted: string[] = [];
    for (const v of ['c', 'd'])
      b.waiters.push({ entry: entry(v), resolve: () => admitted.push(v), reject: assert.fail });
    assert.equal(b.buffered, 4);
    assert.equal(b.unsent, 4);
    b.takeBatch(1);
    assert.deepEqual(values(b.inFlight), ['a']);
    assert.deepEqual(admitted, ['c'], 'one slot freed, one writer in');
    assert.deepEqual(values(b.pending.snapshot()), ['b', 'c']);
    assert.equal(b.unsent, 4);
    b.requeueInFlight();
    assert.deepEqual(values(b.pending.snapshot()), ['a', 'b', 'c']);
    assert.equal(b.inFlight.length, 0);
  });

  it('is drained only when nothing is left; health messages count only while connected', () => {
    const b = new RecordBuffer(10, () => undefined);
    assert.equal(b.isDrained(true), true);
    b.control.push(entry('h', 'health', 'closed'));
    assert.equal(b.isDrained(true), false);
    assert.equal(b.isDrained(false), true);
    assert.equal(b.empty, false);
  });

  it('a new connected message replaces an unsent one and keeps a closed one last', () => {
    const b = new RecordBuffer(10, () => undefined);
    b.putConnectedMessage(entry('c1', 'h', 'connected'));
    b.control.push(entry('x', 'h', 'closed'));
    b.putConnectedMessage(entry('c2', 'h', 'connected'));
    assert.deepEqual(values(b.control), ['c2', 'x']);
  });

  it('at close hands back in-flight, buffered, then blocked records, without health messages', () => {
    const b = new RecordBuffer(2, () => undefined);
    for (const v of ['a', 'b']) b.pending.push(entry(v));
    b.waiters.push({ entry: entry('w'), resolve: () => undefined, reject: () => undefined });
    b.takeBatch(1); // a in flight, w admitted
    b.waiters.push({ entry: entry('w2'), resolve: () => undefined, reject: () => undefined });
    b.control.push(entry('h', 'h', 'closed'));
    assert.deepEqual(values(b.takeAllForClose()), ['a', 'b', 'w', 'w2']);
    assert.equal(b.inFlight.length, 0);
    assert.equal(b.control.length, 0);
    assert.equal(b.waiters.length, 1, 'blocked writers stay for the caller to settle');
  });
});

describe('kafka sink helpers', () => {
  it('rate-limited warnings: one line per kind per interval, then the suppressed count', () => {
    const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
    const log = {
      warn: (obj: Record<string, unknown>, msg: string) => lines.push({ level: 'warn', obj, msg }),
      error: (obj: Record<string, unknown>, msg: string) => lines.push({ level: 'error', obj, msg }),
    } as unknown as Logger;
    let now = 0;
    const w = new RateLimitedLog(log, 1000, () => now);
    w.warn('lost', { n: 1 }, 'lost');
    now = 10;
    w.warn('lost', { n: 2 }, 'lost');
    w.warn('lost', { n: 3 }, 'lost');
    w.warn('retry', { n: 4 }, 'retry', 'error');
    now = 1000;
    w.warn('lost', { n: 5 }, 'lost');
    assert.deepEqual(lines, [
      { level: 'warn', obj: { n: 1 }, msg: 'lost' },
      { level: 'error', obj: { n: 4 }, msg: 'retry' },
      { level: 'warn', obj: { n: 5, suppressed: 2 }, msg: 'lost' },
    ]);
    w.clear();
    now = 1001;
    w.warn('lost', { n: 6 }, 'lost');
    assert.deepEqual(lines.at(-1), { level: 'warn', obj: { n: 6 }, msg: 'lost' });
  });

  it('batches messages by topic, in order within each topic', () => {
    const batches = batchByTopic([entry('1', 'a'), entry('2', 'b'), entry('3', 'a')]);
    assert.deepEqual(
      batches.map((b) => [b.topic, b.messages.map((m) => m.value)]),
      [
        ['a', ['1', '3']],
        ['b', ['2']],
      ],
    );
  });

  it('spill path: explicit, off, or by default beside the pipeline in file mode only', () => {
    const ctx = { baseDir: '/p', pipeline: 'demo', mode: 'file' as const };
    assert.equal(spillPathFor({ spill_path: 'out/u.jsonl' }, ctx, 'kafka'), path.resolve('/p', 'out/u.jsonl'));
    assert.equal(spillPathFor({ spill_path: false }, ctx, 'kafka'), null);
    assert.equal(spillPathFor({}, ctx, 'k1'), path.resolve('/p', 'demo.k1.unsent.jsonl'));
    assert.equal(spillPathFor({}, { ...ctx, mode: 'live' }, 'k1'), null);
  });
});
