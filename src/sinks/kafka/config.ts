/** Role: the Kafka sink's config schema (the sink section of docs/pipeline.md is generated from it). */
import { z } from 'zod';
import { TASKS } from '../../core/result.js';

const topicName = z
  .string()
  .regex(/^[a-zA-Z0-9._-]{1,249}$/, 'a Kafka topic name: 1-249 characters of [a-zA-Z0-9._-]')
  .refine((t) => t !== '.' && t !== '..', 'a Kafka topic name cannot be "." or ".."');

const brokerAddress = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:,[\]]+):\d{1,5}$/, 'host:port');

const brokersSchema = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0))
  .pipe(z.array(brokerAddress).min(1, 'at least one broker'));

const ms = (what: string, def: number, min = 0, max = 3_600_000) =>
  z.number().int().min(min).max(max).default(def).describe(`${what} Milliseconds. Default ${def}.`);

export const kafkaSinkSchema = z
  .object({
    type: z.literal('kafka').describe('`kafka`.'),
    id: z.string().min(1).optional().describe('Sink id used in logs, health and drop metrics. Default `kafka`.'),
    brokers: brokersSchema.describe(
      'Bootstrap brokers, `host:port`: a list or one comma-separated string (e.g. `${KAFKA_BROKERS}`, interpolated ' +
        'by ' +
        'the config loader).',
    ),
    topic: topicName.describe('Topic of every record (unless `topics_by_task` names another for its task).'),
    topics_by_task: z
      .object(
        Object.fromEntries(TASKS.map((t) => [t, topicName.optional()])) as Record<
          (typeof TASKS)[number],
          z.ZodOptional<typeof topicName>
        >,
      )
      .strict()
      .optional()
      .describe('Per-task topic, e.g. `{ detection: dets, classification: labels }`; other tasks go to `topic`.'),
    health_topic: topicName
      .optional()
      .describe(
        'If set, a small `sink_health` JSON message (state, buffered, sent, dropped) is sent there on every ' +
          '(re)connection and on close; key = pipeline name.',
      ),
    client_id: z.string().min(1).default('vidflow').describe('Kafka client id. Default `vidflow`.'),
    sasl: z
      .object({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).describe('SASL mechanism.'),
        username: z.string().min(1).describe('SASL user.'),
        password: z.string().describe('SASL password (use `${ENV}` interpolation; never logged).'),
      })
      .strict()
      .optional()
      .describe('SASL authentication. Default none.'),
    ssl: z
      .union([
        z.boolean(),
        z
          .object({
            ca_file: z
              .string()
              .min(1)
              .optional()
              .describe('PEM file of the CA(s) to trust (relative to the pipeline file). Default: system CAs.'),
            cert_file: z.string().min(1).optional().describe('PEM client certificate (mutual TLS); needs `key_file`.'),
            key_file: z.string().min(1).optional().describe('PEM private key of `cert_file`.'),
            reject_unauthorized: z.boolean().default(true).describe('Verify the broker certificate. Default true.'),
          })
          .strict()
          .refine(
            (s) => (s.cert_file === undefined) === (s.key_file === undefined),
            'cert_file and key_file go together',
          ),
      ])
      .default(false)
      .describe('TLS: `true` (system CAs) or file options. Default false.'),
    compression: z.enum(['none', 'gzip']).default('none').describe('Batch compression. Default `none`.'),
    batch_max_messages: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(500)
      .describe('Most records per produce request. Default 500.'),
    linger_ms: ms('How long a partly filled batch waits for more records before it is sent.', 5, 0, 60_000),
    acks: z
      .union([z.literal('all'), z.literal(-1), z.literal(1), z.literal(0)])
      .default('all')
      .transform((a): -1 | 0 | 1 => (a === 'all' ? -1 : a))
      .describe(
        'Acknowledgements: `all` (= -1, every in-sync replica), 1 (leader only), 0 (none). Default `all`; 1 and 0 ' +
          'need `idempotent: false`.',
      ),
    idempotent: z
      .boolean()
      .default(true)
      .describe(
        'Idempotent producer (no duplicates from the client’s own retries). ' + 'Needs `acks: all`. Default true.',
      ),
    buffer_max_records: z
      .number()
      .int()
      .min(1)
      .max(10_000_000)
      .default(10_000)
      .describe('Records waiting for the broker, at most (plus one batch in flight). Default 10000.'),
    retry_initial_ms: ms('First reconnect/resend delay; doubles per failure (with jitter).', 250, 1),
    retry_max_ms: ms('Largest reconnect/resend delay.', 10_000, 1),
    flush_timeout_ms: ms('How long `flush()`/`close()` wait for buffered records to be delivered.', 10_000, 1),
    spill_path: z
      .union([z.string().min(1), z.literal(false)])
      .optional()
      .describe(
        'Where records still undelivered when the sink closes (broker down at the end of the run, or the shutdown ' +
          'deadline passed) are written, one JSON record per line (appended), instead of being lost; relative to the ' +
          'pipeline file; `false` turns it off. Default: in file pipelines `<pipeline name>.<sink id>.unsent.jsonl` ' +
          'beside the pipeline file (created only when something is undelivered); in live pipelines off.',
      ),
    connect_timeout_ms: ms('TCP/TLS connect and SASL timeout of one attempt.', 3_000, 1, 600_000),
    request_timeout_ms: ms('Timeout of one produce request.', 30_000, 1, 600_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.idempotent && c.acks !== -1) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['acks'],
        message: 'an idempotent producer needs acks: all; set idempotent: false to use acks 1 or 0',
      });
    }
    if (c.retry_max_ms < c.retry_initial_ms) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['retry_max_ms'],
        message: `must be >= retry_initial_ms (${c.retry_initial_ms})`,
      });
    }
  });

export type KafkaSinkConfig = z.output<typeof kafkaSinkSchema>;
