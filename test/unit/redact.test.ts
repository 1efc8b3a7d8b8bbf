/**
 * Camera credentials never reach logs: URL user-info is redacted whole (also when the password
 * contains `@`, `:` or percent-escapes), registered secrets are hidden wherever they appear, and
 * the production logger (createLogger, in a child process writing to a real stderr) applies both
 * to messages and to fields.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { redactUrl, registerUrlSecrets } from '../../src/core/logger.js';
import { REPO } from '../support/media.js';

describe('redactUrl', () => {
  it('hides user and password', () => {
    assert.equal(redactUrl('rtsp://admin:hunter22@192.0.2.10:554/stream1'), 'rtsp://***@192.0.2.10:554/stream1');
  });

  it('hides a password containing @ whole (was half redacted: rtsp://***@ss@host)', () => {
    assert.equal(redactUrl('rtsp://admin:p@ss@192.0.2.10/stream1'), 'rtsp://***@192.0.2.10/stream1');
    assert.equal(
      redactUrl('opening rtsp://u:a@b@c@cam.local:8554/x failed'),
      'opening rtsp://***@cam.local:8554/x failed',
    );
  });

  it('hides percent-encoded and colon-bearing passwords, keeps URLs without credentials', () => {
    assert.equal(redactUrl('rtsp://u:p%40ss:w@h/x'), 'rtsp://***@h/x');
    assert.equal(redactUrl('rtsp://192.0.2.10/stream@2'), 'rtsp://192.0.2.10/stream@2');
    assert.equal(redactUrl('http://h/a?next=mail@x'), 'http://h/a?next=mail@x');
  });

  it('hides registered secrets outside URLs (an ffmpeg line quoting the password)', () => {
    registerUrlSecrets('rtsp://cam:Zq9%40secret@192.0.2.1/s');
    assert.equal(redactUrl('auth failed for password Zq9@secret'), 'auth failed for password ***');
    assert.equal(redactUrl('raw Zq9%40secret'), 'raw ***');
  });
});

describe('createLogger', () => {
  it('redacts credentials in messages, fields and errors', () => {
    const script = `
      import { createLogger, registerUrlSecrets } from './src/core/logger.ts';
      const url = 'rtsp://admin:p@ss-W0rd@192.0.2.10/stream1';
      registerUrlSecrets(url);
      const log = createLogger({ level: 'debug', pretty: false });
      log.info('Connecting to ' + url);
      log.warn({ url, nested: { cmd: ['-i', url] } }, 'field check');
      log.error({ err: new Error('cannot open ' + url) }, 'error check');
      log.debug('ffmpeg said: bad password p@ss-W0rd');
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 4, r.stderr);
    assert.doesNotMatch(r.stderr, /p@ss|W0rd|admin/);
    assert.match(lines[0]!, /Connecting to rtsp:\/\/\*\*\*@192\.0\.2\.10\/stream1/);
    assert.match(lines[1]!, /"url":"rtsp:\/\/\*\*\*@192\.0\.2\.10\/stream1"/);
    assert.match(lines[2]!, /cannot open rtsp:\/\/\*\*\*@192/);
    assert.match(lines[3]!, /bad password \*\*\*/);
  });
});
