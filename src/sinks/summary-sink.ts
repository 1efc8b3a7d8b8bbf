/**
 * `summary` sink: one readable line per stream per `every_secs` of VIDEO time (not wall time),
 * for people watching a run: what is in view (counts by class) and which tracks entered or left.
 *
 *   [dashcam 0-1 s] in view: 2 car | entered: car #1, car #2
 *   [aisle 2-3 s] in view: 3 person | entered: person #3
 *   [dashcam] end at 1.48 s: 3 tracks (1-3: 3 car); still in view: car #1, car #2
 *
 * Counts: for `tracking` records, the distinct reported tracks of each class seen in the window;
 * for `detection` records, the most detections of each class in any one frame of the window;
 * for `classification`, the most frequent top-1 label. A window's line is printed when the
 * stream's first record of a later window arrives, and the last one on close, so lines appear
 * as the video is processed. Records of a stream must arrive in pts order (they do: stages keep
 * per-stream order).
 */
import { z } from 'zod';
import type { SinkSpec } from '../core/component.js';
import type { ResultRecord } from '../core/result.js';
import type { Sink, SinkHealth } from './sink.js';

export const summarySinkSchema = z
  .object({
    type: z.literal('summary'),
    id: z.string().min(1).optional().describe('Sink id (default: `summary`).'),
    every_secs: z
      .number()
      .positive()
      .max(3600)
      .default(1)
      .describe('Length of the video-time window each line sums up, in seconds.'),
    header: z
      .string()
      .min(1)
      .optional()
      .describe('A line printed once before the first summary line (e.g. where the full records go).'),
  })
  .strict();
export type SummarySinkConfig = z.infer<typeof summarySinkSchema>;

interface Window {
  index: number;
  /** tracking: class -> track ids seen */
  tracks: Map<string, Set<number>>;
  /** detection: class -> max count in one frame */
  detections: Map<string, number>;
  /** classification: label -> frames where it was top-1 */
  top1: Map<string, number>;
  entered: string[];
  left: string[];
  errors: number;
  records: number;
}

interface StreamState {
  window: Window | null;
  lastPts: number;
  /** Reported track ids -> label, and those that ended. */
  trackLabels: Map<number, string>;
  ended: Set<number>;
}

const newWindow = (index: number): Window => ({
  index,
  tracks: new Map(),
  detections: new Map(),
  top1: new Map(),
  entered: [],
  left: [],
  errors: 0,
  records: 0,
});

const fmtSecs = (s: number) => (Number.isInteger(s) ? String(s) : s.toFixed(2).replace(/0+$/, ''));

export class SummarySink implements Sink {
  private readonly streams = new Map<string, StreamState>();
  private lines = 0;
  private headerDone = false;

  constructor(
    readonly id: string,
    private readonly everySecs: number,
    private readonly header: string | undefined,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  write(record: ResultRecord): void | Promise<void> {
    if (record.task === 'stream_health') return;
    let st = this.streams.get(record.stream_id);
    if (!st) {
      st = { window: null, lastPts: 0, trackLabels: new Map(), ended: new Set() };
      this.streams.set(record.stream_id, st);
    }
    const index = Math.max(0, Math.floor(record.pts / this.everySecs + 1e-9));
    let pending: Promise<void> | void = undefined as Promise<void> | void;
    if (st.window && index > st.window.index) pending = this.emit(this.windowLine(record.stream_id, st.window));
    if (!st.window || index > st.window.index) st.window = newWindow(index);
    st.lastPts = Math.max(st.lastPts, record.pts);
    this.add(st, st.window, record);
    return pending;
  }

  private add(st: StreamState, w: Window, record: ResultRecord): void {
    w.records += 1;
    if (typeof record.error === 'string') {
      w.errors += 1;
      return;
    }
    const r = (record.results ?? {}) as Record<string, unknown>;
    if (record.task === 'tracking') {
      for (const t of (r.tracks ?? []) as Array<{ track_id: number; label: string }>) {
        let ids = w.tracks.get(t.label);
        if (!ids) w.tracks.set(t.label, (ids = new Set()));
        ids.add(t.track_id);
        st.trackLabels.set(t.track_id, t.label);
      }
      for (const e of (r.events ?? []) as Array<{ type: 'start' | 'end'; track_id: number; label: string }>) {
        const name = `${e.label} #${e.track_id}`;
        if (e.type === 'start') {
          w.entered.push(name);
          st.trackLabels.set(e.track_id, e.label);
        } else {
          w.left.push(name);
          st.ended.add(e.track_id);
        }
      }
    } else if (Array.isArray(r.detections)) {
      const counts = new Map<string, number>();
      for (const d of r.detections as Array<{ label: string }>) counts.set(d.label, (counts.get(d.label) ?? 0) + 1);
      for (const [label, n] of counts) w.detections.set(label, Math.max(w.detections.get(label) ?? 0, n));
    } else if (Array.isArray(r.top) && r.top.length > 0) {
      const label = (r.top[0] as { label: string }).label;
      w.top1.set(label, (w.top1.get(label) ?? 0) + 1);
    }
  }

  private windowLine(stream: string, w: Window): string {
    const from = w.index * this.everySecs;
    const parts: string[] = [];
    const byCount = <T>(m: Map<string, T>, n: (v: T) => number) =>
      [...m].sort((a, b) => n(b[1]) - n(a[1]) || a[0].localeCompare(b[0]));
    if (w.tracks.size > 0)
      parts.push(
        `in view: ${byCount(w.tracks, (s) => s.size)
          .map(([l, s]) => `${s.size} ${l}`)
          .join(', ')}`,
      );
    else if (w.detections.size > 0)
      parts.push(
        `in view: ${byCount(w.detections, (n) => n)
          .map(([l, n]) => `${n} ${l}`)
          .join(', ')}`,
      );
    else if (w.top1.size > 0)
      parts.push(
        `top label: ${byCount(w.top1, (n) => n)
          .map(([l, n]) => `${l} (${n} frame${n === 1 ? '' : 's'})`)
          .join(', ')}`,
      );
    else parts.push('in view: nothing');
    if (w.entered.length > 0) parts.push(`entered: ${w.entered.join(', ')}`);
    if (w.left.length > 0) parts.push(`left: ${w.left.join(', ')}`);
    if (w.errors > 0) parts.push(`${w.errors} failed record(s)`);
    return `[${stream} ${fmtSecs(from)}-${fmtSecs(from + this.everySecs)} s] ${parts.join(' | ')}`;
  }

  private endLine(stream: string, st: StreamState): string {
    const ids = [...st.trackLabels.keys()].sort((a, b) => a - b);
    if (ids.length === 0) return `[${stream}] end at ${st.lastPts.toFixed(2)} s`;
    const perClass = new Map<string, number>();
    for (const id of ids) perClass.set(st.trackLabels.get(id)!, (perClass.get(st.trackLabels.get(id)!) ?? 0) + 1);
    const still = ids.filter((id) => !st.ended.has(id)).map((id) => `${st.trackLabels.get(id)} #${id}`);
    const range = ids.length === 1 ? `${ids[0]}` : `${ids[0]}-${ids[ids.length - 1]}`;
    const tracks = `${ids.length} track${ids.length === 1 ? '' : 's'}`;
    const classes = [...perClass].map(([l, n]) => `${n} ${l}`).join(', ');
    const inView = still.length > 0 ? `; still in view: ${still.join(', ')}` : '';
    return `[${stream}] end at ${st.lastPts.toFixed(2)} s: ${tracks} (ids ${range}: ${classes})${inView}`;
  }

  private emit(line: string): void | Promise<void> {
    let text = `${line}\n`;
    if (!this.headerDone) {
      this.headerDone = true;
      if (this.header) text = `${this.header}\n${text}`;
    }
    this.lines += 1;
    if (!this.out.write(text)) return new Promise((resolve) => this.out.once('drain', () => resolve()));
  }

  async flush(): Promise<void> {
    const w = this.out as NodeJS.WritableStream & { writableNeedDrain?: boolean };
    if (w.writableNeedDrain) await new Promise<void>((r) => this.out.once('drain', () => r()));
  }

  async close(): Promise<void> {
    for (const [stream, st] of this.streams) {
      if (st.window) await this.emit(this.windowLine(stream, st.window));
      st.window = null;
    }
    for (const [stream, st] of this.streams) await this.emit(this.endLine(stream, st));
    this.streams.clear();
    await this.flush();
  }

  async health(): Promise<SinkHealth> {
    return { ok: true, detail: `${this.lines} summary lines written to stdout` };
  }
}

export const summarySinkSpec: SinkSpec<SummarySinkConfig> = {
  type: 'summary',
  summary: 'Prints one readable line per stream per second of video: counts by class, tracks entering and leaving.',
  schema: summarySinkSchema,
  example: { type: 'summary', every_secs: 1 },
  create: async (config) => new SummarySink(config.id ?? 'summary', config.every_secs, config.header),
};
