// Hardware-accelerated decoding options: ffmpeg input options, schema defaults, auto's probe messages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileSourceSchema } from '../../src/sources/file-source.js';
import { buildDecodeArgs } from '../../src/sources/ffmpeg/decoder.js';
import { hwaccelInputOptions, isHwaccelProbeMessage } from '../../src/sources/hwaccel.js';
import { decodeOptions } from '../support/decode-options.js';

test('hwaccel: none adds no ffmpeg option; a method adds -hwaccel (and -hwaccel_device when set)', () => {
  assert.deepEqual(hwaccelInputOptions({ hwaccel: 'none', hwaccel_device: '0' }), []);
  assert.deepEqual(hwaccelInputOptions(null), []);
  assert.deepEqual(hwaccelInputOptions({ hwaccel: 'auto', hwaccel_device: null }), ['-hwaccel', 'auto']);
  assert.deepEqual(hwaccelInputOptions({ hwaccel: 'vaapi', hwaccel_device: '/dev/dri/renderD128' }), [
    '-hwaccel',
    'vaapi',
    '-hwaccel_device',
    '/dev/dri/renderD128',
  ]);
});

test('file source: hwaccel defaults to none; an unknown method is a config error listing the choices', () => {
  const c = fileSourceSchema.parse({ type: 'file', id: 'a', path: 'a.mp4' });
  assert.equal(c.hwaccel, 'none');
  assert.equal(c.hwaccel_device, null);
  const bad = fileSourceSchema.safeParse({ type: 'file', id: 'a', path: 'a.mp4', hwaccel: 'nvdec' });
  assert.equal(bad.success, false);
  const issue = bad.error!.issues[0]!;
  assert.deepEqual(issue.path, ['hwaccel']);
  assert.match(issue.message, /'none' \| 'auto' \| 'cuda' \| 'vaapi' \| 'vdpau'/);
});

test('decode arguments: -hwaccel is an input option, before -i', () => {
  const args = buildDecodeArgs(decodeOptions({ hwaccel: { hwaccel: 'cuda', hwaccel_device: '1' } }));
  const i = args.indexOf('-i');
  const h = args.indexOf('-hwaccel');
  assert.ok(h >= 0 && h < i, args.join(' '));
  assert.deepEqual(args.slice(h, h + 4), ['-hwaccel', 'cuda', '-hwaccel_device', '1']);
  assert.equal(args.indexOf('-hwaccel', i), -1);
});

test("auto's failed device probes are recognised; a decoding error is not", () => {
  for (const line of [
    '[AVHWDeviceContext @ 0x561e53d31900] [error] Cannot load libcuda.so.1',
    '[AVHWDeviceContext @ 0x561e53d31900] [error] Could not dynamically load CUDA',
    '[error] Device creation failed: -542398533.',
  ])
    assert.ok(isHwaccelProbeMessage(line), line);
  for (const line of [
    '[h264 @ 0x55] [error] Invalid NAL unit size (1234 > 567).',
    '[error] Error while decoding stream #0:0: Invalid data found when processing input',
  ])
    assert.ok(!isHwaccelProbeMessage(line), line);
});
