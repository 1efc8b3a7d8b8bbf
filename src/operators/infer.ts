/**
 * `inferBatches`: runs each batch through `run` one batch at a time (at most one inference in
 * flight per stage; batches wait in order), emitting one item per frame. A failing batch does
 * not end the stream: its frames get an `error` and the stream goes on.
 */
import { concatMap, from, type OperatorFunction } from 'rxjs';

export interface Inferred<F, R> {
  frame: F;
  result: R | null;
  error: Error | null;
  infer_ms: number;
}

export function inferBatches<F, R>(run: (batch: F[]) => Promise<R[]>): OperatorFunction<F[], Inferred<F, R>> {
  return concatMap((batch) =>
    from(
      (async () => {
        const t0 = performance.now();
        try {
          const results = await run(batch);
          const ms = (performance.now() - t0) / batch.length;
          return batch.map((frame, i) => ({ frame, result: results[i] ?? null, error: null, infer_ms: ms }));
        } catch (err) {
          const ms = (performance.now() - t0) / batch.length;
          return batch.map((frame) => ({ frame, result: null, error: err as Error, infer_ms: ms }));
        }
      })(),
    ).pipe(concatMap((items) => from(items))),
  );
}
