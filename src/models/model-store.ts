/**
 * Resolves a model reference from a pipeline file to its manifest and opens it:
 * - a path to a `.manifest.json` (or any .json), relative to the pipeline file;
 * - a path to an `.onnx` with `<name>.manifest.json` beside it;
 * - a model name, looked up in VIDFLOW_MODEL_PATH (colon-separated folders), then vidflow's
 *   own `models/` folder, as `<dir>/<name>/<name>.manifest.json` or `<dir>/<name>.manifest.json`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { VidflowError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { loadManifest, type LoadedManifest, type ModelTask } from './manifest.js';
import { checkModelAgainstManifest } from './model-check.js';
import { createRunner } from './inference-worker-pool.js';
import { assertExecutionProviders } from './onnx-runner.js';
import { DEFAULT_RUNNER_OPTIONS, type ModelRunner, type RunnerOptions } from './runner.js';

const REPO_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
export const BUILTIN_MODELS_DIR = path.join(REPO_ROOT, 'models');

export function modelSearchDirs(): string[] {
  const fromEnv = (process.env.VIDFLOW_MODEL_PATH ?? '').split(':').filter(Boolean);
  return [...fromEnv.map((d) => path.resolve(d)), BUILTIN_MODELS_DIR];
}

/** Every manifest found in the search folders: name → manifest path. */
export function listManifests(dirs: string[] = modelSearchDirs()): Map<string, string> {
  const found = new Map<string, string>();
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir)) {
      const full = path.join(dir, entry);
      if (entry.endsWith('.manifest.json')) {
        const name = entry.slice(0, -'.manifest.json'.length);
        if (!found.has(name)) found.set(name, full);
      } else if (statSync(full).isDirectory()) {
        for (const inner of readdirSync(full)) {
          if (inner.endsWith('.manifest.json')) {
            const name = inner.slice(0, -'.manifest.json'.length);
            if (!found.has(name)) found.set(name, path.join(full, inner));
          }
        }
      }
    }
  }
  return found;
}

export function resolveModelRef(ref: string, baseDir: string, where: string): string {
  const looksLikePath = ref.includes('/') || ref.endsWith('.json') || ref.endsWith('.onnx');
  if (looksLikePath) {
    const abs = path.resolve(baseDir, ref);
    if (ref.endsWith('.onnx')) {
      const beside = abs.replace(/\.onnx$/, '.manifest.json');
      if (!existsSync(abs))
        throw new VidflowError('MODEL_NOT_FOUND', `${where}: model file ${ref} does not exist (resolved to ${abs})`, {
          where,
        });
      if (!existsSync(beside))
        throw new VidflowError(
          'MODEL_MANIFEST_INVALID',
          `${where}: model ${ref} has no manifest; expected ${path.basename(beside)} beside it (docs/manifest.md)`,
          { where },
        );
      return beside;
    }
    if (!existsSync(abs))
      throw new VidflowError('MODEL_NOT_FOUND', `${where}: model manifest ${ref} does not exist (resolved to ${abs})`, {
        where,
      });
    return abs;
  }
  const all = listManifests();
  const hit = all.get(ref);
  if (!hit) {
    throw new VidflowError(
      'MODEL_NOT_FOUND',
      `${where}: model "${ref}" not found in ${modelSearchDirs().join(', ')}${didYouMean(ref, [...all.keys()])}`,
      { where },
    );
  }
  return hit;
}

export interface OpenModel {
  loaded: LoadedManifest;
  runner: ModelRunner;
}

/** Resolves, loads and checks a model; `tasks` are the tasks the calling stage accepts. */
export async function openModel(
  ref: string,
  opts: {
    baseDir: string;
    where: string;
    tasks: readonly ModelTask[];
    runner: Partial<RunnerOptions>;
    stageType: string;
  },
): Promise<OpenModel> {
  const manifestPath = resolveModelRef(ref, opts.baseDir, opts.where);
  const loaded = loadManifest(manifestPath, opts.where);
  if (!opts.tasks.includes(loaded.manifest.task)) {
    throw new VidflowError(
      'MODEL_TASK_MISMATCH',
      `${opts.where}: model "${loaded.manifest.name}" is a ${loaded.manifest.task} model; stage type ` +
        `\`${opts.stageType}\` needs ${opts.tasks.join(' or ')}`,
      { where: opts.where },
    );
  }
  // A missing GPU provider is its own error (EP_UNAVAILABLE at `<stage>.execution_providers`), checked
  // here in this thread: the worker threads would report it as a model that cannot be loaded.
  await assertExecutionProviders(
    { ...DEFAULT_RUNNER_OPTIONS, ...opts.runner },
    opts.where.replace(/\.model$/, '.execution_providers'),
  );
  const runner = await createRunner(loaded.modelPath, opts.runner, opts.where);
  try {
    checkModelAgainstManifest(loaded, runner, opts.where);
  } catch (err) {
    await runner.close();
    throw err;
  }
  return { loaded, runner };
}
