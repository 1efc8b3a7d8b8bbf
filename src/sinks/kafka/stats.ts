/**
 * Role: the Kafka sink's delivery status and what it reports: the connection state, the
 * counters (sent, dropped), the last error and outage start, and from them `stats()` and the
 * `health()` line.
 */
import type { SinkHealth } from '../../core/sink.js';
import type { RecordBuffer } from './buffer.js';
import type { RetryPolicy } from './retry-policy.js';

export type DeliveryState = 'connecting' | 'connected' | 'retrying' | 'closed';

export class DeliveryStatus {
  state: DeliveryState = 'connecting';
  /** The client is connected (set on connect, cleared by a failed send or a lost connection). */
  connected = false;
  everConnected = false;
  /** Records acknowledged by the broker. */
  sent = 0;
  /** Records given up: overflow (live), rejected by the broker, lost at close. */
  dropped = 0;
  lastError: string | null = null;
  /** When the current outage began (null while connected). */
  downSince: number | null = null;
}

export interface KafkaSinkStats {
  state: DeliveryState;
  buffered: number;
  inFlight: number;
  waitingWriters: number;
  sent: number;
  dropped: number;
  failedAttempts: number;
}

export function sinkStats(status: DeliveryStatus, buffer: RecordBuffer, retry: RetryPolicy): KafkaSinkStats {
  return {
    state: status.state,
    buffered: buffer.pending.length,
    inFlight: buffer.inFlight.length,
    waitingWriters: buffer.waiters.length,
    sent: status.sent,
    dropped: status.dropped,
    failedAttempts: retry.failedAttempts,
  };
}

/** ok only while connected; the detail names the brokers, the state (with the retry attempt) and the counts. */
export function sinkHealth(
  status: DeliveryStatus,
  buffer: RecordBuffer,
  retry: RetryPolicy,
  brokers: string[],
): SinkHealth {
  const { state, lastError } = status;
  const parts = [
    state === 'retrying'
      ? `retrying (attempt ${retry.attempt}${lastError ? `, last error: ${lastError}` : ''})`
      : state,
    `buffered=${buffer.buffered}/${buffer.cap}`,
    `in_flight=${buffer.inFlight.length}`,
    `sent=${status.sent}`,
    `dropped=${status.dropped}`,
  ];
  return { ok: state === 'connected', detail: `kafka ${brokers.join(',')}: ${parts.join(', ')}` };
}
