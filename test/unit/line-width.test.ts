/**
 * No source line over 120 columns (biome's formatter wraps code at 120 but leaves long strings,
 * comments and regex literals alone; issue #10 counted 371 such lines). Checked over the files git
 * tracks, so generated and ignored files do not count.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from '../support/media.js';

const WIDTH = 120;
const CODE = /\.(ts|js|mjs|cjs)$/;

describe('line width', () => {
  it(`no tracked .ts/.js/.mjs line is wider than ${WIDTH} characters`, () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8' })
      .split('\0')
      .filter((f) => CODE.test(f));
    assert.ok(files.length > 100, `git ls-files found ${files.length} code files`);
    const wide: string[] = [];
    for (const f of files) {
      const lines = readFileSync(path.join(REPO, f), 'utf8').split('\n');
      lines.forEach((line, i) => {
        const width = [...line].length; // characters, not UTF-16 units: '→' and '█' count as one column
        if (width > WIDTH) wide.push(`${f}:${i + 1} (${width})`);
      });
    }
    assert.deepEqual(wide, [], `${wide.length} line(s) over ${WIDTH} characters`);
  });
});
