/**
 * Signal handling of `vidflow run`:
 *
 * - first SIGINT/SIGTERM: stop the sources and let in-flight frames and sink buffers flush;
 * - `shutdown_timeout_ms` later, if the run has not finished: abort — every sink stops waiting
 *   and reports (or spills) what it could not deliver, so the run still ends with its counts;
 *   `abort_grace_ms` after that the process exits 1 whatever is still stuck;
 * - a second signal, at any moment until the process exits: the process ends at once, killed by
 *   that signal (the shell reports 130 for SIGINT, 143 for SIGTERM). It re-raises the signal with
 *   the default action rather than calling process.exit(): exit handlers tear down the inference
 *   worker threads, and onnxruntime-node aborts the process (SIGABRT, "terminate called after
 *   throwing an instance of 'Napi::Error'") when a run in progress returns into a torn-down thread.
 *
 * The handlers stay installed until `dispose()` (the CLI never removes them before it exits), so
 * a second signal can never fall through to a default or a stale handler.
 */
export interface ShutdownHooks {
  /** Graceful stop (first signal). */
  stop(reason: string): void;
  /** The deadline passed: stop waiting for delivery, report what is left. */
  abort(reason: string): void;
  /** One line to stderr. */
  write(line: string): void;
  exit(code: number): void;
  /** Ends the process at once as killed by `sig` (second signal). */
  interrupt(sig: NodeJS.Signals): void;
}

export interface ShutdownOptions {
  timeoutMs: number;
  /** After abort(), how long the run may take to report before the process exits anyway. */
  abortGraceMs?: number;
  signals?: NodeJS.Signals[];
  /** For tests: where the handlers are installed (default: `process`). */
  target?: Pick<NodeJS.Process, 'on' | 'off'>;
}

/** Kills this process with `sig`'s default action (what a process without handlers would get). */
export function dieBySignal(sig: NodeJS.Signals): void {
  process.removeAllListeners(sig);
  process.kill(process.pid, sig);
  // Only if the signal was ignored (inherited SIG_IGN): the conventional status.
  setTimeout(() => process.exit(sig === 'SIGINT' ? 130 : 143), 1000).unref();
}

export function installShutdown(
  hooks: ShutdownHooks,
  options: ShutdownOptions,
): { signalled(): boolean; dispose(): void } {
  const target = options.target ?? process;
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const graceMs = options.abortGraceMs ?? 5_000;
  let count = 0;
  const timers: NodeJS.Timeout[] = [];
  const onSignal = (sig: NodeJS.Signals) => {
    count += 1;
    if (count > 1) {
      hooks.write(`Second ${sig}: exiting at once without waiting for the flush.`);
      hooks.interrupt(sig);
      return;
    }
    hooks.stop(sig);
    const deadline = setTimeout(() => {
      hooks.write(
        `error[SINK_FLUSH_TIMEOUT]: shutdown did not finish within shutdown_timeout_ms=${options.timeoutMs}; giving ` +
          `up on undelivered results (their count follows)`,
      );
      hooks.abort(`shutdown_timeout_ms=${options.timeoutMs} passed`);
      const last = setTimeout(() => {
        hooks.write(`error[SINK_FLUSH_TIMEOUT]: the run did not end ${graceMs} ms after giving up; exiting`);
        hooks.exit(1);
      }, graceMs);
      last.unref();
      timers.push(last);
    }, options.timeoutMs);
    deadline.unref();
    timers.push(deadline);
  };
  for (const s of signals) target.on(s, onSignal);
  return {
    signalled: () => count > 0,
    dispose() {
      for (const s of signals) target.off(s, onSignal);
      for (const t of timers) clearTimeout(t);
    },
  };
}
