/**
 * Starts the real RTSP server of test/support/rtsp/rtsp_server.py (GStreamer gst-rtsp-server,
 * Debian packages installed by .ci/run) on a free loopback port, and stops it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.js';
import path from 'node:path';
import { REPO } from './media.js';
import { SAFETY_NET_MS } from './wait.js';

export interface RtspServer {
  readonly port: number;
  url(user?: string, password?: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP: the server process stops, its TCP connections stay open and silent (a frozen camera). */
  freeze(): void;
  /** SIGCONT after freeze(). */
  resume(): void;
  /** Whether the server process is running (false after an unexpected exit or stop()). */
  alive(): boolean;
}

export async function startRtspServer(
  opts: {
    user?: string;
    password?: string;
    fps?: number;
    width?: number;
    height?: number;
    /** One encoder pipeline for all clients (gst-rtsp-server's shared media); off by default. */
    shared?: boolean;
  } = {},
): Promise<RtspServer> {
  const port = await freePort();
  let proc: ChildProcess | null = null;
  let stopping = false;
  const args = [
    path.join(REPO, 'test', 'support', 'rtsp', 'rtsp_server.py'),
    '--port',
    String(port),
    '--fps',
    String(opts.fps ?? 25),
    '--width',
    String(opts.width ?? 320),
    '--height',
    String(opts.height ?? 240),
  ];
  if (opts.user) args.push('--user', opts.user, '--password', opts.password ?? '');
  if (opts.shared) args.push('--shared');
  const start = () =>
    new Promise<void>((resolve, reject) => {
      stopping = false;
      const p = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      proc = p;
      let err = '';
      const timer = setTimeout(
        () => reject(new Error(`RTSP server did not print READY within ${SAFETY_NET_MS} ms: ${err}`)),
        SAFETY_NET_MS,
      );
      p.stderr!.on('data', (d) => (err += d));
      let out = '';
      p.stdout!.on('data', (d: Buffer) => {
        out += d.toString(); // READY may arrive split across chunks
        if (out.includes('READY')) {
          clearTimeout(timer);
          resolve();
        }
      });
      p.on('exit', (code, signal) => {
        clearTimeout(timer);
        // Before READY any exit is a failure (a promise left pending here would hang the test with
        // no handle left: "Promise resolution is still pending but the event loop has already resolved").
        if (!out.includes('READY'))
          reject(new Error(`RTSP server exited before READY (${signal ?? `code ${code}`}): ${err}`));
        else if (!stopping)
          console.error(
            `# RTSP server on port ${port} exited unexpectedly (${signal ?? `code ${code}`}): ${err.slice(-2000)}`,
          );
      });
    });
  await start();
  return {
    port,
    url: (user, password) => `rtsp://${user ? `${user}:${password}@` : ''}127.0.0.1:${port}/test`,
    start,
    freeze: () => void (proc as ChildProcess | null)?.kill('SIGSTOP'),
    resume: () => void (proc as ChildProcess | null)?.kill('SIGCONT'),
    alive: () => {
      const p = proc as ChildProcess | null;
      return !!p && p.exitCode === null && p.signalCode === null;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        const p = proc;
        stopping = true;
        // Already gone (an exit code, or killed by a signal): its 'exit' event has fired already.
        if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
        // Not unref'd (the test waits for this exit, so the timer keeps the loop alive); cleared on exit.
        const kill = setTimeout(() => p.kill('SIGKILL'), 30_000);
        p.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        p.kill('SIGTERM');
      }),
  };
}
