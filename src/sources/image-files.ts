/**
 * Which files an `images` source reads: a folder (its JPEG/PNG/WebP files, not sub-folders) or a
 * glob (`*`, `?`, `**`, `{a,b}`, `[abc]`), listed in a stable order (code-unit order of the
 * absolute path, the same on every machine and locale). Plain functions, called by the source and
 * by its tests; no ffmpeg here.
 */
import { readdirSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';

/** File name endings an `images` source reads (case-insensitive). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'] as const;

export function isImageFile(file: string): boolean {
  const base = path.basename(file);
  // Hidden files (editors' and downloaders' temporary files) are never read.
  if (base.startsWith('.')) return false;
  const ext = path.extname(base).toLowerCase();
  return (IMAGE_EXTENSIONS as readonly string[]).includes(ext);
}

export function hasGlobChars(p: string): boolean {
  return /[*?[{]/.test(p);
}

/** Code-unit order (not locale order): stable across machines. */
export function sortPaths(paths: string[]): string[] {
  return paths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A glob (POSIX separators) → a RegExp over absolute paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let i = 0;
  let inBraces = 0;
  while (i < glob.length) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more folders; `**` at the end anything.
        const slash = glob[i + 2] === '/';
        re += slash ? '(?:[^/]*/)*' : '.*';
        i += slash ? 3 : 2;
        continue;
      }
      re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body}]`;
        i = end;
      }
    } else if (c === '{') {
      inBraces += 1;
      re += '(?:';
    } else if (c === '}' && inBraces > 0) {
      inBraces -= 1;
      re += ')';
    } else if (c === ',' && inBraces > 0) re += '|';
    else re += c.replace(/[.+^$()|\\\]}]/g, '\\$&');
    i += 1;
  }
  return new RegExp(`^${re}$`);
}

/** The folder a glob's matches lie under: its segments before the first one with a glob character. */
export function globBase(glob: string): string {
  const segs = glob.split('/');
  const fixed: string[] = [];
  for (const s of segs) {
    if (hasGlobChars(s)) break;
    fixed.push(s);
  }
  return fixed.join('/') || '/';
}

export interface ImageSet {
  /** What `path` was resolved to (absolute). */
  pattern: string;
  kind: 'folder' | 'glob';
  /** Files now, sorted. */
  list(): string[];
}

/** Every file under `dir` (recursively when `deep`), absolute. Unreadable folders are skipped. */
function walk(dir: string, deep: boolean, out: string[] = []): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      // Symlinks count as what they point at (a folder of symlinked photos works).
      let st: Stats | null = null;
      try {
        st = statSync(full);
      } catch {
        st = null;
      }
      isDir = st?.isDirectory() ?? false;
      isFile = st?.isFile() ?? false;
    }
    if (isFile) out.push(full);
    else if (isDir && deep && !e.name.startsWith('.')) walk(full, deep, out);
  }
  return out;
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
    if (!st.isDirectory()) throw new Error('is a file, expected a folder or a glob of images (use a `file` source for one image or video)');
    return { pattern: resolved, kind: 'folder', list: () => sortPaths(walk(resolved, false).filter(isImageFile)) };
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
        walk(base, deep)
          .map((f) => f.split(path.sep).join('/'))
          .filter((f) => re.test(f) && isImageFile(f))
          .map((f) => f.split('/').join(path.sep)),
      ),
  };
}

/** The one-line reason for an empty set. */
export function emptyReason(set: ImageSet): string {
  const exts = IMAGE_EXTENSIONS.join(', ');
  return set.kind === 'folder' ? `no image files (${exts}) in this folder` : `no image file (${exts}) matches this glob`;
}
