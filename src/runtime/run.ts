/**
 * Builds the operator graph from a validated pipeline config and runs it:
 *
 *   source ─gate─▶ frames ─┬─▶ stage A ─┐
 *   source ─gate─▶ frames ─┼─▶ stage B ─┼─▶ outcomes ─▶ sinks (in order, awaited) ─▶ release credit
 *                          └─▶ …        ┘
 *
 * Each frame holds one credit of its source's flow gate until every stage that sees it has
 * produced its outcome and the sinks accepted the records: file sources therefore pause instead
 * of buffering, live sources drop instead of lagging. A source failing mid-way (corrupt file)
 * completes its stream, so every result already produced is flushed; the error is reported
 * afterwards and the run fails. `stop()` (SIGINT/SIGTERM) ends the sources, lets in-flight
 * frames finish, flushes and closes the sinks.
 */
import {
  catchError,
  concatMap,
  EMPTY,
  filter,
  from,
  map,
  merge,
  share,
  Subject,
  takeUntil,
  tap,
  type Observable,
} from 'rxjs';
import type { ComponentContext, Source, Stage, StageContext } from '../core/component.js';
import { VidflowError } from '../core/errors.js';
import { FlowGate } from '../core/flow-gate.js';
import { frameKey, type Frame } from '../core/frame.js';
import type { Logger } from '../core/logger.js';
import { Metrics, streamAccounting, type StreamAccounting } from '../core/metrics.js';
import { healthRecord, type FrameOutcome, type ResultRecord } from '../core/result.js';
import type { PipelineConfig } from '../config/load.js';
import type { Sink, SinkContext } from '../core/sink.js';
import { applyAutoDecodeSizes } from './decode-size-auto.js';
import { PreviewEncoder, previewSchema, type PreviewOptions } from './preview.js';

export interface RunSummary {
  pipeline: string;
  ok: boolean;
  duration_ms: number;
  frames: Record<string, number>;
  records: number;
  dropped: number;
  errors: string[];
  /** Per stream: decoded = processed + every dropped reason, exactly. */
  streams: Record<string, StreamAccounting>;
  /** Per sink: records it accepted, records it never delivered (failed sink, flush timeout) and where those went. */
  sinks: Record<string, SinkReport>;
  metrics: ReturnType<Metrics['snapshot']>;
}

export interface SinkReport {
  accepted: number;
  /** Records that did not reach the sink's destination, whatever the reason (0 when all did). */
  undelivered: number;
  /** The sink's failure, if it failed during the run (later records skipped it). */
  failed?: string;
  /** Where undelivered records were written instead (a sink's spill file), and how many. */
  spilled?: { path: string; records: number };
}

export interface BuiltPipeline {
  name: string;
  sources: Source[];
  stages: Stage[];
  sinks: Sink[];
  /** Starts the graph; resolves when everything has been flushed. */
  run(): Promise<RunSummary>;
  /** Ends the sources; in-flight work finishes and sinks flush. */
  stop(reason?: string): void;
  /**
   * Gives up waiting (the shutdown deadline passed): stops the sources and tells every sink to
   * stop waiting for delivery, so each reports (and spills, where configured) what it could not
   * deliver and `run()` resolves with those counts instead of the process dying silently.
   */
  abort(reason: string): void;
  metrics: Metrics;
}

export interface BuildOptions {
  logger: Logger;
  metrics?: Metrics;
  /** Called with each record after every sink accepted it (tests, dashboards). */
  onRecord?: (record: ResultRecord) => void;
  /** Called with each frame as it enters the graph. */
  onFrame?: (frame: Frame) => void;
}

async function settleAll<T>(tasks: Array<() => Promise<T>>): Promise<{ values: T[]; errors: unknown[] }> {
  const results = await Promise.allSettled(tasks.map((t) => t()));
  return {
    values: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    errors: results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : [])),
  };
}

/** Creates every component (in parallel); on any failure closes what was created and throws all errors. */
export async function buildPipeline(config: PipelineConfig, options: BuildOptions): Promise<BuiltPipeline> {
  const logger = options.logger;
  const metrics = options.metrics ?? new Metrics();
  const ctx = (configPath: string): ComponentContext => ({
    pipeline: config.name,
    configPath,
    baseDir: config.baseDir,
    logger,
    metrics,
  });
  // Sinks learn the pipeline's mode from the sources' own `kind` (created first, in parallel).
  const [src, stg] = await Promise.all([
    settleAll(config.sources.map((c) => () => c.spec.create(c.config, ctx(c.path)))),
    settleAll(config.stages.map((c) => () => c.spec.create(c.config, ctx(c.path) satisfies StageContext))),
  ]);
  const mode: SinkContext['mode'] = src.values.some((s) => s.kind === 'live') ? 'live' : 'file';
  const snk = await settleAll(config.sinks.map((c) => () => c.spec.create(c.config, { ...ctx(c.path), mode })));
  const errors = [...src.errors, ...stg.errors, ...snk.errors];
  if (errors.length > 0) {
    await Promise.allSettled([...stg.values.map((s) => s.close()), ...snk.values.map((s) => s.close())]);
    if (errors.length === 1) throw errors[0];
    const err = new VidflowError(
      (errors[0] as VidflowError).code ?? 'INTERNAL',
      errors.map((e) => (e instanceof VidflowError ? e.toLine() : String(e))).join('\n'),
    );
    throw Object.assign(err, { all: errors });
  }
  applyAutoDecodeSizes(
    src.values,
    stg.values,
    config.sources.map((c) => c.path),
    logger,
  );
  return assemble(config, src.values, stg.values, snk.values, { ...options, metrics });
}

export function assemble(
  config: Pick<PipelineConfig, 'name' | 'sources'> & { shutdown_timeout_ms?: number; preview?: PreviewOptions },
  sources: Source[],
  stages: Stage[],
  sinks: Sink[],
  options: BuildOptions & { metrics: Metrics },
): BuiltPipeline {
  const { logger, metrics } = options;
  const stop$ = new Subject<void>();
  const gates = new Map<string, FlowGate>();
  for (const s of sources) gates.set(s.id, new FlowGate(s.maxInFlight));
  const stagesFor = (stream: string) =>
    stages.filter((st) => st.streams === null || st.streams.includes(stream)).length;
  const pending = new Map<string, number>();
  const errors: string[] = [];
  let stopped = false;
  let records = 0;
  const frameSinks = sinks.filter((s) => typeof s.writeFrame === 'function');
  const preview =
    frameSinks.length > 0
      ? new PreviewEncoder(
          config.preview ?? previewSchema.parse({}),
          (p) => frameSinks.forEach((s) => s.writeFrame!(p)),
          logger,
          metrics,
        )
      : null;

  const release = (stream: string, index: number) => {
    const key = frameKey(stream, index);
    const left = (pending.get(key) ?? 1) - 1;
    if (left <= 0) {
      pending.delete(key);
      metrics.inc(`frames.done.${stream}`);
      gates.get(stream)?.release();
    } else pending.set(key, left);
  };

  const lastFrame = new Map<string, Frame>();
  // Live sources' health changes reach the sinks as `stream_health` records (no frame credit).
  const health$: Observable<FrameOutcome> = merge(
    ...sources.map((s) =>
      (s.health$ ?? EMPTY).pipe(
        map((e) => ({
          stream_id: s.id,
          frame_index: -1,
          records: [healthRecord(config.name, e, lastFrame.get(s.id) ?? null)],
        })),
      ),
    ),
  );

  const frames$: Observable<Frame> = merge(
    ...sources.map((s) =>
      s.frames(gates.get(s.id)!).pipe(
        takeUntil(stop$),
        tap((f) => {
          metrics.inc(`frames.in.${s.id}`);
          options.onFrame?.(f);
          preview?.offer(f);
          const n = stagesFor(s.id);
          lastFrame.set(s.id, f);
          if (n === 0) {
            metrics.inc(`frames.done.${s.id}`);
            gates.get(s.id)!.release();
          } else pending.set(frameKey(f.stream_id, f.index), n);
        }),
        catchError((err: Error) => {
          const line = err instanceof VidflowError ? err.toLine() : `error[SOURCE_DECODE]: ${s.id}: ${err.message}`;
          errors.push(line);
          metrics.inc(`errors.source.${s.id}`);
          logger.error({ stream: s.id }, err.message);
          return EMPTY;
        }),
      ),
    ),
  ).pipe(share());

  const outcomes$: Observable<FrameOutcome> = merge(
    health$,
    ...stages.map((st) =>
      frames$.pipe(
        filter((f) => st.streams === null || st.streams.includes(f.stream_id)),
        st.operator,
        catchError((err: Error) => {
          errors.push(`error[INTERNAL]: stage \`${st.id}\` failed: ${err.message}`);
          logger.error({ stage: st.id, err }, `Stage \`${st.id}\` failed: ${err.message}`);
          return EMPTY;
        }),
      ),
    ),
  );

  // A sink whose write fails is reported at once and skipped for later records, so it can
  // neither hang the pipeline nor starve the healthy sinks; what it missed is counted
  // (`sink.accepted.<id>`, `sink.skipped.<id>`).
  const sinkFailure = new Map<string, string>();
  const writeToSink = async (sink: Sink, record: ResultRecord) => {
    if (sinkFailure.has(sink.id)) {
      metrics.inc(`sink.skipped.${sink.id}`);
      return;
    }
    try {
      await sink.write(record);
      metrics.inc(`sink.accepted.${sink.id}`);
    } catch (err) {
      metrics.inc(`errors.sink.${sink.id}`);
      const msg = (err as Error).message;
      const failure =
        msg.includes(`\`${sink.id}\``) || msg.includes(` ${sink.id}`) ? msg : `sink \`${sink.id}\`: ${msg}`;
      sinkFailure.set(sink.id, failure);
      // A sink that reports its own undelivered count already counts this record.
      if (typeof sink.report !== 'function') metrics.inc(`sink.skipped.${sink.id}`);
      logger.error({ sink: sink.id }, `${failure}; the sink gets no more records, the others carry on`);
    }
  };

  const run = async (): Promise<RunSummary> => {
    const t0 = Date.now();
    await new Promise<void>((resolve) => {
      outcomes$
        .pipe(
          concatMap((outcome) =>
            from(
              (async () => {
                for (const record of outcome.records) {
                  await Promise.all(sinks.map((sink) => writeToSink(sink, record)));
                  records += 1;
                  options.onRecord?.(record);
                }
                if (outcome.frame_index >= 0) release(outcome.stream_id, outcome.frame_index);
              })(),
            ),
          ),
        )
        .subscribe({
          complete: () => resolve(),
          error: (e: Error) => (errors.push(`error[INTERNAL]: ${e.message}`), resolve()),
        });
    });
    for (const g of gates.values()) g.close();
    preview?.close();
    const closed = await Promise.allSettled(sinks.map((s) => s.close()));
    const sinkReports: Record<string, SinkReport> = {};
    sinks.forEach((sink, i) => {
      const failed = sinkFailure.get(sink.id);
      const r = closed[i]!;
      const own = sink.report?.() ?? { undelivered: 0 };
      const undelivered = metrics.get(`sink.skipped.${sink.id}`) + own.undelivered;
      if (failed !== undefined)
        errors.push(`error[SINK_WRITE]: ${failed} (${undelivered} of ${records} records not written)`);
      if (r.status === 'rejected') {
        const e = r.reason as unknown;
        const line =
          e instanceof VidflowError
            ? e.toLine()
            : `error[SINK_FLUSH_TIMEOUT]: sink \`${sink.id}\`: ${(e as Error)?.message ?? String(e)}`;
        if (!errors.includes(line)) errors.push(line);
      }
      sinkReports[sink.id] = {
        accepted: metrics.get(`sink.accepted.${sink.id}`),
        undelivered,
        ...(failed !== undefined ? { failed } : {}),
        ...(own.spilled ? { spilled: own.spilled } : {}),
      };
    });
    await settleAll(stages.map((s) => () => s.close()));
    const snap = metrics.snapshot();
    const framesBy: Record<string, number> = {};
    for (const s of sources) framesBy[s.id] = metrics.get(`frames.in.${s.id}`);
    return {
      pipeline: config.name,
      ok: errors.length === 0,
      duration_ms: Date.now() - t0,
      frames: framesBy,
      records,
      dropped: metrics.totalDropped(),
      errors,
      streams: streamAccounting(
        metrics,
        sources.map((s) => s.id),
      ),
      sinks: sinkReports,
      metrics: snap,
    };
  };

  const stop = (reason = 'stop requested') => {
    if (stopped) return;
    stopped = true;
    logger.info(`Stopping pipeline \`${config.name}\` (${reason}); flushing results.`);
    stop$.next();
    stop$.complete();
    for (const g of gates.values()) g.close();
  };
  return {
    name: config.name,
    sources,
    stages,
    sinks,
    metrics,
    run,
    stop,
    abort(reason) {
      stop(reason);
      logger.warn(`Giving up on undelivered results of pipeline \`${config.name}\` (${reason}).`);
      for (const s of sinks) s.abort?.(reason);
    },
  };
}
