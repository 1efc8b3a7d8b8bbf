/**
 * `vidflow cameras --assignments <topic> --brokers <b> --pipeline <file>`: live cameras over a Kafka
 * consumer group (docs/scaling.md, "Live cameras"). The assignment topic is compacted and
 * partitioned; one message per camera (key = camera id, value = JSON of a `camera` source entry,
 * tombstone = remove). Each instance runs the cameras of the partitions it owns, each camera as its
 * own pipeline (the pipeline file's stages, and its sinks shared by all cameras of the instance).
 * Offsets are never committed: every owned partition is read from the beginning (the compacted
 * state), the latest value per key wins. On each group join, cameras of partitions no longer owned
 * are stopped; cameras whose config is unchanged keep running.
 */
import type { Consumer } from 'kafkajs';
import type { Source } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { loadPipelineFile } from '../config/load.js';
import { assemble, type BuiltPipeline } from '../runtime/run.js';
import { dieBySignal, installShutdown } from '../runtime/shutdown.js';
import type { Sink } from '../sinks/sink.js';
import { cameraSourceSchema, cameraSourceSpec } from '../sources/camera-source.js';
import type { Kafka } from 'kafkajs';
import { defaultWorkerId, kafkaClient } from './jobs.js';

/** Creates the compacted assignment topic when missing. */
export async function ensureAssignmentTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
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
  await admin.disconnect();
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

  const kafka = kafkaClient(o.brokers, `vidflow-cameras-${instance}`);
  await ensureAssignmentTopic(kafka, o.assignmentsTopic, o.partitions ?? 6);

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
  let stopRequested!: () => void;
  const stopped = new Promise<void>((r) => (stopRequested = r));
  installShutdown(
    {
      stop: () => {
        if (stopping) return;
        stopping = true;
        stopRequested();
      },
      abort: (reason) => {
        for (const r of running.values()) r.pipeline.abort(reason);
      },
      write: (line) => process.stderr.write(`${line}\n`),
      exit: (code) => process.exit(code),
      interrupt: (sig) => dieBySignal(sig),
    },
    { timeoutMs: config.shutdown_timeout_ms },
  );

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
  log.info(
    `Cameras instance ${instance} running: assignments ${o.assignmentsTopic}, group ${group}, pipeline ` +
      `\`${config.name}\`.`,
  );
  await stopped;
  await consumer.disconnect().catch(() => undefined);
  await chain;
  await Promise.allSettled([...running.keys()].map((id) => stopCamera(id, 'instance stopping')));
  await Promise.allSettled(sinks.map((s) => s.close()));
  log.info(`Cameras instance ${instance} left group ${group}.`);
  return 0;
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
