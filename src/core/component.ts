/**
 * Component definitions. Every source, stage and sink file exports one spec: its type name, a
 * one-line summary, a strict zod schema (field descriptions are the docs, defaults named), an
 * example, and `create`, which only reads validated config and calls plain functions.
 */
import type { Observable, OperatorFunction, SchedulerLike } from 'rxjs';
import type { z } from 'zod';
import type { Frame } from './frame.js';
import type { FrameOutcome } from './result.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Sink, SinkContext } from '../sinks/sink.js';
import type { FlowGate } from './flow-gate.js';

export interface ComponentContext {
  pipeline: string;
  /** Config path of this component, e.g. `stages[1]`; prefix of its error messages. */
  configPath: string;
  /** Folder of the pipeline file: relative paths in config resolve against it. */
  baseDir: string;
  logger: Logger;
  metrics: Metrics;
}

// ---- sources ---------------------------------------------------------------------------------

export interface Source {
  readonly id: string;
  /** `file` sources never drop; `live` sources drop (counted) rather than build a backlog. */
  readonly kind: 'file' | 'live';
  /**
   * Frames of this source. A frame is emitted only after `gate.acquire()` grants a credit
   * (file: waits; live: drops the frame when no credit is free). The runtime releases the credit
   * once every stage has produced its outcome for that frame and the sinks accepted it.
   */
  frames(gate: FlowGate): Observable<Frame>;
}

export interface SourceSpec<C = any> {
  type: string;
  summary: string;
  schema: z.ZodType<C, z.ZodTypeDef, unknown>;
  example: Record<string, unknown>;
  /** Validation beyond the schema that needs the file system etc. (optional). */
  create(config: C, ctx: ComponentContext): Promise<Source>;
}

// ---- stages ----------------------------------------------------------------------------------

export interface StageContext extends ComponentContext {
  /** Time source for sampling/batching windows (tests inject a TestScheduler). */
  scheduler?: SchedulerLike;
}

export interface Stage {
  readonly id: string;
  /** Streams this stage sees (null = all). */
  readonly streams: readonly string[] | null;
  /** Emits exactly one FrameOutcome per input frame (see FrameOutcome). */
  readonly operator: OperatorFunction<Frame, FrameOutcome>;
  close(): Promise<void>;
}

export interface StageSpec<C = any> {
  type: string;
  summary: string;
  schema: z.ZodType<C, z.ZodTypeDef, unknown>;
  example: Record<string, unknown>;
  create(config: C, ctx: StageContext): Promise<Stage>;
}

// ---- sinks -----------------------------------------------------------------------------------

export interface SinkSpec<C = any> {
  type: string;
  summary: string;
  schema: z.ZodType<C, z.ZodTypeDef, unknown>;
  example: Record<string, unknown>;
  create(config: C, ctx: SinkContext): Promise<Sink>;
}
