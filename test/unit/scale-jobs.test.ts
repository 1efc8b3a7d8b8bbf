/** Job messages, the dedupe key, `submit`'s file expansion and the worker's attempt records (docs/scaling.md); no
 * broker. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { RESULT_SCHEMA_VERSION, type ResultRecord } from '../../src/core/result.js';
import { DEFAULT_MAX_ATTEMPTS, encodeAttempt, gaveUpMessage, recordedAttempt } from '../../src/scale/attempts.js';
import { maxAttemptsArg } from '../../src/scale/cli.js';
import { dedupeKey, eventsTopicOf, parseJob, PoisonJob } from '../../src/scale/jobs.js';
import { expandInputs, newJobId } from '../../src/scale/submit.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vidflow-submit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('parseJob accepts a path or a file: URI, with optional start/end', () => {
  const j = parseJob(Buffer.from(JSON.stringify({ job_id: 'a-1', path: '/v/a.mp4', start: 1, end: 2.5 })));
  assert.equal(j.file, '/v/a.mp4');
  assert.equal(j.start, 1);
  assert.equal(j.end, 2.5);
  assert.equal(parseJob(JSON.stringify({ job_id: 'b', uri: 'file:///v/b%20c.mkv' })).file, '/v/b c.mkv');
});

it('parseJob rejects poison messages with a PoisonJob naming the job when it can', () => {
  const poison = (v: string | null, re: RegExp, id: string | null) => {
    assert.throws(
      () => parseJob(v),
      (e: unknown) => e instanceof PoisonJob && re.test(e.message) && e.job_id === id,
    );
  };
  poison('{nope', /not JSON/, null);
  poison(null, /not JSON/, null);
  poison(JSON.stringify({ path: '/a.mp4' }), /job_id/, null);
  poison(JSON.stringify({ job_id: 'x' }), /exactly one of path or uri/, 'x');
  poison(JSON.stringify({ job_id: 'x', path: '/a', uri: 'file:///a' }), /exactly one of path or uri/, 'x');
  poison(JSON.stringify({ job_id: 'x', path: 'rel/a.mp4' }), /absolute/, 'x');
  poison(JSON.stringify({ job_id: 'x', uri: 's3://bucket/a.mp4' }), /unsupported URI scheme s3:/, 'x');
  poison(JSON.stringify({ job_id: 'x', uri: 'not a uri' }), /bad URI/, 'x');
  poison(JSON.stringify({ job_id: 'x', path: '/a', start: 5, end: 2 }), /end must be greater/, 'x');
  poison(JSON.stringify({ job_id: 'bad id!', path: '/a' }), /job_id/, 'bad id!');
});

it('dedupeKey is job / stream / frame / stage', () => {
  const r = {
    schema_version: RESULT_SCHEMA_VERSION,
    pipeline: 'p',
    stream_id: 'video',
    frame_index: 17,
    pts: 1,
    stage_id: 'cls',
    model_id: null,
    task: 'classification',
    frame_width: 1,
    frame_height: 1,
    results: null,
    latency_ms: 0,
  } satisfies ResultRecord;
  assert.equal(dedupeKey(r, 'job-1'), 'job-1/video/17/cls');
  assert.equal(eventsTopicOf('jobs'), 'jobs.events');
});

it('expandInputs: files, folders (recursive, videos only), globs; absolute, in order, no repeats', () => {
  mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
  for (const f of ['a/1.mp4', 'a/notes.txt', 'a/b/2.MKV', 'a/b/3.mp4', 'c.mov']) writeFileSync(path.join(dir, f), 'x');
  assert.deepEqual(expandInputs(['a'], dir), [
    path.join(dir, 'a/1.mp4'),
    path.join(dir, 'a/b/2.MKV'),
    path.join(dir, 'a/b/3.mp4'),
  ]);
  assert.deepEqual(expandInputs(['a/**/*.mp4', 'c.mov', 'a/1.mp4'], dir), [
    path.join(dir, 'a/1.mp4'),
    path.join(dir, 'a/b/3.mp4'),
    path.join(dir, 'c.mov'),
  ]);
  assert.deepEqual(expandInputs(['a/b/?.mp4'], dir), [path.join(dir, 'a/b/3.mp4')]);
  assert.deepEqual(
    expandInputs(['a/notes.txt'], dir),
    [path.join(dir, 'a/notes.txt')],
    'a named file is taken as is (a poison job if it is no video)',
  );
  assert.throws(() => expandInputs(['missing.mp4'], dir), /no such file/);
  assert.throws(() => expandInputs(['a/*.avi'], dir), /no file matches/);
});

it('newJobId: the file stem and 8 hex digits, unique per call', () => {
  const a = newJobId('/x/My Clip (1).mp4');
  assert.match(a, /^My_Clip_1_-[0-9a-f]{8}$/);
  assert.notEqual(newJobId('/x/a.mp4'), newJobId('/x/a.mp4'));
});

it('attempt records: counted only for the job at the committed offset; cap message names the last worker', () => {
  const rec = encodeAttempt({ job_id: 'j1', offset: '5', attempts: 2, worker: 'w2', at: '2026-12-03T08:00:00.000Z' });
  assert.ok(Buffer.byteLength(rec) < 4096, 'fits the broker default offset.metadata.max.bytes');
  const job = { job_id: 'j1', offset: '5' };
  assert.equal(recordedAttempt({ offset: '5', metadata: rec }, job)?.attempts, 2);
  assert.equal(recordedAttempt({ offset: '6', metadata: rec }, job), null, 'the committed offset moved past the job');
  assert.equal(recordedAttempt({ offset: '5', metadata: rec }, { job_id: 'other', offset: '5' }), null);
  assert.equal(recordedAttempt({ offset: '5', metadata: null }, job), null);
  assert.equal(recordedAttempt({ offset: '5', metadata: '' }, job), null, 'reset-offsets leaves empty metadata');
  assert.equal(recordedAttempt({ offset: '5', metadata: 'not json' }, job), null);
  assert.equal(recordedAttempt({ offset: '5', metadata: rec.replace('"attempts":2', '"attempts":0') }, job), null);
  assert.equal(
    gaveUpMessage(recordedAttempt({ offset: '5', metadata: rec }, job)!),
    'gave up after 2 attempts; the worker running it died each time (or lost the partition before finishing); ' +
      'the last attempt was by `w2` at 2026-12-03T08:00:00.000Z',
  );
  assert.equal(DEFAULT_MAX_ATTEMPTS, 3);
});

it('--max-attempts: an integer >= 1', () => {
  assert.equal(maxAttemptsArg(undefined), null);
  assert.equal(maxAttemptsArg('1'), 1);
  assert.equal(maxAttemptsArg('5'), 5);
  for (const bad of ['0', '2.5', '-1', 'x', ''])
    assert.throws(() => maxAttemptsArg(bad), /--max-attempts: found "[^"]*", expected .*>= 1/, bad);
});
