/**
 * Prometheus metrics of a running pipeline (docs/operations.md lists every family).
 *
 * Almost everything is collected on scrape from what the run already counts (the `Metrics`
 * counters: `frames.decoded.<stream>`, `frames.in.<stream>`, `frames.done.<stream>`,
 * `dropped.<where>.<reason>`, `reconnects.<stream>`, `errors.<stage>`, `errors.sink.<sink>`,
 * `sink.accepted.<sink>`, …), from the sources' and sinks' own state (health, queue depths of the
 * inference pools) and from `health()`. Only three things are pushed as they happen: the records
 * (via `onRecord`, after the sinks accepted them: record counts, capture→emit latency, per-step
 * latency from `timing`) and `Metrics.observe` values (inference ms, batch sizes), which feed
 * histograms. Labels are ids from the pipeline file (stream/stage/sink ids, model names): never a
 * camera URL.
 */
import path from 'node:path';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Source, Stage } from '../core/component.js';
import type { Metrics } from '../core/metrics.js';
import type { ResultRecord } from '../core/result.js';
import { inferencePools } from '../models/inference-worker-pool.js';
import type { Sink, SinkHealth } from '../sinks/sink.js';

/** What the collectors read; a BuiltPipeline has all of it. */
export interface ObservedPipeline {
  name: string;
  sources: readonly Source[];
  stages: readonly Stage[];
  sinks: readonly Sink[];
  metrics: Metrics;
}

export interface PipelineMetricsOptions {
  /** Stage id → model name (the manifest's `name`), for the `model` label. */
  stageModels?: Record<string, string>;
  /** Model file path → model name, for the inference-pool gauges (default: the file's base name). */
  modelNames?: Record<string, string>;
  /** Stream id → its `max_in_flight`. */
  maxInFlight?: Record<string, number>;
  /** Where the families are registered (default: a new registry). */
  registry?: Registry;
  /** process_* / nodejs_* metrics of prom-client in a new registry (default true; ignored with `registry`). */
  defaultMetrics?: boolean;
  /** Each sink's health() in the `vidflow_sink_up` gauge may take this long (default 1000 ms). */
  healthTimeoutMs?: number;
  /** The fps gauges' window (default 10 s, sampled every second). */
  fpsWindowMs?: number;
  version?: string;
}

export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
export const INFERENCE_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
export const FILL_BUCKETS = [0.125, 0.25, 0.5, 0.75, 1];
/** Health states of a live stream (docs/result-schema.md `stream_health`). */
export const STREAM_STATES = ['connecting', 'live', 'stalled', 'reconnecting', 'failed'] as const;

/** A sink's health() with a time limit: a hung check reports unhealthy instead of hanging the caller. */
export async function sinkHealth(sink: Sink, timeoutMs: number): Promise<SinkHealth> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(() => sink.health()),
      new Promise<SinkHealth>((resolve) => {
        timer = setTimeout(
          () => resolve({ ok: false, detail: `health() did not answer within ${timeoutMs} ms` }),
          timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    return { ok: false, detail: `health() failed: ${(err as Error)?.message ?? String(err)}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * For counters named `<prefix><id>.<rest>`: the id among `ids` (longest match, ids may contain
 * dots) and the rest, or null.
 */
function splitId(name: string, prefix: string, ids: readonly string[]): { id: string; rest: string } | null {
  if (!name.startsWith(prefix)) return null;
  const tail = name.slice(prefix.length);
  let best: string | null = null;
  for (const id of ids)
    if ((tail === id || tail.startsWith(`${id}.`)) && (best === null || id.length > best.length)) best = id;
  return best === null ? null : { id: best, rest: tail.slice(best.length + 1) };
}

const ms = (a: number | null | undefined, b: number | null | undefined): number | null =>
  typeof a === 'number' && typeof b === 'number' ? Math.max(0, b - a) / 1000 : null;

export class PipelineMetrics {
  readonly registry: Registry;
  private readonly records: Counter<'stream' | 'stage'>;
  private readonly latency: Histogram<'stream' | 'stage'>;
  private readonly steps: Histogram<'stage' | 'step'>;
  private readonly inference: Histogram<'stage' | 'model'>;
  private readonly batch: Histogram<'stage' | 'model'>;
  private readonly batchFill: Histogram<'stage' | 'model'>;
  private readonly stopObserving: () => void;
  private readonly fpsTimer: NodeJS.Timeout;
  private readonly fpsSamples: Array<{ at: number; decoded: Map<string, number>; processed: Map<string, number> }> = [];

  constructor(
    private readonly pipeline: ObservedPipeline,
    private readonly options: PipelineMetricsOptions = {},
  ) {
    const r = (this.registry = options.registry ?? new Registry());
    const m = pipeline.metrics;
    const streams = pipeline.sources.map((s) => s.id);
    const stageIds = pipeline.stages.map((s) => s.id);
    const sinkIds = pipeline.sinks.map((s) => s.id);
    const model = (stage: string) => options.stageModels?.[stage] ?? '';
    const healthTimeout = options.healthTimeoutMs ?? 1000;
    const self = this;
    if (!options.registry && options.defaultMetrics !== false) collectDefaultMetrics({ register: r });

    /**
     * A counter whose value per label set is read from Metrics on every scrape. Never lower than
     * it was at an earlier scrape: a derived value (processed = done − stale) can dip for a moment
     * between two updates, which Prometheus would take for a counter reset.
     */
    const fromCounters = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      read: (add: (labels: Record<L, string>, v: number) => void) => void,
    ) => {
      const last = new Map<string, number>();
      return new Counter<L>({
        name,
        help,
        labelNames,
        registers: [r],
        collect() {
          this.reset();
          read((labels, v) => {
            const key = labelNames.map((l) => labels[l]).join('\u0000');
            const value = Math.max(v, last.get(key) ?? 0);
            last.set(key, value);
            this.inc(labels as never, value);
          });
        },
      });
    };
    const perStream = (counter: string) => (add: (l: { stream: string }, v: number) => void) => {
      for (const s of streams) add({ stream: s }, m.get(`${counter}.${s}`));
    };

    fromCounters(
      'vidflow_frames_decoded_total',
      'Frames read from the decoder (after the source fps sampling), emitted or dropped at the source.',
      ['stream'],
      perStream('frames.decoded'),
    );
    fromCounters(
      'vidflow_frames_in_total',
      'Frames that entered the stage graph (got a flow-control credit).',
      ['stream'],
      perStream('frames.in'),
    );
    fromCounters(
      'vidflow_frames_processed_total',
      'Frames every stage finished with, less those a stage dropped as stale (decoded = processed + dropped).',
      ['stream'],
      (add) => {
        for (const s of streams) add({ stream: s }, m.get(`frames.done.${s}`) - m.get(`dropped.${s}.stale`));
      },
    );
    fromCounters(
      'vidflow_frames_dropped_total',
      'Frames dropped, by reason (live_busy, late_read, stale, …).',
      ['stream', 'reason'],
      (add) => {
        for (const [k, v] of m.counterEntries()) {
          const hit = splitId(k, 'dropped.', streams);
          if (hit?.rest) add({ stream: hit.id, reason: hit.rest }, v);
        }
      },
    );
    fromCounters(
      'vidflow_stream_reconnects_total',
      'Reconnection attempts of a live stream.',
      ['stream'],
      perStream('reconnects'),
    );
    fromCounters(
      'vidflow_stream_health_changes_total',
      'Changes of a live stream into each health state.',
      ['stream', 'state'],
      (add) => {
        for (const [k, v] of m.counterEntries()) {
          const hit = splitId(k, 'health.', streams);
          if (hit?.rest) add({ stream: hit.id, state: hit.rest }, v);
        }
      },
    );
    fromCounters(
      'vidflow_source_errors_total',
      'Sources that failed mid-run (corrupt file, camera given up).',
      ['stream'],
      perStream('errors.source'),
    );
    new Gauge({
      name: 'vidflow_stream_health',
      help: 'Live streams: 1 for the current health state, 0 for the others (no series before the first state).',
      labelNames: ['stream', 'state'],
      registers: [r],
      collect() {
        this.reset();
        for (const s of pipeline.sources) {
          const state = (s as { health?: { state?: string | null } }).health?.state;
          if (s.kind !== 'live' || typeof state !== 'string') continue;
          for (const st of STREAM_STATES) this.set({ stream: s.id, state: st }, st === state ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'vidflow_frames_in_flight',
      help: 'Frames of a stream between the source and the sinks now (held flow-control credits).',
      labelNames: ['stream'],
      registers: [r],
      collect() {
        for (const s of streams)
          this.set({ stream: s }, Math.max(0, m.get(`frames.in.${s}`) - m.get(`frames.done.${s}`)));
      },
    });
    if (options.maxInFlight) {
      const g = new Gauge({
        name: 'vidflow_frames_max_in_flight',
        help: "A stream's max_in_flight (the in-flight gauge's ceiling).",
        labelNames: ['stream'],
        registers: [r],
      });
      for (const s of streams) if (options.maxInFlight[s] !== undefined) g.set({ stream: s }, options.maxInFlight[s]!);
    }
    new Gauge({
      name: 'vidflow_stream_fps',
      help:
        'Frames per second of a stream over the last fps window (10 s): kind="decoded" read from the decoder, ' +
        'kind="processed" finished by the stages.',
      labelNames: ['stream', 'kind'],
      registers: [r],
      collect() {
        const now = self.sampleFps();
        const oldest = self.fpsSamples[0];
        for (const s of streams) {
          for (const kind of ['decoded', 'processed'] as const) {
            const dt = oldest ? (now.at - oldest.at) / 1000 : 0;
            const v = dt > 0 ? (now[kind].get(s)! - oldest![kind].get(s)!) / dt : 0;
            this.set({ stream: s, kind }, +v.toFixed(3));
          }
        }
      },
    });

    this.records = new Counter({
      name: 'vidflow_records_total',
      help: 'Result records the sinks accepted (stage "source": stream_health records).',
      labelNames: ['stream', 'stage'],
      registers: [r],
    });
    this.latency = new Histogram({
      name: 'vidflow_record_latency_seconds',
      help: 'Capture → emit latency of each record (its latency_ms), seconds; stream_health records excluded.',
      labelNames: ['stream', 'stage'],
      buckets: LATENCY_BUCKETS_S,
      registers: [r],
    });
    this.steps = new Histogram({
      name: 'vidflow_stage_step_seconds',
      help:
        'Where a record\'s time went, from its `timing`: step="decode" captured→decoded, "wait" decoded→queued ' +
        '(before the batcher), "batch" queued→infer_start, "infer" infer_start→infer_end, "post" infer_end→emitted, ' +
        '"sink" emitted→accepted by every sink.',
      labelNames: ['stage', 'step'],
      buckets: LATENCY_BUCKETS_S,
      registers: [r],
    });
    this.inference = new Histogram({
      name: 'vidflow_inference_seconds',
      help: "Inference time per frame (the batch's run divided by its size), by stage and model.",
      labelNames: ['stage', 'model'],
      buckets: INFERENCE_BUCKETS_S,
      registers: [r],
    });
    this.batch = new Histogram({
      name: 'vidflow_batch_size',
      help: 'Frames per inference call.',
      labelNames: ['stage', 'model'],
      buckets: BATCH_BUCKETS,
      registers: [r],
    });
    this.batchFill = new Histogram({
      name: 'vidflow_batch_fill_ratio',
      help: "Each batch the dynamic batcher flushed: its size / the stage's batch_size.",
      labelNames: ['stage', 'model'],
      buckets: FILL_BUCKETS,
      registers: [r],
    });
    fromCounters(
      'vidflow_batch_flushes_total',
      'Batches the dynamic batcher flushed, by reason (full, preferred, deadline, end_of_stream).',
      ['stage', 'reason'],
      (add) => {
        for (const [k, v] of m.counterEntries()) {
          const hit = splitId(k, 'batch_flush.', stageIds);
          if (hit?.rest) add({ stage: hit.id, reason: hit.rest }, v);
        }
      },
    );
    this.stopObserving = m.onObserve((name, value) => {
      const f = splitId(name, 'batch_fill.', stageIds);
      if (f && f.rest === '') return this.batchFill.observe({ stage: f.id, model: model(f.id) }, value);
      const inf = splitId(name, 'infer_ms.', stageIds);
      if (inf && inf.rest === '') return this.inference.observe({ stage: inf.id, model: model(inf.id) }, value / 1000);
      const b = splitId(name, 'batch_size.', stageIds);
      if (b && b.rest === '') this.batch.observe({ stage: b.id, model: model(b.id) }, value);
    });
    fromCounters(
      'vidflow_stage_errors_total',
      'Frames (clips) a stage failed on (the record carries `error`, MODEL_RUN).',
      ['stage'],
      (add) => {
        for (const s of stageIds) add({ stage: s }, m.get(`errors.${s}`));
      },
    );

    const modelOf = (file: string) => options.modelNames?.[file] ?? path.basename(file).replace(/\.onnx$/i, '');
    const pools = () => {
      const by = new Map<string, { queued: number; busy: number; workers: number; restarts: number; runs: number }>();
      for (const p of inferencePools()) {
        const k = modelOf(p.modelPath);
        const a = by.get(k) ?? { queued: 0, busy: 0, workers: 0, restarts: 0, runs: 0 };
        a.queued += p.queued;
        a.busy += p.busy;
        a.workers += p.workers;
        a.restarts += p.stats.worker_restarts;
        a.runs += p.stats.runs;
        by.set(k, a);
      }
      return by;
    };
    const poolGauge = (name: string, help: string, key: 'queued' | 'busy' | 'workers') =>
      new Gauge({
        name,
        help,
        labelNames: ['model'],
        registers: [r],
        collect() {
          this.reset();
          for (const [k, a] of pools()) this.set({ model: k }, a[key]);
        },
      });
    poolGauge(
      'vidflow_inference_queue_depth',
      'Inference runs waiting for a free worker of the model (stages with workers ≥ 1).',
      'queued',
    );
    poolGauge('vidflow_inference_workers_busy', "The model's workers running a batch now.", 'busy');
    poolGauge('vidflow_inference_workers', "The model's live inference worker threads.", 'workers');
    fromCounters(
      'vidflow_inference_worker_restarts_total',
      'Inference workers that died and were replaced.',
      ['model'],
      (add) => {
        for (const [k, a] of pools()) add({ model: k }, a.restarts);
      },
    );

    const perSink = (counter: string) => (add: (l: { sink: string }, v: number) => void) => {
      for (const s of sinkIds) add({ sink: s }, m.get(`${counter}.${s}`));
    };
    fromCounters(
      'vidflow_sink_records_written_total',
      'Records the sink accepted (buffered or delivered).',
      ['sink'],
      perSink('sink.accepted'),
    );
    fromCounters(
      'vidflow_sink_records_undelivered_total',
      "Records that did not reach the sink's destination: skipped after the sink failed, plus what the sink reports " +
        'undelivered (a failed file; Kafka: at close).',
      ['sink'],
      (add) => {
        for (const s of pipeline.sinks) {
          let own = 0;
          try {
            own = s.report?.().undelivered ?? 0;
          } catch {
            // not reportable yet
          }
          add({ sink: s.id }, m.get(`sink.skipped.${s.id}`) + own);
        }
      },
    );
    fromCounters(
      'vidflow_sink_dropped_total',
      'Records a sink dropped on purpose, by reason (sink_overflow, client_slow, …).',
      ['sink', 'reason'],
      (add) => {
        for (const [k, v] of m.counterEntries()) {
          const hit = splitId(k, 'dropped.', sinkIds);
          if (hit?.rest && !splitId(k, 'dropped.', streams)) add({ sink: hit.id, reason: hit.rest }, v);
        }
      },
    );
    fromCounters(
      'vidflow_sink_errors_total',
      'Write failures of a sink (after the first, the sink gets no more records).',
      ['sink'],
      perSink('errors.sink'),
    );
    new Gauge({
      name: 'vidflow_sink_up',
      help: "1 when the sink's health() reports ok (checked on each scrape, 1 s limit), else 0.",
      labelNames: ['sink'],
      registers: [r],
      async collect() {
        const hs = await Promise.all(pipeline.sinks.map((s) => sinkHealth(s, healthTimeout)));
        pipeline.sinks.forEach((s, i) => this.set({ sink: s.id }, hs[i]!.ok ? 1 : 0));
      },
    });

    this.sampleFps(true);
    this.fpsTimer = setInterval(() => this.sampleFps(true), 1000);
    this.fpsTimer.unref();
  }

  /** The counters now; with `keep`, stored as a sample of the fps window. */
  private sampleFps(keep = false): { at: number; decoded: Map<string, number>; processed: Map<string, number> } {
    const m = this.pipeline.metrics;
    const at = Date.now();
    const decoded = new Map<string, number>();
    const processed = new Map<string, number>();
    for (const s of this.pipeline.sources) {
      decoded.set(s.id, m.get(`frames.decoded.${s.id}`));
      processed.set(s.id, m.get(`frames.done.${s.id}`) - m.get(`dropped.${s.id}.stale`));
    }
    const sample = { at, decoded, processed };
    if (keep) {
      this.fpsSamples.push(sample);
      const window = this.options.fpsWindowMs ?? 10_000;
      while (this.fpsSamples.length > 1 && at - this.fpsSamples[0]!.at > window) this.fpsSamples.shift();
    }
    return sample;
  }

  /** Call with each record after the sinks accepted it (BuildOptions.onRecord). */
  onRecord(record: ResultRecord): void {
    const now = Date.now();
    this.records.inc({ stream: record.stream_id, stage: record.stage_id });
    if (record.task === 'stream_health') return;
    if (typeof record.latency_ms === 'number')
      this.latency.observe({ stream: record.stream_id, stage: record.stage_id }, Math.max(0, record.latency_ms) / 1000);
    const t = record.timing as
      | {
          captured?: number;
          decoded?: number;
          queued?: number | null;
          infer_start?: number | null;
          infer_end?: number | null;
          emitted?: number;
        }
      | undefined;
    if (!t) return;
    const stage = record.stage_id;
    const obs = (step: string, v: number | null) => {
      if (v !== null) this.steps.observe({ stage, step }, v);
    };
    obs('decode', ms(t.captured, t.decoded));
    obs('wait', ms(t.decoded, t.queued));
    obs('batch', ms(t.queued, t.infer_start));
    obs('infer', ms(t.infer_start, t.infer_end));
    obs('post', ms(t.infer_end ?? t.queued ?? t.decoded, t.emitted));
    obs('sink', ms(t.emitted, now));
  }

  close(): void {
    clearInterval(this.fpsTimer);
    this.stopObserving();
  }
}
