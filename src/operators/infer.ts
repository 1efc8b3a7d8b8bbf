/**
 * `inferBatches`: runs each batch through `run`, at most `concurrency` batches at once (default 1:
 * one inference in flight per stage; a stage with several inference workers runs one batch per
 * worker), emitting one item per frame, always in batch order: a batch that finishes early waits
 * for the ones before it. A failing batch does not end the stream: its frames get an `error` and
 * the stream goes on.
 *
 * `admit`, when given, is asked about each item just before its batch starts (once a slot is
 * free): items it refuses are emitted with `dropped: true` and never reach `run` (a live frame
 * whose deadline has passed). Each item carries the wall clock (ms since epoch) when its batch
 * started and ended.
 */
import {
  catchError,
  concatMap,
  defer,
  from,
  map,
  mergeMap,
  Observable,
  of,
  take,
  toArray,
  throwIfEmpty,
  type ObservableInput,
  type OperatorFunction,
} from 'rxjs';

export interface Inferred<F, R> {
  frame: F;
  result: R | null;
  error: Error | null;
  /** Milliseconds of the batch per item (performance.now clock). */
  infer_ms: number;
  /** Wall clock when the batch was sent to inference, and when its results (or error) came back. */
  infer_start_ms: number;
  infer_end_ms: number;
  /** Refused by `admit`: no result, no error, not run. */
  dropped?: true;
}

/**
 * `run` returns the batch's results (one per item, in order) as a Promise or as an Observable whose
 * first value is taken; a run that throws, rejects, errors or completes empty fails its batch only.
 */
export function inferBatches<F, R>(
  run: (batch: F[]) => ObservableInput<R[]>,
  options: { admit?: (item: F, now_ms: number) => boolean; concurrency?: number } = {},
): OperatorFunction<F[], Inferred<F, R>> {
  const one = (all: F[]): Observable<Inferred<F, R>> =>
    defer(() => {
      const now = Date.now();
      const admit = options.admit;
      const refused = admit ? all.filter((f) => !admit(f, now)) : [];
      const dropped = refused.map(
        (frame): Inferred<F, R> => ({
          frame,
          result: null,
          error: null,
          infer_ms: 0,
          infer_start_ms: now,
          infer_end_ms: now,
          dropped: true,
        }),
      );
      const batch = refused.length > 0 ? all.filter((f) => !refused.includes(f)) : all;
      if (batch.length === 0) return from(dropped);
      const t0 = performance.now();
      const start = Date.now();
      const items = (results: R[] | null, error: Error | null): Array<Inferred<F, R>> => {
        const ms = (performance.now() - t0) / batch.length;
        const end = Date.now();
        return [
          ...dropped,
          ...batch.map((frame, i) => ({
            frame,
            result: results ? (results[i] ?? null) : null,
            error,
            infer_ms: ms,
            infer_start_ms: start,
            infer_end_ms: end,
          })),
        ];
      };
      return defer(() => run(batch)).pipe(
        take(1),
        throwIfEmpty(() => new Error('inference completed without results')),
        map((results) => items(results, null)),
        catchError((err: unknown) => of(items(null, err instanceof Error ? err : new Error(String(err))))),
        concatMap((out) => from(out)),
      );
    });
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
  if (concurrency === 1) return concatMap(one);
  return (batches) =>
    new Observable<Inferred<F, R>>((subscriber) => {
      // Batch i's items wait here until batches 0..i-1 have been emitted.
      const finished = new Map<number, Array<Inferred<F, R>>>();
      let next = 0;
      return batches
        .pipe(
          mergeMap(
            (all, i) =>
              one(all).pipe(
                toArray(),
                map((items) => ({ i, items })),
              ),
            concurrency,
          ),
        )
        .subscribe({
          next: ({ i, items }) => {
            finished.set(i, items);
            for (let ready = finished.get(next); ready; ready = finished.get(next)) {
              finished.delete(next);
              next += 1;
              for (const item of ready) subscriber.next(item);
            }
          },
          error: (err) => subscriber.error(err),
          complete: () => subscriber.complete(),
        });
    });
}
