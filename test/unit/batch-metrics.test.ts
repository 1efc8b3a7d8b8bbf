/** The dynamic batcher's metrics reach Prometheus: fill ratio histogram and flushes by reason. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics } from '../../src/core/metrics.js';
import { PipelineMetrics } from '../../src/runtime/prometheus.js';
import { idleStage } from '../support/fakes.js';

describe('batcher metrics', () => {
  it('exposes vidflow_batch_fill_ratio and vidflow_batch_flushes_total by stage and reason', async () => {
    const metrics = new Metrics();
    const stage = idleStage('cls');
    const pm = new PipelineMetrics(
      { name: 'p', sources: [], stages: [stage], sinks: [], metrics },
      { defaultMetrics: false },
    );
    metrics.inc('batch_flush.cls.preferred', 2);
    metrics.inc('batch_flush.cls.deadline');
    metrics.observe('batch_fill.cls', 0.5);
    metrics.observe('batch_fill.cls', 1);
    const text = await pm.registry.metrics();
    pm.close();
    assert.match(text, /vidflow_batch_flushes_total\{stage="cls",reason="preferred"\} 2/);
    assert.match(text, /vidflow_batch_flushes_total\{stage="cls",reason="deadline"\} 1/);
    assert.match(text, /vidflow_batch_fill_ratio_count\{stage="cls",model=""\} 2/);
    assert.match(text, /vidflow_batch_fill_ratio_sum\{stage="cls",model=""\} 1.5/);
  });
});
