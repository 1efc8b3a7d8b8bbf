/**
 * `batchFrames`: a dynamic batcher with Triton's semantics
 * (https://docs.nvidia.com/deeplearning/triton-inference-server/user-guide/docs/batcher.html),
 * collecting items (frames from all streams, mixed in arrival order) into batches of at most
 * `batch_size`:
 * - `full`: the queue reached `batch_size`; the batch goes at once.
 * - `preferred`: with `preferred_batch_sizes`, when the queue holds at least one preferred size
 *   (and less than `batch_size`), the largest preferred size that fits goes once no more items are
 *   immediately available (the items that arrived in the same turn have joined); the rest stay
 *   queued with their own arrival times.
 * - `deadline`: `max_wait_ms` after the oldest queued item arrived, the queue goes as it is
 *   (Triton: the oldest request's max_queue_delay expired).
 * - `end_of_stream`: the source completed (or failed: what is queued goes before the error).
 * Nothing is lost. Each emitted batch is an array of the items with a non-enumerable `reason`
 * (so code that takes a `T[]` works unchanged). Time comes from the injected scheduler, so the
 * behaviour is marble-testable. Bounded: upstream flow gates limit how many frames can wait.
 */
import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { z } from 'zod';

export const FLUSH_REASONS = ['full', 'preferred', 'deadline', 'end_of_stream'] as const;
export type FlushReason = (typeof FLUSH_REASONS)[number];

export const batchSchema = z
  .object({
    batch_size: z.number().int().min(1).max(256).default(1).describe('Items per batch.'),
    max_wait_ms: z
      .number()
      .min(0)
      .max(60_000)
      .default(20)
      .describe('Emit a partial batch this long after its oldest item arrived.'),
    preferred_batch_sizes: z
      .array(z.number().int().min(1).max(256))
      .default([])
      .describe(
        'Batch sizes to run as soon as the queue holds one (the largest that fits), without waiting for max_wait_ms.',
      ),
  })
  .strict();
export type BatchOptions = Pick<z.infer<typeof batchSchema>, 'batch_size' | 'max_wait_ms'> & {
  preferred_batch_sizes?: readonly number[];
};

/** A batch: the items, in arrival order, and why it was flushed (non-enumerable). */
export type Batch<T> = T[] & { readonly reason: FlushReason };

function makeBatch<T>(items: T[], reason: FlushReason): Batch<T> {
  return Object.defineProperty(items, 'reason', { value: reason, enumerable: false }) as Batch<T>;
}

export function batchFrames<T>(
  options: BatchOptions,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<T, Batch<T>> {
  const max = options.batch_size;
  // Preferred sizes ≥ max are the same as `full`; largest first.
  const preferred = [...new Set(options.preferred_batch_sizes ?? [])].filter((p) => p < max).sort((a, b) => b - a);
  const minPreferred = preferred.length > 0 ? preferred[preferred.length - 1]! : Infinity;
  return (source) =>
    new Observable<Batch<T>>((subscriber) => {
      let items: T[] = [];
      let arrived: number[] = [];
      let deadlineTimer: Subscription | null = null;
      let checkTimer: Subscription | null = null;
      const emit = (n: number, reason: FlushReason) => {
        const batch = items.slice(0, n);
        items = items.slice(n);
        arrived = arrived.slice(n);
        subscriber.next(makeBatch(batch, reason));
      };
      const armDeadline = () => {
        deadlineTimer?.unsubscribe();
        deadlineTimer = null;
        if (items.length === 0) return;
        const wait = Math.max(0, arrived[0]! + options.max_wait_ms - scheduler.now());
        deadlineTimer = scheduler.schedule(() => {
          deadlineTimer = null;
          process(true);
        }, wait);
      };
      /** Flushes what the rules allow now; `timedOut`: the oldest item's deadline has come. */
      const process = (timedOut: boolean) => {
        for (;;) {
          if (items.length >= max) emit(max, 'full');
          else if (items.length >= minPreferred) emit(preferred.find((p) => p <= items.length)!, 'preferred');
          else if (items.length > 0 && (timedOut || arrived[0]! + options.max_wait_ms <= scheduler.now()))
            emit(items.length, 'deadline');
          else break;
          timedOut = false;
        }
        armDeadline();
      };
      const flushAll = () => {
        deadlineTimer?.unsubscribe();
        checkTimer?.unsubscribe();
        deadlineTimer = checkTimer = null;
        while (items.length > 0) emit(Math.min(max, items.length), 'end_of_stream');
      };
      const sub = source.subscribe({
        next: (item) => {
          items.push(item);
          arrived.push(scheduler.now());
          if (items.length >= max) {
            emit(max, 'full');
            armDeadline();
          } else if (items.length >= minPreferred) {
            // Let the items that are already on their way join before choosing the size.
            checkTimer ??= scheduler.schedule(() => {
              checkTimer = null;
              process(false);
            }, 0);
          } else if (!deadlineTimer) armDeadline();
        },
        error: (err) => {
          flushAll();
          subscriber.error(err);
        },
        complete: () => {
          flushAll();
          subscriber.complete();
        },
      });
      return () => {
        deadlineTimer?.unsubscribe();
        checkTimer?.unsubscribe();
        sub.unsubscribe();
      };
    });
}
