/**
 * How the decoder reads ffmpeg's stderr: lines end at `\n` or `\r` (progress lines end in `\r`,
 * so a message can share a `\n` line with one), split across chunks anywhere (issue #8 item 5).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  buildDecodeArgs,
  READ_PAST_END_SECS,
  isErrorLine,
  isPostSeekMessage,
  parseShowinfo,
  StderrLines,
} from '../../src/sources/ffmpeg/decoder.js';
import { decodeOptions } from '../support/decode-options.js';

it('cuts stderr on \\r and \\n, keeping the unfinished rest across chunks', () => {
  const text =
    '[info] frame=   63 fps=0.0 q=-0.0 size=   59292kB time=00:00:06.00 speed=95x    \r' +
    '[h264 @ 0x56005d198e80] [error] error while decoding MB 22 17, bytestream -12\n' +
    '[h264 @ 0x56005d198e80] [info] concealing 507 DC, 507 AC, 507 MV errors in P frame\r\n' +
    '[error] last line without newline';
  // Every split point, including inside `\r\n` and inside the error line.
  for (let cut = 0; cut <= text.length; cut++) {
    const s = new StderrLines();
    const lines = [...s.push(text.slice(0, cut)), ...s.push(text.slice(cut)), ...s.end()];
    assert.equal(lines.length, 4, `cut at ${cut}: ${JSON.stringify(lines)}`);
    assert.equal(lines.filter(isErrorLine).length, 2, `cut at ${cut}`);
    assert.match(lines[1]!, /^\[h264 @ 0x56005d198e80\] \[error\] error while decoding MB/);
  }
});

it('a message another thread wrote into the middle of a showinfo line is still seen (and the frame info too)', () => {
  const s = new StderrLines();
  const glued =
    '[Parsed_showinfo_1 @ 0x5600] [info] n: 119 pts: 1190 pts_time:11.9 pos: 1 fmt:rgb24 sar:1/1 s:640x360 i:P ' +
    'iskey:0 type:B[h264 @ 0x56005d198e80] [error] error while decoding MB 30 18, bytestream -6\n';
  const lines = [...s.push(glued), ...s.end()];
  assert.equal(lines.length, 2, JSON.stringify(lines));
  assert.equal(parseShowinfo(lines[0]!)?.n, 119);
  assert.ok(isErrorLine(lines[1]!), lines[1]);
});

it('recognises error, fatal and panic lines with or without a component prefix, not other levels', () => {
  assert.ok(isErrorLine('[h264 @ 0x55] [error] error while decoding MB 20 26'));
  assert.ok(isErrorLine('[mpegts @ 0x55] [fatal] x'));
  assert.ok(isErrorLine('[error] stream ended inside a frame (10 of 20 bytes)'));
  assert.ok(isErrorLine('[in#0/mpegts @ 0x55] [error] x'));
  assert.ok(!isErrorLine('[h264 @ 0x55] [info] concealing 77 DC, 77 AC, 77 MV errors in P frame'));
  assert.ok(!isErrorLine('[warning] clip.ts: corrupt decoded frame in stream 0'));
  assert.ok(!isErrorLine('[Parsed_showinfo_1 @ 0x55] [info] n:  63 pts: 702000 [error]'));
  assert.ok(isPostSeekMessage('[h264 @ 0x55] [error] co located POCs unavailable'));
  assert.ok(!isPostSeekMessage('[h264 @ 0x55] [error] error while decoding MB 20 26'));
});

it('ffmpeg runs with -nostats, so no progress lines interleave with its messages', () => {
  const args = buildDecodeArgs(decodeOptions({ input: 'a.ts', label: 'a.ts' }));
  assert.ok(args.includes('-nostats'));
  assert.ok(args.indexOf('-nostats') < args.indexOf('-i'));
});

it('end_secs: ffmpeg stops reading 1 s past the end (-to, an input option), not at the end of the file', () => {
  const cut = buildDecodeArgs(decodeOptions({ start_time: 1.5, start: 3, end: 10 }));
  const to = cut.indexOf('-to');
  assert.ok(to >= 0 && to < cut.indexOf('-i'), cut.join(' '));
  // Counted from the file's start like -ss (the container's start time is not added).
  assert.equal(cut[to + 1], (10 + READ_PAST_END_SECS).toFixed(6));
  assert.equal(READ_PAST_END_SECS, 1);
  assert.match(cut.join(' '), /select='gte\(t\\,4\.499900\)\*lt\(t\\,11\.499900\)'/);
  assert.equal(buildDecodeArgs(decodeOptions({ start_time: 1.5 })).indexOf('-to'), -1);
});
