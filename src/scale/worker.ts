/**
 * `vidflow worker --jobs <topic> --brokers <b> --pipeline <file>`: one member of the Kafka
 * consumer group `vidflow.<jobs topic>` (or --group). For each job message it runs the pipeline
 * file's stages and sinks on the job's video (the pipeline's sources are replaced by one `file`
 * source with the id, `fps` and `max_in_flight` of its first source and the job's path/start/end).
 *
 * Delivery (docs/scaling.md): auto-commit is off; a job's offset (+1) is committed only after its
 * sinks closed with every record acknowledged and its `completed` (or `failed`) event was
 * acknowledged. A worker that dies mid-job commits nothing: the partition goes to another member,
 * which redoes the job (at-least-once; records are keyed `job_id/stream/frame/stage` for dedupe).
 * Poison jobs (bad JSON, bad URI, unreadable video, decode or stage failure) get a `failed`
 * event and are committed. Jobs that kill the worker itself are capped by an attempt counter kept in
 * the group's committed offsets (./attempts.ts): after --max-attempts runs that never finished, the
 * next owner sends a `failed` event and commits the job without running it. Sinks that cannot
 * deliver (broker down past flush_timeout_ms) leave the job uncommitted and end the worker with
 * exit 1 (another member, or a restart, redoes it). SIGINT/SIGTERM abandons the current job (stops
 * its source, flushes, `abandoned` event, not committed, its attempt given back) and leaves the
 * group; a second signal exits at once.
 */
import type { Consumer, EachBatchHandler, KafkaMessage, Producer } from 'kafkajs';
import type { Source, Stage } from '../core/component.js';
import { isVidflowError, VidflowError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import type { ResultRecord } from '../core/result.js';
import { loadPipelineFile, type ComponentConfig, type PipelineConfig } from '../config/load.js';
import { assemble, type BuiltPipeline, type RunSummary } from '../runtime/run.js';
import { dieBySignal, installShutdown } from '../runtime/shutdown.js';
import { createKafkaSink, type KafkaSinkConfig } from '../sinks/kafka-sink.js';
import type { Sink } from '../sinks/sink.js';
import { createFileSource, fileSourceSpec, type FileSource } from '../sources/file-source.js';
import type { SourceSpec } from '../core/component.js';
import { DEFAULT_MAX_ATTEMPTS, encodeAttempt, gaveUpMessage, recordedAttempt, type AttemptRecord } from './attempts.js';
import {
  DEFAULT_KAFKA_RETRIES,
  dedupeKey,
  defaultWorkerId,
  ensureJobTopics,
  kafkaClient,
  kafkaStartError,
  parseJob,
  PoisonJob,
  sendEvent,
  type Job,
  type JobEvent,
  type JobEventKind,
} from './jobs.js';

export interface WorkerOptions {
  jobsTopic: string;
  brokers: string;
  pipelineFile: string;
  logger: Logger;
  workerId?: string;
  /** Consumer group. Default `vidflow.<jobsTopic>`. */
  group?: string;
  /** Kafka session timeout: how soon a dead worker's partitions go to the others. Default 10000. */
  sessionTimeoutMs?: number;
  /** Interval of `progress` events during a job (the first one follows the job's first record). Default 1000. */
  progressEveryMs?: number;
  /** Runs of one job that may end without an outcome (the worker died) before it is given up. Default 3. */
  maxAttempts?: number;
  /** Retries of the Kafka client (connects, requests) before start-up gives up. Default DEFAULT_KAFKA_RETRIES. */
  connectRetries?: number;
}

type JobOutcome = (
  | { status: 'completed'; summary: RunSummary }
  | { status: 'failed'; error: string; summary?: RunSummary }
  | { status: 'abandoned'; summary: RunSummary }
  | { status: 'undelivered'; error: string; summary: RunSummary }
) & { frames?: number };

/** The job's single source in place of the pipeline's sources. */
function jobSourceSettings(config: PipelineConfig): { id: string; fps: number | null; max_in_flight: number } {
  const first = config.sources[0]!.config;
  return {
    id: String(first.id ?? 'video'),
    fps: typeof first.fps === 'number' ? first.fps : null,
    max_in_flight: typeof first.max_in_flight === 'number' ? first.max_in_flight : 8,
  };
}

/** Adds `job_id` to every record (sinks other than Kafka carry the dedupe fields in the record). */
function tagSink(inner: Sink, jobId: string): Sink {
  const s: Sink = {
    id: inner.id,
    write: (r: ResultRecord) => inner.write({ ...r, job_id: jobId }),
    flush: () => inner.flush(),
    close: () => inner.close(),
    health: () => inner.health(),
  };
  if (inner.abort) s.abort = (reason) => inner.abort!(reason);
  if (inner.report) s.report = () => inner.report!();
  return s;
}

export async function runWorker(o: WorkerOptions): Promise<number> {
  const config = loadPipelineFile(o.pipelineFile);
  const log = o.logger;
  const workerId = o.workerId ?? defaultWorkerId();
  const group = o.group ?? `vidflow.${o.jobsTopic}`;
  const progressEveryMs = o.progressEveryMs ?? 1000;
  const maxAttempts = o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new VidflowError('CONFIG_INVALID', `--max-attempts: found ${maxAttempts}, expected an integer >= 1`);
  const src = jobSourceSettings(config);
  const sourceEntry: ComponentConfig<SourceSpec> = {
    spec: fileSourceSpec,
    config: { type: 'file', id: src.id, max_in_flight: src.max_in_flight },
    path: 'sources[0]',
  };

  const makeStages = async (metrics: Metrics, jobLog: Logger): Promise<Stage[]> => {
    const made: Stage[] = [];
    try {
      for (const c of config.stages)
        made.push(
          await c.spec.create(c.config, {
            pipeline: config.name,
            configPath: c.path,
            baseDir: config.baseDir,
            logger: jobLog,
            metrics,
          }),
        );
      return made;
    } catch (err) {
      await Promise.allSettled(made.map((s) => s.close()));
      throw err;
    }
  };
  const makeSinks = async (job: Job, metrics: Metrics, jobLog: Logger): Promise<Sink[]> => {
    const made: Sink[] = [];
    try {
      for (const c of config.sinks) {
        const ctx = {
          pipeline: config.name,
          configPath: c.path,
          baseDir: config.baseDir,
          logger: jobLog,
          metrics,
          mode: 'file' as const,
        };
        const inner =
          c.config.type === 'kafka'
            ? // Undelivered results leave the job uncommitted (it is redone), so no spill file.
              createKafkaSink({ ...(c.config as unknown as KafkaSinkConfig), spill_path: false }, ctx, {
                messageKey: (r) => dedupeKey(r, job.job_id),
              })
            : await c.spec.create(c.config, ctx);
        made.push(tagSink(inner, job.job_id));
      }
      return made;
    } catch (err) {
      await Promise.allSettled(made.map((s) => s.close()));
      throw err;
    }
  };

  // Models load once, before joining the group (a broken pipeline fails here, not per job);
  // these stages stay open so the inference pools stay warm for the per-job stages.
  const warm = await makeStages(new Metrics(), log);

  const retries = o.connectRetries ?? DEFAULT_KAFKA_RETRIES;
  const kafka = kafkaClient(o.brokers, `vidflow-worker-${workerId}`, { retries });
  const admin = kafka.admin();
  // The admin client stays connected: it reads the attempt records (committed offsets) before each job.
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  try {
    await admin.connect();
    await ensureJobTopics(admin, o.jobsTopic);
    await producer.connect();
  } catch (err) {
    await Promise.allSettled([admin.disconnect(), producer.disconnect(), ...warm.map((s) => s.close())]);
    throw kafkaStartError(err, 'worker', o.brokers, retries);
  }
  const sessionTimeout = o.sessionTimeoutMs ?? 10_000;
  const consumer: Consumer = kafka.consumer({
    groupId: group,
    sessionTimeout,
    heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 5)),
    rebalanceTimeout: 60_000,
    maxWaitTimeInMs: 500,
    maxBytesPerPartition: 64 * 1024,
  });

  let stopping = false;
  let exitCode = 0;
  let current: BuiltPipeline | null = null;
  /** The job being handled: the consumer keeps running until it ends (its last commit needs a running consumer). */
  let inFlight: Promise<unknown> = Promise.resolve();
  let stopRequested: (() => void) | null = null;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`Worker ${workerId}: stopping (${reason})${current ? '; abandoning the current job' : ''}.`);
    current?.stop(reason);
    stopRequested?.();
  };
  installShutdown(
    {
      stop,
      abort: (reason) => current?.abort(reason),
      write: (line) => process.stderr.write(`${line}\n`),
      exit: (code) => process.exit(code),
      interrupt: (sig) => dieBySignal(sig),
    },
    { timeoutMs: config.shutdown_timeout_ms },
  );

  const event = (
    kind: JobEventKind,
    base: { job_id: string | null; partition: number; offset: string },
    extra: Partial<JobEvent> = {},
  ): JobEvent => ({
    kind: 'job_event',
    event: kind,
    job_id: base.job_id,
    worker: workerId,
    partition: base.partition,
    offset: base.offset,
    at: new Date().toISOString(),
    ...extra,
  });

  const runJob = async (
    job: Job & { file: string },
    base: { job_id: string; partition: number; offset: string },
  ): Promise<JobOutcome> => {
    const jobLog = log.child({ job_id: job.job_id });
    const metrics = new Metrics();
    let source: FileSource;
    try {
      source = await createFileSource(
        {
          id: src.id,
          path: job.file,
          fps: src.fps,
          start_secs: job.start ?? null,
          end_secs: job.end ?? null,
          loop: false,
          max_in_flight: src.max_in_flight,
          realtime: false,
        },
        { pipeline: config.name, configPath: `job ${job.job_id}`, baseDir: config.baseDir, logger: jobLog, metrics },
      );
    } catch (err) {
      return { status: 'failed', error: isVidflowError(err) ? err.toLine() : (err as Error).message };
    }
    const stages = await makeStages(metrics, jobLog);
    const sinks = await makeSinks(job, metrics, jobLog).catch(async (err) => {
      await Promise.allSettled(stages.map((s) => s.close()));
      throw err;
    });
    const total = Number.isFinite(source.info.duration)
      ? (job.end ?? source.info.duration) - (job.start ?? 0)
      : undefined;
    let records = 0;
    let lastPts = 0;
    let lastProgress = 0;
    let events: Promise<void> = Promise.resolve();
    const t0 = Date.now();
    const frames = () => metrics.get(`frames.done.${src.id}`);
    const onRecord = (r: ResultRecord) => {
      records += 1;
      lastPts = Math.max(lastPts, r.pts);
      const now = Date.now();
      if (lastProgress !== 0 && now - lastProgress < progressEveryMs) return;
      lastProgress = now;
      const e = event('progress', base, {
        frames: frames(),
        records,
        video_secs: Number((lastPts - (job.start ?? 0)).toFixed(3)),
        ...(total !== undefined ? { video_total_secs: Number(total.toFixed(3)) } : {}),
        elapsed_ms: now - t0,
      });
      events = events
        .then(() => sendEvent(producer, o.jobsTopic, e))
        .catch((err) => jobLog.warn({ err: (err as Error).message }, 'progress event not sent'));
    };
    const pipeline = assemble(
      {
        name: config.name,
        sources: [sourceEntry],
        shutdown_timeout_ms: config.shutdown_timeout_ms,
        preview: config.preview,
      },
      [source as Source],
      stages,
      sinks,
      { logger: jobLog, metrics, onRecord },
    );
    current = pipeline;
    if (stopping) pipeline.stop('stopping');
    let summary: RunSummary;
    try {
      summary = await pipeline.run();
    } finally {
      current = null;
      await events;
    }
    const done = { frames: frames() };
    const undelivered = Object.entries(summary.sinks).filter(([, r]) => r.undelivered > 0 || r.failed !== undefined);
    if (undelivered.length > 0) {
      return {
        ...done,
        status: 'undelivered',
        summary,
        error: undelivered
          .map(([id, r]) => `sink \`${id}\`: ${r.undelivered} record(s) undelivered${r.failed ? ` (${r.failed})` : ''}`)
          .join('; '),
      };
    }
    if (stopping) return { ...done, status: 'abandoned', summary };
    if (!summary.ok) return { ...done, status: 'failed', summary, error: summary.errors.join('; ') };
    return { ...done, status: 'completed', summary };
  };

  /** Commits `at` with `metadata` (an attempt record, or null to clear it); false when the broker refused (the
   * partition moved in a rebalance: the next owner redoes the job). */
  const commitAt = async (
    partition: number,
    at: string,
    metadata: string | null,
    jobId: string | null,
  ): Promise<boolean> => {
    try {
      await consumer.commitOffsets([{ topic: o.jobsTopic, partition, offset: at, metadata }]);
      return true;
    } catch (err) {
      log.warn(
        { job_id: jobId, partition, offset: at, err: (err as Error).message },
        `Commit of offset ${at} of ${o.jobsTopic}[${partition}] refused (${(err as Error).message}); the ` +
          `partition's next owner redoes job ${jobId ?? '(poison)'}.`,
      );
      return false;
    }
  };
  /** Commits offset+1 (the job is done) and clears its attempt record. */
  const commit = (partition: number, offset: string, jobId: string | null): Promise<boolean> =>
    commitAt(partition, (BigInt(offset) + 1n).toString(), null, jobId);

  /** The partition's committed offset and its metadata, read from the group coordinator. */
  const committedOf = async (partition: number): Promise<{ offset: string; metadata: string | null }> => {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [o.jobsTopic] });
    const p = t?.partitions.find((x) => x.partition === partition);
    return { offset: p?.offset ?? '-1', metadata: p?.metadata ?? null };
  };

  /**
   * Before a job runs: reads the attempts already begun for it and, under the cap, records one more
   * (commit of the job's own offset with an attempt record; only the partition's owner can).
   */
  const beginAttempt = async (
    partition: number,
    offset: string,
    jobId: string,
  ): Promise<
    | { kind: 'run'; record: AttemptRecord }
    | { kind: 'give-up'; record: AttemptRecord }
    | { kind: 'done'; committed: string }
    | { kind: 'not-owned' }
  > => {
    const committed = await committedOf(partition);
    if (BigInt(committed.offset) > BigInt(offset)) return { kind: 'done', committed: committed.offset };
    const last = recordedAttempt(committed, { job_id: jobId, offset });
    if (last && last.attempts >= maxAttempts) return { kind: 'give-up', record: last };
    const record: AttemptRecord = {
      v: 1,
      job_id: jobId,
      offset,
      attempts: (last?.attempts ?? 0) + 1,
      worker: workerId,
      at: new Date().toISOString(),
    };
    if (!(await commitAt(partition, offset, encodeAttempt(record), jobId))) return { kind: 'not-owned' };
    return { kind: 'run', record };
  };

  /** A run that ended without an outcome through no fault of the job (signal, results undelivered) does not count. */
  const giveBackAttempt = async (partition: number, record: AttemptRecord): Promise<void> => {
    const back = record.attempts - 1;
    await commitAt(
      partition,
      record.offset,
      back > 0 ? encodeAttempt({ ...record, attempts: back }) : null,
      record.job_id,
    ).catch(() => false);
  };

  /** 'not-owned': the job was not run because its attempt could not be recorded (the partition moved). */
  const handle = async (
    partition: number,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<'handled' | 'not-owned'> => {
    const where = { partition, offset: message.offset };
    let job: Job & { file: string };
    try {
      job = parseJob(message.value);
    } catch (err) {
      const id = err instanceof PoisonJob ? err.job_id : null;
      const msg = (err as Error).message;
      log.error(
        { partition, offset: message.offset, job_id: id },
        `Poison job at ${o.jobsTopic}[${partition}]@${message.offset}: ${msg}; committed, not retried.`,
      );
      await sendEvent(producer, o.jobsTopic, event('failed', { job_id: id, ...where }, { error: msg }));
      await commit(partition, message.offset, id);
      return 'handled';
    }
    const base = { job_id: job.job_id, ...where };
    let attempt: Awaited<ReturnType<typeof beginAttempt>>;
    try {
      attempt = await beginAttempt(partition, message.offset, job.job_id);
    } catch (err) {
      // The coordinator could not be read or written after the client's retries: no job runs uncounted.
      log.error(
        { job_id: job.job_id, err: (err as Error).message },
        `Job ${job.job_id}: the attempt count could not be read (${(err as Error).message}); the worker exits.`,
      );
      exitCode = 1;
      stop('attempt count unavailable');
      return 'not-owned';
    }
    if (attempt.kind === 'not-owned') {
      log.warn(
        { job_id: job.job_id, partition, offset: message.offset },
        `Job ${job.job_id}: its attempt could not be recorded (partition ${partition} moved?); not run here.`,
      );
      return 'not-owned';
    }
    if (attempt.kind === 'done') {
      log.info(
        { job_id: job.job_id, partition, offset: message.offset },
        `Job ${job.job_id} skipped: ${o.jobsTopic}[${partition}] is already committed at ${attempt.committed}.`,
      );
      return 'handled';
    }
    if (attempt.kind === 'give-up') {
      const error = gaveUpMessage(attempt.record);
      await sendEvent(
        producer,
        o.jobsTopic,
        event('failed', base, { path: job.file, error, attempts: attempt.record.attempts }),
      );
      await commit(partition, message.offset, job.job_id);
      log.error({ job_id: job.job_id }, `Job ${job.job_id} failed: ${error}; committed, not run again.`);
      return 'handled';
    }
    const tries = { attempt: attempt.record.attempts, max_attempts: maxAttempts };
    log.info(
      { job_id: job.job_id, partition, offset: message.offset, path: job.file, ...tries },
      `Job ${job.job_id} (attempt ${tries.attempt} of ${maxAttempts}): ${job.file}`,
    );
    await sendEvent(producer, o.jobsTopic, event('started', base, { path: job.file, ...tries }));
    // Long jobs: keep the group membership alive while the job runs.
    const hb = setInterval(
      () => void heartbeat().catch(() => undefined),
      Math.max(250, Math.floor(sessionTimeout / 5)),
    );
    let outcome: JobOutcome;
    const t0 = Date.now();
    try {
      outcome = await runJob(job, base);
    } catch (err) {
      outcome = {
        status: 'failed',
        error: isVidflowError(err) ? err.toLine() : `error[INTERNAL]: ${(err as Error).message}`,
      };
    } finally {
      clearInterval(hb);
    }
    const extra = {
      path: job.file,
      elapsed_ms: Date.now() - t0,
      ...(outcome.summary ? { records: outcome.summary.records } : {}),
      ...(outcome.frames !== undefined ? { frames: outcome.frames } : {}),
    };
    switch (outcome.status) {
      case 'completed':
        await sendEvent(producer, o.jobsTopic, event('completed', base, extra));
        if (await commit(partition, message.offset, job.job_id))
          log.info(
            { job_id: job.job_id, ...extra },
            `Job ${job.job_id} completed: ${extra.records ?? 0} records in ${extra.elapsed_ms} ms; committed.`,
          );
        return 'handled';
      case 'failed':
        await sendEvent(producer, o.jobsTopic, event('failed', base, { ...extra, error: outcome.error }));
        await commit(partition, message.offset, job.job_id);
        log.error({ job_id: job.job_id }, `Job ${job.job_id} failed: ${outcome.error}; committed, not retried.`);
        return 'handled';
      case 'abandoned':
        await giveBackAttempt(partition, attempt.record);
        await sendEvent(producer, o.jobsTopic, event('abandoned', base, extra)).catch(() => undefined);
        log.warn(
          { job_id: job.job_id },
          `Job ${job.job_id} abandoned (worker stopping); not committed, another worker redoes it.`,
        );
        return 'handled';
      case 'undelivered':
        await giveBackAttempt(partition, attempt.record);
        await sendEvent(producer, o.jobsTopic, event('abandoned', base, { ...extra, error: outcome.error })).catch(
          () => undefined,
        );
        log.error(
          { job_id: job.job_id },
          `Job ${job.job_id}: results not delivered (${outcome.error}); not committed; the worker exits so that the ` +
            `job is redone.`,
        );
        exitCode = 1;
        stop('results not delivered');
        return 'handled';
    }
  };

  // eachBatch, one job at a time: a job's offset is resolved only once it is handled; after a job
  // during which a rebalance began, the batch ends so that kafkajs rejoins before the next job.
  const eachBatch: EachBatchHandler = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
    for (const message of batch.messages) {
      if (stopping || !isRunning() || isStale()) return; // not resolved or committed: the next owner takes it
      let rebalancing = false;
      const handling = handle(batch.partition, message, () =>
        heartbeat().catch((err: Error) => {
          rebalancing = true;
          throw err;
        }),
      );
      inFlight = handling.catch(() => undefined);
      const handled = await handling;
      if (stopping) return;
      if (handled === 'not-owned') {
        // Not resolved: a rejoin (heartbeat throws during a rebalance) or the next fetch takes it again.
        await heartbeat();
        return;
      }
      resolveOffset(message.offset);
      if (rebalancing) {
        await heartbeat(); // throws REBALANCE_IN_PROGRESS: kafkajs rejoins the group
        return;
      }
      await heartbeat().catch(() => undefined);
    }
  };

  let crashed: Error | null = null;
  consumer.on(consumer.events.CRASH, (e) => {
    const err = (e.payload as { error: Error; restart?: boolean }).error;
    if ((e.payload as { restart?: boolean }).restart) {
      log.warn({ err: err.message }, 'Kafka consumer error; kafkajs restarts the consumer');
      return;
    }
    crashed = err;
    exitCode = 1;
    stop(`Kafka consumer crashed: ${err.message}`);
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const p = e.payload as { memberId: string; memberAssignment: Record<string, number[]> };
    log.info(
      { member: p.memberId, assignment: p.memberAssignment },
      `Worker ${workerId} joined group ${group}: partitions ${JSON.stringify(p.memberAssignment[o.jobsTopic] ?? [])}.`,
    );
  });

  await consumer.connect();
  await consumer.subscribe({ topic: o.jobsTopic, fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch });
  log.info(
    `Worker ${workerId} running: jobs ${o.jobsTopic}, group ${group}, pipeline \`${config.name}\` ` +
      `(${config.stages.length} stage(s), ${config.sinks.length} sink(s)).`,
  );

  await stopped;
  // The abandoned job ends first (its source was stopped): giving its attempt back is a commit, and kafkajs
  // drops commits once disconnect() began. Then disconnect() leaves the group.
  await inFlight;
  await consumer.disconnect().catch((err) => log.warn({ err: (err as Error).message }, 'leaving the group failed'));
  await producer.disconnect().catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
  await Promise.allSettled(warm.map((s) => s.close()));
  if (crashed) process.stderr.write(`error[INTERNAL]: ${(crashed as Error).message}\n`);
  log.info(`Worker ${workerId} left group ${group}.`);
  return exitCode;
}
