/** `vidflow submit` and `vidflow worker` argument parsing (src/cli.ts dispatches here). */
import { parseArgs } from 'node:util';
import { EXIT, VidflowError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export const SCALE_USAGE = `usage:
  vidflow submit --jobs <topic> --brokers <host:port,…> <file|folder|glob>... [--start S] [--end E] [--partitions N]
      one job message per video on <topic> (created with N=6 partitions when missing); prints "<job_id> <path>" per job
  vidflow worker --jobs <topic> --brokers <host:port,…> --pipeline <file.yaml> [--group G] [--worker-id ID] [--session-timeout-ms MS]
      joins consumer group G (default vidflow.<topic>), runs the pipeline's stages and sinks on each job's video;
      events on <topic>.events; see docs/scaling.md`;

function num(v: unknown, flag: string): number | null {
  if (v === undefined) return null;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < 0) throw new VidflowError('CONFIG_INVALID', `${flag}: found "${String(v)}", expected a number >= 0`);
  return n;
}

function required(v: unknown, flag: string, cmd: string): string {
  if (typeof v !== 'string' || v === '') throw new VidflowError('CONFIG_INVALID', `${cmd}: ${flag} is required; see docs/scaling.md`);
  return v;
}

export async function cmdScale(cmd: 'submit' | 'worker', args: string[], logger: Logger): Promise<number> {
  let parsed;
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
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function runScale(cmd: 'submit' | 'worker', values: ReturnType<typeof parseScaleArgs>['values'], positionals: string[], logger: Logger): Promise<number> {
  if (values.help) {
    process.stdout.write(SCALE_USAGE + '\n');
    return EXIT.OK;
  }
  const jobsTopic = required(values.jobs, '--jobs', cmd);
  const brokers = required(values.brokers ?? process.env.KAFKA_BROKERS, '--brokers', cmd);
  if (cmd === 'submit') {
    if (positionals.length === 0) throw new VidflowError('CONFIG_INVALID', `submit: expected at least one file, folder or glob; see docs/scaling.md`);
    const { submitJobs } = await import('./submit.js');
    const partitions = num(values.partitions, '--partitions');
    const jobs = await submitJobs({ jobsTopic, brokers, inputs: positionals, start: num(values.start, '--start'), end: num(values.end, '--end'), ...(partitions ? { partitions } : {}) });
    for (const j of jobs) process.stdout.write(`${j.job_id} ${j.path}\n`);
    logger.info(`Submitted ${jobs.length} job(s) to ${jobsTopic}.`);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new VidflowError('CONFIG_INVALID', `worker: unexpected argument "${positionals[0]}"; see docs/scaling.md`);
  const pipelineFile = required(values.pipeline, '--pipeline', cmd);
  const { runWorker } = await import('./worker.js');
  const session = num(values['session-timeout-ms'], '--session-timeout-ms');
  return await runWorker({
    jobsTopic,
    brokers,
    pipelineFile,
    logger,
    ...(typeof values.group === 'string' ? { group: values.group } : {}),
    ...(typeof values['worker-id'] === 'string' ? { workerId: values['worker-id'] } : {}),
    ...(session ? { sessionTimeoutMs: session } : {}),
  });
}
