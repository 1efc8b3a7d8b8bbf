/**
 * Role: what the WebSocket sink reports about itself: its counters and the per-stream figures
 * (records, frames, rates since the previous `{type:'health'}` message, latency) that go into
 * the health messages sent every `health_interval_ms`.
 */
import type { Metrics } from '../../core/metrics.js';
import type { ResultRecord } from '../../core/result.js';

/** The sink's own counters (`stats()`, health messages, the close log). */
export interface WebSocketSinkCounters {
  connections_total: number;
  records_in: number;
  frames_in: number;
  messages_sent: number;
  dropped_client_slow: number;
  heartbeat_terminated: number;
  client_errors: number;
}

export function newCounters(): WebSocketSinkCounters {
  return {
    connections_total: 0,
    records_in: 0,
    frames_in: 0,
    messages_sent: 0,
    dropped_client_slow: 0,
    heartbeat_terminated: 0,
    client_errors: 0,
  };
}

interface StreamStats {
  records: number;
  frames: number;
  /** Distinct frame indices seen in records (for fps). */
  resultFrames: number;
  lastResultIndex: number;
  latencySum: number;
  latencyCount: number;
  lastLatency: number | null;
  lastPts: number | null;
  // values at the previous health message
  prevRecords: number;
  prevFrames: number;
  prevResultFrames: number;
}

/** Per-stream figures, and the health message built from them (each message starts a new rate interval). */
export class StreamHealth {
  private readonly streams = new Map<string, StreamStats>();
  private readonly startedAt = Date.now();
  private lastHealthAt = Date.now();

  constructor(
    private readonly sinkId: string,
    private readonly pipeline: string,
    private readonly metrics: Metrics,
  ) {}

  /** Counts a result record of its stream (records, distinct frames, latency, pts). */
  recordSeen(record: ResultRecord): void {
    const stream = typeof record.stream_id === 'string' ? record.stream_id : String(record.stream_id);
    const s = this.stream(stream);
    s.records += 1;
    if (record.frame_index !== s.lastResultIndex) {
      s.resultFrames += 1;
      s.lastResultIndex = record.frame_index;
    }
    if (typeof record.latency_ms === 'number' && Number.isFinite(record.latency_ms)) {
      s.latencySum += record.latency_ms;
      s.latencyCount += 1;
      s.lastLatency = record.latency_ms;
    }
    if (typeof record.pts === 'number') s.lastPts = record.pts;
  }

  /** Counts a preview frame of `streamId`. */
  frameSeen(streamId: string): void {
    this.stream(streamId).frames += 1;
  }

  /**
   * The `{type:'health'}` message (without the per-client part). Rates are over the time since
   * the previous call, which this call resets.
   */
  message(clients: number, counters: WebSocketSinkCounters): Record<string, unknown> {
    const now = Date.now();
    const dt = Math.max(1, now - this.lastHealthAt) / 1000;
    this.lastHealthAt = now;
    const streams: Record<string, unknown> = {};
    for (const [id, s] of this.streams) {
      streams[id] = {
        records: s.records,
        frames: s.frames,
        records_per_s: +((s.records - s.prevRecords) / dt).toFixed(2),
        frames_per_s: +((s.frames - s.prevFrames) / dt).toFixed(2),
        result_fps: +((s.resultFrames - s.prevResultFrames) / dt).toFixed(2),
        latency_ms: s.latencyCount > 0 ? +(s.latencySum / s.latencyCount).toFixed(1) : null,
        last_latency_ms: s.lastLatency,
        last_pts: s.lastPts,
      };
      s.prevRecords = s.records;
      s.prevFrames = s.frames;
      s.prevResultFrames = s.resultFrames;
      s.latencySum = 0;
      s.latencyCount = 0;
    }
    const pipelineDrops: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.metrics.snapshot().counters))
      if (k.startsWith('dropped.')) pipelineDrops[k] = v;
    return {
      type: 'health',
      sink_id: this.sinkId,
      pipeline: this.pipeline,
      time_ms: now,
      uptime_s: +((now - this.startedAt) / 1000).toFixed(1),
      clients,
      records_in: counters.records_in,
      frames_in: counters.frames_in,
      dropped_client_slow: counters.dropped_client_slow,
      streams,
      drops: pipelineDrops,
    };
  }

  private stream(id: string): StreamStats {
    let s = this.streams.get(id);
    if (!s) {
      s = {
        records: 0,
        frames: 0,
        resultFrames: 0,
        lastResultIndex: Number.NaN,
        latencySum: 0,
        latencyCount: 0,
        lastLatency: null,
        lastPts: null,
        prevRecords: 0,
        prevFrames: 0,
        prevResultFrames: 0,
      };
      this.streams.set(id, s);
    }
    return s;
  }
}
