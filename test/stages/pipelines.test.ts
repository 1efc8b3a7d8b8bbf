/**
 * The example pipelines in pipelines/ (except demo.yaml): every stage validates against its
 * stage's schema, every source file exists, and every model resolves to a manifest of the task
 * its stage needs. When the stage registry lists these stage types, the whole file must load.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { StageSpec } from '../../src/core/component.js';
import { interpolate } from '../../src/config/interpolate.js';
import { loadManifest, type ModelTask } from '../../src/models/manifest.js';
import { resolveModelRef } from '../../src/models/model-store.js';
import { classifyClipSpec } from '../../src/stages/classify-clip.js';
import { detectKeypointsSpec } from '../../src/stages/detect-keypoints.js';
import { detectSpec } from '../../src/stages/detect.js';
import { segmentInstancesSpec } from '../../src/stages/segment-instances.js';
import { segmentSpec } from '../../src/stages/segment.js';
import { trackSpec } from '../../src/stages/track.js';
import { REPO } from './helpers.js';

const SPECS: Record<string, { spec: StageSpec; task: ModelTask }> = {
  detect: { spec: detectSpec, task: 'detection' },
  track: { spec: trackSpec, task: 'detection' },
  segment_instances: { spec: segmentInstancesSpec, task: 'instance_segmentation' },
  detect_keypoints: { spec: detectKeypointsSpec, task: 'keypoint_detection' },
  segment: { spec: segmentSpec, task: 'semantic_segmentation' },
  classify_clip: { spec: classifyClipSpec, task: 'video_classification' },
};

const DIR = path.join(REPO, 'pipelines');
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'demo.yaml');

function expand(v: unknown): unknown {
  if (typeof v === 'string') return interpolate(v, process.env, () => {});
  if (Array.isArray(v)) return v.map(expand);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expand(x)]));
  return v;
}

describe('example pipelines', () => {
  it('cover every task', () => {
    const types = new Set(
      files.flatMap((f) =>
        ((parse(readFileSync(path.join(DIR, f), 'utf8')) as { stages: Array<{ type: string }> }).stages ?? []).map(
          (s) => s.type,
        ),
      ),
    );
    for (const t of Object.keys(SPECS)) assert.ok(types.has(t), `no pipeline uses ${t}`);
    assert.ok(files.includes('combined.yaml'));
  });
  for (const file of files) {
    it(file, async () => {
      const doc = expand(parse(readFileSync(path.join(DIR, file), 'utf8'))) as {
        name: string;
        sources: Array<{ id: string; path?: string }>;
        stages: Array<{ type: string; model: string }>;
      };
      assert.equal(doc.name, file.replace(/\.yaml$/, ''));
      for (const s of doc.sources)
        if (s.path !== undefined)
          assert.ok(existsSync(path.resolve(DIR, s.path)), `${file}: source ${s.id}: ${s.path} missing`);
      for (const [i, st] of doc.stages.entries()) {
        const entry = SPECS[st.type];
        if (!entry) continue; // other engineers' stage types
        const parsed = entry.spec.schema.safeParse(st);
        assert.ok(
          parsed.success,
          `${file} stages[${i}]: ${
            parsed.success ? '' : parsed.error.issues.map((x) => `${x.path.join('.')}: ` + `${x.message}`).join('; ')
          }`,
        );
        const manifestPath = resolveModelRef(st.model, DIR, `stages[${i}].model`);
        const loaded = loadManifest(manifestPath);
        assert.equal(
          loaded.manifest.task,
          entry.task,
          `${file} stages[${i}]: ${st.model} is a ${loaded.manifest.task} model`,
        );
        assert.ok(existsSync(loaded.modelPath), loaded.modelPath);
      }
      // The real loader accepts the file (camera credentials come from the environment).
      const { loadPipelineFile } = await import('../../src/config/load.js');
      loadPipelineFile(path.join(DIR, file), {
        env: { ...process.env, CAM_USER: 'u', CAM_PASS: 'p', CAM_HOST: '127.0.0.1' },
      });
    });
  }
});
