/**
 * Loads a pipeline file (YAML or JSON), interpolates environment variables, and validates it
 * against the pipeline schema and every component's own schema. All problems are collected and
 * reported at once, each as `file(line,col) path: message`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { z, type ZodIssue } from 'zod';
import type { SinkSpec, SourceSpec, StageSpec } from '../core/component.js';
import { VidflowError, type ErrorCode } from '../core/errors.js';
import { redactUrl } from '../core/logger.js';
import { didYouMean } from '../core/suggest.js';
import { sinkSpecs } from '../sinks/index.js';
import { sourceSpecs } from '../sources/index.js';
import { stageSpecs } from '../stages/index.js';
import { interpolate } from './interpolate.js';
import { previewSchema, type PreviewOptions } from './preview-options.js';
import { httpSchema, type HttpOptions } from './http-options.js';

export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  /** e.g. `stages[1].model` */
  path: string;
  message: string;
  severity: 'error' | 'warning';
  /** CONFIG_PARSE (syntax), CONFIG_ENV_MISSING (unset variable), CONFIG_INVALID (the default), or the code of a
   * `validate` check (MODEL_NOT_FOUND, SINK_PATH, …). */
  code?: ErrorCode;
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.file}(${i.line},${i.col}) ${i.path || '(root)'}: ${i.message}`;
}

/** Longest pipeline file read (bytes); real pipelines are a few kB. */
export const MAX_PIPELINE_BYTES = 1 << 20;
/** Problems printed at most; the rest are counted ("… and K more"). */
export const MAX_PRINTED_ISSUES = 50;

/** The lines the CLI prints for issues: `error[CODE]: file(l,c) path: message`, capped at `max`. */
export function formatIssueLines(issues: readonly ConfigIssue[], max = MAX_PRINTED_ISSUES): string[] {
  const shown = issues
    .slice(0, max)
    .map((i) => (i.severity === 'error' ? `error[${i.code ?? 'CONFIG_INVALID'}]: ` : 'warning: ') + formatIssue(i));
  if (issues.length > max) {
    const rest = issues.slice(max);
    const errs = rest.filter((i) => i.severity === 'error').length;
    shown.push(
      `error[${issues.find((i) => i.severity === 'error')?.code ?? 'CONFIG_INVALID'}]: ${issues[0]!.file}: and ` +
        `${rest.length} more problem(s) (${errs} error(s), ${rest.length - errs} warning(s)) not shown`,
    );
  }
  return shown;
}

export class ConfigError extends VidflowError {
  constructor(readonly issues: ConfigIssue[]) {
    super(
      issues.find((i) => i.severity === 'error')?.code ?? 'CONFIG_INVALID',
      formatIssueLines(
        issues.filter((i) => i.severity === 'error'),
        5,
      ).join('\n'),
    );
  }
}

export const pipelineSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9_.-]+$/, 'expected letters, digits, `_`, `.` or `-`')
      .optional()
      .describe('Pipeline name carried by every record (default: the file name).'),
    description: z.string().optional().describe('Free text for people reading the file.'),
    sources: z
      .array(z.unknown())
      .min(1, 'expected at least one source')
      .describe('Where frames come from (see Sources).'),
    stages: z
      .array(z.unknown())
      .min(1, 'expected at least one stage')
      .describe('What runs on the frames (see Stages).'),
    sinks: z.array(z.unknown()).min(1, 'expected at least one sink').describe('Where results go (see Sinks).'),
    shutdown_timeout_ms: z
      .number()
      .int()
      .min(0)
      .default(10_000)
      .describe(
        'On SIGINT/SIGTERM, how long in-flight frames and sink buffers may take to flush. After it the sinks stop ' +
          'waiting and report (Kafka: spill) what they could not deliver, and the run exits 1. A second signal ends ' +
          'the process at once.',
      ),
    preview: previewSchema
      .default({})
      .describe('JPEG previews for sinks that show video (the WebSocket dashboard): `fps`, `max_width`, `quality`.'),
    http: httpSchema
      .nullable()
      .default(null)
      .describe(
        "The operators' HTTP endpoint of `vidflow run`: `{ host, port }` serves Prometheus `/metrics`, `/healthz` " +
          'and ' +
          '`/readyz` (docs/operations.md). Default `null`: off. `--http-port` / `--http-host` override it.',
      ),
  })
  .strict();

export interface ComponentConfig<T = Record<string, unknown>> {
  spec: T;
  config: Record<string, unknown> & { type: string; id?: string };
  /** `stages[1]` */
  path: string;
}

export interface PipelineConfig {
  file: string;
  baseDir: string;
  name: string;
  shutdown_timeout_ms: number;
  preview: PreviewOptions;
  /** The operators' HTTP endpoint (null: off unless `--http-port`). */
  http: HttpOptions | null;
  sources: Array<ComponentConfig<SourceSpec>>;
  stages: Array<ComponentConfig<StageSpec>>;
  sinks: Array<ComponentConfig<SinkSpec>>;
  warnings: ConfigIssue[];
  /** Line/col in the file of a config path such as `stages[1].model` (nearest parent if absent). */
  locate(configPath: string): { line: number; col: number };
}

type PathSeg = string | number;

export function formatPath(p: readonly PathSeg[]): string {
  let s = '';
  for (const seg of p) s += typeof seg === 'number' ? `[${seg}]` : s === '' ? seg : `.${seg}`;
  return s;
}

/** `stages[1].model` → ['stages', 1, 'model']. */
export function parseConfigPath(p: string): PathSeg[] {
  const out: PathSeg[] = [];
  for (const m of p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') {
    // Redact URL credentials before shortening: a cut URL would hide its `@` from redactUrl.
    const r = redactUrl(v);
    return `"${r.length > 40 ? `${r.slice(0, 37)}...` : r}"`;
  }
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${String(v)}`;
}

function getAt(root: unknown, p: readonly PathSeg[]): unknown {
  let cur: unknown = root;
  for (const seg of p) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

/**
 * A union's issue (`decode_size: auto | { … }`) → the issues of the one member the value's type
 * fits (a mapping: the object member's own errors, at their fields), or, when none fits, one
 * `found …, expected "auto" or object`.
 */
function flattenUnionIssues(issues: readonly ZodIssue[]): ZodIssue[] {
  return issues.flatMap((issue): ZodIssue[] => {
    if (issue.code !== 'invalid_union') return [issue];
    const atUnion = (i: ZodIssue) => i.path.length === issue.path.length;
    const mismatch = (i: ZodIssue) => atUnion(i) && (i.code === 'invalid_type' || i.code === 'invalid_literal');
    const fitting = issue.unionErrors.filter((e) => !e.issues.some(mismatch));
    if (fitting.length === 1) return flattenUnionIssues(fitting[0]!.issues);
    const expected = issue.unionErrors.flatMap((e) =>
      e.issues.filter(atUnion).flatMap((i) => {
        if (i.code === 'invalid_literal') return [JSON.stringify(i.expected)];
        return i.code === 'invalid_type' ? [String(i.expected)] : [];
      }),
    );
    if (fitting.length > 0 || expected.length === 0) return [issue];
    const merged: ZodIssue = {
      code: 'invalid_type',
      path: issue.path,
      expected: [...new Set(expected)].join(' or ') as z.ZodParsedType,
      received: z.ZodParsedType.unknown,
      message: issue.message,
    };
    return [merged];
  });
}

/** Zod issue → one message that says what was found and what was expected. */
function issueMessage(
  issue: ZodIssue,
  data: unknown,
  shapeKeys: (p: readonly PathSeg[]) => string[],
): { path: PathSeg[]; message: string }[] {
  const found = getAt(data, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => ({
        path: [...issue.path, k],
        message: `unknown key "${k}"${didYouMean(k, shapeKeys(issue.path))}`,
      }));
    case 'invalid_type':
      if (found === undefined)
        return [{ path: issue.path, message: `missing required field, expected ${issue.expected}` }];
      return [{ path: issue.path, message: `found ${describeValue(found)}, expected ${issue.expected}` }];
    case 'invalid_enum_value': {
      const opts = issue.options.map(String);
      return [
        {
          path: issue.path,
          message:
            `found ${describeValue(found)}, expected one of ` +
            `${opts.join(', ')}${typeof found === 'string' ? didYouMean(found, opts) : ''}`,
        },
      ];
    }
    case 'invalid_literal':
      return [
        { path: issue.path, message: `found ${describeValue(found)}, expected ${JSON.stringify(issue.expected)}` },
      ];
    case 'too_small':
    case 'too_big':
      return [
        {
          path: issue.path,
          message: `${issue.message.replace(/^(String|Number|Array) must/, 'must')} (found ${describeValue(found)})`,
        },
      ];
    default:
      return [{ path: issue.path, message: `${issue.message} (found ${describeValue(found)})` }];
  }
}

/** Keys a zod object schema accepts at `p` (for "did you mean"). */
function keysOf(schema: z.ZodTypeAny, p: readonly PathSeg[]): string[] {
  let s: z.ZodTypeAny | undefined = schema;
  for (const seg of p) {
    while (
      s instanceof z.ZodEffects ||
      s instanceof z.ZodOptional ||
      s instanceof z.ZodDefault ||
      s instanceof z.ZodNullable
    ) {
      s =
        s instanceof z.ZodEffects
          ? s.innerType()
          : s instanceof z.ZodDefault
            ? s._def.innerType
            : (s as z.ZodOptional<z.ZodTypeAny>).unwrap();
    }
    if (s instanceof z.ZodUnion) s = (s.options as z.ZodTypeAny[]).find((o) => keysOf(o, []).length > 0) ?? s;
    while (s instanceof z.ZodEffects) s = s.innerType();
    if (s instanceof z.ZodObject) s = s.shape[seg as string];
    else if (s instanceof z.ZodArray) s = s.element;
    else if (s instanceof z.ZodRecord) s = s.valueSchema;
    else return [];
    if (!s) return [];
  }
  while (
    s instanceof z.ZodEffects ||
    s instanceof z.ZodOptional ||
    s instanceof z.ZodDefault ||
    s instanceof z.ZodNullable
  ) {
    s =
      s instanceof z.ZodEffects
        ? s.innerType()
        : s instanceof z.ZodDefault
          ? s._def.innerType
          : (s as z.ZodOptional<z.ZodTypeAny>).unwrap();
  }
  if (s instanceof z.ZodUnion)
    return (s.options as z.ZodTypeAny[]).map((o) => keysOf(o, [])).find((k) => k.length > 0) ?? [];
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

class Locator {
  private readonly index = new WeakMap<object, Map<string, { key: YamlNode; value: unknown }>>();
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Line/col of the value at `p` (or of its key when `key` is set); falls back to the nearest parent. */
  at(p: readonly PathSeg[], key = false): { line: number; col: number } {
    for (let n = p.length; n >= 0; n--) {
      const sub = p.slice(0, n);
      const useKey = key && n === p.length;
      const pos = this.find(sub, useKey);
      if (pos !== null) return this.lines.linePos(pos);
    }
    return { line: 1, col: 1 };
  }

  private find(p: readonly PathSeg[], key: boolean): number | null {
    let node: unknown = this.doc.contents;
    let keyNode: unknown = null;
    for (const seg of p) {
      if (isMap(node)) {
        let byKey = this.index.get(node);
        if (!byKey) {
          byKey = new Map();
          for (const it of node.items)
            if (isPair(it) && isScalar(it.key) && !byKey.has(String(it.key.value)))
              byKey.set(String(it.key.value), { key: it.key as YamlNode, value: it.value });
          this.index.set(node, byKey);
        }
        const pair = byKey.get(String(seg));
        if (!pair) return null;
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node)) {
        keyNode = null;
        node = node.items[seg as number];
      } else return null;
    }
    const target = (key && keyNode ? keyNode : node) as YamlNode | null;
    return target?.range ? target.range[0] : null;
  }
}

/** Reports keys that appear twice in one mapping (linear: one Set per mapping). */
function findDuplicateKeys(
  node: unknown,
  p: PathSeg[],
  onDup: (node: YamlNode, p: PathSeg[], key: string) => void,
): void {
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const k = isScalar(item.key) ? String(item.key.value) : '?';
      if (isScalar(item.key)) {
        if (seen.has(k)) onDup(item.key as YamlNode, [...p, k], k);
        seen.add(k);
      }
      findDuplicateKeys(item.value, [...p, k], onDup);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => findDuplicateKeys(item, [...p, i], onDup));
  }
}

/** Replaces `${VAR}` in every string scalar, reporting unset variables at their position and path. */
function interpolateDocument(
  node: unknown,
  p: PathSeg[],
  env: NodeJS.ProcessEnv,
  onMissing: (node: YamlNode, p: PathSeg[], variable: string) => void,
): void {
  if (isMap(node)) {
    for (const item of node.items)
      if (isPair(item))
        interpolateDocument(item.value, [...p, isScalar(item.key) ? String(item.key.value) : '?'], env, onMissing);
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => interpolateDocument(item, [...p, i], env, onMissing));
  } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
    node.value = interpolate(node.value, env, ({ variable }) => onMissing(node as YamlNode, p, variable));
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
}

export function loadPipelineFile(file: string, options: LoadOptions = {}): PipelineConfig {
  const shown = path.relative(process.cwd(), path.resolve(file)) || file;
  if (!existsSync(file) || statSync(file).isDirectory())
    throw new VidflowError('CONFIG_NOT_FOUND', `${shown}: pipeline file does not exist`);
  const size = statSync(file).size;
  if (size > MAX_PIPELINE_BYTES)
    throw new VidflowError(
      'CONFIG_INVALID',
      `${shown}: pipeline file is ${(size / (1 << 20)).toFixed(1)} MB; expected at most ` +
        `${MAX_PIPELINE_BYTES / (1 << 20)} MB (a pipeline file is a few kB)`,
    );
  const text = readFileSync(file, 'utf8');
  return parsePipeline(text, shown, path.dirname(path.resolve(file)), options);
}

export function parsePipeline(text: string, shown: string, baseDir: string, options: LoadOptions = {}): PipelineConfig {
  const env = options.env ?? process.env;
  const lines = new LineCounter();
  // yaml's own uniqueKeys check is quadratic in the keys of a mapping: duplicates are found below.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const issues: ConfigIssue[] = [];
  const add = (
    pos: { line: number; col: number },
    p: readonly PathSeg[],
    message: string,
    severity: 'error' | 'warning' = 'error',
  ) => issues.push({ file: shown, line: pos.line, col: pos.col, path: formatPath(p), message, severity });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0] ?? (Array.isArray(e.pos) ? lines.linePos(e.pos[0]) : { line: 1, col: 1 });
      issues.push({
        file: shown,
        line: pos.line,
        col: pos.col,
        path: '',
        message: `not valid YAML/JSON: ${e.message.split('\n')[0]}`,
        severity: 'error',
        code: 'CONFIG_PARSE',
      });
    }
    throw new ConfigError(issues);
  }
  findDuplicateKeys(doc.contents, [], (node, p, key) => {
    const pos = node.range ? lines.linePos(node.range[0]) : { line: 1, col: 1 };
    issues.push({
      file: shown,
      line: pos.line,
      col: pos.col,
      path: formatPath(p),
      message: `duplicate key "${key}" (each key may appear once)`,
      severity: 'error',
      code: 'CONFIG_PARSE',
    });
  });
  if (issues.length > 0) throw new ConfigError(issues);
  const locate = new Locator(doc, lines);
  interpolateDocument(doc.contents, [], env, (node, p, variable) => {
    const pos = node.range ? lines.linePos(node.range[0]) : { line: 1, col: 1 };
    issues.push({
      file: shown,
      line: pos.line,
      col: pos.col,
      path: formatPath(p),
      message: `environment variable ${variable} is not set (use \${${variable}:-default} for a default)`,
      severity: 'error',
      code: 'CONFIG_ENV_MISSING',
    });
  });
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 }) as unknown;
  } catch (err) {
    // yaml refuses alias bombs ("Excessive alias count …"): a parse error of this file, not a bug.
    issues.push({
      file: shown,
      line: 1,
      col: 1,
      path: '',
      message: `not usable YAML: ${(err as Error).message.split('\n')[0]}`,
      severity: 'error',
      code: 'CONFIG_PARSE',
    });
    throw new ConfigError(issues);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    add({ line: 1, col: 1 }, [], `found ${describeValue(data)}, expected a mapping with sources, stages and sinks`);
    throw new ConfigError(issues);
  }
  const top = pipelineSchema.safeParse(data);
  if (!top.success) {
    for (const issue of flattenUnionIssues(top.error.issues)) {
      for (const m of issueMessage(issue, data, (p) => keysOf(pipelineSchema, p)))
        add(locate.at(m.path, issue.code === 'unrecognized_keys'), m.path, m.message);
    }
  }
  const raw = data as Record<string, unknown>;
  const validateList = <S extends { type: string; schema: z.ZodTypeAny }>(
    listKey: 'sources' | 'stages' | 'sinks',
    specs: readonly S[],
    noun: string,
  ): Array<ComponentConfig<S>> => {
    const list = raw[listKey];
    if (!Array.isArray(list)) return [];
    const out: Array<ComponentConfig<S>> = [];
    list.forEach((item, i) => {
      const p: PathSeg[] = [listKey, i];
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        add(locate.at(p), p, `found ${describeValue(item)}, expected a mapping with a \`type\``);
        return;
      }
      const type = (item as Record<string, unknown>).type;
      const types = specs.map((s) => s.type);
      if (typeof type !== 'string') {
        add(
          locate.at([...p, 'type']),
          [...p, 'type'],
          `${type === undefined ? 'missing required field' : `found ${describeValue(type)}`}, expected a ${noun} ` +
            `type: one of ${types.join(', ')}`,
        );
        return;
      }
      const spec = specs.find((s) => s.type === type);
      if (!spec) {
        add(
          locate.at([...p, 'type']),
          [...p, 'type'],
          `unknown ${noun} type "${type}", expected one of ${types.join(', ')}${didYouMean(type, types)}`,
        );
        return;
      }
      const parsed = spec.schema.safeParse(item);
      if (!parsed.success) {
        for (const issue of flattenUnionIssues(parsed.error.issues)) {
          const full: ZodIssue = { ...issue, path: [...p, ...issue.path] };
          for (const m of issueMessage(full, data, (q) => keysOf(spec.schema, q.slice(2))))
            add(locate.at(m.path, issue.code === 'unrecognized_keys'), m.path, m.message);
        }
        return;
      }
      out.push({ spec, config: parsed.data as ComponentConfig['config'], path: formatPath(p) });
    });
    return out;
  };
  const sources = validateList('sources', sourceSpecs, 'source');
  const stages = validateList('stages', stageSpecs, 'stage');
  const sinks = validateList('sinks', sinkSpecs, 'sink');

  // Cross-references: unique ids, stage streams name existing sources.
  const sourceIds = sources.map((s) => String(s.config.id));
  const seen = new Map<string, string>();
  for (const c of [...sources, ...stages]) {
    const id = String(c.config.id);
    const p = [
      ...c.path
        .replace(/\[(\d+)\]/, '.$1')
        .split('.')
        .map((x) => (/^\d+$/.test(x) ? Number(x) : x)),
      'id',
    ];
    if (seen.has(id)) add(locate.at(p), p, `duplicate id "${id}" (already used by ${seen.get(id)})`);
    else seen.set(id, c.path);
  }
  for (const st of stages) {
    const streams = st.config.streams as string[] | null | undefined;
    if (!streams) continue;
    streams.forEach((s, j) => {
      if (!sourceIds.includes(s)) {
        const idx = Number(/\[(\d+)\]/.exec(st.path)![1]);
        const p: PathSeg[] = ['stages', idx, 'streams', j];
        add(
          locate.at(p),
          p,
          `no source with id "${s}"; expected one of ${sourceIds.join(', ')}${didYouMean(s, sourceIds)}`,
        );
      }
    });
  }
  // A batch larger than the frames its streams may have in flight can never fill: every batch
  // then waits max_wait_ms (file sources pause at max_in_flight). Not an error, but a trap.
  stages.forEach((st, idx) => {
    const batch = st.config.batch_size as number | undefined;
    if (typeof batch !== 'number' || batch <= 1) return;
    const streams = (st.config.streams as string[] | null | undefined) ?? sourceIds;
    const credits = sources
      .filter((s) => streams.includes(String(s.config.id)))
      .reduce((sum, s) => sum + Number(s.config.max_in_flight ?? 8), 0);
    if (credits > 0 && batch > credits) {
      const p: PathSeg[] = ['stages', idx, 'batch_size'];
      add(
        locate.at(p),
        p,
        `batch_size ${batch} is more than the ${credits} frame(s) its source(s) may have in flight (max_in_flight), ` +
          `so no batch can fill and each waits max_wait_ms (${String(st.config.max_wait_ms ?? '?')} ms); raise the ` +
          `sources' max_in_flight to at least ${batch} or lower batch_size`,
        'warning',
      );
    }
  });
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) throw new ConfigError(issues);
  const t = top.success
    ? top.data
    : { name: undefined, shutdown_timeout_ms: 10_000, preview: previewSchema.parse({}), http: null };
  return {
    file: shown,
    baseDir,
    name: t.name ?? path.basename(shown).replace(/\.(ya?ml|json)$/i, ''),
    shutdown_timeout_ms: t.shutdown_timeout_ms,
    preview: t.preview,
    http: t.http,
    sources,
    stages,
    sinks,
    warnings: issues.filter((i) => i.severity === 'warning'),
    locate: (configPath: string) => locate.at(parseConfigPath(configPath)),
  };
}
