/**
 * The int8 classifier's labels are torchvision's ImageNet category names (issue #8 item 23): the
 * model zoo's synset.txt repeats the display names `crane` (bird and machine) and `maillot`;
 * torchvision's `_IMAGENET_CATEGORIES` names them distinctly, and labels/imagenet-1k.txt is that
 * list exactly (checked against torchvision 0.28.0; the hash pins it).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { loadManifest } from '../../src/models/manifest.js';
import { REPO } from '../support/media.js';

const IMAGENET = path.join(REPO, 'labels', 'imagenet-1k.txt');
/** sha256 of '\n'.join(torchvision.models._meta._IMAGENET_CATEGORIES) + '\n' (torchvision 0.28.0). */
const TORCHVISION_SHA256 = 'ee4fa67b1dd46919ef87529b70e25bdd1ec9ebd350de3ad426e6640eb70320a1';

it("labels/imagenet-1k.txt is torchvision's _IMAGENET_CATEGORIES, 1000 distinct names", () => {
  const text = readFileSync(IMAGENET, 'utf8');
  assert.equal(createHash('sha256').update(text).digest('hex'), TORCHVISION_SHA256);
  const names = text.trimEnd().split('\n');
  assert.equal(names.length, 1000);
  assert.equal(new Set(names).size, 1000);
  assert.deepEqual(
    [names[0], names[134], names[517], names[638], names[639], names[999]],
    ['tench', 'crane bird', 'crane', 'maillot', 'maillot tank suit', 'toilet tissue'],
  );
});

it("mobilenetv2-12-int8 labels are exactly torchvision's names, none repeated", () => {
  const manifest = path.join(REPO, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.manifest.json');
  const m = JSON.parse(readFileSync(manifest, 'utf8')) as { model_file: string };
  // loadManifest wants the .onnx (shared/models); without it, read the label reference directly.
  const labels = existsSync(
    path.resolve(
      path.dirname(manifest),
      m.model_file.replace(/\$\{VIDFLOW_SHARED:-([^}]*)\}/, (_, d: string) => process.env.VIDFLOW_SHARED ?? d),
    ),
  )
    ? loadManifest(manifest).labels
    : null;
  const expected = readFileSync(IMAGENET, 'utf8').trimEnd().split('\n');
  if (labels) assert.deepEqual(labels, expected);
  const raw = JSON.parse(readFileSync(manifest, 'utf8')) as {
    labels: { set: string; file?: string; format: string; count: number };
  };
  assert.deepEqual(raw.labels, { set: 'imagenet-1k', count: 1000, format: 'plain' });
  if (labels) assert.equal(new Set(labels).size, 1000);
});
