/**
 * Offline indexing over Kafka consumer groups: what `vidflow submit` and `vidflow worker` share.
 *
 *   submit ──▶ <jobs topic> (one JSON job per video, N partitions) ──▶ worker group (each
 *   partition read by one worker) ──▶ the pipeline's sinks (results, key = dedupe key)
 *                                 └──▶ <jobs topic>.events (started / progress / completed /
 *                                      failed / abandoned, key = job_id)
 *
 * A job's offset is committed only after its results were acknowledged by the broker, so delivery
 * is at-least-once; see docs/scaling.md.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { z } from 'zod';
import { isVidflowError, VidflowError } from '../core/errors.js';
import type { ResultRecord } from '../core/result.js';

export const JOB_SCHEMA_VERSION = 1;
/** Partitions of a jobs topic that `submit` or `worker` creates (an upper bound on useful workers). */
export const DEFAULT_JOB_PARTITIONS = 6;

export const jobSchema = z
  .object({
    job_id: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9._:@-]+$/, 'letters, digits and . _ : @ -'),
    path: z.string().min(1).optional(),
    uri: z.string().min(1).optional(),
    start: z.number().min(0).nullable().optional(),
    end: z.number().positive().nullable().optional(),
    submitted_at: z.string().optional(),
    schema_version: z.number().int().optional(),
  })
  .passthrough()
  .refine((j) => (j.path === undefined) !== (j.uri === undefined), 'exactly one of path or uri')
  .refine((j) => j.end == null || j.start == null || j.end > j.start, 'end must be greater than start');

export type Job = z.infer<typeof jobSchema>;

/** A job message that cannot be processed however often it is retried. */
export class PoisonJob extends Error {
  constructor(
    message: string,
    readonly job_id: string | null,
  ) {
    super(message);
  }
}

/** Parses a job message value; throws PoisonJob (bad JSON, missing fields, unsupported URI). */
export function parseJob(value: Buffer | string | null): Job & { file: string } {
  const text = value === null ? '' : value.toString();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PoisonJob(
      `job message is not JSON: ${(err as Error).message} (${JSON.stringify(text.slice(0, 80))})`,
      null,
    );
  }
  const id = typeof (json as { job_id?: unknown })?.job_id === 'string' ? (json as { job_id: string }).job_id : null;
  const r = jobSchema.safeParse(json);
  if (!r.success)
    throw new PoisonJob(
      `invalid job message: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      id,
    );
  return { ...r.data, file: jobFile(r.data) };
}

/** The local file a job names: `path`, or a `file:` URI (other schemes are not supported). */
export function jobFile(job: Pick<Job, 'path' | 'uri' | 'job_id'>): string {
  if (job.path !== undefined) {
    if (!path.isAbsolute(job.path))
      throw new PoisonJob(`job ${job.job_id}: path must be absolute, found ${JSON.stringify(job.path)}`, job.job_id);
    return job.path;
  }
  let url: URL;
  try {
    url = new URL(job.uri!);
  } catch {
    throw new PoisonJob(`job ${job.job_id}: bad URI ${JSON.stringify(job.uri)}`, job.job_id);
  }
  if (url.protocol !== 'file:')
    throw new PoisonJob(
      `job ${job.job_id}: unsupported URI scheme ${url.protocol} (only file: URIs and absolute paths; the file must ` +
        `be readable by every worker)`,
      job.job_id,
    );
  return fileURLToPath(url);
}

/** The Kafka key of a result record of a job: job id + stream + frame index + stage (docs/scaling.md). */
export function dedupeKey(record: ResultRecord, jobId: string): string {
  return `${jobId}/${record.stream_id}/${record.frame_index}/${record.stage_id}`;
}

export const eventsTopicOf = (jobsTopic: string) => `${jobsTopic}.events`;

export type JobEventKind = 'started' | 'progress' | 'completed' | 'failed' | 'abandoned';

export interface JobEvent {
  kind: 'job_event';
  event: JobEventKind;
  job_id: string | null;
  worker: string;
  partition: number;
  offset: string;
  at: string;
  path?: string;
  /** Frames that went through every stage, records accepted by the sinks (so far). */
  frames?: number;
  records?: number;
  /** Video seconds done / to do (progress), when the duration is known. */
  video_secs?: number;
  video_total_secs?: number;
  elapsed_ms?: number;
  error?: string;
  /** `started`: which run of the job this is (1 = first) and the worker's cap. */
  attempt?: number;
  max_attempts?: number;
  /** `failed` of a job given up: the runs that never finished. */
  attempts?: number;
}

export function defaultWorkerId(): string {
  return `${os.hostname()}-${process.pid}`;
}

/** Retries of each Kafka request (backoff from 200 ms, doubling: about 50 s in all for 8). */
export const DEFAULT_KAFKA_RETRIES = 8;

export function kafkaClient(brokers: string, clientId: string, o: { retries?: number } = {}): Kafka {
  const list = brokers
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (list.length === 0) throw new VidflowError('CONFIG_INVALID', '--brokers: expected host:port[,host:port…]');
  return new Kafka({
    brokers: list,
    clientId,
    logLevel: logLevel.NOTHING,
    retry: { retries: o.retries ?? DEFAULT_KAFKA_RETRIES, initialRetryTime: 200 },
  });
}

/**
 * A Kafka client error at start-up (connect, topic check) as one line naming the command and the
 * brokers; a VidflowError (e.g. a bad topic name) passes through unchanged.
 */
export function kafkaStartError(err: unknown, command: string, brokers: string, retries: number): unknown {
  if (isVidflowError(err)) return err;
  const msg = (err as Error)?.message ?? String(err);
  const cause = (err as { cause?: Error }).cause?.message;
  return new VidflowError(
    'KAFKA_CONNECT',
    `${command}: Kafka at ${brokers} could not be used after ${retries} retr${retries === 1 ? 'y' : 'ies'}: ${msg}` +
      `${cause && cause !== msg ? ` (${cause})` : ''}; check --brokers`,
    { cause: err },
  );
}

/** Creates the jobs topic (DEFAULT_JOB_PARTITIONS partitions) and its events topic when missing. */
export async function ensureJobTopics(
  admin: Admin,
  jobsTopic: string,
  partitions = DEFAULT_JOB_PARTITIONS,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const topics = [
    { topic: jobsTopic, numPartitions: partitions },
    { topic: eventsTopicOf(jobsTopic), numPartitions: partitions },
  ].filter((t) => !existing.has(t.topic));
  if (topics.length === 0) return;
  try {
    await admin.createTopics({ topics, waitForLeaders: true });
  } catch (err) {
    // Another process created it in between.
    if (!/already exists/i.test((err as Error).message)) throw err;
  }
}

/** Sends one event (acknowledged by all in-sync replicas before it resolves). */
export async function sendEvent(producer: Producer, jobsTopic: string, e: JobEvent): Promise<void> {
  await producer.send({
    topic: eventsTopicOf(jobsTopic),
    acks: -1,
    messages: [{ key: e.job_id ?? `offset-${e.partition}-${e.offset}`, value: JSON.stringify(e) }],
  });
}
