/**
 * Role: the Kafka sink's spill file: where the records still undelivered when the sink closes
 * are written (one JSON record per line, appended) instead of being lost.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../core/logger.js';
import type { SinkContext } from '../../core/sink.js';
import type { Entry } from './buffer.js';
import type { KafkaSinkConfig } from './config.js';

/**
 * The spill file: `spill_path` if set (false: none); by default `<pipeline>.<id>.unsent.jsonl` for file
 * pipelines only.
 */
export function spillPathFor(
  config: Pick<KafkaSinkConfig, 'spill_path'>,
  ctx: Pick<SinkContext, 'baseDir' | 'pipeline' | 'mode'>,
  id: string,
): string | null {
  return config.spill_path === false
    ? null
    : config.spill_path !== undefined
      ? path.resolve(ctx.baseDir, config.spill_path)
      : ctx.mode === 'file'
        ? path.resolve(ctx.baseDir, `${ctx.pipeline}.${id}.unsent.jsonl`)
        : null;
}

/** Appends the records' JSON to the spill file; returns how many were written (0 on failure, logged). */
export function appendSpill(spillFile: string | null, entries: Entry[], log: Logger, id: string): number {
  if (spillFile === null || entries.length === 0) return 0;
  try {
    fs.appendFileSync(
      spillFile,
      entries
        .map((e) => `${typeof e.message.value === 'string' ? e.message.value : e.message.value.toString('utf8')}\n`)
        .join(''),
    );
    return entries.length;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    log.error(
      { spill_path: spillFile, err: msg },
      `kafka sink ${id}: cannot write the spill file ${spillFile}: ${msg}`,
    );
    return 0;
  }
}
