/**
 * Role: the client protocol of the WebSocket sink (docs/sinks/websocket.md): the messages a
 * client may send and how they are decoded and checked, the messages the server sends, and the
 * per-client subscription filter (which records and which payload items a client gets).
 *
 * Server → client text messages are JSON objects with a `type`:
 *   hello, subscribed, result, dropped, health, error, pong.
 * Server → client binary messages are preview frames:
 *   [u32 big-endian header length N][N bytes UTF-8 JSON header {type:'frame', ...}][JPEG bytes].
 */
import type { RawData } from 'ws';
import { z } from 'zod';
import type { ResultRecord } from '../../core/result.js';
import type { PreviewFrame } from '../../core/preview-frame.js';

export type { PreviewFrame };

/** Bumped on any incompatible change of the messages below. */
export const WS_PROTOCOL_VERSION = 1;

const nonEmpty = z.string().min(1);

export const subscribeMessageSchema = z
  .object({
    type: z.literal('subscribe'),
    streams: z.array(nonEmpty).max(1024).optional(),
    tasks: z.array(nonEmpty).max(64).optional(),
    labels: z.array(nonEmpty).max(4096).optional(),
    min_score: z.number().finite().min(0).max(1).optional(),
    frames: z.boolean().optional(),
    health: z.boolean().optional(),
  })
  .strict();

export const pingMessageSchema = z.object({ type: z.literal('ping'), id: z.unknown().optional() }).strict();

export const clientMessageSchema = z.discriminatedUnion('type', [subscribeMessageSchema, pingMessageSchema]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type SubscribeMessage = z.infer<typeof subscribeMessageSchema>;

/** A client's current filter. Empty/absent lists mean "everything". */
export interface Subscription {
  streams: ReadonlySet<string> | null;
  tasks: ReadonlySet<string> | null;
  labels: ReadonlySet<string> | null;
  min_score: number | null;
  frames: boolean;
  health: boolean;
  /** Stable key of the payload-level part (labels + min_score) for caching filtered output. */
  payloadKey: string;
}

export const DEFAULT_SUBSCRIPTION: Subscription = {
  streams: null,
  tasks: null,
  labels: null,
  min_score: null,
  frames: true,
  health: true,
  payloadKey: '',
};

export function subscriptionFrom(msg: SubscribeMessage): Subscription {
  const set = (xs: string[] | undefined): ReadonlySet<string> | null => (xs && xs.length > 0 ? new Set(xs) : null);
  const labels = set(msg.labels);
  const min_score = msg.min_score ?? null;
  const payloadKey =
    labels === null && min_score === null ? '' : JSON.stringify([labels ? [...labels].sort() : null, min_score]);
  return {
    streams: set(msg.streams),
    tasks: set(msg.tasks),
    labels,
    min_score,
    frames: msg.frames ?? true,
    health: msg.health ?? true,
    payloadKey,
  };
}

/** The subscription echoed back in `{type:'subscribed', filter}`. */
export function describeSubscription(sub: Subscription): Record<string, unknown> {
  return {
    streams: sub.streams ? [...sub.streams] : null,
    tasks: sub.tasks ? [...sub.tasks] : null,
    labels: sub.labels ? [...sub.labels] : null,
    min_score: sub.min_score,
    frames: sub.frames,
    health: sub.health,
  };
}

/** Stream/task level: does this record go to this client at all (before payload filtering)? */
export function matchesRecord(sub: Subscription, record: Pick<ResultRecord, 'stream_id' | 'task'>): boolean {
  if (sub.streams && !sub.streams.has(record.stream_id)) return false;
  if (sub.tasks && !sub.tasks.has(String(record.task))) return false;
  return true;
}

/** Payload item lists that label / min_score filters apply to. */
const ITEM_LISTS = ['top', 'detections', 'tracks', 'events'] as const;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function keepItem(item: unknown, labels: ReadonlySet<string> | null, minScore: number | null): boolean {
  if (!isObject(item)) return true;
  if (labels && !(typeof item.label === 'string' && labels.has(item.label))) return false;
  if (minScore !== null && typeof item.score === 'number' && item.score < minScore) return false;
  return true;
}

/**
 * Applies the payload-level filter (labels, min_score) to `record.results`.
 * Returns the record itself when no payload filter is set or the payload has no recognised item
 * list, a shallow copy with filtered lists otherwise, or `null` when every recognised item list
 * ended up empty (the record is then not sent to this client).
 *
 * - `top`, `detections`, `tracks`, `events`: items kept when `label` is in `labels` and
 *   `score` (when the item has one) is ≥ `min_score`.
 * - `class_fractions`: only the keys in `labels` are kept (min_score does not apply).
 * - `label_map` and every other field pass unchanged.
 */
export function filterPayload(sub: Subscription, record: ResultRecord): ResultRecord | null {
  if (sub.labels === null && sub.min_score === null) return record;
  const results = record.results;
  if (!isObject(results)) return record;
  let recognised = false;
  let kept = 0;
  const out: Record<string, unknown> = { ...results };
  for (const key of ITEM_LISTS) {
    const list = results[key];
    if (!Array.isArray(list)) continue;
    recognised = true;
    const filtered = list.filter((item) => keepItem(item, sub.labels, sub.min_score));
    kept += filtered.length;
    out[key] = filtered;
  }
  const fractions = results.class_fractions;
  if (sub.labels && isObject(fractions)) {
    recognised = true;
    const filtered: Record<string, unknown> = {};
    for (const [label, value] of Object.entries(fractions)) {
      if (sub.labels.has(label)) {
        filtered[label] = value;
        kept += 1;
      }
    }
    out.class_fractions = filtered;
  }
  if (!recognised) return record;
  if (kept === 0) return null;
  return { ...record, results: out };
}

/** Encodes a preview frame as one binary WebSocket message (see the file comment). */
export function encodeFrameMessage(frame: PreviewFrame): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      type: 'frame',
      stream_id: frame.stream_id,
      index: frame.index,
      pts: frame.pts,
      width: frame.width,
      height: frame.height,
      mime: 'image/jpeg',
    }),
    'utf8',
  );
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeUInt32BE(header.length, 0);
  return Buffer.concat([prefix, header, frame.jpeg]);
}

/** Decodes a binary frame message (tests, Node clients). */
export function decodeFrameMessage(data: Buffer): { header: Record<string, unknown>; jpeg: Buffer } {
  if (data.length < 4) throw new Error('frame message shorter than its length prefix');
  const n = data.readUInt32BE(0);
  if (4 + n > data.length) throw new Error('frame message header overruns the message');
  const header = JSON.parse(data.subarray(4, 4 + n).toString('utf8')) as Record<string, unknown>;
  return { header, jpeg: data.subarray(4 + n) };
}

/** One-line description of a zod error for `{type:'error'}` frames. */
export function describeZodError(err: z.ZodError): string {
  const first = err.issues[0];
  if (!first) return 'invalid message';
  const where = first.path.length > 0 ? `${first.path.join('.')}: ` : '';
  return `${where}${first.message}`;
}

/** Bytes of a received message, whatever shape `ws` hands it over in. */
export function rawSize(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

export type DecodedClientMessage = { ok: true; message: ClientMessage } | { ok: false; error: string };

/**
 * Decodes one client → server message. Checked in this order: size (`maxMessageBytes`), text
 * (binary is refused), JSON, then the message schema; a failure carries the text of the
 * `{type:'error'}` reply.
 */
export function decodeClientMessage(data: RawData, isBinary: boolean, maxMessageBytes: number): DecodedClientMessage {
  const size = rawSize(data);
  if (size > maxMessageBytes) {
    return { ok: false, error: `message of ${size} bytes exceeds max_message_bytes (${maxMessageBytes})` };
  }
  if (isBinary) return { ok: false, error: 'binary messages are not accepted; send JSON text' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawText(data));
  } catch (err) {
    return { ok: false, error: `malformed JSON: ${(err as Error).message}` };
  }
  const msg = clientMessageSchema.safeParse(parsed);
  if (!msg.success) return { ok: false, error: `invalid message: ${describeZodError(msg.error)}` };
  return { ok: true, message: msg.data };
}

/** What the server does with a decoded message: the new subscription (if any) and the reply. */
export function answerClientMessage(
  message: ClientMessage,
  nowMs: number,
): { subscription: Subscription | null; reply: Record<string, unknown> } {
  if (message.type === 'ping') {
    return { subscription: null, reply: { type: 'pong', id: message.id ?? null, time_ms: nowMs } };
  }
  const subscription = subscriptionFrom(message);
  return { subscription, reply: { type: 'subscribed', filter: describeSubscription(subscription) } };
}
