/**
 * One small error hierarchy with stable codes. Every code is documented in docs/errors.md
 * (a unit test fails on an undocumented code). Messages are one line and name the file,
 * config path or stream they are about.
 */
export type ErrorKind = 'config' | 'source' | 'model' | 'sink' | 'runtime';

export const ERROR_CODES = {
  // config
  CONFIG_NOT_FOUND: 'config',
  CONFIG_PARSE: 'config',
  CONFIG_INVALID: 'config',
  CONFIG_ENV_MISSING: 'config',
  // source
  SOURCE_NOT_FOUND: 'source',
  SOURCE_NOT_VIDEO: 'source',
  SOURCE_NO_VIDEO_STREAM: 'source',
  SOURCE_DECODE: 'source',
  SOURCE_PROBE: 'source',
  SOURCE_CONNECT: 'source',
  FFMPEG_NOT_FOUND: 'source',
  // model
  MODEL_NOT_FOUND: 'model',
  MODEL_MANIFEST_INVALID: 'model',
  MODEL_MISMATCH: 'model',
  MODEL_TASK_MISMATCH: 'model',
  MODEL_RUN: 'model',
  EXPORT_SETUP: 'model',
  EP_UNAVAILABLE: 'model',
  // sink
  SINK_PATH: 'sink',
  SINK_WRITE: 'sink',
  SINK_CONNECT: 'sink',
  SINK_FLUSH_TIMEOUT: 'sink',
  // scale-out (worker, cameras, submit, assign): the Kafka cluster they coordinate through
  KAFKA_CONNECT: 'runtime',
  // runtime
  INTERNAL: 'runtime',
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class VidflowError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  /** Config path (e.g. `stages[1].model.path`) or stream id the error is about, if any. */
  readonly where: string | undefined;

  constructor(code: ErrorCode, message: string, options: { where?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VidflowError';
    this.code = code;
    this.kind = ERROR_CODES[code];
    this.where = options.where;
  }

  /** The one-line form printed by the CLI: `error[CODE]: message`. */
  toLine(): string {
    return `error[${this.code}]: ${this.message.replace(/\s*\n\s*/g, ' ')}`;
  }
}

export function isVidflowError(err: unknown): err is VidflowError {
  return err instanceof VidflowError;
}

/** Exit codes of the CLI. */
export const EXIT = {
  OK: 0,
  RUNTIME: 1,
  CONFIG: 2,
  INTERRUPTED: 130,
} as const;

export function exitCodeFor(err: unknown): number {
  if (isVidflowError(err) && err.kind === 'config') return EXIT.CONFIG;
  return EXIT.RUNTIME;
}
