/**
 * The stage option `allow_spinning` reaches onnxruntime's session options
 * (`session.intra_op.allow_spinning`) next to `intra_op_threads`: the pipeline schema default,
 * the runner options a stage asks for, the session options built from them, and the options
 * object `InferenceSession.create` actually receives when a stage opens its model. No timing.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { parsePipeline } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { inferencePool, shutdownInferencePools } from '../../src/models/inference-worker-pool.js';
import { sessionOptionsFor } from '../../src/models/onnx-runner.js';
import { DEFAULT_RUNNER_OPTIONS } from '../../src/models/runner.js';
import { openStageModel, stageRunnerOptions } from '../../src/stages/model-stage.js';
import { REPO, sharedModel } from '../support/media.js';
import { classifySchema, type ClassifyConfig } from '../../src/stages/classify.js';

after(() => shutdownInferencePools());

const pipeline = (stageExtra: string) => `name: p
sources:
  - type: file
    id: a
    path: a.mp4
stages:
  - type: classify
    id: cls
    model: mobilenetv2-12-int8
${stageExtra}
sinks:
  - type: jsonl
    path: out.jsonl
`;

/** The pipeline's classify stage config, validated (parsePipeline applied the defaults; parsing again types it). */
function stageConfig(stageExtra = ''): ClassifyConfig {
  return classifySchema.parse(parsePipeline(pipeline(stageExtra), 'p.yaml', REPO, { env: {} }).stages[0]!.config);
}

describe('allow_spinning stage option', () => {
  it('defaults to false in every model stage and is passed on with the other execution fields', () => {
    const cfg = stageConfig();
    assert.equal(cfg.allow_spinning, false);
    assert.deepEqual(stageRunnerOptions(cfg), {
      execution_providers: ['cpu'],
      intra_op_threads: 0,
      device_id: 0,
      workers: 1,
      allow_spinning: false,
    });
    const on = stageConfig('    allow_spinning: true\n    intra_op_threads: 2');
    assert.deepEqual(stageRunnerOptions(on), {
      execution_providers: ['cpu'],
      intra_op_threads: 2,
      device_id: 0,
      workers: 1,
      allow_spinning: true,
    });
  });

  it('rejects a non-boolean value', () => {
    assert.throws(() => stageConfig('    allow_spinning: "0"'), /allow_spinning/);
  });

  it('becomes session.intra_op.allow_spinning "0"/"1" in the session options, absent when unset', () => {
    assert.deepEqual(sessionOptionsFor({ ...DEFAULT_RUNNER_OPTIONS, allow_spinning: false }).extra, {
      session: { intra_op: { allow_spinning: '0' } },
    });
    assert.deepEqual(sessionOptionsFor({ ...DEFAULT_RUNNER_OPTIONS, allow_spinning: true }).extra, {
      session: { intra_op: { allow_spinning: '1' } },
    });
    const unset = sessionOptionsFor(DEFAULT_RUNNER_OPTIONS);
    assert.equal(unset.extra, undefined);
    assert.equal(unset.intraOpNumThreads, undefined);
    assert.equal(sessionOptionsFor({ ...DEFAULT_RUNNER_OPTIONS, intra_op_threads: 1 }).intraOpNumThreads, 1);
  });

  it('reaches InferenceSession.create when a stage opens its model (in-thread runner)', async () => {
    const seen: ort.InferenceSession.SessionOptions[] = [];
    const real = ort.InferenceSession.create;
    (ort.InferenceSession as { create: unknown }).create = (
      path: string,
      options: ort.InferenceSession.SessionOptions,
    ) => {
      seen.push(options);
      return (real as (p: string, o: unknown) => Promise<ort.InferenceSession>)(path, options);
    };
    try {
      const ctx = {
        pipeline: 'p',
        configPath: 'stages[0]',
        baseDir: REPO,
        logger: silentLogger(),
        metrics: new Metrics(),
      };
      for (const value of [false, true]) {
        const cfg = { ...stageConfig(`    allow_spinning: ${value}\n    intra_op_threads: 2\n    workers: 0`) };
        const runner = await openStageModel(cfg, ctx, ['classification'], 'classify', (_loaded, r) => r);
        await runner.close();
      }
    } finally {
      (ort.InferenceSession as { create: unknown }).create = real;
    }
    const modelSessions = seen.filter((o) => o.intraOpNumThreads === 2);
    assert.equal(modelSessions.length, 2);
    assert.deepEqual(
      modelSessions.map((o) => o.extra),
      [{ session: { intra_op: { allow_spinning: '0' } } }, { session: { intra_op: { allow_spinning: '1' } } }],
    );
  });

  it('is part of the worker pool key and options (a session per setting)', () => {
    const model = sharedModel('classification/mobilenetv2_12_int8.onnx');
    const off = inferencePool(model, { workers: 1, intra_op_threads: 1, allow_spinning: false });
    const on = inferencePool(model, { workers: 1, intra_op_threads: 1, allow_spinning: true });
    assert.notEqual(off, on);
    assert.equal(off.options.allow_spinning, false);
    assert.equal(on.options.allow_spinning, true);
  });
});
