/** Pipeline file validation: every problem at once, one precise line each. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, formatIssue, parsePipeline } from '../../src/config/load.js';
import { interpolate } from '../../src/config/interpolate.js';
import { regex } from '../support/regex.js';

function issues(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parsePipeline(text, 'p.yaml', '/tmp', { env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map(formatIssue);
  }
  return [];
}

const GOOD = `name: ok
sources:
  - type: file
    id: cam1
    path: a.mp4
stages:
  - type: classify
    id: scene
    model: some-model
sinks:
  - type: stdout
`;

describe('pipeline config validation', () => {
  it('accepts a valid file and fills defaults', () => {
    const cfg = parsePipeline(GOOD, 'p.yaml', '/tmp', { env: {} });
    assert.equal(cfg.name, 'ok');
    assert.equal(cfg.sources[0]!.config.max_in_flight, 8);
    assert.equal(cfg.stages[0]!.config.top_k, 5);
    assert.equal(cfg.sinks[0]!.config.format, 'jsonl');
  });

  it('reports three mistakes as three lines with file, line, column, path, found and expected', () => {
    const text = `name: bad
sources:
  - type: file
    id: cam1
    path: x.mp4
    fsp: 5
stages:
  - type: clasify
    id: scene
    model: foo
sinks:
  - type: jsonl
    path: 42
`;
    const lines = issues(text);
    assert.equal(lines.length, 3, lines.join('\n'));
    assert.equal(lines[0], 'p.yaml(6,5) sources[0].fsp: unknown key "fsp"; did you mean "fps"?');
    assert.match(
      lines[1]!,
      regex(
        /^p\.yaml\(8,11\) stages\[0\]\.type: unknown stage type "clasify", expected one of .*classify.*; did you mean/,
        / "classify"\?$/,
      ),
    );
    assert.equal(lines[2], 'p.yaml(13,11) sinks[0].path: found number 42, expected string');
  });

  it('reports wrong types, bad enum values and missing fields', () => {
    const text = GOOD.replace('    path: a.mp4\n', '    fps: "fast"\n').replace(
      '  - type: stdout\n',
      '  - type: stdout\n    format: prety\n',
    );
    const lines = issues(text);
    assert.ok(lines.includes('p.yaml(5,10) sources[0].fps: found "fast", expected number'), lines.join('\n'));
    assert.ok(
      lines.some((l) => /^p\.yaml\(3,\d+\) sources\[0\]\.path: missing required field, expected string$/.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      lines.includes(
        'p.yaml(12,13) sinks[0].format: found "prety", expected one of jsonl, pretty; did you mean "pretty"?',
      ),
      lines.join('\n'),
    );
  });

  it('rejects unknown top-level keys and empty lists', () => {
    const lines = issues('name: x\nsources: []\nstages: []\nsinks: []\nextra: 1\n');
    assert.equal(lines.length, 4, lines.join('\n'));
    assert.ok(lines.some((l) => l.includes('extra: unknown key "extra"')));
    assert.ok(
      lines.some(
        (l) =>
          l.includes('sources: must contain at least 1 element') || l.includes('sources: expected at least one source'),
      ),
      lines.join('\n'),
    );
  });

  it('checks ids are unique and stage streams name real sources', () => {
    const text = `${GOOD.replace('    model: some-model\n', '    model: some-model\n    streams: [cam2]\n')}`;
    const lines = issues(text);
    assert.deepEqual(lines, [
      'p.yaml(10,15) stages[0].streams[0]: no source with id "cam2"; expected one of cam1; did you mean "cam1"?',
    ]);
    const dup = issues(GOOD.replace('id: scene', 'id: cam1'));
    assert.equal(dup.length, 1);
    assert.match(dup[0]!, /stages\[0\]\.id: duplicate id "cam1" \(already used by sources\[0\]\)/);
  });

  it('interpolates environment variables, with defaults, and reports unset ones', () => {
    const text = GOOD.replace('path: a.mp4', 'path: ${VIDEO_DIR:-/videos}/${VIDEO}');
    const cfg = parsePipeline(text, 'p.yaml', '/tmp', { env: { VIDEO: 'lobby.mp4' } });
    assert.equal(cfg.sources[0]!.config.path, '/videos/lobby.mp4');
    const lines = issues(text, {});
    assert.deepEqual(lines, [
      'p.yaml(5,11) sources[0].path: environment variable VIDEO is not set (use ${VIDEO:-default} for a default)',
    ]);
    assert.equal(
      interpolate('a$${b}', {}, () => assert.fail('no variable')),
      'a${b}',
    );
  });

  it('reads JSON pipeline files too', () => {
    const json = JSON.stringify(
      {
        sources: [{ type: 'file', id: 'a', path: 'x.mp4' }],
        stages: [{ type: 'classify', id: 'c', model: 'm' }],
        sinks: [{ type: 'stdout', fromat: 'x' }],
      },
      null,
      2,
    );
    const lines = issues(json);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^p\.yaml\(\d+,\d+\) sinks\[0\]\.fromat: unknown key "fromat"; did you mean "format"\?$/);
  });

  it('error codes say what kind of problem it is', () => {
    const codeOf = (text: string, env: NodeJS.ProcessEnv = {}) => {
      try {
        parsePipeline(text, 'p.yaml', '/tmp', { env });
      } catch (err) {
        return (err as ConfigError).code;
      }
      return null;
    };
    assert.equal(codeOf('sources: [\n'), 'CONFIG_PARSE');
    assert.equal(codeOf(GOOD.replace('a.mp4', '${NOPE}')), 'CONFIG_ENV_MISSING');
    assert.equal(codeOf(GOOD.replace('top_k', 'x').replace('type: stdout', 'type: stdot')), 'CONFIG_INVALID');
    assert.equal(codeOf(GOOD), null);
  });

  it('reports YAML syntax errors with their position', () => {
    const lines = issues('sources:\n  - type: file\n   id: [unclosed\n');
    assert.ok(lines.length >= 1);
    assert.match(lines[0]!, /^p\.yaml\(\d+,\d+\) \(root\): not valid YAML\/JSON: /);
  });
});

describe('batch_size against the frames in flight', () => {
  const text = (maxInFlight: string) => `name: b
sources:
  - type: file
    id: cam1
    path: a.mp4
${maxInFlight}stages:
  - type: classify
    id: c
    model: mobilenetv2-12-int8
    batch_size: 25
sinks:
  - type: stdout
`;
  it("warns, at the field, when a batch can never fill (batch_size > the sources' max_in_flight)", () => {
    const cfg = parsePipeline(text(''), 'p.yaml', '/tmp', { env: {} });
    const w = cfg.warnings.find((x) => x.path === 'stages[0].batch_size' || x.path === 'stages.0.batch_size');
    assert.ok(w, JSON.stringify(cfg.warnings));
    assert.equal(w.line, 10);
    assert.match(w.message, /batch_size 25 is more than the 8 frame\(s\) its source\(s\) may have in flight/);
  });
  it('is quiet when the sources allow a full batch', () => {
    const cfg = parsePipeline(text('    max_in_flight: 32\n'), 'p.yaml', '/tmp', { env: {} });
    assert.equal(cfg.warnings.filter((x) => /batch_size/.test(x.message)).length, 0);
  });
});
