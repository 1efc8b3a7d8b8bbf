#!/usr/bin/env node
// Builds dist/ only when it is missing or older than its inputs (src/**, tsconfig*.json), so
// `npm run demo` compiles once and later runs start in seconds. A successful build writes
// dist/.build-stamp; the build is up to date when that stamp is newer than every input. A failed
// build leaves no stamp, so the next run tries again.
//
//   node scripts/ensure-build.mjs            # from the package root
//   VIDFLOW_BUILD_ROOT=DIR VIDFLOW_TSC=FILE  # tests: another root, another compiler script
//
// Reports on stderr: "vidflow: build up to date (...)" or "vidflow: building dist (...)".
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(
  process.env.VIDFLOW_BUILD_ROOT ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'),
);
const stamp = path.join(root, 'dist', '.build-stamp');

/** The newest input file and its mtime. */
function newestInput() {
  let newest = { file: null, mtimeMs: 0 };
  const consider = (file) => {
    const m = statSync(file).mtimeMs;
    if (m > newest.mtimeMs) newest = { file, mtimeMs: m };
  };
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) consider(full);
    }
  };
  walk(path.join(root, 'src'));
  for (const f of ['tsconfig.json', 'tsconfig.build.json'])
    if (existsSync(path.join(root, f))) consider(path.join(root, f));
  return newest;
}

const input = newestInput();
const rel = (f) => path.relative(root, f);
if (existsSync(stamp) && statSync(stamp).mtimeMs >= input.mtimeMs) {
  process.stderr.write(`vidflow: build up to date (dist built after the newest source, ${rel(input.file)})\n`);
  process.exit(0);
}
process.stderr.write(
  `vidflow: building dist (${
    existsSync(stamp) ? `${rel(input.file)} changed since the last build` : 'no previous ' + 'build'
  }) ...\n`,
);
const started = Date.now();
const tsc = process.env.VIDFLOW_TSC ?? path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
// Stamp with the time the build started: a source edited during the build triggers the next one.
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write(`vidflow: build failed (tsc exit ${r.status ?? r.signal})\n`);
  process.exit(r.status ?? 1);
}
writeFileSync(stamp, `built ${new Date(started).toISOString()}\n`);
utimesSync(stamp, new Date(started), new Date(started));
process.stderr.write(`vidflow: built dist in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
