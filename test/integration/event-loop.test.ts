/**
 * The event loop stays responsive while a real model runs continuously: a `detect` stage with
 * YOLOX-Nano (real onnxruntime, built through the stage spec and the model-stage machinery) gets
 * a backlog of frames and runs them back to back while a 5 ms interval timer measures how late it
 * fires. With inference in worker threads the p99 lag stays under 20 ms on a quiet machine.
 * A busy machine (CI with a core kept busy, other tenants) delays every thread, not only one that
 * is blocked, so the same 5 ms timer also runs in a control worker thread that nothing blocks:
 * the bound grows by the control's own p99 lag (CPU contention), never by what inference does.
 * VIDFLOW_EVENT_LOOP_WORKERS=0 runs the same test with the in-thread runner (`workers: 0`), to
 * see the figure before the pool (it fails there).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { from, lastValueFrom, toArray } from 'rxjs';
import type { Frame } from '../../src/core/frame.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { shutdownInferencePools } from '../../src/models/inference-worker-pool.js';
import { detectSchema, detectSpec } from '../../src/stages/detect.js';
import { REPO } from '../support/media.js';

const WORKERS = Number(process.env.VIDFLOW_EVENT_LOOP_WORKERS ?? 1);
const FRAMES = 40;

after(() => shutdownInferencePools());

/** The same 5 ms timer in a worker thread: the lag every thread sees from CPU contention alone. */
function startControlTimer(): { stop(): Promise<number[]> } {
  const w = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const lags = []; let last = performance.now();
     const t = setInterval(() => { const n = performance.now(); lags.push(Math.max(0, n - last - 5)); last = n; }, 5);
     parentPort.on('message', () => { clearInterval(t); parentPort.postMessage(lags); });`,
    { eval: true },
  );
  return {
    stop: () =>
      new Promise<number[]>((resolve) => {
        w.once('message', (lags: number[]) => void w.terminate().then(() => resolve(lags)));
        w.postMessage('stop');
      }),
  };
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

describe('event loop during inference', () => {
  it(`a 5 ms timer's lag stays under 20 ms p99 while YOLOX-Nano runs continuously (workers: ${WORKERS})`, async () => {
    const config = detectSchema.parse({ type: 'detect', id: 'people', model: 'yolox-nano', workers: WORKERS });
    const stage = await detectSpec.create(config, {
      pipeline: 'event-loop',
      configPath: 'stages[0]',
      baseDir: REPO,
      logger: silentLogger(),
      metrics: new Metrics(),
    });
    // Small frames, so the letterbox to 416×416 on the main thread is cheap and inference dominates.
    const w = 64;
    const h = 48;
    const now = Date.now();
    const frames: Frame[] = Array.from({ length: FRAMES }, (_, i) => ({
      stream_id: 'cam',
      index: i,
      pts: i / 10,
      width: w,
      height: h,
      data: new Uint8Array(w * h * 3).fill(i * 5),
      decoded_at_ms: now,
      captured_at_ms: now,
    }));
    const control = startControlTimer();
    const lags: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const t = performance.now();
      lags.push(Math.max(0, t - last - 5));
      last = t;
    }, 5);
    const t0 = performance.now();
    const outcomes = await lastValueFrom(from(frames).pipe(stage.operator, toArray()));
    const wallMs = performance.now() - t0;
    clearInterval(timer);
    const controlLags = await control.stop();
    await stage.close();
    assert.equal(outcomes.length, FRAMES);
    const records = outcomes.flatMap((o) => o.records);
    assert.equal(records.length, FRAMES);
    assert.ok(
      records.every((r) => r.error === undefined),
      'every frame was inferred',
    );
    const p99 = percentile(lags, 99);
    const summary =
      `workers=${WORKERS}: ${FRAMES} frames in ${wallMs.toFixed(0)} ms, timer fired ${lags.length}× ` +
      `(~${Math.round(wallMs / 5)} expected), lag p50 ${percentile(lags, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ` +
      `ms, max ${Math.max(...lags).toFixed(1)} ms; control thread p99 ${percentile(controlLags, 99).toFixed(1)} ms`;
    console.log(summary);
    assert.ok(lags.length >= 20, `the timer must fire during the run to measure anything (${summary})`);
    // The bound is 20 ms on a quiet machine (one YOLOX-Nano inference takes ~17 ms here). A busy
    // machine slows everything, so the bound grows with the inference time measured in this run:
    // half of one inference, which an event loop that runs inference itself can never meet (its
    // lag is at least one whole inference), plus the lag the control thread saw from contention.
    const inferMs = records.map(
      (r) =>
        (r.timing as { infer_start: number; infer_end: number }).infer_end -
        (r.timing as { infer_start: number }).infer_start,
    );
    const bound = Math.max(20, percentile(inferMs, 50) / 2) + percentile(controlLags, 99);
    assert.ok(
      p99 < bound,
      `event loop lag p99 must stay under ${bound.toFixed(1)} ms while inference runs (median inference ` +
        `${percentile(inferMs, 50).toFixed(1)} ms; ${summary})`,
    );
  });
});
