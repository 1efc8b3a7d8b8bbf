/**
 * Progress bars for offline runs: one line per file source on stderr with frames done/total,
 * processing fps, ETA and drops (cli-progress). Only when stderr is a terminal and the logs are
 * pretty (in JSON log mode stderr is a machine's, and a bar's escape codes would corrupt it);
 * never for camera sources (no end to measure against); `--no-progress` turns it off.
 *
 * Fed by the run's Metrics counters, polled: `frames.done.<id>` (every stage finished with the
 * frame) and `dropped.<id>.*`. The total is the probed frame count (ffprobe nb_frames) when the
 * whole file is read at its own rate, else duration × fps of the part read (start_secs/end_secs,
 * the `fps` sampling). A source with `loop: true` or without a known duration has a bar without
 * total or ETA. When a source ends its bar is set to what was actually done (an estimate from the
 * container can be off by a frame or two), so a finished bar reads N/N; a run stopped early (Ctrl-C)
 * keeps the estimate, so its bar shows how far it got.
 */
import cliProgress from 'cli-progress';
import type { Metrics } from '../core/metrics.js';

/** What the bars need of a file source: its probe and its options as configured. */
export interface ProgressSource {
  id: string;
  info: { fps: number; duration: number; nb_frames?: number };
  config: { fps?: number | null; start_secs?: number | null; end_secs?: number | null; loop?: boolean };
}

/** Frames a file source will emit, or null when that cannot be known (loop, unknown duration). */
export function expectedFrames(s: Pick<ProgressSource, 'info' | 'config'>): number | null {
  const { info, config } = s;
  if (config.loop) return null;
  const whole = (config.start_secs ?? null) === null && (config.end_secs ?? null) === null;
  const sampled = config.fps !== undefined && config.fps !== null && Number.isFinite(info.fps) && config.fps < info.fps;
  if (whole && !sampled && info.nb_frames !== undefined && Number.isFinite(info.nb_frames) && info.nb_frames > 0)
    return info.nb_frames;
  if (!Number.isFinite(info.duration) || info.duration <= 0) return null;
  const start = config.start_secs ?? 0;
  const end = Math.min(config.end_secs ?? info.duration, info.duration);
  const span = Math.max(0, end - start);
  const rate = sampled
    ? config.fps!
    : Number.isFinite(info.fps) && info.fps > 0
      ? info.fps
      : (config.fps ?? Number.NaN);
  if (!Number.isFinite(rate) || rate <= 0) return null;
  return Math.max(1, Math.round(span * rate));
}

/** Whether a run shows bars: stderr a TTY, pretty (not JSON) logs, not turned off. */
export function progressWanted(opts: {
  stream: { isTTY?: boolean };
  prettyLogs: boolean;
  disabled?: boolean;
}): boolean {
  return opts.stream.isTTY === true && opts.prettyLogs && !opts.disabled;
}

export interface ProgressOptions {
  /** A TTY stream (process.stderr); a stream that is not one gets no output at all. */
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  metrics: Metrics;
  /** Poll interval of the counters, ms (default 250); 0: only on tick() (tests). */
  interval_ms?: number;
  /** Clock for fps and ETA (tests). */
  now?: () => number;
}

interface Row {
  source: ProgressSource;
  total: number | null;
  bar: cliProgress.SingleBar;
  startedAt: number;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

export class ProgressBars {
  private readonly multi: cliProgress.MultiBar;
  private readonly rows: Row[] = [];
  private readonly timer: NodeJS.Timeout | null;
  private readonly now: () => number;
  private stopped = false;

  constructor(
    sources: ProgressSource[],
    private readonly options: ProgressOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.multi = new cliProgress.MultiBar(
      {
        stream: options.stream,
        format: '{id} [{bar}] {done}/{totalText} frames | {fps} fps | ETA {etaText} | dropped {dropped}',
        barCompleteChar: '\u2588',
        barIncompleteChar: '\u2591',
        // A second Ctrl-C kills the process at once (shutdown.ts): it must not leave the cursor hidden.
        hideCursor: false,
        clearOnComplete: false,
        stopOnComplete: false,
        gracefulExit: false, // the run's own shutdown handlers own SIGINT/SIGTERM (runtime/shutdown.ts)
        noTTYOutput: false,
        fps: 10,
        barsize: 20, // id, bar, counts, fps, ETA and drops fit an 80-column terminal
      },
      cliProgress.Presets.shades_classic,
    );
    const width = Math.max(...sources.map((s) => s.id.length), 1);
    const t0 = this.now();
    for (const s of sources) {
      const total = expectedFrames(s);
      const bar = this.multi.create(total ?? 0, 0, {
        id: s.id.padEnd(width),
        done: 0,
        totalText: total === null ? '?' : String(total),
        fps: '0.0',
        etaText: '--:--',
        dropped: 0,
      });
      this.rows.push({ source: s, total, bar, startedAt: t0 });
    }
    const every = options.interval_ms ?? 250;
    this.timer = every > 0 ? setInterval(() => this.tick(), every) : null;
    this.timer?.unref();
  }

  /** Reads the counters and updates every bar. */
  tick(): void {
    if (this.stopped) return;
    const { metrics } = this.options;
    const t = this.now();
    for (const r of this.rows) {
      const id = r.source.id;
      const done = metrics.get(`frames.done.${id}`);
      let dropped = 0;
      for (const [k, v] of metrics.counterEntries()) if (k.startsWith(`dropped.${id}.`)) dropped += v;
      const secs = (t - r.startedAt) / 1000;
      const fps = secs > 0 ? done / secs : 0;
      const total = r.total === null ? null : Math.max(r.total, done);
      if (total !== null && total !== r.bar.getTotal()) r.bar.setTotal(total);
      const eta = total === null || fps <= 0 ? Number.NaN : (total - done) / fps;
      r.bar.update(total === null ? 0 : done, {
        done,
        totalText: total === null ? '?' : String(total),
        fps: fps.toFixed(1),
        etaText: formatEta(eta),
        dropped,
      });
    }
  }

  /**
   * The run ended: a source whose count is within the estimate's error of its total has its bar set
   * to what it did (N/N); then the bars are drawn a last time and the terminal's cursor is restored.
   * `completed: false` leaves every total as estimated.
   */
  stop(completed = true): void {
    if (this.stopped) return;
    if (this.timer) clearInterval(this.timer);
    const ended = new Set<Row>();
    if (completed) {
      for (const r of this.rows) {
        const done = this.options.metrics.get(`frames.done.${r.source.id}`);
        // Within the estimate's error (a frame or two, or 2 %): the source ended, the bar reads N/N.
        // Further off (Ctrl-C, a failed decode), the estimate stays and the bar shows how far it got.
        if (r.total !== null && Math.abs(r.total - done) <= Math.max(2, 0.02 * r.total)) {
          r.total = done;
          ended.add(r);
        }
      }
    }
    this.tick();
    for (const r of ended) r.bar.update(r.total!, { etaText: '00:00' });
    this.stopped = true;
    this.multi.stop();
  }
}

/**
 * The bars for a built pipeline's file sources, or null when none are wanted (not a TTY, JSON logs,
 * `--no-progress`, or no file source). Camera sources never get one.
 */
export function startProgress(
  pipeline: { sources: ReadonlyArray<{ id: string; kind: string; info?: unknown }>; metrics: Metrics },
  configs: ReadonlyArray<{ type: string; config: Record<string, unknown> }>,
  opts: { stream: ProgressOptions['stream']; prettyLogs: boolean; disabled?: boolean },
): ProgressBars | null {
  if (!progressWanted(opts)) return null;
  const byId = new Map(configs.filter((c) => c.type === 'file').map((c) => [String(c.config.id), c.config]));
  const sources: ProgressSource[] = [];
  for (const s of pipeline.sources) {
    const config = byId.get(s.id);
    if (s.kind !== 'file' || !config || !s.info) continue;
    sources.push({ id: s.id, info: s.info as ProgressSource['info'], config: config as ProgressSource['config'] });
  }
  if (sources.length === 0) return null;
  return new ProgressBars(sources, { stream: opts.stream, metrics: pipeline.metrics });
}
