/**
 * `batchFrames`: collects items (frames from all streams) into batches of at most `batch_size`.
 * A batch is emitted as soon as it is full, or `max_wait_ms` after its first item arrived, or when
 * the source completes (nothing is lost). Time comes from the injected scheduler, so the
 * behaviour is marble-testable. Bounded: upstream flow gates limit how many frames can wait.
 */
import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { z } from 'zod';

export const batchSchema = z
  .object({
    batch_size: z.number().int().min(1).max(256).default(1).describe('Items per batch.'),
    max_wait_ms: z.number().min(0).max(60_000).default(20).describe('Emit a partial batch this long after its first item.'),
  })
  .strict();
export type BatchOptions = z.infer<typeof batchSchema>;

export function batchFrames<T>(options: BatchOptions, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<T, T[]> {
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let buffer: T[] = [];
      let timer: Subscription | null = null;
      const flush = () => {
        timer?.unsubscribe();
        timer = null;
        if (buffer.length > 0) {
          const batch = buffer;
          buffer = [];
          subscriber.next(batch);
        }
      };
      const sub = source.subscribe({
        next: (item) => {
          buffer.push(item);
          if (buffer.length >= options.batch_size) flush();
          else if (!timer) timer = scheduler.schedule(flush, options.max_wait_ms);
        },
        error: (err) => {
          flush();
          subscriber.error(err);
        },
        complete: () => {
          flush();
          subscriber.complete();
        },
      });
      return () => {
        timer?.unsubscribe();
        sub.unsubscribe();
      };
    });
}
