/**
 * `jsonl` sink: one result record per line in a file. Writes go through a stream whose
 * backpressure is passed on (write() resolves when the line is buffered below the high-water
 * mark), flushed and fsynced on close.
 */
import { constants as fsConstants, createWriteStream, existsSync, statSync, type WriteStream } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { SinkSpec } from '../core/component.js';
import { VidflowError } from '../core/errors.js';
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
  private failure: Error | null = null;
  private constructor(
    readonly id: string,
    private readonly file: string,
    private readonly stream: WriteStream,
  ) {
    stream.on('error', (err) => (this.failure = err));
  }

  static async open(id: string, file: string, append: boolean, where: string): Promise<JsonlSink> {
    const dir = path.dirname(file);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new VidflowError('SINK_PATH', `${where}.path: folder ${dir} does not exist (for output file ${file})`, { where: `${where}.path` });
    }
    const stream = createWriteStream(file, { flags: append ? 'a' : 'w' });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (err) => reject(new VidflowError('SINK_PATH', `${where}.path: cannot open ${file}: ${err.message}`, { where: `${where}.path`, cause: err })));
    });
    return new JsonlSink(id, file, stream);
  }

  write(record: ResultRecord): void | Promise<void> {
    if (this.failure) throw new VidflowError('SINK_WRITE', `sink \`${this.id}\`: cannot write ${this.file}: ${this.failure.message}`);
    if (this.closed) throw new VidflowError('SINK_WRITE', `sink \`${this.id}\` is closed`);
    this.written += 1;
    if (!this.stream.write(JSON.stringify(record) + '\n')) {
      return new Promise((resolve) => this.stream.once('drain', () => resolve()));
    }
  }

  async flush(): Promise<void> {
    if (this.stream.writableNeedDrain) await new Promise<void>((r) => this.stream.once('drain', () => r()));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve, reject) => this.stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }

  async health(): Promise<SinkHealth> {
    return { ok: this.failure === null, detail: this.failure ? this.failure.message : `${this.written} records written to ${this.file}` };
  }
}

export const jsonlSinkSpec: SinkSpec<JsonlSinkConfig> = {
  type: 'jsonl',
  summary: 'Writes one JSON result record per line to a file.',
  schema: jsonlSinkSchema,
  example: { type: 'jsonl', path: 'out/results.jsonl' },
  /** Checks the output can be written without touching it: folder exists; with --deep, folder (or existing file) is writable. */
  async check(config, ctx) {
    const file = path.resolve(ctx.baseDir, config.path);
    const where = `${ctx.configPath}.path`;
    const dir = path.dirname(file);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new VidflowError('SINK_PATH', `${where}: folder ${dir} does not exist (for output file ${file})`, { where });
    if (existsSync(file) && statSync(file).isDirectory()) throw new VidflowError('SINK_PATH', `${where}: ${file} is a folder, expected a file path`, { where });
    if (!ctx.deep) return;
    const target = existsSync(file) ? file : dir;
    await access(target, fsConstants.W_OK).catch((err: Error) => {
      throw new VidflowError('SINK_PATH', `${where}: cannot write ${target}: ${err.message}`, { where, cause: err });
    });
  },
  create: (config, ctx: SinkContext) => JsonlSink.open(config.id ?? 'jsonl', path.resolve(ctx.baseDir, config.path), config.append, ctx.configPath),
};
