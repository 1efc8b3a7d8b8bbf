/**
 * The Kafka sink's buffer, retry and spill policy: the bounded FIFO of messages waiting for the
 * broker, the writers waiting for room (file pipelines), the backoff between failed attempts
 * (exponential from retry_initial_ms to retry_max_ms, 50–100 % jitter), and where the records
 * still unsent at the end of a run are written (spill_path).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../core/logger.js';
import type { SinkContext } from '../../core/sink.js';
import type { KafkaMessage } from './client.js';
import type { KafkaSinkConfig } from './config.js';

export interface Entry {
  topic: string;
  message: KafkaMessage;
  /** Health messages (health_topic): never counted as records, never dropped for overflow. */
  control?: 'connected' | 'closed';
}

/** FIFO with O(1) push/shift and unshift of a batch (array + head index, compacted lazily). */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(v: T): void {
    this.items.push(v);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head];
    this.items[this.head] = undefined as T;
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  take(n: number): T[] {
    const out: T[] = [];
    while (out.length < n && this.length > 0) out.push(this.shift() as T);
    return out;
  }
  unshiftAll(vs: T[]): void {
    this.items = [...vs, ...this.items.slice(this.head)];
    this.head = 0;
  }
  snapshot(): T[] {
    return this.items.slice(this.head);
  }
  clear(): T[] {
    const all = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return all;
  }
}

/** A writer of a full buffer (file pipelines), admitted when room frees. */
export interface Waiter {
  entry: Entry;
  resolve: () => void;
  reject: (err: Error) => void;
}

// ---- retry -----------------------------------------------------------------------------------

/** Delay before retry number `attempt` (0-based): exponential, capped, with 50–100 % jitter; at least 1 ms. */
export function retryDelayMs(
  attempt: number,
  config: Pick<KafkaSinkConfig, 'retry_initial_ms' | 'retry_max_ms'>,
  random: () => number,
): number {
  const base = Math.min(config.retry_max_ms, config.retry_initial_ms * 2 ** Math.min(attempt, 30));
  return Math.max(1, Math.round(base * (0.5 + 0.5 * random())));
}

// ---- spill -----------------------------------------------------------------------------------

/** The spill file: `spill_path` if set (false: none); by default `<pipeline>.<id>.unsent.jsonl` for file pipelines
 * only. */
export function spillPathFor(
  config: Pick<KafkaSinkConfig, 'spill_path'>,
  ctx: Pick<SinkContext, 'baseDir' | 'pipeline' | 'mode'>,
  id: string,
): string | null {
  return config.spill_path === false
    ? null
    : config.spill_path !== undefined
      ? path.resolve(ctx.baseDir, config.spill_path)
      : ctx.mode === 'file'
        ? path.resolve(ctx.baseDir, `${ctx.pipeline}.${id}.unsent.jsonl`)
        : null;
}

/** Appends the records' JSON to the spill file; returns how many were written (0 on failure, logged). */
export function appendSpill(spillFile: string | null, entries: Entry[], log: Logger, id: string): number {
  if (spillFile === null || entries.length === 0) return 0;
  try {
    fs.appendFileSync(
      spillFile,
      entries
        .map((e) => `${typeof e.message.value === 'string' ? e.message.value : e.message.value.toString('utf8')}\n`)
        .join(''),
    );
    return entries.length;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    log.error(
      { spill_path: spillFile, err: msg },
      `kafka sink ${id}: cannot write the spill file ${spillFile}: ${msg}`,
    );
    return 0;
  }
}
