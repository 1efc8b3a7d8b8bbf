/**
 * Role: one connected client: its subscription and its bounded outgoing queue (backpressure,
 * drop-oldest, frame coalescing, drop reports). connections.ts fans messages out to these.
 *
 * `enqueue` never blocks. Messages go to the socket only while `ws.bufferedAmount` is under
 * `maxBufferedBytes`; the rest waits in a queue of at most `queueMax` messages. When the queue
 * is full the oldest queued message is dropped (live data: newer is worth more). A queued,
 * not yet sent preview frame of a stream is replaced by a newer frame of the same stream (the
 * replaced one counts as dropped). Drops are counted and, as soon as the client can take data
 * again, announced to it with `{type:'dropped', count, reason:'client_slow'}` ahead of the next
 * message.
 */
import WebSocket from 'ws';
import { DEFAULT_SUBSCRIPTION, type Subscription } from './protocol.js';

interface Entry {
  data: string | Buffer;
  /** Set for preview frames: the stream whose latest frame this is. */
  frameStream: string | null;
  /** Control replies (hello, subscribed, error, pong) are never dropped. */
  control: boolean;
  /** False once sent or dropped (skipped when popped). */
  live: boolean;
}

export interface ClientOptions {
  queueMax: number;
  maxBufferedBytes: number;
  /** Called once per dropped message. */
  onDrop: (n: number) => void;
}

export class Client {
  readonly id: number;
  readonly ws: WebSocket;
  readonly remote: string;
  subscription: Subscription = DEFAULT_SUBSCRIPTION;
  /** Heartbeat: set on pong, cleared when a ping is sent. */
  alive = true;
  sent = 0;
  dropped = 0;

  private readonly opts: ClientOptions;
  /** Ring of queued entries (head index + array; compacted lazily). */
  private queue: Entry[] = [];
  private head = 0;
  /** Live entries in `queue` (excludes ones replaced in place). */
  private queued = 0;
  private controlQueued = 0;
  private readonly pendingFrames = new Map<string, Entry>();
  private droppedUnreported = 0;
  private inFlight = 0;
  private closed = false;
  private readonly drainWaiters: Array<() => void> = [];

  constructor(id: number, ws: WebSocket, remote: string, opts: ClientOptions) {
    this.id = id;
    this.ws = ws;
    this.remote = remote;
    this.opts = opts;
  }

  /** Messages waiting in this client's own queue (not yet handed to the socket). */
  get queueLength(): number {
    return this.queued;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** True when nothing is queued and the socket buffer is empty. */
  get idle(): boolean {
    return this.queued === 0 && this.inFlight === 0 && this.droppedUnreported === 0;
  }

  /** Queues a text message (JSON already serialised); dropped first when the client is slow. */
  send(data: string): void {
    this.push({ data, frameStream: null, control: false, live: true });
  }

  /** Queues a preview frame, replacing a queued unsent frame of the same stream. */
  sendFrame(stream: string, data: Buffer): void {
    if (this.closed) return;
    const pending = this.pendingFrames.get(stream);
    if (pending?.live) {
      pending.data = data;
      this.countDrop(1);
      this.pump();
      return;
    }
    const entry: Entry = { data, frameStream: stream, control: false, live: true };
    this.pendingFrames.set(stream, entry);
    this.push(entry);
  }

  /**
   * Queues a control reply (hello, subscribed, error, pong) in order with the data messages; it
   * is never dropped. Returns false when more than `queueMax` control replies are waiting, i.e.
   * the client keeps sending requests without reading the answers (the caller closes it).
   */
  sendControl(data: string): boolean {
    if (this.closed) return true;
    if (this.controlQueued >= this.opts.queueMax) return false;
    this.controlQueued += 1;
    this.push({ data, frameStream: null, control: true, live: true });
    return true;
  }

  /** Resolves once the queue drained, or after `timeoutMs`. */
  drained(timeoutMs: number): Promise<void> {
    if (this.idle || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      timer.unref?.();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.drainWaiters.push(done);
    });
  }

  /** Drops the queue (connection closed). */
  dispose(): void {
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.queued = 0;
    this.controlQueued = 0;
    this.pendingFrames.clear();
    this.wakeDrainWaiters();
  }

  private push(entry: Entry): void {
    if (this.closed) return;
    if (!entry.control && this.queued - this.controlQueued >= this.opts.queueMax) this.dropOldest();
    this.queue.push(entry);
    this.queued += 1;
    this.pump();
  }

  /** Drops the oldest queued data message (control replies stay). */
  private dropOldest(): void {
    for (let i = this.head; i < this.queue.length; i += 1) {
      const e = this.queue[i]!;
      if (!e.live || e.control) continue;
      e.live = false;
      if (e.frameStream !== null && this.pendingFrames.get(e.frameStream) === e)
        this.pendingFrames.delete(e.frameStream);
      this.queued -= 1;
      this.countDrop(1);
      break;
    }
    // Skip dead entries at the head; rebuild when dead ones behind stuck control replies pile up.
    while (this.head < this.queue.length && !this.queue[this.head]!.live) {
      this.queue[this.head] = undefined as unknown as Entry;
      this.head += 1;
    }
    if (this.queue.length - this.head > 2 * this.queued + 64) {
      this.queue = this.queue.slice(this.head).filter((e) => e.live);
      this.head = 0;
    }
    this.compact();
  }

  private countDrop(n: number): void {
    this.dropped += n;
    this.droppedUnreported += n;
    this.opts.onDrop(n);
  }

  private canSend(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN && this.ws.bufferedAmount < this.opts.maxBufferedBytes;
  }

  /** Moves queued messages to the socket while its buffer has room. */
  pump(): void {
    while (this.canSend()) {
      if (this.droppedUnreported > 0) {
        const count = this.droppedUnreported;
        this.droppedUnreported = 0;
        this.inFlight += 1;
        this.ws.send(JSON.stringify({ type: 'dropped', count, reason: 'client_slow' }), () => this.onSent());
        continue;
      }
      const entry = this.shift();
      if (!entry) break;
      this.inFlight += 1;
      if (!entry.control) this.sent += 1;
      this.ws.send(entry.data, () => this.onSent());
    }
    if (this.idle) this.wakeDrainWaiters();
  }

  private shift(): Entry | undefined {
    while (this.head < this.queue.length) {
      const e = this.queue[this.head]!;
      this.queue[this.head] = undefined as unknown as Entry;
      this.head += 1;
      if (!e.live) continue;
      e.live = false;
      this.queued -= 1;
      if (e.control) this.controlQueued -= 1;
      if (e.frameStream !== null && this.pendingFrames.get(e.frameStream) === e)
        this.pendingFrames.delete(e.frameStream);
      this.compact();
      return e;
    }
    this.compact();
    return undefined;
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private onSent(): void {
    this.inFlight -= 1;
    this.pump();
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters.splice(0);
    for (const w of waiters) w();
  }
}
