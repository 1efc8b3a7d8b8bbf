/**
 * The inference worker pool (src/models/inference-worker-pool.ts) with a real ONNX model
 * (YOLOX-Nano from the shared models): same outputs as the in-thread OnnxRunner, tensors
 * transferred, a lost worker replaced with its in-flight run rejected, one session per worker
 * however many times stages open the model; and the model stage's side of it (retry after a lost
 * worker, stale live frames dropped before inference, record timing).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import type { Frame } from '../../src/core/frame.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { VidflowError } from '../../src/core/errors.js';
import {
  WorkerLostError,
  WorkerRunner,
  createRunner,
  inferencePool,
  isWorkerLost,
  shutdownInferencePools,
} from '../../src/models/inference-worker-pool.js';
import { openModel } from '../../src/models/model-store.js';
import { OnnxRunner } from '../../src/models/onnx-runner.js';
import type { Tensor } from '../../src/models/runner.js';
import { modelStage, type FrameModel } from '../../src/stages/model-stage.js';
import { REPO, sharedModel } from '../support/media.js';

const MODEL = sharedModel('detection/yolox_nano.onnx');
const N = 3 * 416 * 416;

/** A deterministic input image (not all zeros, so outputs differ per input). */
function input(seed: number): Tensor {
  const data = new Float32Array(N);
  for (let i = 0; i < N; i++) data[i] = ((i * 7 + seed * 131) % 256) / 255;
  return { type: 'float32', dims: [1, 3, 416, 416], data };
}

after(() => shutdownInferencePools());

describe('WorkerRunner (real YOLOX-Nano)', () => {
  it('returns exactly the in-thread OnnxRunner outputs, taking the input buffer by transfer', async () => {
    const ref = await OnnxRunner.create(MODEL);
    const runner = await WorkerRunner.create(MODEL, { workers: 2 });
    try {
      assert.deepEqual(runner.inputs, ref.inputs);
      assert.deepEqual(runner.outputs, ref.outputs);
      for (const seed of [1, 2, 3]) {
        const expected = (await ref.run({ images: input(seed) })).output!;
        const feed = input(seed);
        const before = runner.pool.stats.transferred_inputs;
        const got = (await runner.run({ images: feed }, ['output'])).output!;
        assert.deepEqual(got.dims, expected.dims);
        assert.equal(got.type, 'float32');
        assert.ok(got.data instanceof Float32Array);
        assert.deepEqual(got.data, expected.data, `seed ${seed}: worker output differs from in-thread output`);
        assert.equal(feed.data.byteLength, 0, 'the input buffer was transferred (detached here), not copied');
        assert.equal(runner.pool.stats.transferred_inputs, before + 1);
      }
      // A view into a larger buffer is copied (the rest of that buffer is not ours to give away);
      // shared memory is passed as is.
      const big = new Float32Array(N + 16);
      big.set(input(4).data as Float32Array, 16);
      const view: Tensor = { type: 'float32', dims: [1, 3, 416, 416], data: big.subarray(16) };
      const copiedBefore = runner.pool.stats.copied_inputs;
      const fromView = (await runner.run({ images: view })).output!;
      assert.equal(runner.pool.stats.copied_inputs, copiedBefore + 1);
      assert.equal(big.byteLength, (N + 16) * 4, 'the caller keeps its larger buffer');
      const sab = new Float32Array(new SharedArrayBuffer(N * 4));
      sab.set(input(4).data as Float32Array);
      const fromShared = (await runner.run({ images: { type: 'float32', dims: [1, 3, 416, 416], data: sab } })).output!;
      const expected4 = (await ref.run({ images: input(4) })).output!;
      assert.deepEqual(fromView.data, expected4.data);
      assert.deepEqual(fromShared.data, expected4.data);
    } finally {
      await runner.close();
      await ref.close();
    }
  });

  it('replaces a crashed worker: its in-flight run rejects with WorkerLostError, the next runs succeed', async () => {
    const runner = await WorkerRunner.create(MODEL, { workers: 1, intra_op_threads: 1 });
    const pool = runner.pool;
    const ref = await OnnxRunner.create(MODEL, { intra_op_threads: 1 });
    try {
      const sessions = pool.stats.sessions_created;
      pool.crashWorkersOnNextRun();
      await assert.rejects(
        runner.run({ images: input(5) }),
        (err: unknown) => isWorkerLost(err) && /crashed/.test((err as Error).message),
      );
      const out = (await runner.run({ images: input(6) })).output!;
      assert.deepEqual(out.data, (await ref.run({ images: input(6) })).output!.data);
      assert.equal(pool.stats.worker_restarts, 1);
      assert.equal(pool.stats.sessions_created, sessions + 1, 'the replacement created one session');
      assert.equal(pool.workers, 1);

      // Runs queued behind the lost one go to the replacement.
      pool.crashWorkersOnNextRun();
      const lost = runner.run({ images: input(7) });
      const queued = runner.run({ images: input(8) });
      await assert.rejects(lost, WorkerLostError);
      assert.deepEqual((await queued).output!.data, (await ref.run({ images: input(8) })).output!.data);
      assert.equal(pool.stats.worker_restarts, 2);
    } finally {
      await runner.close();
      await ref.close();
    }
  });

  it('creates each worker session once, however many times stages open the model', async () => {
    // A fresh configuration (intra_op_threads: 2), so the count starts at zero in this test.
    const opts = { execution_providers: ['cpu' as const], intra_op_threads: 2, device_id: 0, workers: 2 };
    const pool = inferencePool(MODEL, opts);
    assert.equal(pool.stats.sessions_created, 0);
    for (let i = 0; i < 6; i++) {
      const { runner } = await openModel('yolox-nano', {
        baseDir: REPO,
        where: `stages[${i}].model`,
        tasks: ['detection'],
        runner: opts,
        stageType: 'detect',
      });
      assert.ok(runner instanceof WorkerRunner);
      assert.equal(runner.pool, pool);
      assert.ok((await runner.run({ images: input(i) })).output);
      await runner.close();
      await assert.rejects(runner.run({ images: input(i) }), /closed/);
    }
    // Both workers report their session; wait for the second (a run on each proves it is up).
    await Promise.all([pool.run({ images: input(8) }), pool.run({ images: input(9) })]);
    assert.equal(pool.stats.sessions_created, 2, 'one session per worker, none per open');
    assert.equal(pool.workers, 2);
    assert.equal(pool.handles, 0);
  });

  it(
    'reports a model that cannot be loaded as MODEL_NOT_FOUND naming the config path; workers: 0 runs ' + 'in-thread',
    async () => {
      const missing = path.join(REPO, 'no-such-model.onnx');
      await assert.rejects(
        WorkerRunner.create(missing, {}, 'stages[0].model'),
        (err: unknown) =>
          err instanceof VidflowError &&
          err.code === 'MODEL_NOT_FOUND' &&
          err.message.startsWith('stages[0].model: cannot load ONNX model') &&
          err.message.includes(missing),
      );
      const inThread = await createRunner(MODEL, { workers: 0 });
      assert.ok(inThread instanceof OnnxRunner);
      await inThread.close();
    },
  );
});

describe('modelStage with the worker pool contract', () => {
  const frame = (index: number, extra: Partial<Frame> = {}): Frame => ({
    stream_id: 'cam',
    index,
    pts: index / 10,
    width: 2,
    height: 2,
    data: new Uint8Array(12),
    decoded_at_ms: Date.now() - 5,
    captured_at_ms: Date.now() - 10,
    ...extra,
  });
  const opts = {
    pipeline: 'p',
    stage_id: 's',
    every_n_frames: 1,
    fps: null,
    batch_size: 2,
    max_wait_ms: 0,
    toPayload: (r: number) => ({ r }),
  };

  /** A model whose first `failures` calls fail as if its worker were lost. */
  function flakyModel(failures: number): FrameModel<number> & { calls: Array<{ n: number; prepared: boolean }> } {
    const calls: Array<{ n: number; prepared: boolean }> = [];
    return {
      model_id: 'm',
      task: 'classification',
      fixed_batch: null,
      calls,
      prepare: (f) => f.index,
      async run(frames, prepared) {
        calls.push({ n: frames.length, prepared: prepared !== undefined });
        if (calls.length <= failures) throw new WorkerLostError('inference worker for m.onnx exited with code 1');
        return frames.map((f) => f.index * 10);
      },
      close: async () => {},
    };
  }

  it(
    'retries a file batch once after a lost worker (preparing it again); a second loss gives MODEL_RUN error ' +
      'records',
    async () => {
      const once = flakyModel(1);
      const out = await lastValueFrom(
        from([frame(0), frame(1)]).pipe(
          modelStage(once, opts, { metrics: new Metrics(), logger: silentLogger() }),
          toArray(),
        ),
      );
      assert.deepEqual(
        out.map((o) => o.records[0]!.results),
        [{ r: 0 }, { r: 10 }],
      );
      assert.deepEqual(once.calls, [
        { n: 2, prepared: true },
        { n: 2, prepared: false },
      ]);
      const twice = flakyModel(2);
      const failed = await lastValueFrom(
        from([frame(0), frame(1)]).pipe(
          modelStage(twice, opts, { metrics: new Metrics(), logger: silentLogger() }),
          toArray(),
        ),
      );
      assert.deepEqual(
        failed.map((o) => o.records[0]!.error_code),
        ['MODEL_RUN', 'MODEL_RUN'],
      );
      assert.equal(twice.calls.length, 2);
    },
  );

  it('does not retry live frames (they have a deadline): their records carry the error', async () => {
    const model = flakyModel(1);
    const deadline = Date.now() + 60_000;
    const out = await lastValueFrom(
      from([frame(0, { deadline_ms: deadline })]).pipe(
        modelStage(model, opts, { metrics: new Metrics(), logger: silentLogger() }),
        toArray(),
      ),
    );
    assert.equal(out[0]!.records[0]!.error_code, 'MODEL_RUN');
    assert.match(String(out[0]!.records[0]!.error), /inference worker/);
    assert.equal(model.calls.length, 1);
  });

  it(
    'drops live frames whose deadline passed before inference (empty outcome, dropped.<stream>.stale), runs the ' +
      'rest',
    async () => {
      const model = flakyModel(0);
      const metrics = new Metrics();
      const now = Date.now();
      const frames = [
        frame(0, { deadline_ms: now - 1 }),
        frame(1, { deadline_ms: now + 60_000 }),
        frame(2, { deadline_ms: now - 100 }),
        frame(3),
      ];
      const out = await lastValueFrom(
        from(frames).pipe(modelStage(model, opts, { metrics, logger: silentLogger() }), toArray()),
      );
      assert.equal(out.length, 4, 'one outcome per frame, so every credit is released');
      const byIndex = new Map(out.map((o) => [o.frame_index, o]));
      assert.deepEqual(byIndex.get(0)!.records, []);
      assert.deepEqual(byIndex.get(2)!.records, []);
      assert.deepEqual(byIndex.get(1)!.records[0]!.results, { r: 10 });
      assert.deepEqual(byIndex.get(3)!.records[0]!.results, { r: 30 });
      assert.equal(metrics.get('dropped.cam.stale'), 2);
      assert.deepEqual(
        model.calls.map((c) => c.n),
        [1, 1],
        'stale frames never reach the model',
      );
    },
  );

  it('gives records latency from capture and a timing object in step order', async () => {
    const t0 = Date.now();
    const f = frame(0, { captured_at_ms: t0 - 40, decoded_at_ms: t0 - 30 });
    const [o] = await lastValueFrom(
      from([f]).pipe(modelStage(flakyModel(0), opts, { metrics: new Metrics(), logger: silentLogger() }), toArray()),
    );
    const rec = o!.records[0]!;
    const timing = rec.timing as Record<string, number>;
    assert.deepEqual(Object.keys(timing), ['captured', 'decoded', 'queued', 'infer_start', 'infer_end', 'emitted']);
    assert.equal(timing.captured, t0 - 40);
    assert.equal(timing.decoded, t0 - 30);
    const steps = Object.values(timing);
    for (let i = 1; i < steps.length; i++)
      assert.ok(steps[i]! >= steps[i - 1]!, `timing steps out of order: ${JSON.stringify(timing)}`);
    assert.equal(rec.latency_ms, timing.emitted! - timing.captured!);
    assert.ok(rec.latency_ms >= 40);
  });
});
