/**
 * `vidflow validate`: after the schemas (load.ts), resolves what the file refers to.
 * - Always (reading no video and no weights): model names/paths (with "did you mean"), the
 *   `classes` / `exclude_classes` of detection stages against the model's labels, and each
 *   component's cheap `check` (a file source's video exists, a jsonl sink's folder exists).
 * - `--deep`: each component's deep `check` (ffprobe files and cameras, writability of output
 *   folders) or, for components without one, create + close (a model stage loads its session).
 * Nothing here creates, truncates or writes a user's output. Every problem is collected and
 * returned as a `file(line,col) path: message` issue with the error's code.
 */
import type { CheckContext, SinkSpec, SourceSpec, StageSpec } from '../core/component.js';
import { VidflowError, type ErrorCode } from '../core/errors.js';
import { redactUrl } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import type { Logger } from '../core/logger.js';
import { resolveClassFilter } from '../models/decoders/detection.js';
import { loadManifest } from '../models/manifest.js';
import { resolveModelRef } from '../models/model-store.js';
import type { ComponentConfig, ConfigIssue, PipelineConfig } from './load.js';

export interface ValidateResult {
  /** Warnings of the file, then every problem found. */
  issues: ConfigIssue[];
  /** `--deep` lines for stdout, e.g. `sink stdout: ok (…)`. */
  report: string[];
}

const CONFIG_PATH_PREFIX = /^((?:sources|stages|sinks)\[\d+\](?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*): /;

/** An error thrown by a check or create → issues (one per error in `all`). */
export function errorToIssues(
  err: unknown,
  config: Pick<PipelineConfig, 'file' | 'locate'>,
  fallbackPath: string,
): ConfigIssue[] {
  const all = (err as { all?: unknown[] }).all;
  if (Array.isArray(all) && all.length > 0) return all.flatMap((e) => errorToIssues(e, config, fallbackPath));
  const code: ErrorCode = err instanceof VidflowError ? err.code : 'INTERNAL';
  let message = redactUrl(err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
  const prefix = CONFIG_PATH_PREFIX.exec(message);
  const where = (err instanceof VidflowError ? err.where : undefined) ?? prefix?.[1] ?? fallbackPath;
  if (message.startsWith(`${where}: `)) message = message.slice(where.length + 2);
  const pos = config.locate(where);
  return [
    {
      file: config.file,
      line: pos.line,
      col: pos.col,
      path: where,
      message,
      severity: 'error',
      code: code as ConfigIssue['code'],
    },
  ];
}

export async function validatePipeline(
  config: PipelineConfig,
  options: { deep: boolean; logger: Logger },
): Promise<ValidateResult> {
  const issues: ConfigIssue[] = [...config.warnings];
  const report: string[] = [];
  const metrics = new Metrics();
  const ctx = (c: ComponentConfig<unknown>): CheckContext => ({
    pipeline: config.name,
    configPath: c.path,
    baseDir: config.baseDir,
    logger: options.logger,
    metrics,
    deep: options.deep,
  });
  const anyLive = config.sources.some((s) => s.spec.type === 'camera');
  const guard = async (c: ComponentConfig<unknown>, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      return errorToIssues(err, config, c.path);
    }
    return [];
  };
  const sourceChecks = config.sources.map((c) =>
    guard(c, async () => {
      const spec = c.spec as SourceSpec;
      if (spec.check) await spec.check(c.config, ctx(c));
      else if (options.deep) await spec.create(c.config, ctx(c));
    }),
  );
  const stageChecks = config.stages.map((c) =>
    guard(c, async () => {
      const spec = c.spec as StageSpec;
      if (spec.check) return spec.check(c.config, ctx(c));
      // A model stage's `model`: resolved by name or path without reading the weights.
      if (typeof c.config.model === 'string') {
        const manifestPath = resolveModelRef(c.config.model, config.baseDir, `${c.path}.model`);
        // `classes` / `exclude_classes` against the model's labels (manifest and label file only);
        // with --deep, creating the stage checks them.
        const classes = c.config.classes as string[] | null | undefined;
        const exclude = c.config.exclude_classes as string[] | undefined;
        if (!options.deep && (Array.isArray(classes) || (Array.isArray(exclude) && exclude.length > 0))) {
          resolveClassFilter(
            loadManifest(manifestPath, `${c.path}.model`).labels,
            classes ?? null,
            exclude ?? [],
            c.path,
          );
        }
      }
      if (options.deep) {
        const stage = await spec.create(c.config, ctx(c));
        await stage.close();
      }
    }),
  );
  const sinkChecks = config.sinks.map((c) =>
    guard(c, async () => {
      const spec = c.spec as SinkSpec;
      const id = String(c.config.id ?? c.config.type);
      if (spec.check) {
        await spec.check(c.config, ctx(c));
        if (options.deep) report.push(`sink ${id}: ok (checked without writing)`);
        return;
      }
      if (!options.deep) return;
      const sink = await spec.create(c.config, { ...ctx(c), mode: anyLive ? 'live' : 'file' });
      try {
        const h = await sink.health();
        report.push(`sink ${id}: ${h.ok ? 'ok' : 'NOT OK'} (${redactUrl(h.detail)})`);
        if (!h.ok)
          throw new VidflowError('SINK_CONNECT', `${c.path}: sink \`${id}\` is not healthy: ${h.detail}`, {
            where: c.path,
          });
      } finally {
        await sink.close();
      }
    }),
  );
  for (const found of await Promise.all([...sourceChecks, ...stageChecks, ...sinkChecks])) issues.push(...found);
  return { issues, report };
}
