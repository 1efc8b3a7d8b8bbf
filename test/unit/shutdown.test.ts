import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { it } from 'node:test';
import { installShutdown } from '../../src/runtime/shutdown.js';

function harness(timeoutMs: number) {
  const target = new EventEmitter();
  const calls: string[] = [];
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<void>((r) => (onAbort = r));
  const h = installShutdown(
    {
      stop: (sig) => calls.push(`stop ${sig}`),
      abort: (reason) => (calls.push(`abort ${reason}`), onAbort()),
      write: (line) => calls.push(`write ${line}`),
      exit: (code) => calls.push(`exit ${code}`),
      interrupt: (sig) => calls.push(`interrupt ${sig}`),
    },
    { timeoutMs, abortGraceMs: 60_000, target: target as unknown as NodeJS.Process },
  );
  return { target, calls, aborted, h };
}

it('first signal stops; the deadline aborts (sinks report) instead of exiting', async () => {
  const { target, calls, aborted, h } = harness(1);
  target.emit('SIGTERM', 'SIGTERM');
  assert.deepEqual(calls, ['stop SIGTERM']);
  await aborted;
  assert.match(calls[1]!, /^write error\[SINK_FLUSH_TIMEOUT\]: shutdown did not finish within shutdown_timeout_ms=1/);
  assert.equal(calls[2], 'abort shutdown_timeout_ms=1 passed');
  assert.ok(!calls.some((c) => c.startsWith('exit')), 'the process is not killed before the sinks report');
  h.dispose();
});

it('a second signal interrupts at once, however late', () => {
  const { target, calls, h } = harness(60_000);
  target.emit('SIGINT', 'SIGINT');
  target.emit('SIGINT', 'SIGINT');
  assert.deepEqual(calls.slice(-1), ['interrupt SIGINT']);
  assert.equal(calls.filter((c) => c.startsWith('stop')).length, 1);
  h.dispose();
  assert.equal(target.listenerCount('SIGINT'), 0);
});
