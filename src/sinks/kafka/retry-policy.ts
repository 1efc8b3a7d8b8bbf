/**
 * Role: the Kafka sink's retry policy, in one place. What is resent (everything but records the
 * broker rejects as such: those are given up at once, resending cannot succeed), how long to
 * wait before the next connect/send attempt (exponential from `retry_initial_ms`, doubling per
 * failure up to `retry_max_ms`, 50–100 % jitter, reset by a success), and how a failure is
 * logged (authentication/authorization failures as errors: they need an operator).
 * The sink never gives up on an unreachable broker by itself: it retries until `close()`, whose
 * `flush_timeout_ms` bounds the wait (flush.ts).
 */
import { errorKind, type KafkaErrorKind } from './client.js';
import type { KafkaSinkConfig } from './config.js';

/** Delay before retry number `attempt` (0-based): exponential, capped, with 50–100 % jitter; at least 1 ms. */
export function retryDelayMs(
  attempt: number,
  config: Pick<KafkaSinkConfig, 'retry_initial_ms' | 'retry_max_ms'>,
  random: () => number,
): number {
  const base = Math.min(config.retry_max_ms, config.retry_initial_ms * 2 ** Math.min(attempt, 30));
  return Math.max(1, Math.round(base * (0.5 + 0.5 * random())));
}

/** False for a record the broker rejected itself (too large, invalid): it is dropped, not resent. */
export function isResendable(err: unknown): boolean {
  return errorKind(err) !== 'record';
}

/** How a failed `what` (connect, send) is logged. */
export function retryLogLine(
  err: unknown,
  what: string,
): { kind: KafkaErrorKind; level: 'warn' | 'error'; message: string } {
  const kind = errorKind(err);
  return kind === 'auth'
    ? { kind, level: 'error', message: `kafka ${what} failed: authentication/authorization error; retrying` }
    : { kind, level: 'warn', message: `kafka ${what} failed; retrying with backoff` };
}

/** The backoff state: consecutive failures since the last success, and all failures. */
export class RetryPolicy {
  /** Failures since the last success (0-based attempt number of the next delay). */
  attempt = 0;
  /** Every failed attempt since the sink started. */
  failedAttempts = 0;

  constructor(
    private readonly config: Pick<KafkaSinkConfig, 'retry_initial_ms' | 'retry_max_ms'>,
    private readonly random: () => number = Math.random,
  ) {}

  /** Counts a failed attempt and returns how long to wait before the next one. */
  failed(): number {
    this.failedAttempts += 1;
    const delay = retryDelayMs(this.attempt, this.config, this.random);
    this.attempt += 1;
    return delay;
  }

  /** A connect or send succeeded: the next failure starts again at `retry_initial_ms`. */
  succeeded(): void {
    this.attempt = 0;
  }
}
