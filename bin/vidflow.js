#!/usr/bin/env node
// vidflow CLI entry: the compiled build (dist/, made by `npm install` / `npm run build`),
// or the TypeScript sources through tsx when working on vidflow itself.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const compiled = path.join(root, 'dist', 'cli.js');
let mod;
if (existsSync(compiled) && !process.env.VIDFLOW_FROM_SOURCE) {
  mod = await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import(pathToFileURL(path.join(root, 'src', 'cli.ts')).href);
}
const code = await mod.main(process.argv.slice(2));
// Let stdout drain before exiting.
process.stdout.write('', () => process.exit(code));
