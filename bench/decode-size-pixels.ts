/**
 * How far ffmpeg's decode-time scale (`decode_size`) is from the default path's pixels
 * (docs/parity.md "Fast decode-time resize"): 20 frames (every 15th) of people-one-by-one.mp4
 * decoded at full size and resized by vidflow's `resizeRgb` (the manifests' interpolation: YOLOX
 * plain bilinear to the letterbox size, MobileNet antialiased to Resize(256)), against the same
 * frames scaled by ffmpeg with each swscale filter. Prints mean / p99 / max absolute difference
 * (0..255) and the share of equal values. Run: `node --import tsx bench/decode-size-pixels.ts`.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { resizeRgb } from '../src/models/preprocess.js';
import { ffmpegBinaries } from '../src/sources/ffmpeg/binaries.js';

const shared = process.env.VIDFLOW_SHARED ?? path.resolve(import.meta.dirname, '..', '..', 'shared');
const file = path.join(shared, 'media', 'videos', 'people-one-by-one.mp4');
const W = 768;
const H = 432;
const N = 20;

function decode(vf: string, w: number, h: number): Uint8Array[] {
  const args = ['-v', 'error', '-i', file, '-vf', `select='not(mod(n\\,15))',${vf}format=rgb24`];
  args.push('-frames:v', String(N), '-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1');
  const r = spawnSync(ffmpegBinaries().ffmpeg.path, args, { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  const size = w * h * 3;
  if (r.stdout.length !== N * size) throw new Error(`expected ${N} frames of ${w}x${h}, got ${r.stdout.length} bytes`);
  return Array.from({ length: N }, (_, i) => new Uint8Array(r.stdout.buffer, r.stdout.byteOffset + i * size, size));
}

const full = decode('', W, H);
const cases = [
  { name: 'YOLOX letterbox size', tw: 416, th: 233, interp: 'bilinear' as const },
  { name: 'Resize(256)', tw: 455, th: 256, interp: 'bilinear_antialias' as const },
];
for (const c of cases) {
  const ref = full.map((f) => resizeRgb(f, W, H, c.tw, c.th, c.interp));
  for (const flags of ['bilinear', 'area', 'bicubic']) {
    const got = decode(`scale=${c.tw}:${c.th}:flags=${flags},`, c.tw, c.th);
    const hist = new Float64Array(256);
    let sum = 0;
    let n = 0;
    for (let i = 0; i < N; i++)
      for (let j = 0; j < ref[i]!.length; j++) {
        const d = Math.abs(ref[i]![j]! - got[i]![j]!);
        sum += d;
        n += 1;
        hist[d]! += 1;
      }
    let acc = 0;
    let p99 = -1;
    let max = 0;
    for (let d = 0; d < 256; d++) {
      if (hist[d]! > 0) max = d;
      acc += hist[d]!;
      if (p99 < 0 && acc >= 0.99 * n) p99 = d;
    }
    const equal = ((100 * hist[0]!) / n).toFixed(1);
    console.log(
      `${c.name} ${c.tw}x${c.th} (${c.interp}) vs swscale ${flags}: mean ${(sum / n).toFixed(3)}, p99 ${p99}, ` +
        `max ${max}, equal ${equal} %`,
    );
  }
}
