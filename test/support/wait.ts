/**
 * Waiting for events instead of fixed delays: a line on a child's stream, a file holding N lines,
 * any condition. The time limits are safety nets (minutes), never the thing a test waits for, so
 * a slow or loaded machine only makes a test slower, not failing.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';

/** Default safety net: long enough for a machine at a fraction of a dev box's speed. */
export const SAFETY_NET_MS = Number(process.env.VIDFLOW_TEST_SAFETY_NET_MS ?? 5 * 60_000);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Resolves with the first line of `stream` matching `re` (text already received is not replayed:
 * attach before the line can be written, e.g. in runCli's onSpawn). Rejects if the stream ends
 * first or after `timeoutMs`, quoting the tail of what arrived.
 */
export function waitForLine(stream: Readable, re: RegExp, timeoutMs = SAFETY_NET_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let seen = '';
    const done = (err: Error | null, line?: string) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      if (err) reject(err);
      else resolve(line!);
    };
    const onData = (d: Buffer | string) => {
      buf += d.toString();
      seen = (seen + d.toString()).slice(-2000);
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (re.test(line)) return done(null, line);
      }
    };
    const onEnd = () =>
      re.test(buf)
        ? done(null, buf)
        : done(new Error(`stream ended before a line matching ${re}; last output:\n${seen}`));
    const timer = setTimeout(
      () => done(new Error(`no line matching ${re} within ${timeoutMs} ms; last output:\n${seen}`)),
      timeoutMs,
    );
    stream.on('data', onData);
    stream.once('end', onEnd);
  });
}

/** Polls `cond` every `everyMs` until it returns a truthy value (returned), or rejects after `timeoutMs`. */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  what: string,
  timeoutMs = SAFETY_NET_MS,
  everyMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Complete (newline-terminated) lines in `file` now; 0 when it does not exist yet. */
export function countLines(file: string): number {
  if (!existsSync(file)) return 0;
  const text = readFileSync(file, 'utf8');
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Waits until `file` holds at least `n` complete lines (e.g. the first JSONL records). */
export function waitForLines(file: string, n: number, timeoutMs = SAFETY_NET_MS): Promise<number> {
  return waitFor(() => (countLines(file) >= n ? countLines(file) : 0), `${n} line(s) in ${file}`, timeoutMs, 50);
}
