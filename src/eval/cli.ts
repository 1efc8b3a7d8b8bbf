/**
 * `vidflow eval <pipeline.yaml> --ground-truth <dir-or-COCO-json> [--json]`: runs the pipeline as
 * `vidflow run` does (buildPipeline → run; its sinks still receive every record), collects the
 * records, and scores them against COCO-format ground truth.
 *
 * Matching (docs/accuracy.md): a COCO image matches the records whose `stream_id` and
 * `frame_index` equal the image's `stream_id` and `frame_index` fields; an image without them
 * matches the records of an `images` source whose `source_path` has the image's `file_name` as
 * basename. Categories match detections by name (`category.name` = record `label`). Only matched
 * images are scored; the images are the ground truth's, so frames the pipeline skipped count as misses.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadPipelineFile } from '../config/load.js';
import { EXIT, VidflowError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ResultRecord } from '../core/result.js';
import { buildPipeline } from '../runtime/run.js';
import { cocoAp, type DetAnnotation, type GtAnnotation } from './coco.js';
import { evaluateTracking, type TrackingFrame } from './tracking.js';

interface CocoImage {
  id: number;
  file_name?: string;
  stream_id?: string;
  frame_index?: number;
}
interface CocoDoc {
  images: CocoImage[];
  annotations: Array<GtAnnotation & { track_id?: number }>;
  categories: Array<{ id: number; name: string }>;
}

export function loadGroundTruth(p: string): CocoDoc {
  const files = statSync(p).isDirectory()
    ? readdirSync(p)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => path.join(p, f))
    : [p];
  if (files.length === 0) throw new VidflowError('CONFIG_NOT_FOUND', `--ground-truth: no .json file in ${p}`);
  const out: CocoDoc = { images: [], annotations: [], categories: [] };
  for (const f of files) {
    const d = JSON.parse(readFileSync(f, 'utf8')) as CocoDoc;
    out.images.push(...d.images);
    out.annotations.push(...d.annotations);
    for (const c of d.categories ?? []) if (!out.categories.some((x) => x.id === c.id)) out.categories.push(c);
  }
  return out;
}

type Det = {
  box: [number, number, number, number];
  label: string;
  score: number;
  mask?: { size: [number, number]; counts: number[] };
  keypoints?: Array<{ x: number; y: number }>;
  track_id?: number;
};

export function scoreRecords(gt: CocoDoc, records: ResultRecord[]) {
  const catByName = new Map(gt.categories.map((c) => [c.name, c.id]));
  const byFrame = new Map<string, ResultRecord[]>();
  const byPath = new Map<string, ResultRecord[]>();
  for (const r of records) {
    const rr = r as ResultRecord & { source_path?: string };
    (
      byFrame.get(`${r.stream_id}#${r.frame_index}`) ??
      byFrame.set(`${r.stream_id}#${r.frame_index}`, []).get(`${r.stream_id}#${r.frame_index}`)!
    ).push(r);
    if (rr.source_path)
      (
        byPath.get(path.basename(rr.source_path)) ??
        byPath.set(path.basename(rr.source_path), []).get(path.basename(rr.source_path))!
      ).push(r);
  }
  const dts: Record<'bbox' | 'segm' | 'keypoints', DetAnnotation[]> = { bbox: [], segm: [], keypoints: [] };
  const tracks: TrackingFrame[] = [];
  let matchedImages = 0;
  for (const img of gt.images) {
    const recs =
      img.stream_id !== undefined && img.frame_index !== undefined
        ? byFrame.get(`${img.stream_id}#${img.frame_index}`)
        : img.file_name
          ? byPath.get(path.basename(img.file_name))
          : undefined;
    if (recs?.length) matchedImages++;
    const hyp: TrackingFrame['hyp'] = [];
    for (const r of recs ?? []) {
      const dets = (r.results as { detections?: Det[] } | null)?.detections ?? [];
      for (const d of dets) {
        const category_id = catByName.get(d.label);
        if (category_id === undefined) continue;
        const bbox: [number, number, number, number] = [d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]];
        dts.bbox.push({ image_id: img.id, category_id, score: d.score, bbox });
        if (d.mask) dts.segm.push({ image_id: img.id, category_id, score: d.score, segmentation: d.mask });
        if (d.keypoints)
          dts.keypoints.push({
            image_id: img.id,
            category_id,
            score: d.score,
            keypoints: d.keypoints.flatMap((k) => [k.x, k.y, 1]),
          });
        if (r.task === 'tracking' && d.track_id !== undefined) hyp.push({ id: d.track_id, box: bbox });
      }
    }
    const g = gt.annotations.filter((a) => a.image_id === img.id && a.track_id !== undefined);
    tracks.push({ gt: g.map((a) => ({ id: a.track_id!, box: a.bbox })), hyp });
  }
  const imageIds = gt.images.map((i) => i.id);
  const categoryIds = gt.categories.map((c) => c.id);
  const out: Record<string, unknown> = {
    images: gt.images.length,
    matched_images: matchedImages,
    records: records.length,
  };
  out.bbox = cocoAp(gt.annotations, dts.bbox, 'bbox', { imageIds, categoryIds });
  if (dts.segm.length && gt.annotations.some((a) => a.segmentation))
    out.segm = cocoAp(gt.annotations, dts.segm, 'segm', { imageIds, categoryIds });
  if (dts.keypoints.length && gt.annotations.some((a) => a.keypoints))
    out.keypoints = cocoAp(gt.annotations, dts.keypoints, 'keypoints', { imageIds, categoryIds });
  if (tracks.some((t) => t.hyp.length) && tracks.some((t) => t.gt.length)) out.tracking = evaluateTracking(tracks);
  return out;
}

export async function cmdEval(
  file: string | undefined,
  groundTruth: string | undefined,
  json: boolean,
  logger: Logger,
): Promise<number> {
  if (!file)
    throw new VidflowError(
      'CONFIG_NOT_FOUND',
      'eval: expected a pipeline file, e.g. `vidflow eval pipelines/detect-people.yaml --ground-truth gt.json`',
    );
  if (!groundTruth) throw new VidflowError('CONFIG_NOT_FOUND', 'eval: --ground-truth <dir-or-COCO-json> is required');
  const gt = loadGroundTruth(groundTruth);
  const config = loadPipelineFile(file);
  const records: ResultRecord[] = [];
  const pipeline = await buildPipeline(config, { logger, onRecord: (r) => records.push(r) });
  const summary = await pipeline.run();
  for (const e of summary.errors) process.stderr.write(`${e}\n`);
  const scores = scoreRecords(gt, records);
  if (json) process.stdout.write(`${JSON.stringify({ pipeline: config.name, ...scores })}\n`);
  else {
    const rows: string[] = [
      `pipeline ${config.name}: ${scores.matched_images} of ${scores.images} ground-truth images matched, ` +
        `${scores.records} records`,
      'metric            value',
    ];
    const fmt = (x: number) => (x < 0 ? '   n/a' : x.toFixed(4));
    for (const k of ['bbox', 'segm', 'keypoints'] as const) {
      const r = scores[k] as { ap: number; ap50: number; ap75: number } | undefined;
      if (r)
        rows.push(
          `${k} AP@[.5:.95]`.padEnd(18) + fmt(r.ap),
          `${k} AP@0.5`.padEnd(18) + fmt(r.ap50),
          `${k} AP@0.75`.padEnd(18) + fmt(r.ap75),
        );
    }
    const t = scores.tracking as { mota: number; idf1: number; num_switches: number } | undefined;
    if (t)
      rows.push(
        'MOTA'.padEnd(18) + fmt(t.mota),
        'IDF1'.padEnd(18) + fmt(t.idf1),
        'ID switches'.padEnd(18) + String(t.num_switches),
      );
    process.stdout.write(`${rows.join('\n')}\n`);
  }
  return summary.ok ? EXIT.OK : EXIT.RUNTIME;
}
