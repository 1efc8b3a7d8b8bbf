/**
 * `vidflow cameras --assignments <topic> --brokers <b> --pipeline <file>`: live cameras over a Kafka
 * consumer group (docs/scaling.md, "Live cameras"). The assignment topic is compacted and
 * partitioned; one message per camera (key = camera id, value = JSON of a `camera` source entry,
 * tombstone = remove). Each instance runs the cameras of the partitions it owns, each camera as its
 * own pipeline (the pipeline file's stages, and its sinks shared by all cameras of the instance).
 * Offsets are never committed: every owned partition is read from the beginning (the compacted
 * state), the latest value per key wins. On each group join, cameras of partitions no longer owned
 * are stopped; cameras whose config is unchanged keep running.
 *
 * Exit status: 0 after SIGINT/SIGTERM (cameras stopped, sinks flushed); non-zero with a one-line
 * error when it cannot start (bad pipeline file: 2; brokers unreachable after the client's retries:
 * 1; an assignment topic that is not compacted: 2) or when the Kafka consumer crashes for good (1).
 */
import type { ConfigResourceTypes, Consumer } from 'kafkajs';
import type { Source, Stage } from '../core/component.js';
import { VidflowError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { loadPipelineFile } from '../config/load.js';
import { assemble, type BuiltPipeline } from '../runtime/run.js';
import { dieBySignal, installShutdown } from '../runtime/shutdown.js';
import type { Sink } from '../sinks/sink.js';
import { applyAutoDecodeSizes } from '../runtime/decode-size-auto.js';
import { cameraSourceSchema, cameraSourceSpec } from '../sources/camera-source.js';
import type { Kafka } from 'kafkajs';
import { DEFAULT_KAFKA_RETRIES, defaultWorkerId, kafkaClient, kafkaStartError } from './jobs.js';

/** kafkajs's ConfigResourceTypes.TOPIC (kafkajs is CommonJS: its enum is not a named ESM export). */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

/**
 * Creates the compacted assignment topic when missing; refuses an existing topic that is not compacted
 * (its assignments would expire after `retention.ms`, and cameras would silently stop being assigned).
 */
export async function ensureAssignmentTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      await admin
        .createTopics({
          waitForLeaders: true,
          topics: [
            { topic: topic, numPartitions: partitions, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
          ],
        })
        .catch((err: Error) => {
          if (!/already exists/i.test(err.message)) throw err;
        });
    }
    const described = await admin.describeConfigs({
      resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: ['cleanup.policy'] }],
      includeSynonyms: false,
    });
    const policy = described.resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue;
    if (policy !== undefined && !policy.split(',').includes('compact'))
      throw new VidflowError(
        'CONFIG_INVALID',
        `assignment topic \`${topic}\` has cleanup.policy=${policy}, expected a compacted topic ` +
          `(cleanup.policy=compact): ` +
          `otherwise assignments expire after retention.ms; use another topic, or alter this one ` +
          `(kafka-configs --alter --entity-type topics --entity-name ${topic} --add-config cleanup.policy=compact)`,
      );
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export interface CamerasOptions {
  assignmentsTopic: string;
  brokers: string;
  pipelineFile: string;
  logger: Logger;
  instanceId?: string;
  group?: string;
  sessionTimeoutMs?: number;
  partitions?: number;
  /** Retries of each Kafka request before giving up (kafkajs backoff from 200 ms, doubling). Default 8 (~50 s). */
  connectRetries?: number;
}

interface Running {
  partition: number;
  value: string;
  pipeline: BuiltPipeline;
  done: Promise<unknown>;
}

export async function runCameras(o: CamerasOptions): Promise<number> {
  const config = loadPipelineFile(o.pipelineFile);
  const log = o.logger;
  const instance = o.instanceId ?? defaultWorkerId();
  const group = o.group ?? `vidflow.${o.assignmentsTopic}`;
  const metrics = new Metrics();
  const ctx = (configPath: string) => ({
    pipeline: config.name,
    configPath,
    baseDir: config.baseDir,
    logger: log,
    metrics,
  });
  // The stages are built once before joining (a model that is missing or broken fails here, not when a camera
  // arrives) and stay open so that the models stay loaded; each camera gets its own stages.
  const warm: Stage[] = [];
  try {
    for (const c of config.stages) warm.push(await c.spec.create(c.config, ctx(c.path)));
  } catch (err) {
    await Promise.allSettled(warm.map((s) => s.close()));
    throw err;
  }
  // Sinks are opened once and shared by every camera of this instance; records carry `instance`.
  const sinks: Sink[] = [];
  for (const c of config.sinks) sinks.push(await c.spec.create(c.config, { ...ctx(c.path), mode: 'live' }));
  const shared = sinks.map(
    (inner): Sink => ({
      id: inner.id,
      write: (r) => inner.write({ ...r, instance }),
      flush: () => inner.flush(),
      close: () => inner.flush(),
      health: () => inner.health(),
    }),
  );

  const retries = o.connectRetries ?? DEFAULT_KAFKA_RETRIES;
  const kafka = kafkaClient(o.brokers, `vidflow-cameras-${instance}`, { retries });

  const running = new Map<string, Running>();
  let owned = new Set<number>();
  const stopCamera = async (id: string, why: string) => {
    const r = running.get(id);
    if (!r) return;
    running.delete(id);
    r.pipeline.stop(why);
    await r.done;
    log.info({ camera: id, partition: r.partition }, `Camera ${id} stopped on ${instance} (${why}).`);
  };
  const startCamera = async (id: string, partition: number, value: string) => {
    const cur = running.get(id);
    if (cur && cur.value === value) return;
    if (cur) await stopCamera(id, 'assignment changed');
    let cam: ReturnType<typeof cameraSourceSchema.parse>;
    try {
      cam = cameraSourceSchema.parse({ ...(JSON.parse(value) as object), type: 'camera', id });
    } catch (err) {
      log.error({ camera: id }, `Camera ${id}: invalid assignment (${(err as Error).message}); ignored.`);
      return;
    }
    const path = `${o.assignmentsTopic}[${id}]`;
    const source = await cameraSourceSpec.create(cam, ctx(path));
    const stages = [];
    for (const c of config.stages) stages.push(await c.spec.create(c.config, ctx(c.path)));
    applyAutoDecodeSizes([source], stages, [path], log);
    const pipeline = assemble(
      {
        name: config.name,
        sources: [{ spec: cameraSourceSpec, config: { type: 'camera', id, max_in_flight: cam.max_in_flight }, path }],
        shutdown_timeout_ms: config.shutdown_timeout_ms,
        preview: config.preview,
      },
      [source as Source],
      stages,
      shared,
      { logger: log, metrics },
    );
    running.set(id, {
      partition,
      value,
      pipeline,
      done: pipeline
        .run()
        .catch((err) => log.error({ camera: id, err: (err as Error).message }, 'camera pipeline failed')),
    });
    log.info({ camera: id, partition }, `Camera ${id} started on ${instance} (partition ${partition}).`);
  };

  const sessionTimeout = o.sessionTimeoutMs ?? 10_000;
  const consumer: Consumer = kafka.consumer({
    groupId: group,
    sessionTimeout,
    heartbeatInterval: Math.max(300, Math.floor(sessionTimeout / 5)),
    rebalanceTimeout: 30_000,
    maxWaitTimeInMs: 500,
  });
  let chain: Promise<void> = Promise.resolve();
  const serial = (fn: () => Promise<void>) =>
    (chain = chain.then(fn).catch((err) => log.error({ err: (err as Error).message }, 'camera change failed')));
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const assigned =
      (e.payload as { memberAssignment: Record<string, number[]> }).memberAssignment[o.assignmentsTopic] ?? [];
    owned = new Set(assigned);
    log.info(`Instance ${instance} joined group ${group}: partitions ${JSON.stringify(assigned)}.`);
    void serial(async () => {
      for (const [id, r] of [...running])
        if (!owned.has(r.partition)) await stopCamera(id, `partition ${r.partition} revoked`);
    });
  });
  let stopping = false;
  let exitCode = 0;
  let stopRequested!: () => void;
  const stopped = new Promise<void>((r) => (stopRequested = r));
  const stop = () => {
    if (stopping) return;
    stopping = true;
    stopRequested();
  };
  // Installed before connecting: a signal during start-up (e.g. while the brokers are retried) is a clean stop.
  installShutdown(
    {
      stop,
      abort: (reason) => {
        for (const r of running.values()) r.pipeline.abort(reason);
      },
      write: (line) => process.stderr.write(`${line}\n`),
      exit: (code) => process.exit(code),
      interrupt: (sig) => dieBySignal(sig),
    },
    { timeoutMs: config.shutdown_timeout_ms },
  );
  let crashed: Error | null = null;
  consumer.on(consumer.events.CRASH, (e) => {
    const p = e.payload as { error: Error; restart?: boolean };
    if (p.restart) {
      log.warn({ err: p.error.message }, `Kafka consumer error (${p.error.message}); kafkajs restarts the consumer.`);
      return;
    }
    crashed = p.error;
    exitCode = 1;
    stop();
  });

  const start = async () => {
    await ensureAssignmentTopic(kafka, o.assignmentsTopic, o.partitions ?? 6);
    await consumer.connect();
    await consumer.subscribe({ topic: o.assignmentsTopic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (stopping || !owned.has(partition)) return;
        const id = message.key?.toString();
        if (!id) return;
        const value = message.value === null ? null : message.value.toString();
        await serial(() => (value === null ? stopCamera(id, 'assignment removed') : startCamera(id, partition, value)));
      },
    });
  };
  let startError: unknown = null;
  await Promise.race([
    start().catch((err: unknown) => {
      startError = kafkaStartError(err, 'cameras', o.brokers, retries);
    }),
    stopped,
  ]);
  if (startError !== null || stopping) {
    await consumer.disconnect().catch(() => undefined);
    await Promise.allSettled([...sinks, ...warm].map((s) => s.close()));
    if (startError !== null) throw startError;
    log.info(`Cameras instance ${instance} stopped before it started.`);
    return 0;
  }
  log.info(
    `Cameras instance ${instance} running: assignments ${o.assignmentsTopic}, group ${group}, pipeline ` +
      `\`${config.name}\`.`,
  );
  await stopped;
  await consumer.disconnect().catch(() => undefined);
  await chain;
  await Promise.allSettled([...running.keys()].map((id) => stopCamera(id, 'instance stopping')));
  await Promise.allSettled([...sinks, ...warm].map((s) => s.close()));
  if (crashed)
    process.stderr.write(`error[KAFKA_CONNECT]: cameras: Kafka consumer stopped: ${(crashed as Error).message}\n`);
  log.info(`Cameras instance ${instance} left group ${group}.`);
  return exitCode;
}

/** `vidflow assign <topic> <camera-config.yaml|json>`: one message per camera (key = id); `--remove ID` sends a
 * tombstone. */
export async function publishAssignments(o: {
  topic: string;
  brokers: string;
  cameras: Array<{ id: string; value: string | null }>;
}): Promise<void> {
  const kafka = kafkaClient(o.brokers, 'vidflow-assign');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await ensureAssignmentTopic(kafka, o.topic, 6);
  await producer.connect();
  try {
    await producer.send({ topic: o.topic, acks: -1, messages: o.cameras.map((c) => ({ key: c.id, value: c.value })) });
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}
