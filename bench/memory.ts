/**
 * Memory under a slow sink (run by bench/run.ts in its own process): a file source feeds a
 * pass-through stage into a sink that takes 10 ms per record. Prints one JSON line:
 * RSS before, peak RSS during the run (sampled every 20 ms) and during its first half (flat
 * memory means the peak does not grow with the video's length), frames, seconds, drops.
 * Usage: node --import tsx bench/memory.ts <video> <max_in_flight>
 */
import { silentLogger } from '../src/core/logger.js';
import { Metrics } from '../src/core/metrics.js';
import { assemble } from '../src/runtime/run.js';
import type { Sink } from '../src/sinks/sink.js';
import { createFileSource } from '../src/sources/file-source.js';
import { passthroughStage } from '../test/support/stages.js';

const [video, maxArg] = process.argv.slice(2);
const maxInFlight = Number(maxArg ?? 8);

class SlowSink implements Sink {
  readonly id = 'slow';
  count = 0;
  async write(): Promise<void> {
    this.count += 1;
    await new Promise((r) => setTimeout(r, 10));
  }
  async flush() {}
  async close() {}
  async health() {
    return { ok: true, detail: `${this.count}` };
  }
}

const passthrough = passthroughStage('bench');

const metrics = new Metrics();
const ctx = { pipeline: 'bench', configPath: 'sources[0]', baseDir: process.cwd(), logger: silentLogger(), metrics };
const src = await createFileSource(
  {
    id: 'm',
    path: video!,
    fps: null,
    start_secs: null,
    end_secs: null,
    loop: false,
    max_in_flight: maxInFlight,
    realtime: false,
  },
  ctx,
);
const base = process.memoryUsage().rss;
let peak = base;
let peakFirstHalf = base;
let sinkRef: SlowSink | null = null;
const timer = setInterval(() => {
  const rss = process.memoryUsage().rss;
  peak = Math.max(peak, rss);
  if ((sinkRef?.count ?? 0) < 750) peakFirstHalf = Math.max(peakFirstHalf, rss);
}, 20);
const t0 = performance.now();
const built = assemble(
  {
    name: 'bench',
    sources: [{ spec: {} as never, config: { type: 'file', id: 'm', max_in_flight: maxInFlight }, path: 'sources[0]' }],
  },
  [src],
  [passthrough],
  [(sinkRef = new SlowSink())],
  { logger: silentLogger(), metrics },
);
const summary = await built.run();
clearInterval(timer);
console.log(
  JSON.stringify({
    baseMB: base / 2 ** 20,
    peakMB: peak / 2 ** 20,
    peakFirstHalfMB: peakFirstHalf / 2 ** 20,
    frames: summary.records,
    seconds: (performance.now() - t0) / 1000,
    dropped: summary.dropped,
  }),
);
