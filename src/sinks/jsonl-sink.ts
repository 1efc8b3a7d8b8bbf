/**
 * `jsonl` sink: one result record per line in a file. Writes go through a stream whose
 * backpressure is passed on (write() resolves when the line is buffered below the high-water
 * mark), flushed on close. A write error (disk full, EIO) fails the sink at once: it is logged
 * when it happens, the pending and every later write() reject with `SINK_WRITE` naming the sink,
 * the file and the errno, and close() reports it if no write did; nothing waits for a 'drain'
 * that a failed stream never emits.
 */
import { constants as fsConstants, createWriteStream, existsSync, statSync, type WriteStream } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { SinkSpec } from '../core/component.js';
import { VidflowError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ResultRecord } from '../core/result.js';
import type { Sink, SinkContext, SinkHealth } from './sink.js';

export const jsonlSinkSchema = z
  .object({
    type: z.literal('jsonl'),
    id: z.string().min(1).optional().describe('Sink id (default: `jsonl`).'),
    path: z.string().min(1).describe('Output file, relative to the pipeline file. Its folder must exist.'),
    append: z.boolean().default(false).describe('Append instead of truncating.'),
  })
  .strict();
export type JsonlSinkConfig = z.infer<typeof jsonlSinkSchema>;

export class JsonlSink implements Sink {
  private closed = false;
  private written = 0;
  private failure: VidflowError | null = null;
  /** Whether a write() or flush() already rejected with the failure (close() then stays quiet). */
  private failureReported = false;
  /** Cumulative byte ends of the records not yet known to be on disk (bounded by the stream buffer). */
  private unconfirmed: number[] = [];
  private bytesQueued = 0;
  private undelivered = 0;
  private constructor(
    readonly id: string,
    private readonly file: string,
    private readonly stream: WriteStream,
    private readonly logger: Logger | null,
  ) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (this.failure) return;
      this.confirm();
      this.undelivered = this.unconfirmed.length;
      this.failure = new VidflowError('SINK_WRITE', `sink \`${this.id}\`: cannot write ${this.file}: ${err.message}`, {
        cause: err,
      });
      this.logger?.error({ sink: this.id, path: this.file, code: err.code }, this.failure.message);
    });
  }

  static async open(
    id: string,
    file: string,
    append: boolean,
    where: string,
    logger: Logger | null = null,
  ): Promise<JsonlSink> {
    const dir = path.dirname(file);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new VidflowError('SINK_PATH', `${where}.path: folder ${dir} does not exist (for output file ${file})`, {
        where: `${where}.path`,
      });
    }
    const stream = createWriteStream(file, { flags: append ? 'a' : 'w' });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (err) =>
        reject(
          new VidflowError('SINK_PATH', `${where}.path: cannot open ${file}: ${err.message}`, {
            where: `${where}.path`,
            cause: err,
          }),
        ),
      );
    });
    return new JsonlSink(id, file, stream, logger);
  }

  /** Forgets the records the stream has written out. */
  private confirm(): void {
    const done = this.stream.bytesWritten;
    let i = 0;
    while (i < this.unconfirmed.length && this.unconfirmed[i]! <= done) i += 1;
    if (i > 0) this.unconfirmed.splice(0, i);
  }

  private fail(): never {
    this.failureReported = true;
    this.undelivered += 1;
    throw this.failure!;
  }

  /** Resolves on 'drain'; rejects if the stream fails (or closes) first. */
  private drained(): Promise<void> {
    if (this.failure) return Promise.reject(((this.failureReported = true), this.failure));
    return new Promise<void>((resolve, reject) => {
      const settle = () => {
        this.stream.off('drain', settle);
        this.stream.off('error', settle);
        this.stream.off('close', settle);
        if (this.failure) {
          this.failureReported = true;
          reject(this.failure);
        } else resolve();
      };
      this.stream.on('drain', settle);
      // Registered after the constructor's listener, so `failure` is set when this runs.
      this.stream.on('error', settle);
      this.stream.on('close', settle);
    });
  }

  write(record: ResultRecord): void | Promise<void> {
    if (this.failure) this.fail();
    if (this.closed) throw new VidflowError('SINK_WRITE', `sink \`${this.id}\` is closed`);
    this.written += 1;
    const line = `${JSON.stringify(record)}\n`;
    this.bytesQueued += Buffer.byteLength(line);
    this.unconfirmed.push(this.bytesQueued);
    if (this.unconfirmed.length > 256) this.confirm();
    if (!this.stream.write(line)) return this.drained();
  }

  async flush(): Promise<void> {
    if (this.failure) {
      this.failureReported = true;
      throw this.failure;
    }
    if (this.stream.writableNeedDrain) await this.drained();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.failure && !this.stream.destroyed) {
      // end()'s callback can run before the 'error' listeners; wait for whichever settles last.
      await new Promise<void>((resolve) => {
        this.stream.once('close', () => resolve());
        this.stream.end();
      });
    }
    if (this.failure && !this.failureReported) {
      this.failureReported = true;
      throw this.failure;
    }
  }

  /** Records accepted but never written (the file failed); 0 when all reached the file. */
  report(): { undelivered: number } {
    return { undelivered: this.failure ? this.undelivered : 0 };
  }

  async health(): Promise<SinkHealth> {
    return {
      ok: this.failure === null,
      detail: this.failure ? this.failure.message : `${this.written} records written to ${this.file}`,
    };
  }
}

export const jsonlSinkSpec: SinkSpec<JsonlSinkConfig> = {
  type: 'jsonl',
  summary: 'Writes one JSON result record per line to a file.',
  schema: jsonlSinkSchema,
  example: { type: 'jsonl', path: 'out/results.jsonl' },
  /** Checks the output can be written without touching it: folder exists; with --deep, folder (or existing file) is
   * writable. */
  async check(config, ctx) {
    const file = path.resolve(ctx.baseDir, config.path);
    const where = `${ctx.configPath}.path`;
    const dir = path.dirname(file);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new VidflowError('SINK_PATH', `${where}: folder ${dir} does not exist (for output file ${file})`, {
        where,
      });
    if (existsSync(file) && statSync(file).isDirectory())
      throw new VidflowError('SINK_PATH', `${where}: ${file} is a folder, expected a file path`, { where });
    if (!ctx.deep) return;
    const target = existsSync(file) ? file : dir;
    await access(target, fsConstants.W_OK).catch((err: Error) => {
      throw new VidflowError('SINK_PATH', `${where}: cannot write ${target}: ${err.message}`, { where, cause: err });
    });
  },
  create: (config, ctx: SinkContext) =>
    JsonlSink.open(
      config.id ?? 'jsonl',
      path.resolve(ctx.baseDir, config.path),
      config.append,
      ctx.configPath,
      ctx.logger,
    ),
};
