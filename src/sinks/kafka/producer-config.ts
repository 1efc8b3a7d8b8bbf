/**
 * Role: turns the validated sink config into the client's `KafkaProducerConfig` (client.ts),
 * reading the TLS PEM files (relative to the pipeline file; a missing one is `SINK_PATH` naming
 * the field).
 */
import fs from 'node:fs';
import path from 'node:path';
import { VidflowError } from '../../core/errors.js';
import type { SinkContext } from '../../core/sink.js';
import type { KafkaProducerConfig } from './client.js';
import type { KafkaSinkConfig } from './config.js';

function readPem(file: string | undefined, field: string, ctx: Pick<SinkContext, 'baseDir' | 'configPath'>) {
  if (file === undefined) return undefined;
  const abs = path.resolve(ctx.baseDir, file);
  try {
    return fs.readFileSync(abs);
  } catch (err) {
    throw new VidflowError(
      'SINK_PATH',
      `${ctx.configPath}.ssl.${field}: cannot read ${abs}: ${(err as Error).message}`,
      { where: `${ctx.configPath}.ssl.${field}`, cause: err },
    );
  }
}

export function producerConfigFor(
  config: KafkaSinkConfig,
  ctx: Pick<SinkContext, 'baseDir' | 'configPath'>,
): KafkaProducerConfig {
  const ssl: KafkaProducerConfig['ssl'] =
    typeof config.ssl === 'boolean'
      ? config.ssl
      : {
          rejectUnauthorized: config.ssl.reject_unauthorized,
          ca: readPem(config.ssl.ca_file, 'ca_file', ctx),
          cert: readPem(config.ssl.cert_file, 'cert_file', ctx),
          key: readPem(config.ssl.key_file, 'key_file', ctx),
        };
  return {
    brokers: config.brokers,
    clientId: config.client_id,
    ...(config.sasl ? { sasl: config.sasl } : {}),
    ssl,
    compression: config.compression,
    acks: config.acks,
    idempotent: config.idempotent,
    connectTimeoutMs: config.connect_timeout_ms,
    requestTimeoutMs: config.request_timeout_ms,
  };
}
