/**
 * Agreement of two runs' JSONL records on the same frames (docs/parity.md "Fast decode-time
 * resize"): `node --import tsx bench/compare-records.ts A.jsonl B.jsonl`.
 * Detection: per frame, boxes of the same label matched greedily by IoU (≥ 0.5, best first);
 * prints matched / only-in-A / only-in-B, the largest and the median corner difference in pixels
 * and the frame sizes seen (`--label person`: that label's boxes only). Classification: top-1 label
 * agreement and the largest score difference.
 */
import { readFileSync } from 'node:fs';

interface Rec {
  frame_index: number;
  frame_width: number;
  frame_height: number;
  results: {
    detections?: Array<{ box: [number, number, number, number]; label: string; score: number }>;
    top?: Array<{ label: string; score: number }>;
  };
}

function load(file: string): Map<number, Rec> {
  const out = new Map<number, Rec>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as Rec;
    if (r.results) out.set(r.frame_index, r);
  }
  return out;
}

function iou(a: number[], b: number[]): number {
  const w = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const h = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = w * h;
  const area = (x: number[]) => (x[2]! - x[0]!) * (x[3]! - x[1]!);
  return inter / (area(a) + area(b) - inter || 1);
}

const args = process.argv.slice(2);
const labelArg = args.indexOf('--label');
const onlyLabel = labelArg >= 0 ? args.splice(labelArg, 2)[1] : undefined;
const [fileA, fileB] = args;
if (!fileA || !fileB) throw new Error('usage: compare-records.ts [--label NAME] A.jsonl B.jsonl');
const a = load(fileA);
const b = load(fileB);
const frames = [...a.keys()].filter((k) => b.has(k));
const sizes = new Set<string>();
let matched = 0;
let onlyA = 0;
let onlyB = 0;
let top1 = 0;
let classified = 0;
let maxScoreDiff = 0;
const corner: number[] = [];
const unmatched: string[] = [];
for (const k of frames) {
  const ra = a.get(k)!;
  const rb = b.get(k)!;
  sizes.add(`${ra.frame_width}x${ra.frame_height}|${rb.frame_width}x${rb.frame_height}`);
  if (ra.results.top && rb.results.top) {
    classified += 1;
    if (ra.results.top[0]?.label === rb.results.top[0]?.label) {
      top1 += 1;
      maxScoreDiff = Math.max(maxScoreDiff, Math.abs(ra.results.top[0]!.score - rb.results.top[0]!.score));
    }
  }
  const keep = (d: { label: string }) => onlyLabel === undefined || d.label === onlyLabel;
  const da = (ra.results.detections ?? []).filter(keep);
  const db = (rb.results.detections ?? []).filter(keep);
  const pairs: Array<[number, number, number]> = [];
  da.forEach((x, i) =>
    db.forEach((y, j) => {
      if (x.label !== y.label) return;
      const v = iou(x.box, y.box);
      if (v >= 0.5) pairs.push([v, i, j]);
    }),
  );
  pairs.sort((p, q) => q[0] - p[0]);
  const usedA = new Set<number>();
  const usedB = new Set<number>();
  for (const [, i, j] of pairs) {
    if (usedA.has(i) || usedB.has(j)) continue;
    usedA.add(i);
    usedB.add(j);
    matched += 1;
    const d = Math.max(...da[i]!.box.map((v, c) => Math.abs(v - db[j]!.box[c]!)));
    corner.push(d);
  }
  onlyA += da.length - usedA.size;
  onlyB += db.length - usedB.size;
  da.forEach((x, i) => usedA.has(i) || unmatched.push(`A ${x.label} ${x.score.toFixed(3)}`));
  db.forEach((y, j) => usedB.has(j) || unmatched.push(`B ${y.label} ${y.score.toFixed(3)}`));
}
corner.sort((x, y) => x - y);
const median = corner.length > 0 ? corner[Math.floor(corner.length / 2)]! : 0;
const p95 = corner.length > 0 ? corner[Math.floor(corner.length * 0.95)]! : 0;
console.log(`frames compared: ${frames.length} (sizes A|B: ${[...sizes].join(', ')})`);
if (classified > 0)
  console.log(
    `top-1 agree: ${top1}/${classified} (${((100 * top1) / classified).toFixed(1)} %), ` +
      `max score diff ${maxScoreDiff.toFixed(4)} where equal`,
  );
if (matched + onlyA + onlyB > 0)
  console.log(
    `boxes matched ${matched}, only in A ${onlyA}, only in B ${onlyB}; ` +
      `corner diff px max ${(corner.at(-1) ?? 0).toFixed(2)}, ` +
      `p95 ${p95.toFixed(2)}, median ${median.toFixed(2)}`,
  );
if (unmatched.length > 0) {
  const byLabel = new Map<string, { n: number; max: number }>();
  for (const u of unmatched) {
    const [side, label, score] = u.split(' ');
    const key = `${side} ${label}`;
    const e = byLabel.get(key) ?? { n: 0, max: 0 };
    e.n += 1;
    e.max = Math.max(e.max, Number(score));
    byLabel.set(key, e);
  }
  console.log(`unmatched: ${[...byLabel].map(([k, e]) => `${k} ×${e.n} (score ≤ ${e.max.toFixed(3)})`).join(', ')}`);
}
