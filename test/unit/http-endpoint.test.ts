/**
 * The operators' endpoint without a pipeline run: the Prometheus collectors against a Metrics
 * filled by hand (ids with dots, sink and stream drops, a live source's health state, observe
 * values), /readyz through every state, and `--http-port` / `http:` option resolution.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { EMPTY } from 'rxjs';
import type { Source } from '../../src/core/component.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import type { Sink, SinkHealth } from '../../src/sinks/sink.js';
import { HttpEndpoint, httpOptionsFor } from '../../src/runtime/http-endpoint.js';
import { PipelineMetrics } from '../../src/runtime/prometheus.js';
import type { ResultRecord } from '../../src/core/result.js';

function fakeSink(id: string, health: () => SinkHealth | Promise<SinkHealth>, undelivered = 0): Sink {
  return {
    id,
    write: () => undefined,
    flush: async () => undefined,
    close: async () => undefined,
    health: async () => health(),
    report: () => ({ undelivered }),
  };
}

function fakeSource(id: string, kind: 'file' | 'live', state: string | null = null): Source {
  return Object.assign(
    { id, kind, maxInFlight: 1, frames: () => EMPTY },
    kind === 'live' ? { health: { state, reconnects: 0 } } : {},
  );
}

const values = (text: string, name: string) =>
  parsePrometheusTextFormat(text)
    .find((f) => f.name === name)
    ?.metrics.map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) })) ?? [];

describe('PipelineMetrics', () => {
  it('reads the run counters on each scrape, with ids containing dots kept whole', async () => {
    const m = new Metrics();
    const pipeline = {
      name: 'p',
      sources: [fakeSource('cam.1', 'live', 'live'), fakeSource('cam', 'file')],
      stages: [{ id: 'det.a', streams: null, operator: () => EMPTY, close: async () => undefined }],
      sinks: [fakeSink('out', () => ({ ok: true, detail: '' }), 2)],
      metrics: m,
    };
    const pm = new PipelineMetrics(pipeline, { defaultMetrics: false, stageModels: { 'det.a': 'yolox-nano' } });
    m.inc('frames.decoded.cam.1', 10);
    m.inc('frames.in.cam.1', 8);
    m.inc('frames.done.cam.1', 7);
    m.drop('cam.1', 'live_busy', 2);
    m.drop('cam.1', 'stale', 1);
    m.drop('cam', 'late_read', 3);
    m.drop('out', 'sink_overflow', 4);
    m.inc('reconnects.cam.1', 5);
    m.inc('sink.accepted.out', 6);
    m.inc('sink.skipped.out', 1);
    m.inc('errors.det.a');
    m.observe('infer_ms.det.a', 20);
    m.observe('batch_size.det.a', 4);
    const text = await pm.registry.metrics();
    assert.deepEqual(values(text, 'vidflow_frames_decoded_total'), [
      { labels: { stream: 'cam.1' }, value: 10 },
      { labels: { stream: 'cam' }, value: 0 },
    ]);
    assert.deepEqual(values(text, 'vidflow_frames_processed_total')[0], { labels: { stream: 'cam.1' }, value: 6 });
    assert.deepEqual(values(text, 'vidflow_frames_in_flight')[0], { labels: { stream: 'cam.1' }, value: 1 });
    assert.deepEqual(
      values(text, 'vidflow_frames_dropped_total').sort((a, b) => a.value - b.value),
      [
        { labels: { stream: 'cam.1', reason: 'stale' }, value: 1 },
        { labels: { stream: 'cam.1', reason: 'live_busy' }, value: 2 },
        { labels: { stream: 'cam', reason: 'late_read' }, value: 3 },
      ],
    );
    assert.deepEqual(values(text, 'vidflow_sink_dropped_total'), [
      { labels: { sink: 'out', reason: 'sink_overflow' }, value: 4 },
    ]);
    assert.deepEqual(values(text, 'vidflow_stream_reconnects_total')[0], { labels: { stream: 'cam.1' }, value: 5 });
    assert.deepEqual(values(text, 'vidflow_sink_records_written_total'), [{ labels: { sink: 'out' }, value: 6 }]);
    assert.deepEqual(values(text, 'vidflow_sink_records_undelivered_total'), [{ labels: { sink: 'out' }, value: 3 }]);
    assert.deepEqual(values(text, 'vidflow_stage_errors_total'), [{ labels: { stage: 'det.a' }, value: 1 }]);
    assert.deepEqual(values(text, 'vidflow_sink_up'), [{ labels: { sink: 'out' }, value: 1 }]);
    // Only the live source has health series: 1 for its state, 0 for the others.
    const health = values(text, 'vidflow_stream_health');
    assert.equal(health.length, 5);
    assert.deepEqual(
      health.filter((h) => h.value === 1),
      [{ labels: { stream: 'cam.1', state: 'live' }, value: 1 }],
    );
    assert.match(text, /vidflow_inference_seconds_sum\{stage="det\.a",model="yolox-nano"\} 0\.02\n/);
    assert.match(text, /vidflow_batch_size_bucket\{le="4",stage="det\.a",model="yolox-nano"\} 1\n/);
    // A frame dropped as stale is counted before its credit is released: processed must not dip.
    m.drop('cam.1', 'stale');
    assert.deepEqual(values(await pm.registry.metrics(), 'vidflow_frames_processed_total')[0], {
      labels: { stream: 'cam.1' },
      value: 6,
    });
    m.inc('frames.done.cam.1');
    m.inc('frames.done.cam.1');
    assert.deepEqual(values(await pm.registry.metrics(), 'vidflow_frames_processed_total')[0], {
      labels: { stream: 'cam.1' },
      value: 7,
    });
    pm.close();
    // After close, observe() no longer feeds the histograms.
    m.observe('infer_ms.det.a', 20);
    assert.match(
      await pm.registry.metrics(),
      /vidflow_inference_seconds_count\{stage="det\.a",model="yolox-nano"\} 1\n/,
    );
  });

  it('takes latency and per-step times from the records; stream_health records only count', async () => {
    const m = new Metrics();
    const pm = new PipelineMetrics(
      { name: 'p', sources: [fakeSource('cam', 'file')], stages: [], sinks: [], metrics: m },
      { defaultMetrics: false },
    );
    const now = Date.now();
    const rec = {
      schema_version: 1,
      pipeline: 'p',
      stream_id: 'cam',
      frame_index: 0,
      pts: 0,
      stage_id: 's',
      model_id: 'x',
      task: 'classification',
      frame_width: 1,
      frame_height: 1,
      results: {},
      latency_ms: 120,
      timing: {
        captured: now - 120,
        decoded: now - 110,
        queued: now - 100,
        infer_start: now - 60,
        infer_end: now - 10,
        emitted: now,
      },
    } as ResultRecord;
    pm.onRecord(rec);
    pm.onRecord({
      ...rec,
      stage_id: 'source',
      task: 'stream_health',
      latency_ms: 0,
      timing: undefined,
    } as ResultRecord);
    const text = await pm.registry.metrics();
    assert.deepEqual(values(text, 'vidflow_records_total'), [
      { labels: { stream: 'cam', stage: 's' }, value: 1 },
      { labels: { stream: 'cam', stage: 'source' }, value: 1 },
    ]);
    assert.match(text, /vidflow_record_latency_seconds_sum\{stream="cam",stage="s"\} 0\.12\n/);
    assert.doesNotMatch(text, /vidflow_record_latency_seconds_count\{stream="cam",stage="source"\}/);
    for (const [step, s] of [
      ['decode', 0.01],
      ['wait', 0.01],
      ['batch', 0.04],
      ['infer', 0.05],
      ['post', 0.01],
    ] as const) {
      assert.match(text, new RegExp(`vidflow_stage_step_seconds_sum\\{stage="s",step="${step}"\\} ${s}\\n`), step);
    }
    pm.close();
  });
});

describe('HttpEndpoint /readyz', () => {
  it('503 building → 200 running → 503 unhealthy sink → 503 stopping → 503 finished', async () => {
    const ep = await HttpEndpoint.start({ host: '127.0.0.1', port: 0, logger: silentLogger(), pipeline: 'p' });
    try {
      const ready = async () => {
        const res = await fetch(`${ep.url}/readyz`);
        return { status: res.status, body: (await res.json()) as { ready: boolean; state: string; reason?: string } };
      };
      assert.equal((await fetch(`${ep.url}/healthz`)).status, 200);
      let r = await ready();
      assert.deepEqual([r.status, r.body.state], [503, 'building']);
      let ok = true;
      const m = new Metrics();
      ep.attach({
        name: 'p',
        sources: [],
        stages: [],
        sinks: [fakeSink('k', () => ({ ok, detail: ok ? 'connected' : 'broker kafka://user:hunter22@b:9092 down' }))],
        metrics: m,
      });
      r = await ready();
      assert.deepEqual([r.status, r.body.ready], [200, true]);
      ok = false;
      r = await ready();
      assert.equal(r.status, 503);
      assert.match(r.body.reason!, /sink `k` is not healthy/);
      assert.doesNotMatch(JSON.stringify(r.body), /hunter22/);
      ep.stopping('SIGTERM');
      ok = true;
      r = await ready();
      assert.deepEqual([r.status, r.body.state, r.body.reason], [503, 'stopping', 'shutting down (SIGTERM)']);
      assert.equal((await fetch(`${ep.url}/healthz`)).status, 200);
      ep.finished();
      r = await ready();
      assert.deepEqual([r.status, r.body.state], [503, 'finished']);
      const metrics = await fetch(`${ep.url}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /^vidflow_pipeline_ready 0$/m);
      assert.equal((await fetch(`${ep.url}/metrics`, { method: 'POST' })).status, 405);
    } finally {
      await ep.close();
    }
    await assert.rejects(fetch(`${ep.url}/healthz`));
  });

  it('a port in use is a one-line config error naming http.port', async () => {
    const a = await HttpEndpoint.start({ host: '127.0.0.1', port: 0, logger: silentLogger(), pipeline: 'p' });
    try {
      await assert.rejects(
        HttpEndpoint.start({ host: '127.0.0.1', port: a.port, logger: silentLogger(), pipeline: 'p' }),
        /http: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/,
      );
    } finally {
      await a.close();
    }
  });
});

describe('httpOptionsFor', () => {
  it('off by default; flags override the pipeline field', () => {
    assert.equal(httpOptionsFor({ http: null }, {}), null);
    assert.deepEqual(httpOptionsFor({ http: null }, { port: '0' }), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(httpOptionsFor({ http: { host: '0.0.0.0', port: 9464 } }, {}), { host: '0.0.0.0', port: 9464 });
    assert.deepEqual(httpOptionsFor({ http: { host: '0.0.0.0', port: 9464 } }, { port: '9000' }), {
      host: '0.0.0.0',
      port: 9000,
    });
    assert.deepEqual(httpOptionsFor({ http: { host: '0.0.0.0', port: 9464 } }, { host: '::1' }), {
      host: '::1',
      port: 9464,
    });
    assert.throws(() => httpOptionsFor({ http: null }, { port: 'abc' }), /--http-port: found "abc"/);
    assert.throws(() => httpOptionsFor({ http: null }, { port: '70000' }), /expected a port number/);
    assert.throws(() => httpOptionsFor({ http: null }, { host: '0.0.0.0' }), /--http-host: needs --http-port/);
  });
});
