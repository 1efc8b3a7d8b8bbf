/**
 * `vidflow submit` + `vidflow worker` (docs/scaling.md) against a REAL Kafka broker: worker
 * processes spawned through the CLI share a jobs topic in one consumer group. One worker is
 * SIGKILLed mid-job (on its first progress event): every job still completes and every frame's
 * result is in the results topic (deduplicated by key; duplicates only for jobs started more than
 * once). Poison jobs end with a `failed` event and are committed; SIGTERM abandons the current
 * job without committing it. VIDFLOW_SKIP_KAFKA=1 skips it.
 */
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { ffmpegBinaries } from '../../src/sources/ffmpeg/binaries.js';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker.js';
import { sharedMedia } from '../support/media.js';
import { runCli, type CliResult } from '../support/pipeline.js';
import { waitFor, waitForLine } from '../support/wait.js';

const skip = process.env.VIDFLOW_SKIP_KAFKA === '1' ? 'VIDFLOW_SKIP_KAFKA=1' : false;
const CLIPS = 12;
const CLIP_SECS = 12;
const FPS = 8;

interface JobEvent {
  event: 'started' | 'progress' | 'completed' | 'failed' | 'abandoned';
  attempt?: number;
  max_attempts?: number;
  attempts?: number;
  job_id: string | null;
  worker: string;
  partition: number;
  offset: string;
  frames?: number;
  records?: number;
  error?: string;
}

let broker: KafkaBroker | null = null;
let kafka: Kafka;
let dir: string;
const clips: string[] = [];

before(async () => {
  if (skip) return;
  dir = mkdtempSync(path.join(tmpdir(), 'vidflow-scale-'));
  // 12 short clips (320x180, 12 s each) cut from a real video, made here (nothing copied into the repo).
  const src = sharedMedia('videos/people-one-by-one.mp4');
  const ffmpeg = ffmpegBinaries().ffmpeg.path;
  for (let i = 0; i < CLIPS; i++) {
    const out = path.join(dir, 'clips', `clip${String(i).padStart(2, '0')}.mp4`);
    mkdirSync(path.dirname(out), { recursive: true });
    execFileSync(ffmpeg, [
      '-loglevel',
      'error',
      '-y',
      '-ss',
      String(i * 10),
      '-t',
      String(CLIP_SECS),
      '-i',
      src,
      '-vf',
      'scale=320:180',
      '-an',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      out,
    ]);
    clips.push(out);
  }
  broker = await startKafkaBroker();
  kafka = new Kafka({ brokers: [broker.brokers], clientId: 'scale-test', logLevel: logLevel.NOTHING });
});
after(async () => {
  await broker?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function pipelineFile(
  name: string,
  resultsTopic: string,
  sink = `brokers: "${broker!.brokers}", topic: ${resultsTopic}, linger_ms: 5`,
): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      'sources:',
      `  - { type: file, id: video, path: ${clips[0]}, fps: ${FPS} }`,
      'stages:',
      '  - { type: classify, id: cls, model: mobilenetv2-12-int8, top_k: 3 }',
      'sinks:',
      `  - { type: kafka, ${sink} }`,
      '',
    ].join('\n'),
  );
  return file;
}

interface Worker {
  id: string;
  proc: ChildProcess;
  done: Promise<CliResult>;
  running: Promise<string>;
}

function startWorker(id: string, jobs: string, pipeline: string, extra: string[] = []): Worker {
  let proc!: ChildProcess;
  let running!: Promise<string>;
  const done = runCli(
    [
      'worker',
      '--jobs',
      jobs,
      '--brokers',
      broker!.brokers,
      '--pipeline',
      pipeline,
      '--worker-id',
      id,
      '--session-timeout-ms',
      '6000',
      ...extra,
    ],
    {
      env: { VIDFLOW_LOG_LEVEL: 'info' },
      onSpawn: (p) => {
        proc = p;
        running = waitForLine(p.stderr!, /Worker \S+ running/);
      },
    },
  );
  return { id, proc, done, running };
}

/** Every event on `<jobs>.events` from the beginning, as they arrive. */
async function watchEvents(jobs: string): Promise<{ events: JobEvent[]; consumer: Consumer }> {
  const events: JobEvent[] = [];
  const consumer = kafka.consumer({ groupId: `watch-${jobs}-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  const admin = kafka.admin();
  await admin.connect();
  await waitFor(async () => (await admin.listTopics()).includes(`${jobs}.events`), `topic ${jobs}.events`);
  await admin.disconnect();
  await consumer.subscribe({ topic: `${jobs}.events`, fromBeginning: true });
  void consumer.run({
    eachMessage: async ({ message }) => void events.push(JSON.parse(message.value!.toString()) as JobEvent),
  });
  return { events, consumer };
}

async function readAll(
  topic: string,
  until: (msgs: Array<{ key: string; value: Record<string, unknown> }>) => boolean,
): Promise<Array<{ key: string; value: Record<string, unknown> }>> {
  const msgs: Array<{ key: string; value: Record<string, unknown> }> = [];
  const consumer = kafka.consumer({ groupId: `read-${topic}-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  void consumer.run({
    eachMessage: async ({ message }) =>
      void msgs.push({
        key: message.key!.toString(),
        value: JSON.parse(message.value!.toString()) as Record<string, unknown>,
      }),
  });
  try {
    await waitFor(() => until(msgs), `the expected records on ${topic} (${msgs.length} so far)`);
  } finally {
    await consumer.disconnect();
  }
  return msgs;
}

async function committed(group: string, topic: string): Promise<Map<number, number>> {
  return new Map([...(await committedWithMetadata(group, topic))].map(([p, c]) => [p, c.offset]));
}

/** Committed offset and its metadata (the worker's attempt record, src/scale/attempts.ts) per partition. */
async function committedWithMetadata(
  group: string,
  topic: string,
): Promise<Map<number, { offset: number; metadata: string | null }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map(t!.partitions.map((p) => [p.partition, { offset: Number(p.offset), metadata: p.metadata }]));
  } finally {
    await admin.disconnect();
  }
}

describe('jobs over a Kafka consumer group', { skip, timeout: 10 * 60_000 }, () => {
  it(
    '3 workers, 12 jobs, one worker SIGKILLed mid-job: every job completes, every frame result is ' + 'there',
    async (t) => {
      const t0 = Date.now();
      const jobs = 'jobs.kill';
      const results = 'results.kill';
      const pipeline = pipelineFile('scale-kill', results);
      const workers = ['w1', 'w2', 'w3'].map((id) => startWorker(id, jobs, pipeline));
      try {
        await Promise.all(workers.map((w) => w.running));
        // The group settles with all three members before the jobs arrive (2 partitions each).
        const admin = kafka.admin();
        await admin.connect();
        await waitFor(async () => {
          const g = (await admin.describeGroups([`vidflow.${jobs}`])).groups[0]!;
          return g.state === 'Stable' && g.members.length === 3;
        }, 'a stable group of 3 workers');
        await admin.createTopics({ topics: [{ topic: results, numPartitions: 3 }], waitForLeaders: true });
        await admin.disconnect();
        const { events, consumer } = await watchEvents(jobs);
        // Results as they arrive (the kill waits for one of the victim's job to be in Kafka).
        const live: Array<{ key: string; value: Record<string, unknown> }> = [];
        const resultsConsumer = kafka.consumer({ groupId: `live-${results}`, maxWaitTimeInMs: 100 });
        await resultsConsumer.connect();
        await resultsConsumer.subscribe({ topic: results, fromBeginning: true });
        void resultsConsumer.run({
          eachMessage: async ({ message }) =>
            void live.push({
              key: message.key!.toString(),
              value: JSON.parse(message.value!.toString()) as Record<string, unknown>,
            }),
        });

        const sub = await runCli(['submit', '--jobs', jobs, '--brokers', broker!.brokers, path.join(dir, 'clips')]);
        assert.equal(sub.code, 0, sub.stderr);
        const submitted = sub.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(' ')[0]!);
        assert.equal(submitted.length, CLIPS);

        // Kill the worker that reports progress first, mid-job, once a result of that job is in Kafka
        // (so the redone job duplicates it: the dedupe key is what tells them apart).
        const first = await waitFor(() => events.find((e) => e.event === 'progress'), 'a first progress event');
        await waitFor(
          () => live.some((m) => m.value.job_id === first.job_id),
          `a result of job ${first.job_id} in Kafka`,
        );
        const victim = workers.find((w) => w.id === first.worker)!;
        victim.proc.kill('SIGKILL');
        const killed = await victim.done;
        assert.equal(killed.signal, 'SIGKILL');

        const completed = () => new Set(events.filter((e) => e.event === 'completed').map((e) => e.job_id));
        await waitFor(() => submitted.every((id) => completed().has(id)), 'a completed event for every job');
        await consumer.disconnect();

        const ev = (id: string, kind: JobEvent['event']) => events.filter((e) => e.job_id === id && e.event === kind);
        // The killed job: started by the victim, never completed by it, redone by another worker.
        assert.equal(
          ev(first.job_id!, 'completed').filter((e) => e.worker === victim.id).length,
          0,
          'the victim was killed before it completed its job',
        );
        assert.ok(
          ev(first.job_id!, 'started').some((e) => e.worker !== victim.id),
          'another worker redid the killed job',
        );
        assert.ok(
          events.every((e) => e.event !== 'failed'),
          JSON.stringify(events.filter((e) => e.event === 'failed')),
        );
        // Attempts with several workers: each job's runs are numbered 1, 2, … in order (a job's events share a
        // partition of the events topic), whoever ran them; the killed run is followed by the next number.
        for (const id of submitted)
          assert.deepEqual(
            ev(id, 'started').map((e) => e.attempt),
            ev(id, 'started').map((_, i) => i + 1),
            `attempts of job ${id}`,
          );
        const runs = ev(first.job_id!, 'started');
        const killedRun = runs.findLastIndex((e) => e.worker === victim.id);
        assert.ok(killedRun >= 0 && runs[killedRun + 1] !== undefined, 'a run after the killed one');
        assert.notEqual(runs[killedRun + 1]!.worker, victim.id);

        // Every frame of every job: frames 0..n-1 of stage cls, keyed job/stream/frame/stage.
        const frames = new Map(submitted.map((id) => [id, ev(id, 'completed').at(-1)!.frames!]));
        for (const n of frames.values())
          assert.ok(
            n >= CLIP_SECS * FPS - 2 && n <= CLIP_SECS * FPS + 2,
            `frames per job: ${[...frames.values()].join(',')}`,
          );
        const expected = new Set(
          submitted.flatMap((id) => [...Array(frames.get(id)!).keys()].map((i) => `${id}/video/${i}/cls`)),
        );
        await waitFor(() => new Set(live.map((x) => x.key)).size >= expected.size, `every expected key on ${results}`);
        await resultsConsumer.disconnect();
        const msgs = live;
        const counts = new Map<string, number>();
        for (const m of msgs) {
          const v = m.value;
          assert.equal(
            m.key,
            `${String(v.job_id)}/${String(v.stream_id)}/${String(v.frame_index)}/${String(v.stage_id)}`,
            'key = job/stream/frame/stage',
          );
          assert.equal(v.task, 'classification');
          counts.set(m.key, (counts.get(m.key) ?? 0) + 1);
        }
        assert.deepEqual(
          [...expected].filter((k) => !counts.has(k)),
          [],
          'no frame result missing',
        );
        assert.equal(counts.size, expected.size, 'no unexpected keys');
        // Duplicates only for jobs that were started more than once (the killed one, or one caught in a rebalance).
        const dupJobs = new Set([...counts].filter(([, n]) => n > 1).map(([k]) => k.split('/')[0]!));
        for (const id of dupJobs)
          assert.ok(ev(id, 'started').length > 1, `job ${id} has duplicates but was started once`);
        assert.ok(
          dupJobs.has(first.job_id!),
          'the killed job delivered results before the kill, and again when redone',
        );
        for (const id of submitted) if (ev(id, 'started').length === 1) assert.equal(ev(id, 'completed').length, 1);
        t.diagnostic(
          `killed ${victim.id} in job ${first.job_id} after ${first.records} record(s); redone by ${ev(
            first.job_id!,
            'completed',
          )
            .map((e) => e.worker)
            .join(',')}; ${msgs.length} messages for ${expected.size} keys; jobs with duplicates: ` +
            `${[...dupJobs].join(',') || 'none'}; ${Date.now() - t0} ms`,
        );

        // Every job offset is committed: 12 jobs over 6 partitions, 2 each.
        const offs = await committed(`vidflow.${jobs}`, jobs);
        assert.equal(
          [...offs.values()].reduce((a, b) => a + b, 0),
          CLIPS,
          JSON.stringify([...offs]),
        );

        // SIGTERM: the survivors leave the group and exit 0.
        for (const w of workers) if (w !== victim) w.proc.kill('SIGTERM');
        for (const w of workers.filter((x) => x !== victim)) {
          const r = await w.done;
          assert.equal(r.code, 0, r.stderr.slice(-3000));
          assert.match(r.stderr + r.stdout, /left group/);
        }
      } finally {
        for (const w of workers) w.proc.kill('SIGKILL');
      }
    },
  );

  it(
    'poison jobs (bad JSON, missing fields, bad URI, missing or corrupt file) fail once and are committed; good jobs ' +
      'after them run',
    async () => {
      const jobs = 'jobs.poison';
      const results = 'results.poison';
      const corrupt = path.join(dir, 'corrupt.mp4');
      writeFileSync(corrupt, Buffer.alloc(50_000, 7));
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: jobs, numPartitions: 1 }], waitForLeaders: true });
      await admin.disconnect();
      const producer = kafka.producer();
      await producer.connect();
      const values = [
        '{not json',
        JSON.stringify({ job_id: 'no-path' }),
        JSON.stringify({ job_id: 'bad-uri', uri: 'http://example.invalid/a.mp4' }),
        JSON.stringify({ job_id: 'missing-file', path: path.join(dir, 'nope.mp4') }),
        JSON.stringify({ job_id: 'corrupt-file', path: corrupt }),
        JSON.stringify({ job_id: 'good', path: clips[1], start: 2, end: 4 }),
      ];
      await producer.send({ topic: jobs, messages: values.map((value) => ({ value })) });
      await producer.disconnect();

      const w = startWorker('p1', jobs, pipelineFile('scale-poison', results));
      try {
        await w.running;
        const { events, consumer } = await watchEvents(jobs);
        await waitFor(
          () => events.some((e) => e.job_id === 'good' && e.event === 'completed'),
          'the good job completed',
        );
        await consumer.disconnect();
        // Events of different jobs sit on different partitions of the events topic: order them by job offset.
        const byOffset = (a: JobEvent, b: JobEvent) => Number(a.offset) - Number(b.offset);
        const failed = events.filter((e) => e.event === 'failed').sort(byOffset);
        assert.deepEqual(
          failed.map((e) => e.job_id),
          [null, 'no-path', 'bad-uri', 'missing-file', 'corrupt-file'],
        );
        assert.match(failed[0]!.error!, /not JSON/);
        assert.match(failed[1]!.error!, /exactly one of path or uri/);
        assert.match(failed[2]!.error!, /unsupported URI scheme http/);
        assert.match(failed[3]!.error!, /SOURCE_NOT_FOUND|does not exist|No such file/i);
        assert.ok(failed[4]!.error!.length > 0);
        const good = events.find((e) => e.job_id === 'good' && e.event === 'completed')!;
        assert.ok(good.frames! >= 2 * FPS - 1 && good.frames! <= 2 * FPS + 1, `frames of a 2 s job: ${good.frames}`);
        assert.deepEqual(
          [...(await committed(`vidflow.${jobs}`, jobs))],
          [[0, 6]],
          'every poison job committed, each exactly once',
        );
        // Jobs that parse get a `started` event (the three that do not parse fail before it), each once.
        assert.deepEqual(
          events
            .filter((e) => e.event === 'started')
            .sort(byOffset)
            .map((e) => e.job_id),
          ['missing-file', 'corrupt-file', 'good'],
          'no job retried',
        );
        const msgs = await readAll(results, (m) => m.length >= good.records!);
        assert.ok(msgs.every((m) => m.value.job_id === 'good'));
      } finally {
        w.proc.kill('SIGTERM');
        const r = await w.done;
        assert.equal(r.code, 0, r.stderr.slice(-3000));
      }
    },
  );

  it(
    'results the broker did not acknowledge: the job is not committed, the worker exits 1, the next worker redoes ' +
      'it',
    async () => {
      const jobs = 'jobs.undelivered';
      const results = 'results.undelivered';
      const port = await new Promise<number>((resolve) => {
        const srv = net.createServer().listen(0, '127.0.0.1', () => {
          const p = (srv.address() as net.AddressInfo).port;
          srv.close(() => resolve(p));
        });
      });
      // Results go to a broker that is not there; the sink gives up after flush_timeout_ms.
      const dead = pipelineFile(
        'scale-undelivered',
        results,
        `brokers: "127.0.0.1:${port}", topic: ${results}, flush_timeout_ms: 2000, connect_timeout_ms: 500, ` +
          `retry_max_ms: 500`,
      );
      const sub = await runCli([
        'submit',
        '--jobs',
        jobs,
        '--brokers',
        broker!.brokers,
        '--partitions',
        '1',
        '--start',
        '0',
        '--end',
        '3',
        clips[3]!,
      ]);
      assert.equal(sub.code, 0, sub.stderr);
      const jobId = sub.stdout.trim().split(' ')[0]!;
      const { events, consumer } = await watchEvents(jobs);
      try {
        const w1 = startWorker('u1', jobs, dead);
        const r1 = await w1.done;
        assert.equal(r1.code, 1, r1.stderr.slice(-3000));
        assert.match(r1.stderr, /results not delivered/);
        const abandoned = await waitFor(() => events.find((e) => e.event === 'abandoned'), 'the abandoned event');
        assert.equal(abandoned.job_id, jobId);
        assert.match(abandoned.error!, /undelivered/);
        const left = (await committedWithMetadata(`vidflow.${jobs}`, jobs)).get(0);
        assert.equal(left?.offset, 0, 'not committed past the job');
        assert.equal(left?.metadata ?? null, null, 'the attempt was given back (the job did not kill its worker)');

        const w2 = startWorker('u2', jobs, pipelineFile('scale-undelivered-ok', results));
        await waitFor(
          () => events.find((e) => e.event === 'completed' && e.job_id === jobId),
          'the job completed by u2',
        );
        w2.proc.kill('SIGTERM');
        assert.equal((await w2.done).code, 0);
        assert.equal((await committed(`vidflow.${jobs}`, jobs)).get(0), 1);
        const done = events.find((e) => e.event === 'completed')!;
        assert.equal(done.worker, 'u2');
        const msgs = await readAll(results, (m) => m.length >= done.records!);
        assert.equal(new Set(msgs.map((m) => m.key)).size, done.frames);
      } finally {
        await consumer.disconnect();
      }
    },
  );

  it('SIGTERM mid-job abandons the job without committing it; the next worker does it', async () => {
    const jobs = 'jobs.term';
    const results = 'results.term';
    const pipeline = pipelineFile('scale-term', results);
    const sub = await runCli(['submit', '--jobs', jobs, '--brokers', broker!.brokers, '--partitions', '1', clips[2]!]);
    assert.equal(sub.code, 0, sub.stderr);
    const jobId = sub.stdout.trim().split(' ')[0]!;
    const w1 = startWorker('t1', jobs, pipeline);
    const { events, consumer } = await watchEvents(jobs);
    try {
      await waitFor(() => events.find((e) => e.event === 'progress'), 'the first progress event');
      w1.proc.kill('SIGTERM');
      const r1 = await w1.done;
      assert.equal(r1.code, 0, r1.stderr.slice(-3000));
      await waitFor(() => events.find((e) => e.event === 'abandoned'), 'the abandoned event');
      assert.equal(events.filter((e) => e.event === 'completed').length, 0);
      const left = (await committedWithMetadata(`vidflow.${jobs}`, jobs)).get(0);
      assert.equal(left?.offset, 0, 'not committed past the job');
      assert.equal(left?.metadata ?? null, null, 'a clean stop gives its attempt back');

      const w2 = startWorker('t2', jobs, pipeline);
      await waitFor(
        () => events.find((e) => e.event === 'completed' && e.job_id === jobId && e.worker === 't2'),
        't2 completes the job',
      );
      assert.deepEqual(
        events.filter((e) => e.event === 'started').map((e) => [e.worker, e.attempt]),
        [
          ['t1', 1],
          ['t2', 1],
        ],
        'the abandoned run did not count as an attempt',
      );
      w2.proc.kill('SIGTERM');
      assert.equal((await w2.done).code, 0);
      assert.equal((await committed(`vidflow.${jobs}`, jobs)).get(0), 1);
    } finally {
      await consumer.disconnect();
      w1.proc.kill('SIGKILL');
    }
  });
  it(
    'a job that kills its worker every time is given up after --max-attempts runs (counted across worker ' +
      'restarts); the partition moves on',
    async (t) => {
      const t0 = Date.now();
      const jobs = 'jobs.crash';
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        topics: [
          { topic: jobs, numPartitions: 1 },
          { topic: `${jobs}.events`, numPartitions: 1 },
        ],
        waitForLeaders: true,
      });
      await admin.disconnect();
      const producer = kafka.producer();
      await producer.connect();
      // The whole video: a long job, so the test's SIGKILL always lands mid-job.
      await producer.send({
        topic: jobs,
        messages: [
          { value: JSON.stringify({ job_id: 'crash', path: sharedMedia('videos/people-one-by-one.mp4') }) },
          { value: JSON.stringify({ job_id: 'after', path: clips[4], start: 0, end: 2 }) },
        ],
      });
      await producer.disconnect();
      const { events, consumer } = await watchEvents(jobs);
      const pipeline = pipelineFile('scale-crash', 'results.crash');
      const group = `vidflow.${jobs}`;
      let last: Worker | null = null;
      try {
        // Each run of `crash` ends with its worker killed (as a decoder crash would), each time a fresh process.
        for (let n = 1; n <= 3; n++) {
          const w = startWorker(`c${n}`, jobs, pipeline, ['--max-attempts', '3']);
          last = w;
          const started = await waitFor(
            () => events.find((e) => e.event === 'started' && e.job_id === 'crash' && e.worker === w.id),
            `the started event of run ${n} (worker ${w.id})`,
          );
          assert.equal(started.attempt, n, 'the count survived the previous worker');
          assert.equal(started.max_attempts, 3);
          w.proc.kill('SIGKILL');
          assert.equal((await w.done).signal, 'SIGKILL');
          const c = (await committedWithMetadata(group, jobs)).get(0)!;
          assert.equal(c.offset, 0, 'the position did not move');
          assert.equal((JSON.parse(c.metadata!) as { attempts: number }).attempts, n, 'the count is in Kafka');
        }
        const w = startWorker('c4', jobs, pipeline, ['--max-attempts', '3']);
        last = w;
        await waitFor(
          () => events.some((e) => e.job_id === 'after' && e.event === 'completed'),
          'the next job of the partition completed',
        );
        const failed = events.filter((e) => e.job_id === 'crash' && e.event === 'failed');
        assert.equal(failed.length, 1, JSON.stringify(failed));
        assert.equal(failed[0]!.worker, 'c4');
        assert.equal(failed[0]!.attempts, 3);
        assert.match(failed[0]!.error!, /^gave up after 3 attempts; the worker running it died each time/);
        assert.match(failed[0]!.error!, /last attempt was by `c3`/);
        assert.deepEqual(
          events.filter((e) => e.job_id === 'crash' && e.event === 'started').map((e) => [e.worker, e.attempt]),
          [
            ['c1', 1],
            ['c2', 2],
            ['c3', 3],
          ],
          'three runs, none by the worker that gave up',
        );
        assert.ok(!events.some((e) => e.job_id === 'crash' && e.event === 'completed'));
        assert.equal(events.find((e) => e.job_id === 'after' && e.event === 'started')!.attempt, 1);
        const c = (await committedWithMetadata(group, jobs)).get(0)!;
        assert.deepEqual([c.offset, c.metadata || null], [2, null], 'both jobs committed, no attempt record left');
        w.proc.kill('SIGTERM');
        assert.equal((await w.done).code, 0);
        t.diagnostic(`3 runs killed, given up by c4, next job completed: ${Date.now() - t0} ms`);
      } finally {
        await consumer.disconnect();
        last?.proc.kill('SIGKILL');
      }
    },
  );
});
