/**
 * The operators' HTTP endpoint of `vidflow run` (issue 12), through the CLI as an operator runs
 * it: a real pipeline (ffmpeg file source replayed in real time, the ImageNet classifier, JSONL),
 * `--http-port 0` (any free port; the bound URL is read from the log line), /metrics scraped
 * while records flow and parsed with a Prometheus text-format parser, its values checked against
 * what the run produced; /healthz and /readyz, including 503 for an unhealthy sink (Kafka with
 * its broker down) and 503 once SIGINT begins the shutdown.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import parsePrometheusTextFormat, { type PromFamily, type PromSample } from 'parse-prometheus-text-format';
import { media, REPO, tmpDir } from '../support/media.js';
import { runCli } from '../support/pipeline.js';
import { freePort } from '../support/ports.js';
import { waitFor, waitForLine, waitForLines } from '../support/wait.js';

const CLASSIFIER = path.join(REPO, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.manifest.json');
const LISTENING = /HTTP endpoint listening on (http:\/\/[^\s]+) /;

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

async function get(url: string): Promise<{ status: number; body: string; type: string | null }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

/**
 * The families of one scrape by name, a sample getter by labels, and histograms by labels.
 *
 * parse-prometheus-text-format folds every series of a HISTOGRAM family into one sample (the
 * buckets of all label sets merged, `sum`/`count` of labelled series dropped), so histograms are
 * read from a second parse of the same text without the `# TYPE … histogram` lines: `_bucket`,
 * `_sum` and `_count` then parse as plain families with all their labels. The checks below also
 * assert each histogram series is complete (buckets up to +Inf, `_count` = the +Inf bucket).
 */
function scrape(text: string) {
  const families = new Map<string, PromFamily>(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  // Untyped, a histogram's series come out as one family per run of lines: merged by name.
  const untyped = new Map<string, PromSample[]>();
  for (const f of parsePrometheusTextFormat(
    text
      .split('\n')
      .filter((l) => !/^# TYPE \S+ histogram$/.test(l))
      .join('\n'),
  ))
    untyped.set(f.name, [...(untyped.get(f.name) ?? []), ...f.metrics]);
  const family = (name: string) => {
    const f = families.get(name);
    assert.ok(f, `no metric family ${name} in the scrape`);
    return f;
  };
  const matches = (m: PromSample, labels: Record<string, string>) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v);
  const sample = (name: string, labels: Record<string, string> = {}) => {
    const s = family(name).metrics.find((m) => matches(m, labels));
    assert.ok(s, `${name}${JSON.stringify(labels)} not in the scrape`);
    return s;
  };
  const value = (name: string, labels: Record<string, string> = {}) => Number(sample(name, labels).value);
  const histogram = (name: string, labels: Record<string, string>) => {
    assert.equal(family(name).type, 'HISTOGRAM', name);
    const one = (suffix: string) => {
      const s = untyped.get(`${name}_${suffix}`)?.filter((m) => matches(m, labels)) ?? [];
      assert.ok(s.length > 0, `${name}_${suffix}${JSON.stringify(labels)} not in the scrape`);
      return s;
    };
    const buckets: Record<string, number> = {};
    for (const b of one('bucket')) buckets[b.labels!.le!] = Number(b.value);
    const h = { count: Number(one('count')[0]!.value), sum: Number(one('sum')[0]!.value), buckets };
    assert.equal(h.buckets['+Inf'], h.count, `${name}${JSON.stringify(labels)}: +Inf bucket = count`);
    return h;
  };
  return { families, family, sample, value, histogram };
}

describe('vidflow run --http-port: /metrics, /healthz, /readyz', () => {
  it('serves Prometheus metrics that match the run, and health/readiness', { timeout: 15 * 60_000 }, async (t) => {
    const dir = tmpDir();
    const out = path.join(dir, 'http-metrics.jsonl');
    const file = path.join(dir, 'http-metrics.yaml');
    writeFileSync(
      file,
      `name: http-metrics
sources:
  - type: file
    id: cam1
    path: ${media.testsrc(6, '320x240', 10)}
    realtime: true
stages:
  - type: classify
    id: imagenet
    model: ${CLASSIFIER}
    top_k: 1
    batch_size: 2
sinks:
  - type: jsonl
    path: ${out}
`,
    );
    const seen: Record<string, unknown> = {};
    let failure: unknown = null;
    const r = await runCli(['run', file, '--http-port', '0'], {
      env: { VIDFLOW_LOG_LEVEL: 'info' },
      onSpawn: (p) => {
        (async () => {
          const base = LISTENING.exec(await waitForLine(p.stderr!, LISTENING))![1]!;
          seen.base = base;
          // Up before the pipeline is built: alive at once, ready only once built.
          const early = await get(`${base}/readyz`);
          seen.earlyReady = early;
          seen.healthz = await get(`${base}/healthz`);
          await waitForLines(out, 8);
          const onDisk = lines(out).length;
          const t0 = performance.now();
          const m = await get(`${base}/metrics`);
          seen.scrapeMs = performance.now() - t0;
          seen.onDisk = onDisk;
          seen.metrics = m;
          seen.readyz = await get(`${base}/readyz`);
          seen.notFound = await get(`${base}/nope`);
          const times: number[] = [];
          for (let i = 0; i < 20; i += 1) {
            const t = performance.now();
            await get(`${base}/metrics`);
            times.push(performance.now() - t);
          }
          seen.scrapeTimes = times;
          seen.last = await get(`${base}/metrics`);
        })().catch((err) => {
          failure = err;
          p.kill('SIGKILL');
        });
      },
    });
    assert.equal(failure, null, `${String((failure as Error)?.stack ?? failure)}\n${r.stderr}`);
    assert.equal(r.code, 0, r.stderr);

    const early = seen.earlyReady as Awaited<ReturnType<typeof get>>;
    assert.ok(early.status === 200 || early.status === 503, JSON.stringify(early));
    if (early.status === 503) assert.equal(JSON.parse(early.body).state, 'building', early.body);
    const healthz = seen.healthz as Awaited<ReturnType<typeof get>>;
    assert.equal(healthz.status, 200);
    assert.equal(JSON.parse(healthz.body).status, 'ok');
    const ready = seen.readyz as Awaited<ReturnType<typeof get>>;
    assert.equal(ready.status, 200, ready.body);
    assert.deepEqual(JSON.parse(ready.body).sinks.jsonl.ok, true);
    assert.equal((seen.notFound as { status: number }).status, 404);

    const m = seen.metrics as Awaited<ReturnType<typeof get>>;
    assert.equal(m.status, 200);
    assert.match(m.type ?? '', /^text\/plain; version=0\.0\.4/);
    const s = scrape(m.body);
    const onDisk = seen.onDisk as number;
    const types: Record<string, PromFamily['type']> = {
      vidflow_frames_decoded_total: 'COUNTER',
      vidflow_frames_in_total: 'COUNTER',
      vidflow_frames_processed_total: 'COUNTER',
      vidflow_frames_in_flight: 'GAUGE',
      vidflow_stream_fps: 'GAUGE',
      vidflow_stream_reconnects_total: 'COUNTER',
      vidflow_records_total: 'COUNTER',
      vidflow_record_latency_seconds: 'HISTOGRAM',
      vidflow_stage_step_seconds: 'HISTOGRAM',
      vidflow_inference_seconds: 'HISTOGRAM',
      vidflow_batch_size: 'HISTOGRAM',
      vidflow_stage_errors_total: 'COUNTER',
      vidflow_inference_workers: 'GAUGE',
      vidflow_inference_queue_depth: 'GAUGE',
      vidflow_sink_records_written_total: 'COUNTER',
      vidflow_sink_records_undelivered_total: 'COUNTER',
      vidflow_sink_errors_total: 'COUNTER',
      vidflow_sink_up: 'GAUGE',
      vidflow_pipeline_ready: 'GAUGE',
      vidflow_pipeline_info: 'GAUGE',
      process_cpu_seconds_total: 'COUNTER',
    };
    for (const [name, type] of Object.entries(types)) assert.equal(s.family(name).type, type, name);
    // Every label name is a valid Prometheus label name, and no value looks like a URL.
    for (const f of s.families.values()) {
      assert.match(f.name, /^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
      for (const sm of f.metrics)
        for (const [k, v] of Object.entries(sm.labels ?? {})) {
          assert.match(k, /^[a-zA-Z_][a-zA-Z0-9_]*$/, `${f.name} label ${k}`);
          assert.doesNotMatch(v, /:\/\//, `${f.name}{${k}="${v}"}`);
        }
    }

    const cam = { stream: 'cam1' };
    const decoded = s.value('vidflow_frames_decoded_total', cam);
    const entered = s.value('vidflow_frames_in_total', cam);
    const processed = s.value('vidflow_frames_processed_total', cam);
    const records = s.value('vidflow_records_total', { stream: 'cam1', stage: 'imagenet' });
    // One classification record per frame: the JSONL read before the scrape is a lower bound.
    assert.ok(records >= onDisk, `records_total ${records} < ${onDisk} lines in the JSONL`);
    assert.ok(
      decoded >= entered && entered >= records && records >= processed,
      `decoded ${decoded} ≥ in ${entered} ≥ records ${records} ≥ processed ${processed}`,
    );
    assert.equal(s.value('vidflow_frames_in_flight', cam), entered - processed);
    assert.equal(s.value('vidflow_sink_records_written_total', { sink: 'jsonl' }), records);
    assert.equal(s.value('vidflow_sink_records_undelivered_total', { sink: 'jsonl' }), 0);
    assert.equal(s.value('vidflow_sink_errors_total', { sink: 'jsonl' }), 0);
    assert.equal(s.value('vidflow_sink_up', { sink: 'jsonl' }), 1);
    assert.equal(s.value('vidflow_pipeline_ready'), 1);
    assert.equal(s.value('vidflow_stage_errors_total', { stage: 'imagenet' }), 0);
    assert.equal(s.sample('vidflow_pipeline_info').labels?.pipeline, 'http-metrics');
    const latency = s.histogram('vidflow_record_latency_seconds', { stream: 'cam1', stage: 'imagenet' });
    assert.equal(latency.count, records);
    assert.equal(latency.buckets['+Inf'], records);
    assert.ok(latency.sum > 0);
    const model = { stage: 'imagenet', model: 'mobilenetv2-12-int8' };
    const inference = s.histogram('vidflow_inference_seconds', model);
    assert.ok(inference.count >= records, `inference count ${inference.count} < ${records}`);
    assert.ok(inference.sum > 0);
    const batch = s.histogram('vidflow_batch_size', model);
    assert.ok(batch.sum >= inference.count, `batch_size sum ${batch.sum}, inference count ${inference.count}`);
    assert.equal(batch.buckets['2'], batch.count, 'every batch_size ≤ 2');
    for (const step of ['decode', 'wait', 'batch', 'infer', 'post', 'sink']) {
      assert.equal(s.histogram('vidflow_stage_step_seconds', { stage: 'imagenet', step }).count, records, step);
    }
    // The infer step of the records is the batch's wall time: never shorter than its per-frame share.
    assert.ok(s.histogram('vidflow_stage_step_seconds', { stage: 'imagenet', step: 'infer' }).sum >= 0);
    assert.equal(s.value('vidflow_inference_workers', { model: 'mobilenetv2-12-int8' }), 1);
    // Played back at 10 fps (ffmpeg -re; its initial read burst and a window of only a second or
    // two so early in the run allow well above 10, never anything like 100).
    const fps = s.value('vidflow_stream_fps', { stream: 'cam1', kind: 'decoded' });
    assert.ok(fps > 0 && fps < 100, `fps ${fps}`);
    assert.ok(s.value('vidflow_stream_fps', { stream: 'cam1', kind: 'processed' }) > 0);

    // The last scrape against the run's final counts: frames only grow, and the JSONL has them all.
    const last = scrape((seen.last as { body: string }).body);
    const finalRecords = lines(out).length;
    assert.equal(finalRecords, 60);
    assert.ok(last.value('vidflow_records_total', { stream: 'cam1', stage: 'imagenet' }) >= records);
    assert.ok(last.value('vidflow_records_total', { stream: 'cam1', stage: 'imagenet' }) <= finalRecords);
    const summary = JSON.parse(r.stderr.split('\n').find((l) => l.includes('"summary"'))!).summary;
    assert.equal(summary.records, finalRecords);
    const times = (seen.scrapeTimes as number[]).sort((a, b) => a - b);
    const own = last.value('vidflow_metrics_scrape_duration_seconds') * 1000;
    t.diagnostic(
      `/metrics: ${m.body.length} bytes, ${s.families.size} families; scrape round trip (client side, 20 scrapes) ` +
        `median ${times[10]!.toFixed(1)} ms, max ${times[19]!.toFixed(1)} ms; server-side collection of the previous ` +
        `scrape ${own.toFixed(2)} ms`,
    );
  });

  it('/readyz: 503 while a sink is unhealthy and once SIGINT begins the shutdown (pipeline `http:` field)', {
    timeout: 15 * 60_000,
  }, async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'http-stop.jsonl');
    const file = path.join(dir, 'http-stop.yaml');
    writeFileSync(
      file,
      `name: http-stop
shutdown_timeout_ms: 4000
http:
  port: 0
sources:
  - type: file
    id: cam1
    path: ${media.testsrc(6, '320x240', 10)}
    realtime: true
    loop: true
stages:
  - type: classify
    id: imagenet
    model: ${CLASSIFIER}
    top_k: 1
sinks:
  - type: kafka
    brokers: 127.0.0.1:${await freePort()}
    topic: results
    connect_timeout_ms: 500
    retry_max_ms: 500
    flush_timeout_ms: 600000
    spill_path: false
  - type: jsonl
    path: ${out}
`,
    );
    const seen: Record<string, unknown> = {};
    let failure: unknown = null;
    const r = await runCli(['run', file], {
      env: { VIDFLOW_LOG_LEVEL: 'info' },
      onSpawn: (p) => {
        (async () => {
          const base = LISTENING.exec(await waitForLine(p.stderr!, LISTENING))![1]!;
          await waitForLine(p.stderr!, /Running pipeline/);
          await waitForLines(out, 5);
          seen.before = await get(`${base}/readyz`);
          seen.metrics = await get(`${base}/metrics`);
          const stopping = waitForLine(p.stderr!, /Stopping pipeline/);
          p.kill('SIGINT');
          await stopping;
          // The Kafka sink holds the shutdown up to shutdown_timeout_ms: the endpoint is still there.
          seen.after = await get(`${base}/readyz`);
          seen.healthzAfter = await get(`${base}/healthz`);
          // Once the run has ended the endpoint is closed.
          await waitForLine(p.stderr!, /"summary"/);
          seen.closed = await waitFor(
            async () =>
              fetch(`${base}/healthz`).then(
                () => false,
                () => true,
              ),
            'the endpoint to close',
          );
        })().catch((err) => {
          failure = err;
          p.kill('SIGKILL');
        });
      },
    });
    assert.equal(failure, null, `${String((failure as Error)?.stack ?? failure)}\n${r.stderr}`);
    assert.equal(r.code, 1, r.stderr); // Kafka never delivered: the run reports it and fails
    const before = seen.before as Awaited<ReturnType<typeof get>>;
    assert.equal(before.status, 503, before.body);
    const b = JSON.parse(before.body);
    assert.equal(b.state, 'running');
    assert.equal(b.sinks.kafka.ok, false);
    assert.equal(b.sinks.jsonl.ok, true);
    assert.match(b.reason, /sink `kafka` is not healthy/);
    const s = scrape((seen.metrics as { body: string }).body);
    assert.equal(s.value('vidflow_sink_up', { sink: 'kafka' }), 0);
    assert.equal(s.value('vidflow_sink_up', { sink: 'jsonl' }), 1);
    assert.equal(s.value('vidflow_pipeline_ready'), 1);
    const after = seen.after as Awaited<ReturnType<typeof get>>;
    assert.equal(after.status, 503, after.body);
    assert.equal(JSON.parse(after.body).state, 'stopping');
    assert.match(JSON.parse(after.body).reason, /shutting down \(SIGINT\)/);
    assert.equal((seen.healthzAfter as { status: number }).status, 200);
    assert.equal(seen.closed, true);
  });
});
