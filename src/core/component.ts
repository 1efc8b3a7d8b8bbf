/**
 * Component definitions. Every source, stage and sink file exports one spec: its type name, a
 * one-line summary, a strict zod schema (field descriptions are the docs, defaults named), an
 * example, and `create`, which only reads validated config and calls plain functions.
 */
import type { Observable, OperatorFunction, SchedulerLike } from 'rxjs';
import type { z } from 'zod';
import type { Frame } from './frame.js';
import type { FrameOutcome, StreamHealthEvent } from './result.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Sink, SinkContext } from './sink.js';
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

/**
 * Context of `check`: `deep: false` allows only cheap look-ups (a file or folder exists), reading
 * no video and no weights; `deep: true` may open what the component needs (ffprobe a file or a
 * camera, connect to a broker). A check NEVER creates, truncates or writes user output.
 */
export interface CheckContext extends ComponentContext {
  deep: boolean;
}

/**
 * `vidflow validate`'s hook (optional): throws a VidflowError (or an error with `all`, a list of
 * them) whose `where` names the config path, e.g. `sinks[0].path`. Without it, `--deep` creates
 * and closes the component.
 */
export type CheckFn<C> = (config: C, ctx: CheckContext) => Promise<void>;

// ---- sources ---------------------------------------------------------------------------------

export interface Source {
  readonly id: string;
  /** `file` sources never drop; `live` sources drop (counted) rather than build a backlog. */
  readonly kind: 'file' | 'live';
  /** Credits of this source's FlowGate: frames between its decoder and the sinks at most (`max_in_flight`). */
  readonly maxInFlight: number;
  /**
   * Frames of this source. A frame is emitted only after `gate.acquire()` grants a credit
   * (file: waits; live: drops the frame when no credit is free). The runtime releases the credit
   * once every stage has produced its outcome for that frame and the sinks accepted it.
   */
  frames(gate: FlowGate): Observable<Frame>;
  /**
   * Live sources: every change of the stream's health state, from the subscription to `frames`
   * until it ends (then completes). The runtime writes each as a `stream_health` record to the sinks.
   */
  readonly health$?: Observable<StreamHealthEvent>;
}

// biome-ignore lint/suspicious/noExplicitAny: registry default type argument (specs of different config types)
export interface SourceSpec<C = any> {
  type: string;
  summary: string;
  schema: z.ZodType<C, z.ZodTypeDef, unknown>;
  example: Record<string, unknown>;
  create(config: C, ctx: ComponentContext): Promise<Source>;
  /** Validation beyond the schema that needs the file system etc. (see CheckFn). */
  check?: CheckFn<C>;
}

// ---- stages ----------------------------------------------------------------------------------

export interface StageContext extends ComponentContext {
  /** Time source for sampling/batching windows (tests inject a TestScheduler). */
  scheduler?: SchedulerLike;
}

/**
 * How a stage's model resizes each frame (its manifest's `input.resize` and `interpolation`), read
 * by sources' `decode_size: auto` (src/runtime/decode-size-auto.ts). `none`: the model takes the
 * frame at the source's size (torchvision detection exports resize inside the graph).
 */
export type FrameResize =
  | { readonly mode: 'none' }
  | { readonly mode: 'exact'; readonly width: number; readonly height: number }
  | { readonly mode: 'letterbox'; readonly width: number; readonly height: number }
  | { readonly mode: 'shorter_side'; readonly size: number; readonly max_size?: number | undefined };

export interface StageFrameInput {
  /** Model name (manifest `name`), for log lines. */
  readonly model: string;
  readonly resize: FrameResize;
  readonly interpolation: 'bilinear' | 'bilinear_antialias' | 'nearest';
}

export interface Stage {
  readonly id: string;
  /** Streams this stage sees (null = all). */
  readonly streams: readonly string[] | null;
  /** Model stages: how the model resizes frames (absent: the stage does not feed frames to a model). */
  readonly frameInput?: StageFrameInput;
  /** Emits exactly one FrameOutcome per input frame (see FrameOutcome). */
  readonly operator: OperatorFunction<Frame, FrameOutcome>;
  close(): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: registry default type argument (specs of different config types)
export interface StageSpec<C = any> {
  type: string;
  summary: string;
  schema: z.ZodType<C, z.ZodTypeDef, unknown>;
  example: Record<string, unknown>;
  create(config: C, ctx: StageContext): Promise<Stage>;
  check?: CheckFn<C>;
}

// ---- sinks -----------------------------------------------------------------------------------

// biome-ignore lint/suspicious/noExplicitAny: registry default type argument (specs of different config types)
export interface SinkSpec<C = any> {
  type: string;
  summary: string;
  schema: z.ZodType<C, z.ZodTypeDef, unknown>;
  example: Record<string, unknown>;
  create(config: C, ctx: SinkContext): Promise<Sink>;
  check?: CheckFn<C>;
}
