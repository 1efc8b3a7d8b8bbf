/**
 * vidflow command line: run | validate | models list | models export | dashboard | doctor.
 * Exit codes: 0 ok, 1 runtime failure, 2 config error; interrupted twice: killed by the signal
 * (the shell shows 130 for Ctrl-C).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, formatIssueLines, loadPipelineFile } from './config/load.js';
import { validatePipeline } from './config/validate.js';
import { EXIT, exitCodeFor, isVidflowError, VidflowError } from './core/errors.js';
import { createLogger, LOG_LEVELS, prettyLogging, type Logger } from './core/logger.js';
import { hasRandomWeights, loadManifest } from './models/manifest.js';
import { listManifests, modelSearchDirs, resolveModelRef } from './models/model-store.js';
import { buildPipeline, type RunSummary } from './runtime/run.js';
import { startProgress } from './runtime/progress.js';
import { dieBySignal, installShutdown } from './runtime/shutdown.js';
import { HttpEndpoint, httpOptionsFor, metricsOptionsFor } from './runtime/http-endpoint.js';
import { ffmpegBinaries } from './sources/ffmpeg/binaries.js';

const USAGE = `usage: vidflow <command> [options]

commands:
  run <pipeline.yaml>        run a pipeline until its files end (or Ctrl-C for cameras)
      [--http-port N] [--http-host H] [--no-progress]
                             a progress bar per file source when stderr is a terminal;
                             also serve /metrics (Prometheus), /healthz, /readyz (docs/operations.md)
  validate <pipeline.yaml>   check a pipeline file; --deep also opens sources, models and sinks
  models list [--json]       installed models (name, task, input, labels, size, source)
  models export <arch> ...   export a torchvision architecture to ONNX + manifest (needs tools/export setup)
  dashboard [--port N] [--host H] [--connect ws://…]
                             serve the live dashboard (see docs/sinks/websocket.md)
  doctor [pipeline.yaml]     show which ffmpeg/ffprobe and onnxruntime are used; with a pipeline,
                             also whether each of its models loads and each Kafka broker answers
                             (exit 1 if any does not)
  eval <pipeline.yaml> --ground-truth <dir-or-COCO-json> [--json]
                             run a pipeline and score its records against COCO ground truth (docs/accuracy.md)
  submit --jobs T --brokers B <videos>...   queue one Kafka job per video (docs/scaling.md)
  worker --jobs T --brokers B --pipeline P  process queued jobs in a consumer group (docs/scaling.md)
  cameras --assignments T --brokers B --pipeline P  run the live cameras assigned on T (docs/scaling.md)
  assign T <cameras.yaml> --brokers B       publish camera assignments (key = camera id)

options:
  --log-level <level>        fatal|error|warn|info|debug|trace|silent (default: info, or VIDFLOW_LOG_LEVEL)
  -h, --help
  --version                  print vidflow's version`;

const REPO_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

function printErrorLines(err: unknown): void {
  if (err instanceof ConfigError) {
    for (const line of formatIssueLines(err.issues)) process.stderr.write(`${line}\n`);
    return;
  }
  const all = (err as { all?: unknown[] }).all;
  if (Array.isArray(all)) {
    for (const e of all) printErrorLines(e);
    return;
  }
  if (isVidflowError(err)) process.stderr.write(`${err.toLine()}\n`);
  else process.stderr.write(`error[INTERNAL]: ${(err as Error)?.message ?? String(err)}\n`);
}

function humanBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${(n / 1024).toFixed(0)} kB`;
}

/**
 * One `warning:` line per stage whose model has random (test-only) weights, so a run of such a
 * pipeline says so before anything else. Models that do not resolve are left to buildPipeline,
 * which reports them properly.
 */
function randomWeightWarnings(config: ReturnType<typeof loadPipelineFile>): string[] {
  const lines: string[] = [];
  for (const stage of config.stages) {
    const ref = (stage.config as { model?: unknown }).model;
    if (typeof ref !== 'string') continue;
    try {
      const { manifest } = loadManifest(resolveModelRef(ref, config.baseDir, `${stage.path}.model`));
      if (hasRandomWeights(manifest)) {
        const id = (stage.config as { id?: unknown }).id;
        lines.push(
          `warning: stage \`${String(id ?? stage.path)}\` runs model "${manifest.name}" with RANDOM test-only ` +
            `weights (provenance.weights: ${manifest.provenance.weights}): its results show the plumbing, not real ` +
            `${manifest.task} output`,
        );
      }
    } catch {
      // reported by buildPipeline
    }
  }
  return lines;
}

async function cmdRun(
  file: string,
  logger: Logger,
  flags: { 'http-port'?: unknown; 'http-host'?: unknown; 'no-progress'?: unknown } = {},
): Promise<number> {
  const config = loadPipelineFile(file);
  for (const w of randomWeightWarnings(config)) process.stderr.write(`${w}\n`);
  for (const w of config.warnings)
    process.stderr.write(`warning: ${w.file}(${w.line},${w.col}) ${w.path}: ${w.message}\n`);
  // The operators' endpoint (off by default) is up before the build: /healthz passes and /readyz says "building".
  const httpOptions = httpOptionsFor(config, { port: flags['http-port'], host: flags['http-host'] });
  const endpoint = httpOptions
    ? await HttpEndpoint.start({ ...httpOptions, logger, pipeline: config.name, version: packageVersion() })
    : null;
  const pipeline = await buildPipeline(config, { logger, ...(endpoint ? { onRecord: endpoint.onRecord } : {}) }).catch(
    async (err: unknown) => {
      await endpoint?.close();
      throw err;
    },
  );
  endpoint?.attach(pipeline, metricsOptionsFor(config));
  // Installed before the "Running pipeline" line and kept until the process exits (a second
  // signal must always exit 130 at once; see runtime/shutdown.ts).
  installShutdown(
    {
      stop: (sig) => (endpoint?.stopping(sig), pipeline.stop(sig)),
      abort: (reason) => pipeline.abort(reason),
      write: (line) => process.stderr.write(`${line}\n`),
      exit: (code) => process.exit(code),
      interrupt: (sig) => dieBySignal(sig),
    },
    { timeoutMs: config.shutdown_timeout_ms },
  );
  logger.info(
    `Running pipeline \`${pipeline.name}\`: ${pipeline.sources.length} source(s), ` +
      `${pipeline.stages.length} stage(s), ${pipeline.sinks.length} sink(s).`,
  );
  // Per-file-source bars on a TTY stderr with pretty logs only (runtime/progress.ts).
  const progress = startProgress(
    pipeline,
    config.sources.map((c) => ({ type: c.spec.type, config: c.config })),
    { stream: process.stderr, prettyLogs: prettyLogging(), disabled: Boolean(flags['no-progress']) },
  );
  const summary: RunSummary = await pipeline
    .run()
    .finally(async () => (progress?.stop(), endpoint?.finished(), await endpoint?.close()));
  const frames = Object.entries(summary.frames)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  logger.info(
    {
      summary: {
        frames: summary.frames,
        records: summary.records,
        dropped: summary.dropped,
        duration_ms: summary.duration_ms,
        sinks: summary.sinks,
      },
    },
    `Pipeline \`${summary.pipeline}\` finished in ${(summary.duration_ms / 1000).toFixed(1)} s: frames ${frames}, ` +
      `${summary.records} records, ${summary.dropped} dropped.`,
  );
  for (const [id, r] of Object.entries(summary.sinks)) {
    if (r.undelivered === 0) continue;
    const where = r.spilled ? `; ${r.spilled.records} written to ${r.spilled.path}` : '; they are lost';
    logger.error(
      { sink: id, undelivered: r.undelivered, ...(r.spilled ? { spilled: r.spilled } : {}) },
      `Sink \`${id}\` did not deliver ${r.undelivered} record(s)${where}.`,
    );
  }
  for (const e of summary.errors) process.stderr.write(`${e}\n`);
  return summary.ok ? EXIT.OK : EXIT.RUNTIME;
}

async function cmdValidate(file: string, deep: boolean, logger: Logger): Promise<number> {
  const config = loadPipelineFile(file);
  const result = await validatePipeline(config, { deep, logger });
  for (const line of formatIssueLines(result.issues)) process.stderr.write(`${line}\n`);
  for (const line of result.report) process.stdout.write(`${line}\n`);
  if (result.issues.some((i) => i.severity === 'error')) return EXIT.CONFIG;
  process.stdout.write(
    `${config.file}: ok (${config.sources.length} source(s), ${config.stages.length} stage(s), ` +
      `${config.sinks.length} sink(s))\n`,
  );
  return EXIT.OK;
}

function cmdModelsList(json: boolean): number {
  const rows = [...listManifests()].map(([name, file]) => {
    try {
      const l = loadManifest(file);
      const m = l.manifest;
      const size = existsSync(l.modelPath) ? statSync(l.modelPath).size : 0;
      const input = m.input.crop
        ? `${m.input.crop.width}x${m.input.crop.height}`
        : m.input.resize.mode === 'shorter_side'
          ? `short side ${m.input.resize.size}`
          : m.input.resize.mode === 'none'
            ? 'any size'
            : `${(m.input.resize as { width: number }).width}x${(m.input.resize as { height: number }).height}`;
      return {
        name,
        task: m.task,
        input: `${m.input.layout} ${input}${m.input.clip_length ? ` x${m.input.clip_length}` : ''}`,
        labels: `${m.labels.set} (${m.labels.count})`,
        size: humanBytes(size),
        source: m.provenance.weights,
        manifest: path.relative(process.cwd(), file),
      };
    } catch (err) {
      return {
        name,
        task: 'INVALID',
        input: '',
        labels: '',
        size: '',
        source: (err as Error).message,
        manifest: path.relative(process.cwd(), file),
      };
    }
  });
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return EXIT.OK;
  }
  const cols = ['name', 'task', 'input', 'labels', 'size', 'source'] as const;
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(c.length, ...rows.map((r) => String(r[c]).length))]));
  process.stdout.write(`${cols.map((c) => c.toUpperCase().padEnd(width[c]!)).join('  ')}\n`);
  for (const r of rows) process.stdout.write(`${cols.map((c) => String(r[c]).padEnd(width[c]!)).join('  ')}\n`);
  process.stdout.write(`(searched ${modelSearchDirs().join(', ')})\n`);
  return EXIT.OK;
}

/** Python modules tools/export/export.py imports; checked before running it (find_spec, no import). */
const EXPORT_MODULES = ['torch', 'torchvision', 'onnx'];

/** The Python for `models export`: VIDFLOW_PYTHON, else .venv/ (made by `npm run models:setup`), else python3. */
function exportPython(): { python: string; venv: string; usingVenv: boolean } {
  const venv = path.join(REPO_ROOT, '.venv');
  const venvPython = path.join(venv, 'bin', 'python');
  if (process.env.VIDFLOW_PYTHON) return { python: process.env.VIDFLOW_PYTHON, venv, usingVenv: false };
  return existsSync(venvPython)
    ? { python: venvPython, venv, usingVenv: true }
    : { python: 'python3', venv, usingVenv: false };
}

/** Modules of EXPORT_MODULES that `python` cannot find, or an Error when python cannot run at all. */
function missingExportModules(python: string): Promise<string[] | Error> {
  const probe =
    `import importlib.util,sys\nprint(','.join(m for m in ${JSON.stringify(EXPORT_MODULES)} if ` +
    `importlib.util.find_spec(m) is None))`;
  return new Promise((resolve) => {
    const p = spawn(python, ['-c', probe], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.on('error', (e) => resolve(e));
    p.on('close', (code) =>
      resolve(
        code === 0 ? out.trim().split(',').filter(Boolean) : new Error(err.trim().split('\n').pop() || `exit ${code}`),
      ),
    );
  });
}

async function cmdModelsExport(args: string[]): Promise<number> {
  const script = path.join(REPO_ROOT, 'tools', 'export', 'export.py');
  if (!existsSync(script)) throw new VidflowError('MODEL_NOT_FOUND', `export tool ${script} is missing`);
  const { python, venv, usingVenv } = exportPython();
  const setup =
    'run `npm run models:setup` once (makes .venv/ with torch and torchvision, about 4.9 GB; tools/export/README.md)';
  const where = usingVenv
    ? python
    : process.env.VIDFLOW_PYTHON
      ? `VIDFLOW_PYTHON=${python}`
      : `${python} (${venv} does not exist)`;
  const missing = await missingExportModules(python);
  if (missing instanceof Error)
    throw new VidflowError('EXPORT_SETUP', `models export: cannot run ${where}: ${missing.message}; ${setup}`);
  if (missing.length > 0)
    throw new VidflowError(
      'EXPORT_SETUP',
      `models export needs ${missing.join(', ')}, not installed for ${where}; ${setup}`,
    );
  return new Promise((resolve) => {
    const p = spawn(python, [script, ...args], { stdio: 'inherit' });
    p.on('error', (e) => {
      process.stderr.write(`error[EXPORT_SETUP]: models export: cannot run ${where}: ${e.message}; ${setup}\n`);
      resolve(EXIT.RUNTIME);
    });
    p.on('close', (code) => resolve(code ?? EXIT.RUNTIME));
  });
}

async function cmdDoctor(file: string | undefined, logger: Logger): Promise<number> {
  // A pipeline is loaded first: a file with config errors exits 2 before anything is probed.
  const config = file ? loadPipelineFile(file) : null;
  const b = ffmpegBinaries();
  const version = (bin: string) =>
    new Promise<string>((resolve) => {
      const p = spawn(bin, ['-version'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.on('error', (e) => resolve(`not runnable: ${e.message}`));
      p.on('close', () => resolve(out.split('\n')[0] ?? ''));
    });
  process.stdout.write(`ffmpeg:  ${b.ffmpeg.path} (${b.ffmpeg.source}) ${await version(b.ffmpeg.path)}\n`);
  process.stdout.write(`ffprobe: ${b.ffprobe.path} (${b.ffprobe.source}) ${await version(b.ffprobe.path)}\n`);
  const ort = await import('onnxruntime-node');
  const { probeExecutionProviders, GPU_INSTALL_HINT } = await import('./models/onnx-runner.js');
  // Each provider is tried for real (a session on a tiny model): a provider compiled into the
  // binding but whose library is not installed is listed by onnxruntime-node, yet does not load.
  ort.env.logLevel = 'fatal'; // onnxruntime's own stderr lines for the failing probes; the reasons are printed below
  const eps = await probeExecutionProviders();
  const usable = eps.filter((e) => e.available).map((e) => e.name);
  process.stdout.write(
    `onnxruntime-node: ${ort.env.versions?.common ?? 'unknown'}; execution providers that load here: ` +
      `${usable.join(', ') || 'none'}\n`,
  );
  for (const e of eps)
    process.stdout.write(`  ${e.name.padEnd(8)} ${e.available ? 'available' : `NOT available: ${e.reason}`}\n`);
  if (eps.some((e) => !e.available)) process.stdout.write(`  (for cuda/tensorrt: ${GPU_INSTALL_HINT})\n`);
  process.stdout.write(`models searched in: ${modelSearchDirs().join(', ')}\n`);
  if (!config) return EXIT.OK;
  const { pipelineDoctor } = await import('./runtime/doctor-checks.js');
  process.stdout.write(`pipeline ${config.file}:\n`);
  const lines = await pipelineDoctor(config, { logger });
  for (const l of lines) process.stdout.write(`  ${l.line}\n`);
  if (lines.length === 0) process.stdout.write('  (no models and no Kafka brokers to check)\n');
  return lines.every((l) => l.ok) ? EXIT.OK : EXIT.RUNTIME;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: {
      'log-level': { type: 'string' },
      'no-progress': { type: 'boolean' },
      'http-port': { type: 'string' },
      'http-host': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
      deep: { type: 'boolean' },
      json: { type: 'boolean' },
      port: { type: 'string' },
      host: { type: 'string' },
      connect: { type: 'string' },
      'ground-truth': { type: 'string' },
    },
  });
  const [cmd, ...rest] = positionals;
  if (values.version && !cmd) {
    process.stdout.write(`vidflow ${packageVersion()}\n`);
    return EXIT.OK;
  }
  // submit/worker/cameras/assign print their own usage for --help.
  if (!cmd || (values.help && !['submit', 'worker', 'cameras', 'assign'].includes(cmd))) {
    process.stdout.write(`${USAGE}\n`);
    return cmd || values.help ? EXIT.OK : EXIT.CONFIG;
  }
  const level = values['log-level'] as string | undefined;
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    process.stderr.write(
      `error[CONFIG_INVALID]: --log-level: found "${level}", expected one of ${LOG_LEVELS.join(', ')}\n`,
    );
    return EXIT.CONFIG;
  }
  const logger = createLogger(level ? { level } : {});
  try {
    switch (cmd) {
      case 'run':
        if (!rest[0])
          throw new VidflowError(
            'CONFIG_NOT_FOUND',
            'run: expected a pipeline file, e.g. `vidflow run pipelines/demo.yaml`',
          );
        return await cmdRun(rest[0], logger, values);
      case 'validate':
        if (!rest[0]) throw new VidflowError('CONFIG_NOT_FOUND', 'validate: expected a pipeline file');
        return await cmdValidate(rest[0], Boolean(values.deep), logger);
      case 'models':
        if (rest[0] === 'list') return cmdModelsList(Boolean(values.json));
        if (rest[0] === 'export') return await cmdModelsExport(argv.slice(argv.indexOf('export') + 1));
        throw new VidflowError(
          'CONFIG_INVALID',
          `models: expected \`list\` or \`export\`, found ${rest[0] ? `"${rest[0]}"` : 'nothing'}`,
        );
      case 'dashboard':
        return await cmdDashboard(values, logger);
      case 'doctor':
        return await cmdDoctor(rest[0], logger);
      case 'eval': {
        const { cmdEval } = await import('./eval/cli.js');
        return await cmdEval(rest[0], values['ground-truth'] as string | undefined, Boolean(values.json), logger);
      }
      case 'submit':
      case 'worker': {
        const { cmdScale } = await import('./scale/cli.js');
        return await cmdScale(cmd, argv.slice(argv.indexOf(cmd) + 1), logger);
      }
      case 'cameras':
      case 'assign': {
        const { cmdCameras } = await import('./scale/cli.js');
        return await cmdCameras(cmd, argv.slice(argv.indexOf(cmd) + 1), logger);
      }
      default:
        process.stderr.write(`error[CONFIG_INVALID]: unknown command "${cmd}"\n${USAGE}\n`);
        return EXIT.CONFIG;
    }
  } catch (err) {
    printErrorLines(err);
    return exitCodeFor(err);
  }
}

async function cmdDashboard(values: Record<string, unknown>, logger: Logger): Promise<number> {
  const { startDashboardServer } = await import('./sinks/websocket-sink.js');
  const port = values.port === undefined ? 8765 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new VidflowError('CONFIG_INVALID', `--port: found "${String(values.port)}", expected a port number 0-65535`);
  const server = await startDashboardServer({
    port,
    host: (values.host as string | undefined) ?? '127.0.0.1',
    logger,
    ...(typeof values.connect === 'string' ? { connect_url: values.connect } : {}),
  });
  process.stdout.write(`dashboard: ${server.dashboardUrl}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
  return EXIT.OK;
}
