/**
 * Role: the Kafka sink's rate-limited warnings: one log line per kind per interval, the next one
 * carrying how many were suppressed meanwhile (an outage must not flood the log).
 */
import type { Logger } from '../../core/logger.js';

export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs `msg` unless a line of this `kind` went out less than `intervalMs` ago (then counts it). */
  warn(kind: string, obj: Record<string, unknown>, msg: string, level: 'warn' | 'error' = 'warn'): void {
    const now = this.now();
    const w = this.last.get(kind);
    if (w && now - w.at < this.intervalMs) {
      w.suppressed += 1;
      return;
    }
    this.log[level]({ ...obj, ...(w && w.suppressed > 0 ? { suppressed: w.suppressed } : {}) }, msg);
    this.last.set(kind, { at: now, suppressed: 0 });
  }

  /** Forgets every kind (after a reconnection the next warning goes out at once). */
  clear(): void {
    this.last.clear();
  }
}
