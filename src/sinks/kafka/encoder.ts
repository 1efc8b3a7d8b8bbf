/**
 * Role: what the Kafka sink writes to Kafka. A result record becomes one message on its topic
 * (`topics_by_task` or `topic`), key = stream_id, value = the record's JSON, headers
 * `schema_version` and `pipeline`; a `sink_health` message goes to `health_topic`.
 */
import { VidflowError } from '../../core/errors.js';
import type { ResultRecord } from '../../core/result.js';
import type { Entry } from './buffer.js';
import type { KafkaSinkConfig } from './config.js';

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The message of one record; a record that JSON cannot serialise is a `SINK_WRITE` error. */
export function encodeRecord(
  record: ResultRecord,
  config: Pick<KafkaSinkConfig, 'topic' | 'topics_by_task'>,
  where: { configPath: string; pipeline: string },
  messageKey?: (record: ResultRecord) => string,
): Entry {
  let value: string;
  try {
    value = JSON.stringify(record);
  } catch (err) {
    throw new VidflowError(
      'SINK_WRITE',
      `${where.configPath}: record of stream ${record.stream_id} frame ${record.frame_index} is not serializable: ` +
        `${errMessage(err)}`,
      {
        where: record.stream_id,
        cause: err,
      },
    );
  }
  return {
    topic: config.topics_by_task?.[record.task] ?? config.topic,
    message: {
      key: messageKey ? messageKey(record) : record.stream_id,
      value,
      headers: { schema_version: String(record.schema_version), pipeline: String(record.pipeline ?? where.pipeline) },
    },
  };
}

/** Figures carried by a `sink_health` message. */
export interface HealthFigures {
  buffered: number;
  sent: number;
  dropped: number;
  failedAttempts: number;
}

/** A `sink_health` message on `topic` (key = pipeline name) for a (re)connection or the close. */
export function encodeHealth(
  topic: string,
  event: 'connected' | 'closed',
  who: { pipeline: string; sink: string },
  figures: HealthFigures,
): Entry {
  const value = JSON.stringify({
    kind: 'sink_health',
    event,
    pipeline: who.pipeline,
    sink: who.sink,
    at: new Date().toISOString(),
    buffered: figures.buffered,
    sent: figures.sent,
    dropped: figures.dropped,
    failed_attempts: figures.failedAttempts,
  });
  return {
    topic,
    message: { key: who.pipeline, value, headers: { pipeline: who.pipeline } },
    control: event,
  };
}
