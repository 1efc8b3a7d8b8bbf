/** Shared helpers for the parity tests: reading the committed PyTorch references. */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { Tensor } from '../../src/models/runner.js';

export const FIXTURES = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'models');

export interface BinRef {
  file: string;
  dims: number[];
  type: 'float32' | 'int64' | 'uint8';
}
export interface RunRef {
  inputs: number[];
  feeds: Record<string, BinRef>;
  outputs: Record<string, BinRef>;
}
export interface RunsFile {
  name: string;
  family: 'classification' | 'quantized' | 'segmentation' | 'detection' | 'video';
  runs: RunRef[];
  tolerance: Record<string, number | string>;
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(FIXTURES, d.name, 'reference', 'runs.json')))
    .map((d) => d.name)
    .sort();
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export function loadBin(dir: string, ref: BinRef): Tensor {
  const buf = readFileSync(path.join(dir, ref.file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const data =
    ref.type === 'float32' ? new Float32Array(ab) : ref.type === 'int64' ? new BigInt64Array(ab) : new Uint8Array(ab);
  const n = ref.dims.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new Error(`${ref.file}: ${data.length} elements, dims ${ref.dims.join('x')} need ${n}`);
  return { type: ref.type, dims: ref.dims, data } as Tensor;
}

export function toNumbers(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

export function maxAbsDiff(a: Tensor, b: Tensor): number {
  const x = toNumbers(a);
  const y = toNumbers(b);
  if (x.length !== y.length) return Infinity;
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

export function argmax(v: ArrayLike<number>, start = 0, len = v.length - start): number {
  let best = start;
  for (let i = start + 1; i < start + len; i++) if (v[i]! > v[best]!) best = i;
  return best - start;
}

/** Argmax over the class axis of a [1,C,H,W] map. */
export function argmaxMap(t: Tensor): Uint8Array {
  const [, c, h, w] = t.dims as number[];
  const d = t.data as Float32Array;
  const hw = h! * w!;
  const out = new Uint8Array(hw);
  for (let p = 0; p < hw; p++) {
    let best = 0;
    for (let k = 1; k < c!; k++) if (d[k * hw + p]! > d[best * hw + p]!) best = k;
    out[p] = best;
  }
  return out;
}

export interface Detection {
  box: number[];
  label: number;
  score: number;
  index: number;
}

export function detections(out: Record<string, Tensor>, sfx: string): Detection[] {
  const boxes = toNumbers(out[`boxes${sfx}`]!);
  const labels = toNumbers(out[`labels${sfx}`]!);
  const scores = toNumbers(out[`scores${sfx}`]!);
  return scores.map((score, i) => ({ box: boxes.slice(i * 4, i * 4 + 4), label: labels[i]!, score, index: i }));
}

/** Greedy matching by label and box (every coordinate within tol), not by index. */
export function matchDetections(ref: Detection[], got: Detection[], tol: number): Array<[Detection, Detection]> {
  const used = new Set<number>();
  const pairs: Array<[Detection, Detection]> = [];
  for (const r of ref) {
    let best: Detection | null = null;
    let bestD = Infinity;
    for (const g of got) {
      if (used.has(g.index) || g.label !== r.label) continue;
      const d = Math.max(...r.box.map((v, k) => Math.abs(v - g.box[k]!)));
      if (d <= tol && d < bestD) {
        best = g;
        bestD = d;
      }
    }
    if (best) {
      used.add(best.index);
      pairs.push([r, best]);
    }
  }
  return pairs;
}
