/**
 * Small test fakes typed against the real contracts (instead of `as never`): a real pino Logger
 * that keeps its lines, real Metrics, a StageContext, a Stage that emits nothing, and the source
 * entries of a pipeline config built from the real source specs.
 */
import pino from 'pino';
import { EMPTY } from 'rxjs';
import type { ComponentConfig } from '../../src/config/load.js';
import type { SourceSpec, Stage, StageContext } from '../../src/core/component.js';
import { type Logger, silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';

export interface LoggedLine {
  level: number;
  msg: string;
  /** The line's other fields (the logged object). */
  obj: Record<string, unknown>;
}

/** A real pino Logger (JSON, synchronous) whose lines are parsed into `lines` as they are written. */
export function capturingLogger(level: pino.LevelWithSilent = 'trace'): { logger: Logger; lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const logger = pino(
    { level, base: undefined, timestamp: false },
    {
      write(line: string) {
        const { level: lv, msg, ...obj } = JSON.parse(line) as { level: number; msg: string };
        lines.push({ level: lv, msg, obj });
      },
    },
  );
  return { logger, lines };
}

/** What a stage operator needs besides its options: real Metrics and a silent logger. */
export function stageDeps(): { metrics: Metrics; logger: Logger } {
  return { metrics: new Metrics(), logger: silentLogger() };
}

/** A StageContext for create() tests: real Metrics, a silent logger unless one is given. */
export function fakeStageContext(overrides: Partial<StageContext> & Pick<StageContext, 'baseDir'>): StageContext {
  return { pipeline: 'test', configPath: 'stages[0]', ...stageDeps(), ...overrides };
}

/** A Stage that sees every stream and emits nothing (for code that only reads a stage's id). */
export function idleStage(id: string): Stage {
  return { id, streams: null, operator: () => EMPTY, close: async () => undefined };
}

/** A pipeline config's source entry for a real source spec (assemble reads its config's id and max_in_flight). */
export function sourceEntry(
  spec: SourceSpec,
  config: ComponentConfig['config'],
  path: string,
): ComponentConfig<SourceSpec> {
  return { spec, config, path };
}
