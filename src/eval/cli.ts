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
 * An image's `label_map` is scored against the first `semantic_segmentation` record of that frame
 * with a `label_map` (class ids compared as they are); `clips` entries (stream_id, frame_start,
 * frame_end, label) are scored against the `video_classification` records whose stream and last
 * frame fall in them (top-1 / top-5 by label name). docs/accuracy.md has the formats.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadPipelineFile } from '../config/load.js';
import { EXIT, VidflowError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ResultRecord } from '../core/result.js';
import { buildPipeline } from '../runtime/run.js';
import { cocoAp, type DetAnnotation, type GtAnnotation } from './coco.js';
import { evaluateHota } from './hota.js';
import { readLabelMap } from './label-map.js';
import { SemanticAccumulator } from './semantic.js';
import { evaluateTracking, type TrackingFrame } from './tracking.js';

interface CocoImage {
  id: number;
  file_name?: string;
  stream_id?: string;
  frame_index?: number;
  width?: number;
  height?: number;
  /** semantic ground truth: a label map as a `segment` record writes it, or {"format":"png","file":…} */
  label_map?: unknown;
  /** set by loadGroundTruth: the file the image came from and its id there (ids are renumbered) */
  source?: { file: string; id: number };
}
/** One ground-truth clip: the frames [frame_start, frame_end] of a stream have the class `label`. */
export interface GtClip {
  stream_id: string;
  frame_start: number;
  frame_end: number;
  label: string;
}
export interface CocoDoc {
  images: CocoImage[];
  annotations: Array<GtAnnotation & { track_id?: number }>;
  categories: Array<{ id: number; name: string }>;
  /** names of the label-map class ids (for the per-class IoU table) */
  semantic_categories?: Array<{ id: number; name: string }>;
  /** label-map value that is not scored (default 255) */
  semantic_ignore?: number;
  clips?: GtClip[];
}

export function loadGroundTruth(p: string): CocoDoc {
  const files = statSync(p).isDirectory()
    ? readdirSync(p)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => path.join(p, f))
    : [p];
  if (files.length === 0) throw new VidflowError('CONFIG_NOT_FOUND', `--ground-truth: no .json file in ${p}`);
  const out: CocoDoc = { images: [], annotations: [], categories: [], clips: [] };
  for (const f of files) {
    const d = JSON.parse(readFileSync(f, 'utf8')) as CocoDoc;
    if (!Array.isArray(d.images) && !Array.isArray(d.clips))
      throw new VidflowError(
        'CONFIG_INVALID',
        `--ground-truth ${f}: expected a COCO object with "images" (or "clips")`,
      );
    // Image and annotation ids are renumbered so that files with the same ids do not collide.
    const imageIds = new Map<number, number>();
    for (const img of d.images ?? []) {
      const lm = img.label_map as { file?: string } | undefined;
      // a label map file is relative to the ground-truth file
      if (lm?.file) img.label_map = { ...lm, file: path.resolve(path.dirname(f), lm.file) };
      imageIds.set(img.id, out.images.length + 1);
      out.images.push({ ...img, id: out.images.length + 1, source: { file: f, id: img.id } });
    }
    (d.annotations ?? []).forEach((a, i) => {
      const image_id = imageIds.get(a.image_id);
      if (image_id === undefined)
        throw new VidflowError(
          'CONFIG_INVALID',
          `--ground-truth ${f}: annotations[${i}].image_id ${a.image_id} is no image`,
        );
      out.annotations.push({ ...a, id: out.annotations.length + 1, image_id });
    });
    for (const c of d.categories ?? []) if (!out.categories.some((x) => x.id === c.id)) out.categories.push(c);
    for (const c of d.semantic_categories ?? []) {
      out.semantic_categories ??= [];
      if (!out.semantic_categories.some((x) => x.id === c.id)) out.semantic_categories.push(c);
    }
    if (d.semantic_ignore !== undefined) out.semantic_ignore = d.semantic_ignore;
    (d.clips ?? []).forEach((c, i) => {
      if (typeof c.stream_id !== 'string' || !Number.isInteger(c.frame_start) || !Number.isInteger(c.frame_end))
        throw new VidflowError(
          'CONFIG_INVALID',
          `--ground-truth ${f}: clips[${i}] needs stream_id (string), frame_start and frame_end (integers) and label`,
        );
      out.clips!.push(c);
    });
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
  const semantic = new SemanticAccumulator(gt.semantic_ignore ?? 255);
  let semanticImages = 0,
    semanticMissing = 0;
  let matchedImages = 0;
  // Track ids are per stream: (stream, id) pairs get numbers of their own, frames go in stream and frame order.
  const trackKeys = new Map<string, number>();
  const trackKey = (side: 'gt' | 'hyp', stream: string | undefined, id: number) => {
    const k = `${side}/${stream ?? ''}/${id}`;
    return trackKeys.get(k) ?? trackKeys.set(k, trackKeys.size + 1).get(k)!;
  };
  const annotationsByImage = new Map<number, CocoDoc['annotations']>();
  for (const a of gt.annotations)
    (annotationsByImage.get(a.image_id) ?? annotationsByImage.set(a.image_id, []).get(a.image_id)!).push(a);
  const trackFrames: Array<{ stream: string; index: number; frame: TrackingFrame }> = [];
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
        if (r.task === 'tracking' && d.track_id !== undefined)
          hyp.push({ id: trackKey('hyp', r.stream_id, d.track_id), box: bbox });
      }
    }
    if (img.label_map !== undefined) {
      const from = img.source ? `${img.source.file} image ${img.source.id}` : `image ${img.id}`;
      const where = `--ground-truth ${from}${img.file_name ? ` (${img.file_name})` : ''} label_map`;
      const rec = (recs ?? []).find(
        (r) => r.task === 'semantic_segmentation' && (r.results as { label_map?: unknown } | null)?.label_map,
      );
      if (!rec) semanticMissing++;
      else {
        const g = wrap(() => readLabelMap(img.label_map, where));
        const p = wrap(() =>
          readLabelMap((rec.results as { label_map: unknown }).label_map, `record ${rec.stream_id}#${rec.frame_index}`),
        );
        if (g.width !== p.width || g.height !== p.height)
          throw new VidflowError(
            'CONFIG_INVALID',
            `${where}: ${g.width}x${g.height}, but the record's label map is ${p.width}x${p.height}`,
          );
        semantic.add(g.data, p.data);
        semanticImages++;
      }
    }
    const g = (annotationsByImage.get(img.id) ?? []).filter((a) => a.track_id !== undefined);
    trackFrames.push({
      stream: img.stream_id ?? '',
      index: img.frame_index ?? img.id,
      frame: { gt: g.map((a) => ({ id: trackKey('gt', img.stream_id, a.track_id!), box: a.bbox })), hyp },
    });
  }
  trackFrames.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.index - b.index));
  for (const t of trackFrames) tracks.push(t.frame);
  const imageIds = gt.images.map((i) => i.id);
  const categoryIds = gt.categories.map((c) => c.id);
  const out: Record<string, unknown> = {
    images: gt.images.length,
    matched_images: matchedImages,
    records: records.length,
  };
  if (gt.annotations.length || dts.bbox.length)
    out.bbox = cocoAp(gt.annotations, dts.bbox, 'bbox', { imageIds, categoryIds });
  if (dts.segm.length && gt.annotations.some((a) => a.segmentation))
    out.segm = cocoAp(gt.annotations, dts.segm, 'segm', { imageIds, categoryIds });
  if (dts.keypoints.length && gt.annotations.some((a) => a.keypoints))
    out.keypoints = cocoAp(gt.annotations, dts.keypoints, 'keypoints', { imageIds, categoryIds });
  if (tracks.some((t) => t.hyp.length) && tracks.some((t) => t.gt.length))
    out.tracking = { ...evaluateTracking(tracks), hota: evaluateHota(tracks) };
  if (semanticImages) {
    const r = semantic.result();
    const names = new Map((gt.semantic_categories ?? []).map((c) => [c.id, c.name]));
    out.semantic = {
      ...r,
      per_class_name: Object.fromEntries(Object.keys(r.per_class_iou).map((k) => [k, names.get(Number(k)) ?? null])),
      images_scored: semanticImages,
      images_without_prediction: semanticMissing,
    };
  }
  if (gt.clips?.length) out.clip = scoreClips(gt.clips, records);
  return out;
}

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new VidflowError('CONFIG_INVALID', (e as Error).message);
  }
}

/**
 * Clip classification: every `video_classification` record whose stream and last frame
 * (`frame_index`) fall in a ground-truth clip is one prediction of that clip's label;
 * top-1 = fraction whose first `top` label equals it, top-5 = within the first five.
 */
export function scoreClips(clips: GtClip[], records: ResultRecord[]) {
  let n = 0,
    top1 = 0,
    top5 = 0,
    outside = 0;
  const clipsWithRecord = new Set<number>();
  const perLabel: Record<string, { records: number; top1: number }> = {};
  for (const r of records) {
    if (r.task !== 'video_classification' || !r.results) continue;
    const i = clips.findIndex(
      (c) => c.stream_id === r.stream_id && r.frame_index >= c.frame_start && r.frame_index <= c.frame_end,
    );
    if (i < 0) {
      outside++;
      continue;
    }
    const clip = clips[i]!;
    const labels = ((r.results as { top?: Array<{ label: string }> }).top ?? []).map((t) => t.label);
    n++;
    clipsWithRecord.add(i);
    const hit = labels[0] === clip.label;
    if (hit) top1++;
    if (labels.slice(0, 5).includes(clip.label)) top5++;
    const pl = (perLabel[clip.label] ??= { records: 0, top1: 0 });
    pl.records++;
    if (hit) pl.top1++;
  }
  return {
    top1: n ? top1 / n : 0,
    top5: n ? top5 / n : 0,
    records: n,
    records_outside_clips: outside,
    clips: clips.length,
    clips_with_records: clipsWithRecord.size,
    per_label: perLabel,
  };
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
    const t = scores.tracking as
      | {
          mota: number;
          idf1: number;
          num_switches: number;
          num_fragmentations: number;
          hota: { hota: number; deta: number; assa: number; loca: number };
        }
      | undefined;
    if (t)
      rows.push(
        'MOTA'.padEnd(18) + fmt(t.mota),
        'IDF1'.padEnd(18) + fmt(t.idf1),
        'HOTA'.padEnd(18) + fmt(t.hota.hota),
        'DetA'.padEnd(18) + fmt(t.hota.deta),
        'AssA'.padEnd(18) + fmt(t.hota.assa),
        'LocA'.padEnd(18) + fmt(t.hota.loca),
        'ID switches'.padEnd(18) + String(t.num_switches),
        'fragmentations'.padEnd(18) + String(t.num_fragmentations),
      );
    const sem = scores.semantic as { miou: number; pixel_accuracy: number; images_scored: number } | undefined;
    if (sem) rows.push('mIoU'.padEnd(18) + fmt(sem.miou), 'pixel accuracy'.padEnd(18) + fmt(sem.pixel_accuracy));
    const clip = scores.clip as { top1: number; top5: number; records: number } | undefined;
    if (clip) rows.push('clip top-1'.padEnd(18) + fmt(clip.top1), 'clip top-5'.padEnd(18) + fmt(clip.top5));
    process.stdout.write(`${rows.join('\n')}\n`);
  }
  return summary.ok ? EXIT.OK : EXIT.RUNTIME;
}
