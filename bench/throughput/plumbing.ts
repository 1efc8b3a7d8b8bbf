/**
 * Plumbing for bench/throughput.ts, run as its own process: the sources of a pipeline file, created
 * as `vidflow run` creates them (same config loader, same file source: ffmpeg → pipe → frames cut
 * and stamped → flow gate), every frame turned into one JSON line on stdout
 * ({ stream_id, frame_index, pts }) and its gate slot released once stdout took the line. No stage
 * and no sink: this is what vidflow costs before any model work.
 *
 *   node --import tsx bench/throughput/plumbing.ts <pipeline.yaml>
 */
import { merge } from 'rxjs';
import type { ComponentContext } from '../../src/core/component.js';
import { FlowGate } from '../../src/core/flow-gate.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { loadPipelineFile } from '../../src/config/load.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: plumbing.ts <pipeline.yaml>');
  process.exit(2);
}
const config = loadPipelineFile(file);
const metrics = new Metrics();
const ctx = (configPath: string): ComponentContext => ({
  pipeline: config.name,
  configPath,
  baseDir: config.baseDir,
  logger: silentLogger(),
  metrics,
});
const sources = await Promise.all(config.sources.map((c) => c.spec.create(c.config, ctx(c.path))));
const gates = new Map(sources.map((s) => [s.id, new FlowGate(s.maxInFlight)]));
await new Promise<void>((resolve, reject) =>
  merge(...sources.map((s) => s.frames(gates.get(s.id)!))).subscribe({
    next: (frame) => {
      const line = `${JSON.stringify({ stream_id: frame.stream_id, frame_index: frame.index, pts: frame.pts })}\n`;
      const gate = gates.get(frame.stream_id)!;
      if (process.stdout.write(line)) gate.release();
      else process.stdout.once('drain', () => gate.release());
    },
    error: reject,
    complete: resolve,
  }),
);
