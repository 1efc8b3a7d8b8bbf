import assert from 'node:assert/strict';
import { it } from 'node:test';
import { clusterId } from '../support/kafka-broker.js';

it('KRaft cluster ids never start with "-" (kafka-storage would read one as an option)', () => {
  for (let i = 0; i < 5000; i++) {
    const id = clusterId();
    assert.match(id, /^[A-Za-z0-9][A-Za-z0-9_-]{21}$/);
  }
});
