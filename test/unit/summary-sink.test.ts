/** The `summary` sink: one line per stream per window of video time. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { it } from 'node:test';
import type { ResultRecord } from '../../src/core/result.js';
import { SummarySink } from '../../src/sinks/summary-sink.js';

const rec = (
  stream: string,
  index: number,
  pts: number,
  task: ResultRecord['task'],
  results: unknown,
): ResultRecord => ({
  schema_version: 1,
  pipeline: 'p',
  stream_id: stream,
  frame_index: index,
  pts,
  stage_id: 's',
  model_id: 'm',
  task,
  frame_width: 10,
  frame_height: 10,
  results,
  latency_ms: 1,
});

it('sums up tracking, detection and classification records per second of video, per stream', async () => {
  const out = new PassThrough();
  let text = '';
  const printed = (): string => text;
  out.on('data', (d) => (text += d));
  const sink = new SummarySink('summary', 1, 'header line', out);
  const track = (id: number, label: string) => ({ track_id: id, label });
  await sink.write(rec('a', 0, 0.0, 'tracking', { tracks: [], events: [], detections: [] }));
  await sink.write(
    rec('a', 1, 0.5, 'tracking', {
      tracks: [track(1, 'car'), track(2, 'car')],
      events: [
        { type: 'start', track_id: 1, label: 'car' },
        { type: 'start', track_id: 2, label: 'car' },
      ],
      detections: [],
    }),
  );
  await sink.write(
    rec('b', 0, 0.2, 'detection', { detections: [{ label: 'person' }, { label: 'person' }, { label: 'dog' }] }),
  );
  assert.equal(printed(), '', 'nothing printed before a window is complete');
  await sink.write(
    rec('a', 2, 1.1, 'tracking', {
      tracks: [track(2, 'car')],
      events: [{ type: 'end', track_id: 1, label: 'car' }],
      detections: [],
    }),
  );
  assert.equal(printed(), 'header line\n[a 0-1 s] in view: 2 car | entered: car #1, car #2\n');
  await sink.write(rec('b', 1, 0.4, 'detection', { detections: [{ label: 'person' }] }));
  await sink.write(rec('c', 0, 2.5, 'classification', { top: [{ label: 'minivan', score: 0.5 }] }));
  await sink.close();
  assert.deepEqual(printed().trim().split('\n').slice(2), [
    '[a 1-2 s] in view: 1 car | left: car #1',
    '[b 0-1 s] in view: 2 person, 1 dog',
    '[c 2-3 s] top label: minivan (1 frame)',
    '[a] end at 1.10 s: 2 tracks (ids 1-2: 2 car); still in view: car #2',
    '[b] end at 0.40 s',
    '[c] end at 2.50 s',
  ]);
  await sink.close();
});
