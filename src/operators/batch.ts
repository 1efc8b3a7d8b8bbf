/**
 * `batchFrames`: collects frames (from all streams) into batches of at most `batch_size`,
 * emitting a partial batch after `max_wait_ms` or on completion. Time comes from the injected
 * scheduler, so the behaviour is marble-testable. Bounded: upstream flow gates limit how many
 * frames can be waiting.
 */
import { asyncScheduler, bufferTime, filter, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { z } from 'zod';

export const batchSchema = z
  .object({
    batch_size: z.number().int().min(1).max(256).default(1).describe('Frames per inference call (across streams). Fixed-batch models override it.'),
    max_wait_ms: z.number().min(0).max(60_000).default(20).describe('Run a partial batch after waiting this long.'),
  })
  .strict();
export type BatchOptions = z.infer<typeof batchSchema>;

export function batchFrames<T>(options: BatchOptions, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<T, T[]> {
  return (source) =>
    source.pipe(
      bufferTime(Math.max(options.max_wait_ms, 0), null, options.batch_size, scheduler),
      filter((batch) => batch.length > 0),
    );
}
