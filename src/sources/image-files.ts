/**
 * Which files an `images` source reads: a folder (its JPEG/PNG/WebP files, not sub-folders) or a
 * glob (core/glob.ts), listed in a stable order (code-unit order of the absolute path). Plain functions, called by
 * the source and
 * by its tests; no ffmpeg here.
 */
import { statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { globBase, globToRegExp, hasGlobChars, listFiles, sortPaths } from '../core/glob.js';

/** File name endings an `images` source reads (case-insensitive). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'] as const;

export function isImageFile(file: string): boolean {
  const base = path.basename(file);
  // Hidden files (editors' and downloaders' temporary files) are never read.
  if (base.startsWith('.')) return false;
  const ext = path.extname(base).toLowerCase();
  return (IMAGE_EXTENSIONS as readonly string[]).includes(ext);
}

export interface ImageSet {
  /** What `path` was resolved to (absolute). */
  pattern: string;
  kind: 'folder' | 'glob';
  /** Files now, sorted. */
  list(): string[];
}

/**
 * `resolved` is the absolute config path. Throws a plain Error with a one-line reason (the caller
 * adds the config path) when the folder or the glob's base folder does not exist.
 */
export function imageSet(resolved: string): ImageSet {
  const posix = resolved.split(path.sep).join('/');
  if (!hasGlobChars(posix)) {
    let st: Stats;
    try {
      st = statSync(resolved);
    } catch {
      throw new Error('folder does not exist');
    }
    if (!st.isDirectory())
      throw new Error('is a file, expected a folder or a glob of images (use a `file` source for one image or video)');
    return { pattern: resolved, kind: 'folder', list: () => sortPaths(listFiles(resolved, false).filter(isImageFile)) };
  }
  const base = globBase(posix);
  let st: Stats | null = null;
  try {
    st = statSync(base);
  } catch {
    st = null;
  }
  if (!st?.isDirectory()) throw new Error(`folder ${base} (where the glob starts) does not exist`);
  const re = globToRegExp(posix);
  const rest = posix.slice(base.length).replace(/^\//, '');
  const deep = rest.includes('**') || rest.includes('/');
  return {
    pattern: resolved,
    kind: 'glob',
    list: () =>
      sortPaths(
        listFiles(base, deep)
          .map((f) => f.split(path.sep).join('/'))
          .filter((f) => re.test(f) && isImageFile(f))
          .map((f) => f.split('/').join(path.sep)),
      ),
  };
}

/** The one-line reason for an empty set. */
export function emptyReason(set: ImageSet): string {
  const exts = IMAGE_EXTENSIONS.join(', ');
  return set.kind === 'folder'
    ? `no image files (${exts}) in this folder`
    : `no image file (${exts}) matches this glob`;
}
