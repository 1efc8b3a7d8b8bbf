/**
 * Globs over the file system, for every input that names several files (the `images` source, and
 * `vidflow submit`): `*`, `?`, `[abc]`/`[!abc]` within a path segment, `**` across segments,
 * `{a,b}` alternatives; matched as a RegExp over absolute POSIX paths. Sorting is by code unit,
 * so the same on every machine and locale.
 */
import { readdirSync, statSync, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';

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
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
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

/**
 * Every file under `dir` (recursively into non-hidden folders when `deep`), absolute; symlinks
 * count as what they point at. Unreadable folders are skipped.
 */
export function listFiles(dir: string, deep: boolean, out: string[] = []): string[] {
  let entries: Dirent[];
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
    else if (isDir && deep && !e.name.startsWith('.')) listFiles(full, deep, out);
  }
  return out;
}
