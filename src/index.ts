/**
 * vidflow's public API (`import … from 'vidflow'`, package.json `exports` → dist/index.js):
 * load, validate, build and run a pipeline; the component registries; the contracts a component
 * implements; the record schema; errors, logging and metrics. Everything else under src/ is
 * internal and may change without notice.
 *
 *   import { loadPipelineFile, validatePipeline, buildPipeline, createLogger } from 'vidflow';
 *   const config = loadPipelineFile('pipelines/demo.yaml');
 *   const logger = createLogger({ level: 'info' });
 *   const { issues } = await validatePipeline(config, { deep: false, logger });
 *   const pipeline = await buildPipeline(config, { logger, onRecord: (r) => console.log(r) });
 *   const summary = await pipeline.run();
 */

// ---- pipelines: load, validate, build and run --------------------------------------------------
export {
  loadPipelineFile,
  parsePipeline,
  pipelineSchema,
  ConfigError,
  formatIssue,
  formatIssueLines,
  type ComponentConfig,
  type ConfigIssue,
  type LoadOptions,
  type PipelineConfig,
} from './config/load.js';
export { validatePipeline, type ValidateResult } from './config/validate.js';
export {
  buildPipeline,
  assemble,
  type BuildOptions,
  type BuiltPipeline,
  type RunSummary,
  type SinkReport,
} from './runtime/run.js';

// ---- registries: every source, stage and sink type, listed explicitly ---------------------------
export { sourceSpecs } from './sources/index.js';
export { stageSpecs } from './stages/index.js';
export { sinkSpecs } from './sinks/index.js';

// ---- contracts ---------------------------------------------------------------------------------
export type {
  CheckContext,
  CheckFn,
  ComponentContext,
  Source,
  SourceSpec,
  Stage,
  StageContext,
  StageSpec,
  SinkSpec,
} from './core/component.js';
export type { Sink, SinkContext, SinkHealth } from './sinks/sink.js';
export type { Frame } from './core/frame.js';
export { FlowGate } from './core/flow-gate.js';

// ---- result records (docs/result-schema.md) -----------------------------------------------------
export {
  RESULT_SCHEMA_VERSION,
  MODEL_TASKS,
  TASKS,
  STREAM_STATES,
  type ClassScore,
  type FrameOutcome,
  type ResultRecord,
  type StreamHealthEvent,
  type StreamState,
  type Task,
} from './core/result.js';

// ---- errors, logging, metrics ------------------------------------------------------------------
export {
  VidflowError,
  ERROR_CODES,
  EXIT,
  isVidflowError,
  exitCodeFor,
  type ErrorCode,
  type ErrorKind,
} from './core/errors.js';
export { createLogger, silentLogger, LOG_LEVELS, type Logger, type LogLevel } from './core/logger.js';
export { Metrics, streamAccounting, type DropReason, type StreamAccounting } from './core/metrics.js';

// ---- models ------------------------------------------------------------------------------------
export {
  loadManifest,
  ManifestSchema,
  type LoadedManifest,
  type ModelManifest,
  type ModelTask,
} from './models/manifest.js';
export { listManifests, modelSearchDirs, resolveModelRef } from './models/model-store.js';
