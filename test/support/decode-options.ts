/** DecodeOptions for tests that build ffmpeg arguments or run the decoder directly: a file, no bounds. */
import type { DecodeOptions } from '../../src/sources/ffmpeg/decoder.js';

export function decodeOptions(overrides: Partial<DecodeOptions> = {}): DecodeOptions {
  return {
    input: 'a.mp4',
    label: 'a.mp4',
    stream_id: 's',
    fps: null,
    start: null,
    end: null,
    start_time: 0,
    kind: 'file',
    input_options: [],
    pts_offset: 0,
    index_offset: 0,
    stream_index: null,
    realtime: false,
    ...overrides,
  };
}
