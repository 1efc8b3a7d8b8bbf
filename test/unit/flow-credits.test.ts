/**
 * The runtime's credit accounting (runtime/run.ts assemble + core/flow-gate.ts): a source's
 * frames hold one credit of its FlowGate (maxInFlight from the Source contract) from emission
 * until every stage produced its outcome and the sinks accepted the records; then it is released.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Observable, map } from 'rxjs';
import type { Source, Stage } from '../../src/core/component.js';
import type { FlowGate } from '../../src/core/flow-gate.js';
import type { Frame } from '../../src/core/frame.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import type { ResultRecord } from '../../src/core/result.js';
import type { Sink } from '../../src/core/sink.js';
import { assemble } from '../../src/runtime/run.js';

const FRAMES = 6;

describe('flow credits', () => {
  it(
    'a file source never has more than maxInFlight frames out, and a credit is held until the sink accepted the ' +
      'record',
    async () => {
      let gateRef: FlowGate | null = null;
      const sizesAtAcquire: number[] = [];
      const source: Source = {
        id: 's',
        kind: 'file',
        maxInFlight: 2,
        frames: (gate) =>
          new Observable<Frame>((sub) => {
            gateRef = gate;
            void (async () => {
              for (let i = 0; i < FRAMES; i++) {
                await gate.acquire();
                sizesAtAcquire.push(gate.size);
                sub.next({
                  stream_id: 's',
                  index: i,
                  pts: i / 10,
                  width: 1,
                  height: 1,
                  data: new Uint8Array(3),
                  decoded_at_ms: Date.now(),
                } as unknown as Frame);
              }
              sub.complete();
            })();
          }),
      };
      const stage: Stage = {
        id: 'echo',
        streams: null,
        operator: map((f: Frame) => ({
          stream_id: f.stream_id,
          frame_index: f.index,
          records: [
            {
              schema_version: 1,
              pipeline: 't',
              stream_id: f.stream_id,
              frame_index: f.index,
              pts: f.pts,
              results: [],
            } as unknown as ResultRecord,
          ],
        })),
        close: async () => undefined,
      };
      const heldAtWrite: number[] = [];
      const sink: Sink = {
        id: 'slow',
        write: async () => {
          heldAtWrite.push(gateRef!.size);
          await new Promise((r) => setTimeout(r, 2));
        },
        flush: async () => undefined,
        close: async () => undefined,
        health: async () => ({ ok: true, detail: '' }),
      };
      const metrics = new Metrics();
      const built = assemble({ name: 't', sources: [] }, [source], [stage], [sink], {
        logger: silentLogger(),
        metrics,
      });
      const summary = await built.run();
      assert.equal(summary.ok, true, summary.errors.join('\n'));
      assert.equal(sizesAtAcquire.length, FRAMES);
      assert.ok(Math.max(...sizesAtAcquire) <= 2, `credits out at acquire: ${sizesAtAcquire.join(',')}`);
      assert.ok(heldAtWrite.length >= FRAMES, `sink writes: ${heldAtWrite.length}`);
      assert.ok(
        heldAtWrite.every((n) => n >= 1),
        `credits held while the sink writes: ${heldAtWrite.join(',')}`,
      );
      assert.equal(gateRef!.size, 0, 'every credit released at the end');
    },
  );
});
