/**
 * pino logger: pretty in a TTY, JSON otherwise. Level from `--log-level`, else
 * VIDFLOW_LOG_LEVEL / LOG_LEVEL, else `info`. Logs go to stderr so stdout stays for results.
 */
import pino from 'pino';

export type Logger = pino.Logger;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(options: { level?: string; pretty?: boolean } = {}): Logger {
  const level = options.level ?? process.env.VIDFLOW_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info';
  const pretty = prettyLogging(options);
  if (pretty) {
    return pino({
      level,
      hooks: redactingHooks,
      formatters: { log: redactFields },
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname' } },
    });
  }
  return pino(
    { level, base: undefined, hooks: redactingHooks, formatters: { log: redactFields } },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** Whether createLogger(options) writes pretty lines (stderr a TTY) rather than JSON. */
export function prettyLogging(options: { pretty?: boolean } = {}): boolean {
  return options.pretty ?? Boolean(process.stderr.isTTY);
}

/** A logger that writes nothing (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Replaces the user-info of URLs (`user:password@`) with `***@` so camera credentials never reach
 * logs. The user-info runs to the LAST `@` before the path, so a password containing `@` (legal
 * when percent-encoded, common when not) is hidden whole. Secrets registered with
 * `registerSecret` are replaced too, wherever they appear (an ffmpeg line quoting them, say).
 */
export function redactUrl(url: string): string {
  let out = url.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/gi, '$1***@');
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('***');
  return out;
}

const secrets = new Set<string>();

/**
 * Remembers a credential (a camera URL's user-info, decoded and raw) so that every log line and
 * every `redactUrl` result hides it. Values shorter than 4 characters are not registered: they
 * would blank out ordinary words.
 */
export function registerSecret(value: string | null | undefined): void {
  if (!value) return;
  const forms = new Set([value]);
  try {
    forms.add(decodeURIComponent(value));
  } catch {
    // not percent-encoded
  }
  for (const f of forms) if (f.length >= 4) secrets.add(f);
}

/** Registers the password (and user:password) of a URL with credentials. */
export function registerUrlSecrets(url: string): void {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#\s]*)@/i.exec(url);
  if (!m) return;
  const userinfo = m[1]!;
  const colon = userinfo.indexOf(':');
  if (colon >= 0) registerSecret(userinfo.slice(colon + 1));
  registerSecret(userinfo);
}

function redactValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return redactUrl(v);
  if (depth > 3 || v === null || typeof v !== 'object') return v;
  if (v instanceof Error)
    return { type: v.name, message: redactUrl(v.message), ...(v.stack ? { stack: redactUrl(v.stack) } : {}) };
  if (Array.isArray(v)) return v.map((x) => redactValue(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = redactValue(x, depth + 1);
  return out;
}

/** pino `formatters.log`: redacts URLs and secrets in every field of a log line. */
export function redactFields(obj: Record<string, unknown>): Record<string, unknown> {
  return redactValue(obj, 0) as Record<string, unknown>;
}

/** pino hooks: redacts the message (and format arguments) of every log call. */
export const redactingHooks = {
  logMethod(this: pino.Logger, args: unknown[], method: (...a: unknown[]) => void) {
    method.apply(
      this,
      args.map((a) => (typeof a === 'string' ? redactUrl(a) : a)),
    );
  },
};
