/**
 * Start-up cost: `vidflow run` loads the config loader, which registers every sink type. kafkajs
 * (~0.2 s to load on a 2-core machine) must load only when a Kafka sink connects, not for every
 * pipeline (issue #13: "kafkajs loads even with no Kafka sink").
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { REPO } from '../support/media.js';

/** The npm packages loaded (CommonJS module cache) after importing `entry` in a fresh process. */
function packagesLoadedBy(entry: string): string[] {
  const script =
    `const { createRequire } = await import('node:module');` +
    `await import(${JSON.stringify(entry)});` +
    `const Module = createRequire(import.meta.url)('node:module');` +
    `const names = Object.keys(Module._cache).map((k) => k.split('node_modules/').pop().split('/')[0]);` +
    `console.log(JSON.stringify([...new Set(names)]));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as string[];
}

describe('start-up imports', () => {
  it('loading pipelines (config loader, all sink types registered) does not load kafkajs', () => {
    const loaded = packagesLoadedBy('./src/config/load.ts');
    assert.ok(loaded.includes('ws'), `the probe sees CommonJS packages (ws is loaded): ${loaded.join(', ')}`);
    assert.ok(!loaded.includes('kafkajs'), `kafkajs was loaded: ${loaded.join(', ')}`);
  });

  it('a Kafka sink still gets kafkajs when it connects (the lazy client imports it)', async () => {
    const { lazyKafkajsClientFactory } = await import('../../src/sinks/kafka/lazy-client.js');
    const pino = (await import('pino')).default;
    const client = lazyKafkajsClientFactory(
      {
        brokers: ['127.0.0.1:9'],
        clientId: 'startup-test',
        compression: 'none',
        acks: -1,
        idempotent: true,
        connectTimeoutMs: 2000,
        requestTimeoutMs: 2000,
      },
      { logger: pino({ level: 'silent' }) },
    );
    await assert.rejects(client.send([]), /not connected/);
    // Port 9 (discard) refuses: connect fails as a connection error, after kafkajs was loaded.
    await assert.rejects(client.connect());
    await client.disconnect();
  });
});
