/**
 * The `images` source through the CLI, on a tmp folder of symlinks to the shared photos plus
 * images generated here (an odd-size PNG, a WebP): one record per image in sorted order with the
 * right `source_path` and size, nothing dropped behind a slow stage, clear errors for an empty
 * folder / a glob without a match / an unreadable image, and watch mode picking up a file added
 * later (and not reading one still being written). Waits are for events (records written, log
 * lines), never fixed sleeps; time limits are safety nets.
 */
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FlowGate } from '../../src/core/flow-gate.js';
import { Metrics } from '../../src/core/metrics.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Frame } from '../../src/core/frame.js';
import { assemble } from '../../src/runtime/run.js';
import { createImagesSource, imagesSourceSchema, imagesSourceSpec } from '../../src/sources/images-source.js';
import { globToRegExp } from '../../src/core/glob.js';
import { REPO, sharedMedia } from '../support/media.js';
import { runCli } from '../support/pipeline.js';
import { slowStage } from '../support/stages.js';
import { countLines, waitForLine, waitForLines } from '../support/wait.js';
import { sourceEntry } from '../support/fakes.js';
import { regex } from '../support/regex.js';

const PHOTOS = sharedMedia('photos');
const ffmpeg = process.env.FFMPEG_PATH ?? 'ffmpeg';
const root = mkdtempSync(path.join(os.tmpdir(), 'vidflow-images-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Photo sizes from shared/media/MEDIA.md. */
const SHARED_SIZES: Record<string, [number, number]> = {
  'apollo-crew.jpg': [600, 471],
  'astronaut.png': [512, 512],
  'cat.png': [451, 300],
  'child-teddy.jpg': [640, 476],
  'girl-dog.jpg': [640, 962],
  'highway-cars.jpg': [1280, 720],
  'jockey-horse.jpg': [640, 426],
  'soccer.jpg': [1280, 853],
};

function gen(out: string, args: string[]): string {
  execFileSync(ffmpeg, ['-v', 'error', '-y', ...args, out], { stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}

/** A folder of symlinks to the shared photos, an odd-size PNG, a WebP, and things to ignore. */
function photoFolder(name: string): { dir: string; sizes: Map<string, [number, number]> } {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  const sizes = new Map<string, [number, number]>();
  for (const f of readdirSync(PHOTOS).sort()) {
    symlinkSync(path.join(PHOTOS, f), path.join(dir, f));
    sizes.set(path.join(dir, f), SHARED_SIZES[f]!);
  }
  sizes.set(
    gen(path.join(dir, 'odd-333x217.png'), [
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x240',
      '-vf',
      'scale=333:217',
      '-frames:v',
      '1',
    ]),
    [333, 217],
  );
  sizes.set(
    gen(path.join(dir, 'cat-copy.WEBP'), ['-i', path.join(PHOTOS, 'cat.png'), '-c:v', 'libwebp', '-f', 'webp']),
    [451, 300],
  );
  writeFileSync(path.join(dir, 'notes.txt'), 'not an image\n');
  writeFileSync(path.join(dir, '.hidden.jpg'), 'an editor temp file\n');
  mkdirSync(path.join(dir, 'sub'));
  symlinkSync(path.join(PHOTOS, 'cat.png'), path.join(dir, 'sub', 'cat-nested.png'));
  return { dir, sizes };
}

function pipeline(name: string, source: Record<string, unknown>, extra: { stage?: string; out: string }): string {
  const file = path.join(root, `${name}.yaml`);
  const src = Object.entries(source)
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
    .join('\n');
  const stage = extra.stage ?? 'detect';
  writeFileSync(
    file,
    `name: ${name}\nsources:\n  - type: images\n    id: photos\n${src}\nstages:\n  - type: ${stage}\n    id: ` +
      `objects\n    model: yolox-nano\nsinks:\n  - type: jsonl\n    path: ${JSON.stringify(extra.out)}\n`,
  );
  return file;
}

const records = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as Record<string, unknown> & {
          frame_index: number;
          source_path: string;
          frame_width: number;
          frame_height: number;
        },
    );

const codeUnitSort = (a: string[]) => [...a].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));

describe('images source through the CLI', () => {
  it('one record per image, sorted, right paths and sizes, nothing dropped behind the detector (max_in_flight 1)', {
    timeout: 10 * 60_000,
  }, async () => {
    const { dir, sizes } = photoFolder('all');
    const out = path.join(root, 'all.jsonl');
    const file = pipeline('all', { path: dir, max_in_flight: 1, decode_ahead: 1 }, { out });
    const r = await runCli(['run', file], { env: { VIDFLOW_LOG_LEVEL: 'info' } });
    assert.equal(r.code, 0, r.stderr);
    const recs = records(out);
    const expected = codeUnitSort([...sizes.keys()]);
    assert.equal(recs.length, expected.length, 'one record per image (not notes.txt, .hidden.jpg or sub/)');
    assert.deepEqual(
      recs.map((x) => x.source_path),
      expected,
    );
    assert.deepEqual(
      recs.map((x) => x.frame_index),
      expected.map((_, i) => i),
    );
    for (const rec of recs)
      assert.deepEqual([rec.frame_width, rec.frame_height], sizes.get(rec.source_path), rec.source_path);
    assert.match(r.stderr, new RegExp(`frames photos=${expected.length}, ${expected.length} records, 0 dropped`));
    // The cat is found in both the PNG and its WebP copy; the highway photo has cars.
    const labels = (p: string) =>
      (recs.find((x) => x.source_path.endsWith(p))!.results as { detections: Array<{ label: string }> }).detections.map(
        (d) => d.label,
      );
    assert.ok(labels('cat.png').includes('cat'));
    assert.ok(labels('cat-copy.WEBP').includes('cat'));
    assert.ok(labels('highway-cars.jpg').includes('car'));
  });

  it('a glob picks the matching images, sub-folders included with **', { timeout: 10 * 60_000 }, async () => {
    const { dir } = photoFolder('glob');
    const out = path.join(root, 'glob.jsonl');
    const r = await runCli(['run', pipeline('glob', { path: `${dir}/**/c*.{png,jpg}` }, { out })]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      records(out).map((x) => path.relative(dir, x.source_path)),
      ['cat.png', 'child-teddy.jpg', path.join('sub', 'cat-nested.png')].sort(),
    );
  });

  it('an empty folder, a folder that does not exist and a glob without a match: one line naming sources[0].path', {
    timeout: 5 * 60_000,
  }, async () => {
    const empty = path.join(root, 'empty');
    mkdirSync(empty);
    writeFileSync(path.join(empty, 'readme.txt'), 'no images here\n');
    const out = path.join(root, 'never.jsonl');
    const r1 = await runCli(['run', pipeline('empty', { path: empty }, { out })]);
    assert.equal(r1.code, 1);
    assert.match(
      r1.stderr,
      new RegExp(
        `^error\\[SOURCE_NOT_FOUND\\]: sources\\[0\\]\\.path: ${empty}: no image files \\(\\.jpg, \\.jpeg, \\.png, ` +
          `\\.webp\\) in this folder$`,
        'm',
      ),
    );
    const r2 = await runCli(['validate', pipeline('nomatch', { path: `${PHOTOS}/*.gif` }, { out })]);
    assert.equal(r2.code, 2);
    assert.match(
      r2.stderr,
      regex(
        /error\[SOURCE_NOT_FOUND\]: .*nomatch\.yaml\(\d+,\d+\) sources\[0\]\.path: .*\*\.gif: no image file \(.*\)/,
        / matches this glob/,
      ),
    );
    const r3 = await runCli(['validate', pipeline('missing', { path: path.join(root, 'no-such-folder') }, { out })]);
    assert.match(
      r3.stderr,
      regex(
        /error\[SOURCE_NOT_FOUND\]: .*missing\.yaml\(\d+,\d+\) sources\[0\]\.path: .*no-such-folder: folder does not/,
        / exist/,
      ),
    );
  });

  it('an unreadable image is skipped with a warning and counted (on_unreadable: skip), or fails the run (fail)', {
    timeout: 10 * 60_000,
  }, async () => {
    const dir = path.join(root, 'bad');
    mkdirSync(dir);
    symlinkSync(path.join(PHOTOS, 'apollo-crew.jpg'), path.join(dir, 'a.jpg'));
    writeFileSync(path.join(dir, 'b-garbage.jpg'), 'this is not a JPEG\n'.repeat(50));
    writeFileSync(path.join(dir, 'c-truncated.jpg'), readFileSync(path.join(PHOTOS, 'soccer.jpg')).subarray(0, 20_000));
    symlinkSync(path.join(PHOTOS, 'cat.png'), path.join(dir, 'd.png'));
    const out = path.join(root, 'bad.jsonl');
    const r = await runCli(['run', pipeline('bad', { path: dir }, { out })], { env: { VIDFLOW_LOG_LEVEL: 'info' } });
    assert.equal(r.code, 0, r.stderr);
    const recs = records(out);
    assert.deepEqual(
      recs.map((x) => [path.basename(x.source_path), x.frame_index]),
      [
        ['a.jpg', 0],
        ['d.png', 3],
      ],
      'the good images; the skipped ones leave gaps in the indices',
    );
    for (const bad of ['b-garbage.jpg', 'c-truncated.jpg'])
      assert.match(
        r.stderr,
        new RegExp(
          `sources\\[0\\]\\.path: ${path.join(dir, bad)}: unreadable image: .*; skipped \\(on_unreadable: skip\\)`,
        ),
      );
    assert.match(r.stderr, /frames photos=2, 2 records, 2 dropped/);

    const failOut = path.join(root, 'bad-fail.jsonl');
    const f = await runCli([
      'run',
      pipeline('bad-fail', { path: dir, on_unreadable: 'fail', max_in_flight: 1, decode_ahead: 1 }, { out: failOut }),
    ]);
    assert.equal(f.code, 1);
    assert.match(
      f.stderr,
      new RegExp(
        `^error\\[SOURCE_DECODE\\]: sources\\[0\\]\\.path: ${path.join(dir, 'b-garbage.jpg')}: unreadable image: .* ` +
          `\\(on_unreadable: fail\\)$`,
        'm',
      ),
    );
    assert.deepEqual(
      records(failOut).map((x) => path.basename(x.source_path)),
      ['a.jpg'],
      'results before the bad image are flushed',
    );
  });

  it('watch: reads the images there, then a file added later; a file still being written waits until it settles', {
    timeout: 10 * 60_000,
  }, async () => {
    const dir = path.join(root, 'watched');
    mkdirSync(dir);
    symlinkSync(path.join(PHOTOS, 'cat.png'), path.join(dir, 'a-cat.png'));
    symlinkSync(path.join(PHOTOS, 'jockey-horse.jpg'), path.join(dir, 'b-jockey.jpg'));
    const out = path.join(root, 'watched.jsonl');
    // settle_ms is the margin between "the source saw the half-written file" and "the rest is
    // written" below: generous, so a loaded machine cannot make the test read half a file.
    const file = pipeline('watched', { path: dir, watch: true, settle_ms: 3000, poll_interval_ms: 100 }, { out });
    let child: ChildProcess | null = null;
    let steps: Promise<void> | null = null;
    const late = path.join(dir, 'c-late.jpg');
    const moved = path.join(dir, 'd-moved.png');
    const r = await runCli(['run', file], {
      env: { VIDFLOW_LOG_LEVEL: 'debug' },
      onSpawn: (p) => {
        child = p;
        const settling = waitForLine(p.stderr!, /Waiting for `.*c-late\.jpg` to settle/);
        steps = (async () => {
          await waitForLines(out, 2);
          // Half a JPEG, then (once the source has seen it) the rest.
          const bytes = readFileSync(path.join(PHOTOS, 'soccer.jpg'));
          writeFileSync(late, bytes.subarray(0, 10_000));
          await settling;
          appendFileSync(late, bytes.subarray(10_000));
          await waitForLines(out, 3);
          // Written elsewhere, then renamed in.
          const tmp = path.join(root, 'moving.png');
          gen(tmp, ['-f', 'lavfi', '-i', 'testsrc2=s=320x180', '-vf', 'scale=161:91', '-frames:v', '1']);
          renameSync(tmp, moved);
          await waitForLines(out, 4);
        })().finally(() => p.kill('SIGTERM'));
      },
    });
    await steps;
    assert.ok(child);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /unreadable image/);
    const recs = records(out);
    assert.deepEqual(
      recs.map((x) => [path.basename(x.source_path), x.frame_index, x.frame_width, x.frame_height]),
      [
        ['a-cat.png', 0, 451, 300],
        ['b-jockey.jpg', 1, 640, 426],
        ['c-late.jpg', 2, 1280, 853],
        ['d-moved.png', 3, 161, 91],
      ],
    );
    assert.equal(countLines(out), 4);
  });

  it('pipelines/index-photos.yaml prints one line per shared photo, in file-name order, as its header says', {
    timeout: 10 * 60_000,
  }, async () => {
    const r = await runCli(['run', path.join(REPO, 'pipelines', 'index-photos.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    const header = readFileSync(path.join(REPO, 'pipelines', 'index-photos.yaml'), 'utf8')
      .split('\n')
      .filter((l) => /^#\s+photos #\d/.test(l))
      .map((l) => l.replace(/^#\s+/, ''));
    assert.equal(header.length, 8);
    assert.deepEqual(lines, header);
  });
});

describe('images source in process', () => {
  it('behind a slow consumer: every image in order, never more than max_in_flight credits taken, decoding ahead', {
    timeout: 5 * 60_000,
  }, async () => {
    const { dir, sizes } = photoFolder('inproc');
    const metrics = new Metrics();
    const c = { pipeline: 't', configPath: 'sources[0]', baseDir: root, logger: silentLogger(), metrics };
    const src = await createImagesSource(
      imagesSourceSchema.parse({ type: 'images', id: 'photos', path: dir, max_in_flight: 3, decode_ahead: 2 }),
      c,
    );
    const gate = new FlowGate(3);
    const frames: Frame[] = [];
    let outstanding = 0;
    let maxTaken = 0;
    let maxAhead = 0;
    await new Promise<void>((resolve, reject) =>
      src.frames(gate).subscribe({
        next: (f) => {
          frames.push(f);
          outstanding += 1;
          maxTaken = Math.max(maxTaken, gate.size);
          // Credits taken beyond the frames handed out: images being decoded ahead.
          maxAhead = Math.max(maxAhead, gate.size - outstanding);
          // A slow consumer: each image takes 40 ms.
          setTimeout(() => {
            outstanding -= 1;
            gate.release();
          }, 40);
        },
        error: reject,
        complete: resolve,
      }),
    );
    assert.deepEqual(
      frames.map((f) => f.source_path),
      codeUnitSort([...sizes.keys()]),
    );
    assert.deepEqual(
      frames.map((f) => [f.index, f.pts]),
      frames.map((_, i) => [i, i]),
    );
    for (const f of frames) assert.equal(f.data.length, f.width * f.height * 3);
    assert.ok(maxTaken <= 3, `at most 3 credits taken, saw ${maxTaken}`);
    assert.ok(maxAhead >= 1, 'images were decoded while earlier ones were still out');
    assert.equal(metrics.totalDropped(), 0);
  });

  it('unreadable images keep the stream accounting exact: decoded = processed + dropped.unreadable', {
    timeout: 5 * 60_000,
  }, async () => {
    const dir = path.join(root, 'accounting');
    mkdirSync(dir);
    symlinkSync(path.join(PHOTOS, 'cat.png'), path.join(dir, 'a.png'));
    writeFileSync(path.join(dir, 'b-empty.jpg'), '');
    writeFileSync(path.join(dir, 'c-truncated.jpg'), readFileSync(path.join(PHOTOS, 'soccer.jpg')).subarray(0, 20_000));
    writeFileSync(path.join(dir, 'd-text.png'), 'not a PNG\n');
    symlinkSync(path.join(PHOTOS, 'jockey-horse.jpg'), path.join(dir, 'e.jpg'));
    const metrics = new Metrics();
    const config = imagesSourceSchema.parse({ type: 'images', id: 'photos', path: dir });
    const src = await createImagesSource(config, {
      pipeline: 't',
      configPath: 'sources[0]',
      baseDir: root,
      logger: silentLogger(),
      metrics,
    });
    const seen: number[] = [];
    const built = assemble(
      { name: 't', sources: [sourceEntry(imagesSourceSpec, config, 'sources[0]')] },
      [src],
      [slowStage('t', 5, (f) => seen.push(f.index))],
      [
        {
          id: 'none',
          write: () => undefined,
          flush: async () => undefined,
          close: async () => undefined,
          health: async () => ({ ok: true, detail: '' }),
        },
      ],
      { logger: silentLogger(), metrics },
    );
    const summary = await built.run();
    assert.equal(summary.ok, true, summary.errors.join('\n'));
    assert.deepEqual(seen, [0, 4]);
    assert.deepEqual(summary.streams.photos, { decoded: 5, processed: 2, dropped: { unreadable: 3 } });
    assert.equal(summary.dropped, 3);
  });

  it('globs: *, ?, **, {a,b}, [..]', () => {
    assert.ok(globToRegExp('/p/*.jpg').test('/p/a.jpg'));
    assert.ok(!globToRegExp('/p/*.jpg').test('/p/sub/a.jpg'));
    assert.ok(globToRegExp('/p/**/*.jpg').test('/p/a.jpg'));
    assert.ok(globToRegExp('/p/**/*.jpg').test('/p/x/y/a.jpg'));
    assert.ok(globToRegExp('/p/img-?.{png,webp}').test('/p/img-1.webp'));
    assert.ok(!globToRegExp('/p/img-?.{png,webp}').test('/p/img-10.png'));
    assert.ok(globToRegExp('/p/[ab]*.jpg').test('/p/b1.jpg'));
    assert.ok(!globToRegExp('/p/[!ab]*.jpg').test('/p/b1.jpg'));
    assert.ok(globToRegExp('/p (1)/a+b.jpg').test('/p (1)/a+b.jpg'));
  });
});
