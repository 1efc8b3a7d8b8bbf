/**
 * `vidflow doctor <pipeline.yaml>`: whether what a pipeline needs at run time is there, one line
 * per thing, without running it:
 * - every model a stage uses loads: the stage is created and closed, exactly as
 *   `validate --deep` does (so the ONNX session opens with the stage's execution providers and
 *   the model is checked against its manifest);
 * - every Kafka broker of a `kafka` sink accepts a TCP connection within `timeout_ms`.
 * Nothing is written, no topic is touched.
 */
import net from 'node:net';
import type { StageSpec } from '../core/component.js';
import { VidflowError } from '../core/errors.js';
import { redactUrl, type Logger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import type { PipelineConfig } from '../config/load.js';

export interface DoctorLine {
  ok: boolean;
  line: string;
}

/** Connects to host:port (IPv6 in brackets) and closes at once; resolves with null or why not. */
export function tcpReachable(address: string, timeout_ms: number): Promise<string | null> {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!m) return Promise.resolve(`not a host:port address`);
  const [, host, port] = m;
  return new Promise((resolve) => {
    const socket = net.connect({ host: host!, port: Number(port) });
    const done = (why: string | null) => {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(timeout_ms, () => done(`no answer within ${timeout_ms} ms`));
    socket.once('connect', () => done(null));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code ? `${e.code} (${e.message})` : e.message));
  });
}

function errorLine(err: unknown): string {
  const msg = err instanceof VidflowError ? err.toLine() : err instanceof Error ? err.message : String(err);
  return redactUrl(msg).replace(/\s*\n\s*/g, ' ');
}

export async function pipelineDoctor(
  config: PipelineConfig,
  opts: { logger: Logger; timeout_ms?: number },
): Promise<DoctorLine[]> {
  const timeout = opts.timeout_ms ?? 3000;
  const metrics = new Metrics();
  const models = config.stages
    .filter((c) => typeof (c.config as { model?: unknown }).model === 'string')
    .map(async (c): Promise<DoctorLine> => {
      const ref = String(c.config.model);
      const what = `model ${ref} (stage \`${String((c.config as { id?: unknown }).id ?? c.path)}\`)`;
      try {
        const stage = await (c.spec as StageSpec).create(c.config, {
          pipeline: config.name,
          configPath: c.path,
          baseDir: config.baseDir,
          logger: opts.logger,
          metrics,
        });
        await stage.close();
        return { ok: true, line: `${what}: loads` };
      } catch (err) {
        return { ok: false, line: `${what}: does NOT load: ${errorLine(err)}` };
      }
    });
  const brokers = new Map<string, string[]>();
  for (const c of config.sinks) {
    if (c.spec.type !== 'kafka') continue;
    const id = String((c.config as { id?: unknown }).id ?? 'kafka');
    for (const b of c.config.brokers as string[]) brokers.set(b, [...(brokers.get(b) ?? []), id]);
  }
  const kafka = [...brokers].map(async ([b, sinks]): Promise<DoctorLine> => {
    const why = await tcpReachable(b, timeout);
    const what = `kafka broker ${b} (sink ${sinks.map((s) => `\`${s}\``).join(', ')})`;
    return why === null
      ? { ok: true, line: `${what}: reachable` }
      : { ok: false, line: `${what}: NOT reachable: ${why}` };
  });
  return Promise.all([...models, ...kafka]);
}
