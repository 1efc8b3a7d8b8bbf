/**
 * Example pipelines run end to end through the CLI on the shared media: the combined pipeline
 * (detector + keypoints + segmenter + clip classifier on two streams); every example that runs a
 * random-weight test model says so in its first line of output, and none of the others does; the
 * examples with real models print what their header comment promises on their media. The demo has
 * its own test (demo.test.ts).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../support/media.js';
import { runCli, type CliResult } from '../support/pipeline.js';
import { waitFor, waitForLine } from '../support/wait.js';

const PIPELINES = path.join(REPO, 'pipelines');

/**
 * Runs a pipeline and stops it (SIGTERM: the CLI flushes and exits) once `until` resolves for the
 * running child: an event such as a result line, never a delay.
 */
async function runUntil(
  file: string,
  until: (p: ChildProcess) => Promise<unknown>,
  env: NodeJS.ProcessEnv = {},
): Promise<CliResult & { stoppedEarly: boolean }> {
  let stoppedEarly = false;
  let waiting: Promise<void> | null = null;
  const r = await runCli(['run', path.join(PIPELINES, file)], {
    env,
    onSpawn: (p) => {
      waiting = until(p).then(
        () => {
          if (p.exitCode === null) {
            stoppedEarly = true;
            p.kill('SIGTERM');
          }
        },
        () => {},
      );
    },
  });
  await waiting;
  return { ...r, stoppedEarly };
}

it('pipelines/combined.yaml: four tasks on two file streams, every frame accounted for', {
  timeout: 40 * 60_000,
}, async () => {
  const out = path.join(REPO, 'pipelines', 'out', 'combined.jsonl');
  rmSync(out, { force: true });
  // ~100 s on a quiet 2-core box, several times that on a loaded one: the limits are safety nets only.
  const r = await runCli(['run', path.join(REPO, 'pipelines', 'combined.yaml')], { timeout_ms: 35 * 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const recs = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const count = (stream: string, task: string) => recs.filter((x) => x.stream_id === stream && x.task === task).length;
  // office: 30 s at fps 5 = 150 frames; warehouse: 4.73 s at fps 5 = 24 frames.
  for (const [stream, frames] of [
    ['office', 150],
    ['warehouse', 24],
  ] as const) {
    assert.equal(count(stream, 'detection'), frames, `${stream} detection`);
    assert.equal(count(stream, 'keypoint_detection'), frames, `${stream} keypoints`);
    assert.equal(
      count(stream, 'semantic_segmentation'),
      Math.ceil(frames / 2),
      `${stream} segmentation (every 2nd frame)`,
    );
    // Clips of 16 frames every 8: floor((frames - 16) / 8) + 1.
    assert.equal(count(stream, 'video_classification'), Math.floor((frames - 16) / 8) + 1, `${stream} clips`);
  }
  const clip = recs.find((x) => x.task === 'video_classification');
  assert.ok(clip.pts_end > clip.pts_start);
  // The real detector sees the worker in the warehouse clip.
  assert.ok(
    recs.some(
      (x) =>
        x.stream_id === 'warehouse' &&
        x.task === 'detection' &&
        x.results.detections.some((d: { label: string }) => d.label === 'person'),
    ),
  );
  assert.ok(
    recs.some(
      (x) => x.stream_id === 'office' && x.task === 'semantic_segmentation' && x.results.class_fractions.person > 0,
    ),
  );
});

describe('example pipelines with random-weight test models say so first', () => {
  // camera.yaml needs a live camera (its RTSP run is covered by camera-source.test.ts); it runs YOLOX-nano.
  const files = readdirSync(PIPELINES)
    .filter((f) => /^[^.].*\.yaml$/.test(f) && f !== 'camera.yaml')
    .sort();
  const RANDOM = new Map([
    ['classify-clip.yaml', ['action']],
    ['combined.yaml', ['pose', 'action']],
    ['detect-keypoints.yaml', ['pose']],
    ['segment-instances.yaml', ['masks']],
  ]);
  for (const file of files) {
    const stages = RANDOM.get(file) ?? [];
    it(`${file}: ${
      stages.length
        ? `first line warns that stage(s) ${stages.join(', ')} run random weights`
        : 'no ' + 'random-weight warning'
    }`, {
      timeout: 10 * 60_000,
    }, async () => {
      // Stop as soon as the pipeline is running: the warning must come before that line.
      const r = await runUntil(file, (p) => waitForLine(p.stderr!, /Running pipeline/), {
        VIDFLOW_LOG_LEVEL: 'info',
        VIDFLOW_DEMO_JSONL: '/dev/null',
      });
      assert.ok(r.code === 0 || r.stoppedEarly, r.stderr);
      const lines = r.stderr.split('\n');
      const running = lines.findIndex((l) => /Running pipeline/.test(l));
      assert.ok(running >= 0, r.stderr);
      const before = lines.slice(0, running);
      const warnings = lines.filter((l) => /random/i.test(l) && /^warning:/.test(l));
      assert.equal(warnings.length, stages.length, r.stderr);
      stages.forEach((stage, i) => {
        assert.match(
          before[i]!,
          new RegExp(
            `^warning: stage \`${stage}\` runs model "tiny_\\w+" with RANDOM test-only weights ` +
              `\\(provenance\\.weights: tiny-random-seed-0\\)`,
          ),
          `line ${i + 1} of ${file}'s output`,
        );
      });
    });
  }
});

describe('example pipelines with real models print what their comment says, on their media', () => {
  it('detect-cars.yaml: cars on the dash camera and on the highway photo, nothing else', {
    timeout: 10 * 60_000,
  }, async () => {
    const r = await runCli(['run', path.join(PIPELINES, 'detect-cars.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    const dash = lines.filter((l) => l.startsWith('dashcam '));
    assert.equal(dash.length, 8, 'highway-dashcam.mp4 (1.52 s) at 5 fps');
    for (const l of dash) assert.match(l, /vehicles: [2-4]× car$/, l);
    assert.deepEqual(
      lines.filter((l) => l.startsWith('photo ')),
      ['photo #0 t=0.000s vehicles: 2× car'],
    );
  });

  it('segment-scene.yaml: cat pixels on the cat photo, horse and person on the jockey photo', {
    timeout: 10 * 60_000,
  }, async () => {
    const out = path.join(PIPELINES, 'out', 'segment-scene.jsonl');
    rmSync(out, { force: true });
    const r = await runCli(['run', path.join(PIPELINES, 'segment-scene.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const recs = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const by = (id: string) => recs.find((x) => x.stream_id === id)!.results;
    assert.ok(by('cat').class_fractions.cat > 0.5, JSON.stringify(by('cat').class_fractions));
    assert.ok(
      by('jockey').class_fractions.horse > 0.05 && by('jockey').class_fractions.person > 0.02,
      JSON.stringify(by('jockey').class_fractions),
    );
    for (const x of recs) {
      assert.equal(x.results.label_map.format, 'png');
      assert.deepEqual([x.results.label_map.width, x.results.label_map.height], [x.frame_width, x.frame_height]);
      assert.equal(Buffer.from(x.results.label_map.data, 'base64').subarray(1, 4).toString('latin1'), 'PNG');
    }
  });

  it('detect-people.yaml: only `person` detections, and the first visitor is found', {
    timeout: 10 * 60_000,
  }, async () => {
    const r = await runUntil('detect-people.yaml', (p) => waitForLine(p.stdout!, /"label":"person"/));
    assert.ok(r.code === 0, r.stderr);
    const recs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(recs.some((x) => x.results.detections.length > 0));
    for (const x of recs) for (const d of x.results.detections) assert.equal(d.label, 'person');
  });

  it('track-people.yaml: the first visitor becomes person track 1 with a start event', {
    timeout: 10 * 60_000,
  }, async () => {
    const out = path.join(PIPELINES, 'out', 'track-people.jsonl');
    rmSync(out, { force: true });
    const hasTrack = () =>
      existsSync(out) &&
      readFileSync(out, 'utf8')
        .split('\n')
        .some((l) => l.includes('"track_id"'));
    const r = await runUntil('track-people.yaml', () => waitFor(hasTrack, 'a track in out/track-people.jsonl'));
    assert.equal(r.code, 0, r.stderr);
    const recs = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const first = recs.find((x) => x.results.tracks.length > 0)!;
    assert.deepEqual(
      first.results.tracks.map((t: { track_id: number; label: string }) => [t.track_id, t.label]),
      [[1, 'person']],
    );
    assert.deepEqual(
      first.results.events.map((e: { type: string; track_id: number }) => [e.type, e.track_id]),
      [['start', 1]],
    );
  });
});
