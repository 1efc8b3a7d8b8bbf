/**
 * The published package works for someone who installs it: `npm pack` (which runs `prepare`,
 * i.e. the build into dist/, as `npm install` from git would) gives a tarball holding every file
 * package.json's `exports` and `bin` point at; installed into a fresh project, `import('vidflow')`
 * exports the public API (load / validate / build a pipeline, the registries, errors, the record
 * schema), a TypeScript consumer type-checks against its declarations, a pipeline file shipped in
 * the package loads and validates, a small pipeline runs end to end (images → YOLOX-nano detect),
 * and the installed `vidflow` command runs from dist/ without tsx.
 *
 * The install uses npm's cache only (`--offline`); when a dependency is not cached yet it falls
 * back to the registry once (`--prefer-offline`), after which the cache serves it. Install scripts
 * are off (`--ignore-scripts`: onnxruntime-node's would download CUDA providers from nuget).
 * Note: `npm pack` rebuilds dist/ in the checkout (a gitignored build output).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO, SHARED } from '../support/media.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vidflow-pkg-'));
const project = path.join(tmp, 'consumer');
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Without the npm_* variables of a parent `npm test` (they would point npm at this package). */
const cleanEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { cwd, env: { ...cleanEnv(), ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, string | Record<string, string>>;
  bin: Record<string, string>;
};

/** Every file `exports` and `bin` name, without `./`. */
function declaredTargets(): string[] {
  const out: string[] = [];
  for (const v of Object.values(pkg.exports)) out.push(...(typeof v === 'string' ? [v] : Object.values(v)));
  out.push(...Object.values(pkg.bin));
  return [...new Set(out.map((p) => p.replace(/^\.\//, '')))];
}

let tarball = '';
let packed: string[] = [];
let installError: string | null = null;

before(
  () => {
    const r = run('npm', ['pack', '--pack-destination', tmp, '--json'], REPO);
    assert.equal(r.code, 0, `npm pack failed:\n${r.stderr.slice(-4000)}`);
    const info = (JSON.parse(r.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>)[0]!;
    tarball = path.join(tmp, info.filename);
    packed = info.files.map((f) => f.path);

    mkdirSync(project);
    writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'vidflow-consumer', version: '1.0.0', private: true, type: 'module' }, null, 2),
    );
    const flags = ['--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock'];
    let inst = run('npm', ['install', tarball, '--offline', ...flags], project);
    if (inst.code !== 0 && /ENOTCACHED/.test(inst.stderr))
      inst = run('npm', ['install', tarball, '--prefer-offline', ...flags], project);
    if (inst.code !== 0) {
      // Only an unreachable registry is a reason not to test; any other install failure is a failure.
      const offline = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|ENOTCACHED/.test(inst.stderr);
      const tail = inst.stderr.trim().split('\n').slice(-3).join(' ');
      if (offline) installError = `npm install could not reach the registry: ${tail}`;
      else assert.fail(`npm install ${tarball} failed:\n${inst.stderr.slice(-4000)}`);
    }
  },
  { timeout: 15 * 60_000 },
);

describe('the packed package', () => {
  it('holds every file `exports` and `bin` point at (dist/index.js and its declarations), and no tests', () => {
    for (const t of declaredTargets())
      assert.ok(
        packed.includes(t),
        `${t} is in the tarball (packed: ${packed.filter((p) => /^(dist\/index|bin\/)/.test(p)).join(', ')})`,
      );
    assert.ok(packed.includes('dist/index.d.ts'));
    assert.ok(packed.includes('dist/cli.js'));
    assert.ok(packed.includes('dist/models/inference-worker.js'), 'worker entry points are built');
    assert.deepEqual(
      packed.filter((p) => p.startsWith('test/') || (p.startsWith('src/') && p.endsWith('.ts'))),
      [],
    );
  });

  it('import("vidflow") in a fresh project exports the public API; a shipped pipeline loads and validates; a ' +
    'pipeline ' +
    'runs', {
    timeout: 10 * 60_000,
  }, (t) => {
    if (installError) return t.skip(installError);
    writeFileSync(
      path.join(project, 'photos.yaml'),
      `name: consumer-photos\nsources:\n  - type: images\n    id: photos\n    path: ` +
        `${JSON.stringify(path.join(SHARED, 'media', 'photos', 'c*.png'))}\nstages:\n  - type: detect\n    id: ` +
        `objects\n    model: yolox-nano\nsinks:\n  - type: summary\n`,
    );
    writeFileSync(
      path.join(project, 'consumer.mjs'),
      `
const m = await import('vidflow');
const out = { keys: Object.keys(m).sort(), kinds: {} };
for (const k of out.keys) out.kinds[k] = typeof m[k];
out.resolved = import.meta.resolve('vidflow');
out.sources = m.sourceSpecs.map((s) => s.type);
out.stages = m.stageSpecs.map((s) => s.type);
out.sinks = m.sinkSpecs.map((s) => s.type);
out.schema = m.RESULT_SCHEMA_VERSION;
const shipped = m.loadPipelineFile('node_modules/vidflow/pipelines/index-photos.yaml');
out.shipped = { name: shipped.name, sources: shipped.sources.map((s) => s.spec.type), stages: shipped.stages.map((s) ` +
        `=> s.spec.type) };
out.shippedIssues = (await m.validatePipeline(shipped, { deep: false, logger: m.silentLogger() ` +
        `})).issues.map(m.formatIssue);
try {
  m.parsePipeline('sources: []', 'bad.yaml', process.cwd());
} catch (e) {
  out.badIsConfigError = e instanceof m.ConfigError && e instanceof m.VidflowError;
}
const records = [];
const p = await m.buildPipeline(m.loadPipelineFile('photos.yaml'), { logger: m.silentLogger(), onRecord: (r) => ` +
        `records.push(r) });
const summary = await p.run();
out.run = { ok: summary.ok, errors: summary.errors, records: records.map((r) => ({ source_path: r.source_path, ` +
        `labels: r.results.detections.map((d) => d.label) })) };
console.log(JSON.stringify(out));
`,
    );
    const r = run(process.execPath, ['consumer.mjs'], project, { VIDFLOW_SHARED: SHARED, VIDFLOW_FROM_SOURCE: '' });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      keys: string[];
      kinds: Record<string, string>;
      resolved: string;
      sources: string[];
      stages: string[];
      sinks: string[];
      schema: number;
      shipped: { name: string; sources: string[]; stages: string[] };
      shippedIssues: string[];
      badIsConfigError: boolean;
      run: { ok: boolean; errors: string[]; records: Array<{ source_path: string; labels: string[] }> };
    };
    assert.equal(out.resolved, `file://${path.join(project, 'node_modules', 'vidflow', 'dist', 'index.js')}`);
    const functions = [
      'loadPipelineFile',
      'parsePipeline',
      'validatePipeline',
      'buildPipeline',
      'assemble',
      'formatIssue',
      'formatIssueLines',
      'createLogger',
      'silentLogger',
      'isVidflowError',
      'loadManifest',
      'listManifests',
      'resolveModelRef',
      'streamAccounting',
    ];
    const classes = ['ConfigError', 'VidflowError', 'FlowGate', 'Metrics'];
    const values = [
      'sourceSpecs',
      'stageSpecs',
      'sinkSpecs',
      'ERROR_CODES',
      'EXIT',
      'TASKS',
      'MODEL_TASKS',
      'pipelineSchema',
      'ManifestSchema',
    ];
    for (const k of [...functions, ...classes]) assert.equal(out.kinds[k], 'function', `vidflow exports ${k}`);
    for (const k of values) assert.equal(out.kinds[k], 'object', `vidflow exports ${k}`);
    assert.equal(out.schema, 1);
    assert.deepEqual(out.sources, ['file', 'camera', 'images']);
    assert.ok(out.stages.includes('detect') && out.stages.includes('track'));
    assert.ok(out.sinks.includes('jsonl') && out.sinks.includes('kafka'));
    assert.deepEqual(out.shipped, { name: 'index-photos', sources: ['images'], stages: ['detect'] });
    assert.deepEqual(out.shippedIssues, []);
    assert.equal(out.badIsConfigError, true);
    assert.deepEqual(out.run, {
      ok: true,
      errors: [],
      records: [{ source_path: path.join(SHARED, 'media', 'photos', 'cat.png'), labels: ['cat'] }],
    });
  });

  it('a TypeScript consumer type-checks against the declarations (types exported: ResultRecord, PipelineConfig, ' +
    'SourceSpec, …)', {
    timeout: 10 * 60_000,
  }, (t) => {
    if (installError) return t.skip(installError);
    writeFileSync(
      path.join(project, 'consumer.ts'),
      `import { loadPipelineFile, buildPipeline, createLogger, sourceSpecs, type BuiltPipeline, type ConfigIssue, ` +
        `type Frame, type PipelineConfig, type ResultRecord, type RunSummary, type SinkSpec, type SourceSpec, type ` +
        `StageSpec, type Task } from 'vidflow';
const config: PipelineConfig = loadPipelineFile('photos.yaml');
const specs: readonly SourceSpec[] = sourceSpecs;
const onRecord = (r: ResultRecord): string => \`\${r.stream_id} \${r.frame_index} \${r.task satisfies Task}\`;
export async function go(): Promise<RunSummary> {
  const p: BuiltPipeline = await buildPipeline(config, { logger: createLogger({ level: 'warn' }), onRecord: (r) => ` +
        `void onRecord(r) });
  return p.run();
}
export type Used = [ConfigIssue, Frame, SinkSpec, StageSpec, typeof specs];
// @ts-expect-error: not a config
loadPipelineFile(42);
`,
    );
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [path.join(REPO, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    const r = run(
      process.execPath,
      [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
      project,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('the installed `vidflow` command runs from dist/ (no tsx in the consumer)', { timeout: 5 * 60_000 }, (t) => {
    if (installError) return t.skip(installError);
    const r = run(path.join(project, 'node_modules', '.bin', 'vidflow'), ['validate', 'photos.yaml'], project, {
      VIDFLOW_SHARED: SHARED,
      VIDFLOW_FROM_SOURCE: '',
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});
