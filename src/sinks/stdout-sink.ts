/**
 * `stdout` sink: JSON lines (default) or one short human-readable line per record.
 * Honours stdout backpressure (a slow reader pauses file pipelines).
 */
import { z } from 'zod';
import type { SinkSpec } from '../core/component.js';
import type { ResultRecord } from '../core/result.js';
import type { Sink, SinkHealth } from './sink.js';

export const stdoutSinkSchema = z
  .object({
    type: z.literal('stdout'),
    id: z.string().min(1).optional().describe('Sink id (default: `stdout`).'),
    format: z
      .enum(['jsonl', 'pretty'])
      .default('jsonl')
      .describe('`jsonl`: the result record as JSON; `pretty`: one short line per record.'),
  })
  .strict();
export type StdoutSinkConfig = z.infer<typeof stdoutSinkSchema>;

function summary(results: unknown): string {
  if (results === null || typeof results !== 'object') return String(results);
  const r = results as Record<string, unknown>;
  if (Array.isArray(r.top))
    return (r.top as Array<{ label: string; score: number }>)
      .map((c) => `${c.label} ${(c.score * 100).toFixed(1)}%`)
      .join(', ');
  if (Array.isArray(r.detections)) {
    const counts = new Map<string, number>();
    for (const d of r.detections as Array<{ label: string }>) counts.set(d.label, (counts.get(d.label) ?? 0) + 1);
    return counts.size === 0 ? 'no detections' : [...counts].map(([l, n]) => `${n}× ${l}`).join(', ');
  }
  if (r.class_fractions && typeof r.class_fractions === 'object') {
    return Object.entries(r.class_fractions as Record<string, number>)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([l, f]) => `${l} ${(f * 100).toFixed(1)}%`)
      .join(', ');
  }
  if (Array.isArray(r.tracks)) return `${(r.tracks as unknown[]).length} tracks`;
  return JSON.stringify(results).slice(0, 120);
}

export function formatPretty(record: ResultRecord): string {
  const err = typeof record.error === 'string' ? ` ERROR ${record.error}` : '';
  // Records of an `images` source name their file (its base name; the JSON record has the full path).
  const file = typeof record.source_path === 'string' ? ` ${record.source_path.split(/[\\/]/).pop()}` : '';
  const where = `${record.stream_id} #${record.frame_index} t=${record.pts.toFixed(3)}s${file}`;
  return `${where} ${record.stage_id}: ${err || summary(record.results)}`;
}

export class StdoutSink implements Sink {
  private written = 0;
  constructor(
    readonly id: string,
    private readonly format: 'jsonl' | 'pretty',
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  write(record: ResultRecord): void | Promise<void> {
    this.written += 1;
    const line = this.format === 'pretty' ? formatPretty(record) : JSON.stringify(record);
    if (!this.out.write(`${line}\n`)) return new Promise((resolve) => this.out.once('drain', () => resolve()));
  }

  async flush(): Promise<void> {
    const w = this.out as NodeJS.WritableStream & { writableNeedDrain?: boolean };
    if (w.writableNeedDrain) await new Promise<void>((r) => this.out.once('drain', () => r()));
  }

  async close(): Promise<void> {
    await this.flush();
  }

  async health(): Promise<SinkHealth> {
    return { ok: true, detail: `${this.written} records written to stdout` };
  }
}

export const stdoutSinkSpec: SinkSpec<StdoutSinkConfig> = {
  type: 'stdout',
  summary: 'Prints result records to standard output (JSON lines, or a short line each).',
  schema: stdoutSinkSchema,
  example: { type: 'stdout', format: 'pretty' },
  create: async (config) => new StdoutSink(config.id ?? 'stdout', config.format),
};
