/**
 * `vidflow submit --jobs <topic> --brokers <b> <file|folder|glob>... [--start S --end E]`: one job
 * message per video on the jobs topic (created with DEFAULT_JOB_PARTITIONS partitions when
 * missing), spread round-robin (from a random partition) over its partitions. Prints one line per job: `<job_id>
 * <path>`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { VidflowError } from '../core/errors.js';
import { globBase, globToRegExp, hasGlobChars, listFiles, sortPaths } from '../core/glob.js';
import { DEFAULT_JOB_PARTITIONS, ensureJobTopics, JOB_SCHEMA_VERSION, kafkaClient, type Job } from './jobs.js';

export const VIDEO_EXTENSIONS = new Set([
  '.mp4',
  '.mkv',
  '.mov',
  '.avi',
  '.webm',
  '.m4v',
  '.ts',
  '.mts',
  '.mpg',
  '.mpeg',
  '.flv',
  '.wmv',
  '.3gp',
]);

/** Absolute paths of the videos named by files, folders (recursive, by extension) and globs, in order, without
 * repeats. */
export function expandInputs(args: string[], cwd = process.cwd()): string[] {
  const out: string[] = [];
  for (const arg of args) {
    const abs = path.resolve(cwd, arg);
    if (hasGlobChars(arg)) {
      const base = globBase(abs);
      const re = globToRegExp(abs);
      const all = existsSync(base) && statSync(base).isDirectory() ? sortPaths(listFiles(base, true)) : [];
      const hits = all.filter((f) => re.test(f));
      if (hits.length === 0) throw new VidflowError('SOURCE_NOT_FOUND', `submit: ${arg}: no file matches`);
      out.push(...hits);
    } else if (!existsSync(abs)) {
      throw new VidflowError('SOURCE_NOT_FOUND', `submit: ${arg}: no such file or folder`);
    } else if (statSync(abs).isDirectory()) {
      const videos = sortPaths(listFiles(abs, true)).filter((f) => VIDEO_EXTENSIONS.has(path.extname(f).toLowerCase()));
      if (videos.length === 0)
        throw new VidflowError(
          'SOURCE_NOT_FOUND',
          `submit: ${arg}: folder has no video file (${[...VIDEO_EXTENSIONS].join(' ')})`,
        );
      out.push(...videos);
    } else out.push(abs);
  }
  return [...new Set(out)];
}

/** A job id: the file's stem (sanitised) and 8 random hex digits; unique per submission. */
export function newJobId(file: string): string {
  const stem =
    path
      .basename(file, path.extname(file))
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .slice(0, 80) || 'video';
  return `${stem}-${randomBytes(4).toString('hex')}`;
}

export interface SubmitOptions {
  jobsTopic: string;
  brokers: string;
  inputs: string[];
  start?: number | null;
  end?: number | null;
  partitions?: number;
}

export async function submitJobs(o: SubmitOptions): Promise<Job[]> {
  if (o.start != null && o.end != null && o.end <= o.start)
    throw new VidflowError('CONFIG_INVALID', `submit: --end (${o.end}) must be greater than --start (${o.start})`);
  const files = expandInputs(o.inputs);
  const kafka = kafkaClient(o.brokers, 'vidflow-submit');
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  try {
    await admin.connect();
    await ensureJobTopics(admin, o.jobsTopic, o.partitions ?? DEFAULT_JOB_PARTITIONS);
    const meta = await admin.fetchTopicMetadata({ topics: [o.jobsTopic] });
    const partitions = meta.topics[0]!.partitions.map((p) => p.partitionId).sort((a, b) => a - b);
    await producer.connect();
    const now = new Date().toISOString();
    // Round-robin from a random partition, so that many small submissions spread too.
    const first = randomBytes(2).readUInt16BE(0) % partitions.length;
    const jobs: Job[] = files.map((file) => ({
      schema_version: JOB_SCHEMA_VERSION,
      job_id: newJobId(file),
      path: file,
      ...(o.start != null ? { start: o.start } : {}),
      ...(o.end != null ? { end: o.end } : {}),
      submitted_at: now,
    }));
    await producer.send({
      topic: o.jobsTopic,
      acks: -1,
      messages: jobs.map((j, i) => ({
        key: j.job_id,
        value: JSON.stringify(j),
        partition: partitions[(first + i) % partitions.length]!,
      })),
    });
    return jobs;
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
