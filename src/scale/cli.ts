/** `vidflow submit` and `vidflow worker` argument parsing (src/cli.ts dispatches here). */
import { parseArgs } from 'node:util';
import { EXIT, VidflowError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export const SCALE_USAGE =
  `usage:
  vidflow submit --jobs <topic> --brokers <host:port,…> <file|folder|glob>... [--start S] [--end E] [--partitions N]
      one job message per video on <topic> (created with N=6 partitions when missing); prints "<job_id> <path>" per job
  vidflow worker --jobs <topic> --brokers <host:port,…> --pipeline <file.yaml> [--group G] [--worker-id ID] ` +
  `[--session-timeout-ms MS] [--max-attempts N] [--connect-retries N]
      joins consumer group G (default vidflow.<topic>), runs the pipeline's stages and sinks on each job's video;
      events on <topic>.events; a job whose worker died N times (default 3) gets a \`failed\` event and is
      skipped; exits 1 with error[KAFKA_CONNECT] when Kafka cannot be reached after N retries (default 8,
      about 50 s); see docs/scaling.md`;

function num(v: unknown, flag: string): number | null {
  if (v === undefined) return null;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new VidflowError('CONFIG_INVALID', `${flag}: found "${String(v)}", expected a number >= 0`);
  return n;
}

function required(v: unknown, flag: string, cmd: string): string {
  if (typeof v !== 'string' || v === '')
    throw new VidflowError('CONFIG_INVALID', `${cmd}: ${flag} is required; see docs/scaling.md`);
  return v;
}

export async function cmdScale(cmd: 'submit' | 'worker', args: string[], logger: Logger): Promise<number> {
  let parsed: ReturnType<typeof parseScaleArgs>;
  try {
    parsed = parseScaleArgs(args);
  } catch (err) {
    throw new VidflowError('CONFIG_INVALID', `${cmd}: ${(err as Error).message}; see docs/scaling.md`);
  }
  const { values, positionals } = parsed;
  return runScale(cmd, values, positionals, logger);
}

function parseScaleArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      jobs: { type: 'string' },
      brokers: { type: 'string' },
      start: { type: 'string' },
      end: { type: 'string' },
      partitions: { type: 'string' },
      pipeline: { type: 'string' },
      group: { type: 'string' },
      'worker-id': { type: 'string' },
      'session-timeout-ms': { type: 'string' },
      'max-attempts': { type: 'string' },
      'connect-retries': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** `--max-attempts N`: an integer >= 1 (null when absent). */
export function maxAttemptsArg(v: unknown): number | null {
  if (v === undefined) return null;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < 1)
    throw new VidflowError('CONFIG_INVALID', `--max-attempts: found "${String(v)}", expected an integer >= 1`);
  return n;
}

async function runScale(
  cmd: 'submit' | 'worker',
  values: ReturnType<typeof parseScaleArgs>['values'],
  positionals: string[],
  logger: Logger,
): Promise<number> {
  if (values.help) {
    process.stdout.write(`${SCALE_USAGE}\n`);
    return EXIT.OK;
  }
  const jobsTopic = required(values.jobs, '--jobs', cmd);
  const brokers = required(values.brokers ?? process.env.KAFKA_BROKERS, '--brokers', cmd);
  if (cmd === 'submit') {
    if (positionals.length === 0)
      throw new VidflowError(
        'CONFIG_INVALID',
        `submit: expected at least one file, folder or glob; see docs/scaling.md`,
      );
    const { submitJobs } = await import('./submit.js');
    const partitions = num(values.partitions, '--partitions');
    const jobs = await submitJobs({
      jobsTopic,
      brokers,
      inputs: positionals,
      start: num(values.start, '--start'),
      end: num(values.end, '--end'),
      ...(partitions ? { partitions } : {}),
    });
    for (const j of jobs) process.stdout.write(`${j.job_id} ${j.path}\n`);
    logger.info(`Submitted ${jobs.length} job(s) to ${jobsTopic}.`);
    return EXIT.OK;
  }
  if (positionals.length > 0)
    throw new VidflowError('CONFIG_INVALID', `worker: unexpected argument "${positionals[0]}"; see docs/scaling.md`);
  const pipelineFile = required(values.pipeline, '--pipeline', cmd);
  const { runWorker } = await import('./worker.js');
  const session = num(values['session-timeout-ms'], '--session-timeout-ms');
  const maxAttempts = maxAttemptsArg(values['max-attempts']);
  const retries = num(values['connect-retries'], '--connect-retries');
  if (retries !== null && !Number.isInteger(retries))
    throw new VidflowError(
      'CONFIG_INVALID',
      `worker: --connect-retries: found "${values['connect-retries']}", expected an integer`,
    );
  return await runWorker({
    jobsTopic,
    brokers,
    pipelineFile,
    logger,
    ...(typeof values.group === 'string' ? { group: values.group } : {}),
    ...(typeof values['worker-id'] === 'string' ? { workerId: values['worker-id'] } : {}),
    ...(session ? { sessionTimeoutMs: session } : {}),
    ...(maxAttempts !== null ? { maxAttempts } : {}),
    ...(retries !== null ? { connectRetries: retries } : {}),
  });
}

export const CAMERAS_USAGE =
  `usage:
  vidflow cameras --assignments <topic> --brokers <host:port,…> --pipeline <file.yaml> [--group G] ` +
  `[--instance-id ID] [--session-timeout-ms MS] [--connect-retries N]
      joins consumer group G (default vidflow.<topic>) and runs the cameras of the assignment partitions it owns
      through the pipeline's stages and sinks (its own sources are ignored); exits 0 on SIGINT/SIGTERM, 1 when
      Kafka cannot be reached after N retries (error[KAFKA_CONNECT]; default 8, about 50 s), 2 for a bad
      pipeline file or assignment topic; see docs/scaling.md "Live cameras"
  vidflow assign <topic> <cameras.yaml|json> --brokers <host:port,…> [--remove ID]...
      one message per camera (key = id, value = the camera source entry as JSON); --remove sends a tombstone`;

/** A Kafka topic name (Kafka's rule: 1-249 of letters, digits, `.`, `_`, `-`; not `.` or `..`). */
export function topicArg(v: unknown, flag: string, cmd: string): string {
  const t = required(v, flag, cmd);
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(t) || t === '.' || t === '..')
    throw new VidflowError(
      'CONFIG_INVALID',
      `${cmd}: ${flag}: found ${JSON.stringify(t)}, expected a Kafka topic name (1-249 letters, digits, . _ -)`,
    );
  return t;
}

export async function cmdCameras(cmd: 'cameras' | 'assign', args: string[], logger: Logger): Promise<number> {
  let parsed: ReturnType<typeof parseCamerasArgs>;
  try {
    parsed = parseCamerasArgs(args);
  } catch (err) {
    throw new VidflowError('CONFIG_INVALID', `${cmd}: ${(err as Error).message}; see docs/scaling.md`);
  }
  return runCamerasCmd(cmd, parsed.values, parsed.positionals, logger);
}

function parseCamerasArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      assignments: { type: 'string' },
      brokers: { type: 'string' },
      pipeline: { type: 'string' },
      group: { type: 'string' },
      'instance-id': { type: 'string' },
      'session-timeout-ms': { type: 'string' },
      'connect-retries': { type: 'string' },
      remove: { type: 'string', multiple: true },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function runCamerasCmd(
  cmd: 'cameras' | 'assign',
  values: ReturnType<typeof parseCamerasArgs>['values'],
  positionals: string[],
  logger: Logger,
): Promise<number> {
  if (values.help) {
    process.stdout.write(`${CAMERAS_USAGE}\n`);
    return EXIT.OK;
  }
  const brokers = required(values.brokers ?? process.env.KAFKA_BROKERS, '--brokers', cmd);
  if (cmd === 'assign') {
    const topic = topicArg(positionals[0], '<topic>', cmd);
    const cameras: Array<{ id: string; value: string | null }> = [];
    if (positionals[1]) {
      const { readFileSync } = await import('node:fs');
      const { parse } = await import('yaml');
      const doc = parse(readFileSync(positionals[1], 'utf8')) as unknown;
      const list = Array.isArray(doc)
        ? doc
        : ((doc as { cameras?: unknown[]; sources?: unknown[] })?.cameras ??
          (doc as { sources?: unknown[] })?.sources ?? [doc]);
      for (const [i, c] of (list as Array<Record<string, unknown>>).entries()) {
        if (typeof c?.id !== 'string' || typeof c.url !== 'string')
          throw new VidflowError(
            'CONFIG_INVALID',
            `assign: ${positionals[1]}: camera ${i}: expected an entry with id and url`,
          );
        cameras.push({ id: c.id, value: JSON.stringify({ ...c, type: 'camera' }) });
      }
    }
    for (const id of values.remove ?? []) cameras.push({ id, value: null });
    if (cameras.length === 0) throw new VidflowError('CONFIG_INVALID', 'assign: expected a camera file or --remove ID');
    const { publishAssignments } = await import('./cameras.js');
    await publishAssignments({ topic, brokers, cameras });
    for (const c of cameras) process.stdout.write(`${c.value === null ? 'removed' : 'assigned'} ${c.id}\n`);
    return EXIT.OK;
  }
  const { runCameras } = await import('./cameras.js');
  const session = num(values['session-timeout-ms'], '--session-timeout-ms');
  const retries = num(values['connect-retries'], '--connect-retries');
  if (retries !== null && !Number.isInteger(retries))
    throw new VidflowError(
      'CONFIG_INVALID',
      `--connect-retries: found "${values['connect-retries']}", expected an integer`,
    );
  if (positionals.length > 0)
    throw new VidflowError('CONFIG_INVALID', `cameras: unexpected argument "${positionals[0]}"; see docs/scaling.md`);
  return runCameras({
    assignmentsTopic: topicArg(values.assignments, '--assignments', cmd),
    brokers,
    pipelineFile: required(values.pipeline, '--pipeline', cmd),
    logger,
    ...(values.group ? { group: values.group } : {}),
    ...(values['instance-id'] ? { instanceId: values['instance-id'] } : {}),
    ...(session ? { sessionTimeoutMs: session } : {}),
    ...(retries !== null ? { connectRetries: retries } : {}),
  });
}
