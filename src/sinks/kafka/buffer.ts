/**
 * Role: the Kafka sink's buffer policy. The bounded FIFO of records waiting for the broker
 * (`buffer_max_records`), the batch in flight, the writers waiting for room (file pipelines:
 * `write()` waits, nothing is dropped), dropping the oldest records when full (live pipelines,
 * `sink_overflow`), and the health messages (health_topic) waiting to go out.
 */
import type { KafkaMessage } from './client.js';

export interface Entry {
  topic: string;
  message: KafkaMessage;
  /** Health messages (health_topic): never counted as records, never dropped for overflow. */
  control?: 'connected' | 'closed';
}

/** FIFO with O(1) push/shift and unshift of a batch (array + head index, compacted lazily). */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(v: T): void {
    this.items.push(v);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head];
    this.items[this.head] = undefined as T;
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  take(n: number): T[] {
    const out: T[] = [];
    while (out.length < n && this.length > 0) out.push(this.shift() as T);
    return out;
  }
  unshiftAll(vs: T[]): void {
    this.items = [...vs, ...this.items.slice(this.head)];
    this.head = 0;
  }
  snapshot(): T[] {
    return this.items.slice(this.head);
  }
  clear(): T[] {
    const all = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return all;
  }
}

/** A writer of a full buffer (file pipelines), admitted when room frees. */
export interface Waiter {
  entry: Entry;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Everything the sink holds that the broker has not acknowledged yet. */
export class RecordBuffer {
  /** Records waiting for a batch, oldest first. */
  readonly pending = new Fifo<Entry>();
  /** Writers of a full buffer (file pipelines), oldest first. */
  readonly waiters = new Fifo<Waiter>();
  /** Health messages to send: a `connected` one goes first in the next batch, a `closed` one last. */
  readonly control: Entry[] = [];
  /** The batch being sent (back to the front of `pending` when its send fails). */
  inFlight: Entry[] = [];

  /**
   * `cap`: buffer_max_records. `onOverflow(n)`: n oldest records were dropped to make room
   * (live pipelines).
   */
  constructor(
    readonly cap: number,
    private readonly onOverflow: (n: number) => void,
  ) {}

  /** Records waiting (buffered plus blocked writers), not counting the batch in flight. */
  get buffered(): number {
    return this.pending.length + this.waiters.length;
  }

  /** Every record not yet acknowledged: buffered, in flight, or held by a blocked writer. */
  get unsent(): number {
    return this.pending.length + this.inFlight.length + this.waiters.length;
  }

  /** True when nothing is left to send, or nothing but health messages while disconnected (they are best-effort). */
  isDrained(connected: boolean): boolean {
    return (
      this.pending.length === 0 &&
      this.inFlight.length === 0 &&
      this.waiters.length === 0 &&
      (this.control.length === 0 || !connected)
    );
  }

  /** True when nothing at all is waiting to be sent (records or health messages). */
  get empty(): boolean {
    return this.pending.length + this.inFlight.length + this.control.length === 0;
  }

  /** File pipelines: a new record must wait for room (writers queue in order). */
  get mustWait(): boolean {
    return this.waiters.length > 0 || this.pending.length >= this.cap;
  }

  /** Drops the oldest records beyond `cap` (live pipelines); reports how many through `onOverflow`. */
  dropOverflow(): void {
    let n = 0;
    while (this.pending.length > this.cap) {
      this.pending.shift();
      n += 1;
    }
    if (n > 0) this.onOverflow(n);
  }

  /** Moves blocked writers' records into the buffer while there is room (file mode). */
  admitWaiters(): void {
    while (this.waiters.length > 0 && this.pending.length < this.cap) {
      const w = this.waiters.shift() as Waiter;
      this.pending.push(w.entry);
      w.resolve();
    }
  }

  /** Takes the next batch (at most `max` records) into flight, then lets blocked writers in. */
  takeBatch(max: number): void {
    this.inFlight = this.pending.take(max);
    this.admitWaiters();
  }

  /** The batch in flight failed: back to the front of the buffer, in order. */
  requeueInFlight(): void {
    this.pending.unshiftAll(this.inFlight);
    this.inFlight = [];
  }

  /** A new `connected` health message replaces an unsent older one; a pending `closed` one stays last. */
  putConnectedMessage(entry: Entry): void {
    const rest = this.control.filter((c) => c.control !== 'connected');
    this.control.length = 0;
    this.control.push(entry, ...rest);
  }

  /**
   * Empties the buffer at close: returns the records left, in-flight first (the oldest; possibly
   * delivered with the acknowledgement lost), then buffered, then blocked writers' records.
   * Health messages are discarded; the blocked writers stay in `waiters` for the caller to settle.
   */
  takeAllForClose(): Entry[] {
    const left = [...this.inFlight, ...this.pending.clear(), ...this.waiters.snapshot().map((w) => w.entry)].filter(
      (e) => e.control === undefined,
    );
    this.inFlight = [];
    this.control.length = 0;
    return left;
  }
}
