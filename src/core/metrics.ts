/**
 * Counters and gauges for a pipeline run: frames in/out per stream, drops with a reason,
 * inference time. Cheap enough to update per frame; reported at the end and by health.
 */
export type DropReason =
  | 'live_busy'
  | 'late_read'
  | 'stale'
  | 'sink_overflow'
  | 'decode_error'
  | 'client_slow'
  | string;

export class Metrics {
  private readonly counters = new Map<string, number>();
  private readonly timings = new Map<string, { count: number; total: number; max: number }>();
  private readonly observers: Array<(name: string, value: number) => void> = [];

  inc(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  /** Counts one dropped item, keyed by what dropped it and why. */
  drop(where: string, reason: DropReason, by = 1): void {
    this.inc(`dropped.${where}.${reason}`, by);
  }

  observe(name: string, ms: number): void {
    const t = this.timings.get(name) ?? { count: 0, total: 0, max: 0 };
    t.count += 1;
    t.total += ms;
    if (ms > t.max) t.max = ms;
    this.timings.set(name, t);
    for (const o of this.observers) o(name, ms);
  }

  /** Calls `fn` with every later `observe` (the Prometheus endpoint feeds histograms from it). Returns the
   * unsubscribe. */
  onObserve(fn: (name: string, value: number) => void): () => void {
    this.observers.push(fn);
    return () => {
      const i = this.observers.indexOf(fn);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  /** Every counter, unsorted and uncopied (for collectors that read them all on each scrape). */
  counterEntries(): IterableIterator<[string, number]> {
    return this.counters.entries();
  }

  snapshot(): {
    counters: Record<string, number>;
    timings: Record<string, { count: number; mean_ms: number; max_ms: number }>;
  } {
    const counters = Object.fromEntries([...this.counters.entries()].sort());
    const timings: Record<string, { count: number; mean_ms: number; max_ms: number }> = {};
    for (const [k, t] of this.timings)
      timings[k] = { count: t.count, mean_ms: +(t.total / t.count).toFixed(3), max_ms: +t.max.toFixed(3) };
    return { counters, timings };
  }

  /** Sum of every `dropped.*` counter. */
  totalDropped(): number {
    let n = 0;
    for (const [k, v] of this.counters) if (k.startsWith('dropped.')) n += v;
    return n;
  }
}

/** A stream's frame accounting: `decoded` = `processed` + the sum of `dropped`, exactly. */
export interface StreamAccounting {
  /** Frames read from the decoder (emitted or dropped at the source). */
  decoded: number;
  /** Frames every stage finished with, less those a stage dropped (`stale`). */
  processed: number;
  /** Dropped frames by reason (`live_busy`, `late_read`, `stale`, …). */
  dropped: Record<string, number>;
}

/** Per-stream accounting from a run's counters (`frames.decoded.*`, `frames.done.*`, `dropped.<stream>.*`). */
export function streamAccounting(metrics: Metrics, streams: readonly string[]): Record<string, StreamAccounting> {
  const counters = metrics.snapshot().counters;
  const out: Record<string, StreamAccounting> = {};
  for (const id of streams) {
    const dropped: Record<string, number> = {};
    const prefix = `dropped.${id}.`;
    for (const [k, v] of Object.entries(counters))
      if (k.startsWith(prefix) && !k.slice(prefix.length).includes('.')) dropped[k.slice(prefix.length)] = v;
    const stageDropped = dropped.stale ?? 0;
    out[id] = {
      decoded: counters[`frames.decoded.${id}`] ?? 0,
      processed: (counters[`frames.done.${id}`] ?? 0) - stageDropped,
      dropped,
    };
  }
  return out;
}
