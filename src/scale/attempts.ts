/**
 * The attempt counter of `vidflow worker` (docs/scaling.md, "Attempts"). Before running the job at
 * offset `o` of a partition, the worker commits offset `o` itself (the position does not move) with
 * the commit's metadata set to an {@link AttemptRecord}: "attempt n of the job at o, by worker w".
 * The record lives in the consumer group's committed offsets (Kafka's `__consumer_offsets`), so it
 * survives every worker, is read by whichever member owns the partition next, and can only be
 * written by the partition's current owner (the broker refuses commits of an older generation).
 * Finishing the job commits `o + 1` without metadata, which clears it.
 */

/** Default of `--max-attempts`: runs of one job that may end with the worker gone before it gives up. */
export const DEFAULT_MAX_ATTEMPTS = 3;

export interface AttemptRecord {
  v: 1;
  job_id: string;
  /** The job's offset in its partition (the record is only valid while the committed offset is this one). */
  offset: string;
  /** Attempts begun so far, this one included. */
  attempts: number;
  worker: string;
  at: string;
}

export function encodeAttempt(r: Omit<AttemptRecord, 'v'>): string {
  return JSON.stringify({ v: 1, ...r });
}

/**
 * The attempts already begun for the job at `offset`, from the partition's committed offset and its
 * metadata: 0 unless the committed offset is the job's own and the metadata is an attempt record of
 * that job (other metadata, e.g. from `kafka-consumer-groups --reset-offsets`, counts as none).
 */
export function recordedAttempt(
  committed: { offset: string; metadata: string | null },
  job: { job_id: string; offset: string },
): AttemptRecord | null {
  if (committed.offset !== job.offset || !committed.metadata) return null;
  let r: Partial<AttemptRecord>;
  try {
    r = JSON.parse(committed.metadata) as Partial<AttemptRecord>;
  } catch {
    return null;
  }
  if (r?.v !== 1 || r.job_id !== job.job_id || r.offset !== job.offset) return null;
  if (typeof r.attempts !== 'number' || !Number.isInteger(r.attempts) || r.attempts < 1) return null;
  return {
    v: 1,
    job_id: r.job_id,
    offset: r.offset,
    attempts: r.attempts,
    worker: String(r.worker ?? '?'),
    at: String(r.at ?? '?'),
  };
}

/** The `error` of the `failed` event of a job given up. */
export function gaveUpMessage(last: AttemptRecord): string {
  return (
    `gave up after ${last.attempts} attempt${last.attempts === 1 ? '' : 's'}; the worker running it died each time ` +
    `(or lost the partition before finishing); the last attempt was by \`${last.worker}\` at ${last.at}`
  );
}
