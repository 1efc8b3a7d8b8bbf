/**
 * Finds ffmpeg and ffprobe: FFMPEG_PATH / FFPROBE_PATH, else binaries on PATH, else the binaries
 * shipped in npm packages (@ffmpeg-installer/ffmpeg, ffprobe-static) so a fresh machine needs
 * nothing beyond `npm install`. `@ffprobe-installer/ffprobe` is deliberately not used: its 5.2.0
 * build crashes on every MPEG-TS file (shared/notes/ffmpeg.md).
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { VidflowError } from '../../core/errors.js';

export type BinarySource = 'env' | 'path' | 'npm';
export interface ResolvedBinary {
  path: string;
  source: BinarySource;
}
export interface FfmpegBinaries {
  ffmpeg: ResolvedBinary;
  ffprobe: ResolvedBinary;
}

const require = createRequire(import.meta.url);

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** The ffmpeg binary shipped in @ffmpeg-installer/ffmpeg, or null. */
export function npmFfmpegPath(): string | null {
  try {
    const p = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
    return existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

/** The ffprobe binary shipped in ffprobe-static, or null. */
export function npmFfprobePath(): string | null {
  try {
    const p = (require('ffprobe-static') as { path: string }).path;
    return existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

function resolveOne(
  name: 'ffmpeg' | 'ffprobe',
  envVar: string,
  npm: () => string | null,
  prefer: 'system' | 'npm',
): ResolvedBinary {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (!isExecutable(fromEnv))
      throw new VidflowError('FFMPEG_NOT_FOUND', `${envVar}=${fromEnv} is not an executable file`);
    return { path: fromEnv, source: 'env' };
  }
  const order: Array<() => ResolvedBinary | null> = [
    () => {
      const p = onPath(name);
      return p ? { path: p, source: 'path' } : null;
    },
    () => {
      const p = npm();
      return p ? { path: p, source: 'npm' } : null;
    },
  ];
  if (prefer === 'npm') order.reverse();
  for (const attempt of order) {
    const found = attempt();
    if (found) return found;
  }
  throw new VidflowError(
    'FFMPEG_NOT_FOUND',
    `${name} not found: set ${envVar}, put ${name} on PATH, or run npm install (it ships a fallback binary)`,
  );
}

let cached: FfmpegBinaries | null = null;

/**
 * Resolves both binaries once per process. VIDFLOW_FFMPEG_PREFER=npm makes the npm-shipped
 * binaries win over PATH (the tests use it to exercise the fallback).
 */
export function ffmpegBinaries(): FfmpegBinaries {
  if (cached) return cached;
  const prefer = process.env.VIDFLOW_FFMPEG_PREFER === 'npm' ? 'npm' : 'system';
  cached = {
    ffmpeg: resolveOne('ffmpeg', 'FFMPEG_PATH', npmFfmpegPath, prefer),
    ffprobe: resolveOne('ffprobe', 'FFPROBE_PATH', npmFfprobePath, prefer),
  };
  return cached;
}

/** Forgets the cached resolution (tests that change the environment). */
export function resetFfmpegBinaries(): void {
  cached = null;
}
