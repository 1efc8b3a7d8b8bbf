/**
 * Test videos generated at test time with ffmpeg (testsrc2 and friends), cached per process in a
 * temp folder, plus paths to the shared real media and models (never copied into the repo).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { npmFfmpegPath } from '../../src/sources/ffmpeg/binaries.js';

export const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
export const SHARED = process.env.VIDFLOW_SHARED
  ? path.resolve(process.env.VIDFLOW_SHARED)
  : path.resolve(REPO, '..', 'shared');
export const sharedMedia = (rel: string) => path.join(SHARED, 'media', rel);
export const sharedModel = (rel: string) => path.join(SHARED, 'models', rel);

let dir: string | null = null;
export function tmpDir(): string {
  if (!dir) dir = mkdtempSync(path.join(os.tmpdir(), 'vidflow-test-'));
  return dir;
}

function systemFfmpeg(): string {
  return process.env.FFMPEG_PATH ?? 'ffmpeg';
}

function gen(name: string, args: string[], bin = systemFfmpeg()): string {
  const out = path.join(tmpDir(), name);
  if (!existsSync(out)) execFileSync(bin, ['-v', 'error', '-y', ...args, out], { stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}

export const media = {
  /** 640×360, 25 fps, `secs` long, H.264 yuv420p, moov at the front. */
  testsrc: (secs = 2, size = '640x360', fps = 25) =>
    gen(`testsrc-${size}-${fps}-${secs}.mp4`, [
      '-f',
      'lavfi',
      '-i',
      `testsrc2=s=${size}:r=${fps}`,
      '-t',
      String(secs),
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-movflags',
      '+faststart',
    ]),
  /** 641×359 (odd), H.264 4:4:4 so odd sizes survive. */
  oddSize: () =>
    gen('odd-641x359.mp4', [
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=640x360:r=25',
      '-t',
      '1',
      '-vf',
      'scale=641:359',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv444p',
    ]),
  /** 320×240 coded, tagged rotate=90 like a phone video: decodes as 240×320. */
  rotated: () => {
    const plain = gen('rot-src.mp4', [
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x240:r=30',
      '-t',
      '1',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
    ]);
    // Debian's ffmpeg 5.1 cannot write rotation metadata; the npm-shipped 4.1 build can.
    return gen(
      'rotated-90.mp4',
      ['-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90'],
      npmFfmpegPath() ?? systemFfmpeg(),
    );
  },
  /** Variable frame rate: every 5th gap is 4× longer. */
  vfr: () =>
    gen('vfr.mkv', [
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x240:r=30',
      '-t',
      '2',
      '-vf',
      "setpts='(N+floor(N/5)*3)/(30*TB)'",
      '-vsync',
      'passthrough',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
    ]),
  /** 10-bit 4:2:0. */
  tenBit: () =>
    gen('yuv420p10le.mp4', [
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x240:r=25',
      '-t',
      '1',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p10le',
    ]),
  mkv: () =>
    gen('clip.mkv', [
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x240:r=25',
      '-t',
      '1',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
    ]),
  mpegts: () =>
    gen('clip.ts', [
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x240:r=25',
      '-t',
      '1',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-f',
      'mpegts',
    ]),
  /** Audio only. */
  audioOnly: () => gen('audio-only.m4a', ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac']),
  /** A text file with a video extension. */
  notVideo: () => {
    const out = path.join(tmpDir(), 'not-a-video.mp4');
    if (!existsSync(out)) writeFileSync(out, 'this is not a video\n'.repeat(100));
    return out;
  },
  /** The first `fraction` of a faststart MP4: decodes some frames, then fails. */
  truncated: (fraction = 0.5) => {
    const full = gen('trunc-src.mp4', [
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x240:r=25',
      '-t',
      '4',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-g',
      '10',
      '-pix_fmt',
      'yuv420p',
      '-movflags',
      '+faststart',
    ]);
    const out = path.join(tmpDir(), `truncated-${fraction}.mp4`);
    if (!existsSync(out)) {
      const buf = readFileSync(full);
      writeFileSync(out, buf.subarray(0, Math.floor(buf.length * fraction)));
    }
    return out;
  },
};

/** pts of every frame as ffprobe reads them from the container. */
export function containerPts(file: string): number[] {
  const out = execFileSync(
    process.env.FFPROBE_PATH ?? 'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', file],
    { encoding: 'utf8' },
  );
  return out
    .split('\n')
    .map((l) => l.replace(/,$/, '').trim())
    .filter(Boolean)
    .map(Number);
}
