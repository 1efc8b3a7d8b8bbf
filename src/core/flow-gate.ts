/**
 * Flow control between a source and the rest of the graph: at most `max_in_flight` frames of a
 * source are between the decoder and the sinks at any time. A file source awaits a credit
 * (ffmpeg's output is paused meanwhile, so nothing is dropped and memory stays bounded); a live
 * source asks `tryAcquire` and drops the frame (counted) when none is free, so latency never grows.
 */
export class FlowGate {
  private inFlight = 0;
  private readonly waiters: Array<() => void> = [];
  private closed = false;

  constructor(readonly maxInFlight: number) {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1)
      throw new RangeError(`max_in_flight must be a positive integer, got ${maxInFlight}`);
  }

  get size(): number {
    return this.inFlight;
  }

  /** Resolves when a credit is granted (immediately if one is free). */
  acquire(): Promise<void> {
    if (this.closed || this.inFlight < this.maxInFlight) {
      this.inFlight += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiters.push(() => {
        this.inFlight += 1;
        resolve();
      });
    });
  }

  /** Takes a credit if one is free; never waits. */
  tryAcquire(): boolean {
    if (this.closed || this.inFlight < this.maxInFlight) {
      this.inFlight += 1;
      return true;
    }
    return false;
  }

  release(): void {
    if (this.inFlight > 0) this.inFlight -= 1;
    const next = this.waiters.shift();
    if (next) next();
  }

  /** Lets every waiter through (shutdown). */
  close(): void {
    this.closed = true;
    while (this.waiters.length > 0) this.waiters.shift()!();
  }
}
