/**
 * A real single-node Apache Kafka broker for integration tests.
 *
 * - Jars: resolved once from Maven Central by `mvn dependency:copy-dependencies` on
 *   test/support/kafka/pom.xml into `.cache/kafka/<version>/libs` (gitignored). The Maven log
 *   goes to `.cache/kafka/<version>/mvn.log`.
 * - Broker: KRaft, combined broker+controller (`process.roles=broker,controller`), storage
 *   formatted with `kafka.tools.StorageTool format` in a fresh temp folder, started with
 *   `java -cp '<libs>/*' kafka.Kafka server.properties`, listening on 127.0.0.1 only, on free ports.
 * - `stop()`/`kill()` then `start()` reuse the SAME ports and log dir (outage tests);
 *   `pause()`/`resume()` freeze the JVM (SIGSTOP/SIGCONT).
 * - No leftovers: the JVM runs under a tiny `sh` watchdog that SIGKILLs it when this Node process
 *   goes away (its stdin pipe closes), `dispose()` kills the process group and deletes the temp
 *   folder, and an `exit` hook kills whatever is still running.
 *
 * Environment: VIDFLOW_KAFKA_VERSION (default 3.9.1), VIDFLOW_KAFKA_CACHE (default
 * <repo>/.cache/kafka), VIDFLOW_KAFKA_KEEP=1 keeps the temp folder (logs) after dispose.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { fileURLToPath } from 'node:url';

export const DEFAULT_KAFKA_VERSION = '3.9.1';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const POM = path.join(REPO_ROOT, 'test/support/kafka/pom.xml');

export interface KafkaBrokerOptions {
  /** Kafka version to resolve (default VIDFLOW_KAFKA_VERSION or 3.9.1). */
  version?: string;
  /** Start the broker right away (default true). With false, `brokers` is reserved and `start()` starts it. */
  start?: boolean;
  /** Partitions of auto-created topics (default 3). */
  numPartitions?: number;
  /** Max wait for "Kafka Server started" (default 90 s). */
  startTimeoutMs?: number;
  /** Extra server.properties lines. */
  properties?: Record<string, string | number | boolean>;
  /** JVM heap (default 512m). */
  heap?: string;
}

export interface KafkaBroker {
  /** `127.0.0.1:<port>` — stays the same across stop/start. */
  readonly brokers: string;
  readonly port: number;
  readonly dir: string;
  readonly running: boolean;
  /** Starts the JVM (after `start: false`, `stop()` or `kill()`); resolves once it serves requests. */
  start(): Promise<void>;
  /** Graceful shutdown (SIGTERM), SIGKILL after `timeoutMs` (default 15 s). */
  stop(timeoutMs?: number): Promise<void>;
  /** Crash: SIGKILL, no shutdown. */
  kill(): Promise<void>;
  /** stop() (or kill() with `{ hard: true }`) then start() on the same port and log dir. */
  restart(opts?: { hard?: boolean }): Promise<void>;
  /** Freezes / unfreezes the JVM (SIGSTOP / SIGCONT): connections hang instead of failing. */
  pause(): void;
  resume(): void;
  /** Kills the JVM and removes the temp folder. */
  dispose(): Promise<void>;
  /** Last lines of the broker's log. */
  logTail(lines?: number): string;
}

export interface KafkaTimings {
  resolveMs: number;
  formatMs: number;
  startMs: number[];
}

/** Time spent by the last `startKafkaBroker` (tests print it). */
export const kafkaTimings: KafkaTimings = { resolveMs: 0, formatMs: 0, startMs: [] };

// ---- jars ------------------------------------------------------------------------------------

function hasCommand(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns the folder holding Kafka's jars, resolving them with Maven on first use. Safe against
 * concurrent test processes (lock folder) and interrupted runs (jars land in a temp folder that is
 * renamed into place only when Maven succeeded).
 */
export async function ensureKafkaLibs(
  version = process.env.VIDFLOW_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION,
): Promise<string> {
  const cacheRoot = process.env.VIDFLOW_KAFKA_CACHE ?? path.join(REPO_ROOT, '.cache/kafka');
  const base = path.join(cacheRoot, version);
  const libs = path.join(base, 'libs');
  const marker = path.join(libs, '.complete');
  if (fs.existsSync(marker)) return libs;

  fs.mkdirSync(base, { recursive: true });
  const lock = path.join(base, '.lock');
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      if (fs.existsSync(marker)) return libs;
      const owner = Number(tail(path.join(lock, 'pid'), 1).trim());
      if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`kafka-broker: timed out waiting for ${lock} (another process resolving Kafka ${version}?)`);
      await sleep(250);
    }
  }
  try {
    if (fs.existsSync(marker)) return libs;
    if (!hasCommand('mvn', ['-v'])) {
      throw new Error(
        `kafka-broker: Maven (mvn) is not on PATH; it is needed once to resolve Kafka ${version}'s jars ` +
          `into ${libs}. ` +
          `Install Maven 3.6+ (apt-get install maven), or put the jars of a Kafka ${version} distribution (its libs/ ` +
          `folder) there and create ${marker}.`,
      );
    }
    const tmp = `${libs}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    const log = path.join(base, 'mvn.log');
    const t0 = performance.now();
    const args = [
      '-B',
      '-q',
      '-f',
      POM,
      'dependency:copy-dependencies',
      `-Dkafka.version=${version}`,
      `-DoutputDirectory=${tmp}`,
    ];
    const out = fs.openSync(log, 'w');
    fs.writeSync(out, `$ mvn ${args.join(' ')}\n`);
    const child = spawn('mvn', args, { stdio: ['ignore', out, out], cwd: path.dirname(POM) });
    fs.closeSync(out);
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw new Error(
        `kafka-broker: resolving Kafka ${version} with Maven failed (exit ${code}); see ${log}:\n${tail(log, 30)}`,
      );
    }
    const jars = fs.readdirSync(tmp).filter((f) => f.endsWith('.jar'));
    if (!jars.some((f) => f.startsWith('kafka_2.13-')))
      throw new Error(`kafka-broker: Maven produced no kafka_2.13 jar in ${tmp}; see ${log}`);
    fs.rmSync(libs, { recursive: true, force: true });
    fs.renameSync(tmp, libs);
    fs.writeFileSync(
      marker,
      `${jars.length} jars, resolved ${new Date().toISOString()} in ${Math.round(performance.now() - t0)} ms\n`,
    );
    kafkaTimings.resolveMs = performance.now() - t0;
    return libs;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

// ---- ports, config ---------------------------------------------------------------------------

/**
 * A KRaft cluster id: 16 random bytes, base64url without padding (Kafka's Uuid format). One in 64
 * starts with '-', which kafka-storage's argument parser takes for an option ("argument
 * --cluster-id/-t: expected one argument"); those are drawn again.
 */
export function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}

// ---- broker ----------------------------------------------------------------------------------

const TMP_PREFIX = 'vidflow-kafka-';

/** Removes temp folders of test processes that died without dispose() (their JVM died with them). */
function sweepStaleDirs(): void {
  let names: string[] = [];
  try {
    names = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(TMP_PREFIX));
  } catch {
    return;
  }
  for (const n of names) {
    const d = path.join(os.tmpdir(), n);
    const owner = Number(tail(path.join(d, 'owner.pid'), 1).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && !pidAlive(owner))
      fs.rmSync(d, { recursive: true, force: true });
  }
}

const live = new Set<ChildProcess>();
let exitHook = false;
function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}
function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const c of live) killGroup(c);
  });
}

/**
 * The JVM runs under this watchdog: it prints the JVM pid, then waits; when our end of its stdin
 * closes (this Node process exited or was killed), it SIGKILLs the JVM.
 */
const WATCHDOG = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- &',
  'j=$!',
  'echo "vidflow-kafka-jvm-pid=$j"',
  '( cat <&3 >/dev/null; kill -9 $j 2>/dev/null ) &',
  'w=$!',
  'exec 3<&-',
  'wait $j; rc=$?',
  'kill $w 2>/dev/null',
  'exit $rc',
].join('\n');

export async function startKafkaBroker(opts: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const version = opts.version ?? process.env.VIDFLOW_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
  if (!hasCommand('java', ['-version'])) throw new Error('kafka-broker: `java` (17+) is not on PATH');
  const r0 = performance.now();
  const libs = await ensureKafkaLibs(version);
  if (kafkaTimings.resolveMs === 0) kafkaTimings.resolveMs = performance.now() - r0;
  installExitHook();

  sweepStaleDirs();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX));
  fs.writeFileSync(path.join(dir, 'owner.pid'), String(process.pid));
  const dataDir = path.join(dir, 'data');
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const brokers = `127.0.0.1:${port}`;

  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': dataDir,
    'num.partitions': opts.numPartitions ?? 3,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'auto.create.topics.enable': true,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'group.initial.rebalance.delay.ms': 0,
    'num.network.threads': 2,
    'num.io.threads': 2,
    'num.recovery.threads.per.data.dir': 1,
    'log.segment.bytes': 16 * 1024 * 1024,
    'controlled.shutdown.enable': true,
    // Fast restart: short session/heartbeat timers of the single KRaft node.
    'broker.heartbeat.interval.ms': 500,
    'broker.session.timeout.ms': 3000,
    'controller.quorum.election.timeout.ms': 500,
    'controller.quorum.fetch.timeout.ms': 1000,
    ...(opts.properties ?? {}),
  };
  const propsFile = path.join(dir, 'server.properties');
  fs.writeFileSync(
    propsFile,
    `${Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  const logFile = path.join(dir, 'server.log');
  fs.writeFileSync(
    path.join(dir, 'log4j.properties'),
    [
      'log4j.rootLogger=INFO, file',
      'log4j.appender.file=org.apache.log4j.FileAppender',
      `log4j.appender.file.File=${logFile}`,
      'log4j.appender.file.Append=true',
      'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka=INFO',
      'log4j.logger.org.apache.kafka=INFO',
      'log4j.logger.state.change.logger=WARN',
      'log4j.logger.kafka.request.logger=WARN',
      '',
    ].join('\n'),
  );
  const jvm = [
    `-Xmx${opts.heap ?? '512m'}`,
    '-Xms128m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1', // C1 only: faster startup, plenty for a test broker
    '-Xshare:auto',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${path.join(dir, 'log4j.properties')}`,
    `-Dkafka.logs.dir=${dir}`,
    '-cp',
    `${libs}/*`,
  ];

  // Format the storage once; restarts reuse it.
  const f0 = performance.now();
  const fmt = spawnSync(
    'java',
    [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', propsFile, '--ignore-formatted'],
    {
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  if (fmt.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `kafka-broker: formatting the KRaft storage failed (exit ${fmt.status}): ` +
        `${fmt.error?.message ?? ''}\n${fmt.stdout}\n${fmt.stderr}`,
    );
  }
  kafkaTimings.formatMs = performance.now() - f0;
  kafkaTimings.startMs = [];

  let child: ChildProcess | null = null;
  let jvmPid = 0;
  let exited: Promise<void> = Promise.resolve();
  let disposed = false;
  const startTimeoutMs = opts.startTimeoutMs ?? 90_000;
  const stdoutFile = path.join(dir, 'stdout.log');

  async function start(): Promise<void> {
    if (disposed) throw new Error('kafka-broker: disposed');
    if (child) return;
    const t0 = performance.now();
    const logStart = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
    const out = fs.openSync(stdoutFile, 'a');
    const c = spawn('sh', ['-c', WATCHDOG, 'kafka-watchdog', 'java', ...jvm, 'kafka.Kafka', propsFile], {
      stdio: ['pipe', 'pipe', out],
      detached: true, // own process group: kill(-pid) reaches sh, java and the watchdog
    });
    fs.closeSync(out);
    child = c;
    live.add(c);
    c.stdout!.setEncoding('utf8');
    let buf = '';
    const pidKnown = new Promise<number>((resolve) => {
      c.stdout!.on('data', (d: string) => {
        fs.appendFileSync(stdoutFile, d);
        if (jvmPid === 0) {
          buf += d;
          const m = /vidflow-kafka-jvm-pid=(\d+)/.exec(buf);
          if (m) {
            jvmPid = Number(m[1]);
            resolve(jvmPid);
          }
        }
      });
    });
    exited = new Promise<void>((resolve) => {
      c.once('exit', () => {
        live.delete(c);
        if (child === c) {
          child = null;
          jvmPid = 0;
        }
        resolve();
      });
    });
    await Promise.race([pidKnown, exited]);

    // Ready = the server logged "Kafka Server started" and the port accepts connections.
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (child !== c)
        throw new Error(
          `kafka-broker: the JVM exited during startup; log tail:\n${logTailFn(40)}\n${tail(stdoutFile, 20)}`,
        );
      let text = '';
      try {
        const fd = fs.openSync(logFile, 'r');
        const size = fs.fstatSync(fd).size;
        const b = Buffer.alloc(Math.max(0, size - logStart));
        fs.readSync(fd, b, 0, b.length, logStart);
        fs.closeSync(fd);
        text = b.toString('utf8');
      } catch {
        /* not yet created */
      }
      if (/Kafka Server started/.test(text) && (await canConnect(port))) break;
      if (Date.now() > deadline) {
        killGroup(c);
        throw new Error(`kafka-broker: not ready after ${startTimeoutMs} ms; log tail:\n${logTailFn(40)}`);
      }
      await sleep(100);
    }
    kafkaTimings.startMs.push(performance.now() - t0);
    // From here on a forgotten dispose() must not keep the test process alive.
    c.unref();
    (c.stdout as unknown as { unref?: () => void }).unref?.();
    (c.stdin as unknown as { unref?: () => void }).unref?.();
  }

  async function stop(timeoutMs = 15_000): Promise<void> {
    const c = child;
    if (!c) return;
    c.ref();
    if (jvmPid) {
      try {
        process.kill(jvmPid, 'SIGCONT');
        process.kill(jvmPid, 'SIGTERM');
      } catch {
        /* gone */
      }
    } else killGroup(c, 'SIGTERM');
    const timer = setTimeout(() => killGroup(c), timeoutMs);
    await exited;
    clearTimeout(timer);
    killGroup(c); // the watchdog `cat`, should it linger
  }

  async function kill(): Promise<void> {
    const c = child;
    if (!c) return;
    const pid = jvmPid;
    c.ref();
    killGroup(c);
    await exited;
    // The JVM is in the group too, but make sure it is gone before a restart reuses the port.
    for (let i = 0; pid && pidAlive(pid) && i < 100; i++) await sleep(50);
  }

  function signalJvm(sig: NodeJS.Signals): void {
    if (!jvmPid) throw new Error('kafka-broker: not running');
    process.kill(jvmPid, sig);
  }

  function logTailFn(lines = 40): string {
    return tail(logFile, lines);
  }

  const broker: KafkaBroker = {
    brokers,
    port,
    dir,
    get running() {
      return child !== null;
    },
    start,
    stop,
    kill,
    async restart(o = {}) {
      if (o.hard) await kill();
      else await stop();
      await start();
    },
    pause: () => signalJvm('SIGSTOP'),
    resume: () => signalJvm('SIGCONT'),
    async dispose() {
      if (disposed) return;
      disposed = true;
      await kill();
      if (process.env.VIDFLOW_KAFKA_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
    },
    logTail: logTailFn,
  };

  if (opts.start !== false) {
    try {
      await start();
    } catch (err) {
      await broker.dispose();
      throw err;
    }
  }
  return broker;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

// `node --import tsx test/support/kafka-broker.ts --resolve` pre-resolves the jars (CI cache step);
// `... --run` starts a broker and keeps it up until Ctrl-C (manual experiments).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const t0 = performance.now();
  if (process.argv.includes('--run')) {
    const b = await startKafkaBroker();
    console.log(`kafka ${b.brokers} up in ${Math.round(performance.now() - t0)} ms (dir ${b.dir}); Ctrl-C stops it`);
    process.on('SIGINT', () => void b.dispose().then(() => process.exit(0)));
    setInterval(() => undefined, 1 << 30);
  } else {
    const libs = await ensureKafkaLibs();
    console.log(`kafka jars in ${libs} (${Math.round(performance.now() - t0)} ms)`);
  }
}
