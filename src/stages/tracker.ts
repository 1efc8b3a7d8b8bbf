/**
 * A SORT-style multi-object tracker: each track has a constant-velocity Kalman filter on its box
 * centre and size (cx, cy, w, h, each with its velocity); per frame the tracks are predicted,
 * matched to the detections by IoU with the Hungarian algorithm (pairs below `iou_threshold`
 * are not matched), updated, created from unmatched detections and deleted after more than
 * `max_age_frames` updates without a match. A track is reported (and gets a `start` event) once it
 * has `min_hits` matches; its class is the majority label of its matches.
 *
 * One Tracker per stream; `update` must see that stream's frames in order.
 */
import { iou, type Box } from '../models/decoders/nms.js';
import { hungarian } from '../core/hungarian.js';

export { hungarian };

export const DEFAULT_MAX_AGE_FRAMES = 15;
export const DEFAULT_MIN_HITS = 3;
export const DEFAULT_IOU_THRESHOLD = 0.3;

export interface TrackerOptions {
  /** Frames (updates) a track survives without a matching detection. */
  max_age_frames: number;
  /** Matches before a track is reported. */
  min_hits: number;
  /** Minimum IoU between a predicted track box and a detection to match them. */
  iou_threshold: number;
}

export interface TrackerDetection {
  box: Box;
  label_id: number;
  label: string;
  score: number;
}

export interface TrackOut {
  track_id: number;
  label_id: number;
  label: string;
  /** Kalman-filtered box x1,y1,x2,y2 in frame pixels. */
  box: Box;
  /** Score of the detection matched in this frame. */
  score: number;
  /** Frames (updates) since the track was created, counting the first. */
  age: number;
  /** Detections matched to the track so far. */
  hits: number;
}

export interface TrackEvent {
  type: 'start' | 'end';
  track_id: number;
  label: string;
  /** start: pts of the track's first detection; end: pts of its last detection. */
  pts: number;
}

export interface TrackerUpdate {
  /** Per input detection: the id of the reported track it belongs to, or null. */
  track_ids: Array<number | null>;
  /** Reported tracks matched in this frame. */
  tracks: TrackOut[];
  events: TrackEvent[];
}

// ---- Kalman filter: four independent [position, velocity] filters --------------------------

const STD_POS = 1 / 20;
const STD_VEL = 1 / 160;

/** Constant-velocity Kalman filter of one coordinate; noise scales with `scale` (box size). */
class Axis {
  p: number;
  v = 0;
  private p00: number;
  private p01 = 0;
  private p11: number;
  constructor(z: number, scale: number) {
    this.p = z;
    this.p00 = (2 * STD_POS * scale) ** 2;
    this.p11 = (10 * STD_VEL * scale) ** 2;
  }
  predict(scale: number): void {
    const qp = (STD_POS * scale) ** 2;
    const qv = (STD_VEL * scale) ** 2;
    this.p += this.v;
    this.p00 = this.p00 + 2 * this.p01 + this.p11 + qp;
    this.p01 = this.p01 + this.p11;
    this.p11 = this.p11 + qv;
  }
  update(z: number, scale: number): void {
    const r = (STD_POS * scale) ** 2;
    const s = this.p00 + r;
    const k0 = this.p00 / s;
    const k1 = this.p01 / s;
    const y = z - this.p;
    this.p += k0 * y;
    this.v += k1 * y;
    const p00 = this.p00;
    const p01 = this.p01;
    this.p00 = (1 - k0) * p00;
    this.p01 = (1 - k0) * p01;
    this.p11 = this.p11 - k1 * p01;
  }
}

class Track {
  readonly cx: Axis;
  readonly cy: Axis;
  readonly w: Axis;
  readonly h: Axis;
  age = 1;
  hits = 1;
  missed = 0;
  confirmed = false;
  score: number;
  readonly first_pts: number;
  last_pts: number;
  private readonly votes = new Map<number, { n: number; label: string }>();
  label_id: number;
  label: string;

  /** The public track id, given when the track is confirmed (0 while tentative). */
  id = 0;

  constructor(d: TrackerDetection, pts: number) {
    const [x1, y1, x2, y2] = d.box;
    const w = Math.max(1, x2 - x1);
    const h = Math.max(1, y2 - y1);
    const s = Math.max(w, h);
    this.cx = new Axis(x1 + w / 2, s);
    this.cy = new Axis(y1 + h / 2, s);
    this.w = new Axis(w, s);
    this.h = new Axis(h, s);
    this.score = d.score;
    this.first_pts = pts;
    this.last_pts = pts;
    this.label_id = d.label_id;
    this.label = d.label;
    this.vote(d);
  }

  private scale(): number {
    return Math.max(1, this.w.p, this.h.p);
  }

  predict(): void {
    const s = this.scale();
    this.cx.predict(s);
    this.cy.predict(s);
    this.w.predict(s);
    this.h.predict(s);
    if (this.w.p < 1) this.w.p = 1;
    if (this.h.p < 1) this.h.p = 1;
    this.age++;
  }

  update(d: TrackerDetection, pts: number): void {
    const [x1, y1, x2, y2] = d.box;
    const w = Math.max(1, x2 - x1);
    const h = Math.max(1, y2 - y1);
    const s = this.scale();
    this.cx.update(x1 + w / 2, s);
    this.cy.update(y1 + h / 2, s);
    this.w.update(w, s);
    this.h.update(h, s);
    this.hits++;
    this.missed = 0;
    this.score = d.score;
    this.last_pts = pts;
    this.vote(d);
  }

  private vote(d: TrackerDetection): void {
    const v = this.votes.get(d.label_id) ?? { n: 0, label: d.label };
    v.n++;
    this.votes.set(d.label_id, v);
    const best = this.votes.get(this.label_id)!;
    if (v.n > best.n) {
      this.label_id = d.label_id;
      this.label = d.label;
    }
  }

  box(): Box {
    const w = Math.max(1, this.w.p);
    const h = Math.max(1, this.h.p);
    return [this.cx.p - w / 2, this.cy.p - h / 2, this.cx.p + w / 2, this.cy.p + h / 2];
  }
}

// ---- assignment: src/core/hungarian.ts ------------------------------------------------------

// ---- tracker ------------------------------------------------------------------------------

export class Tracker {
  private tracks: Track[] = [];
  /** Ids go to tracks when they are confirmed, so reported ids are 1, 2, 3, … with no gaps left
   * by tentative tracks that never reached `min_hits`. */
  private nextId: number;

  constructor(
    private readonly options: TrackerOptions,
    firstId = 1,
  ) {
    this.nextId = firstId;
  }

  /** Live tracks (reported or not). */
  get size(): number {
    return this.tracks.length;
  }

  update(detections: readonly TrackerDetection[], pts: number): TrackerUpdate {
    const events: TrackEvent[] = [];
    for (const t of this.tracks) t.predict();
    const n = this.tracks.length;
    const m = detections.length;
    const assigned = new Int32Array(m).fill(-1);
    if (n > 0 && m > 0) {
      const predicted = this.tracks.map((t) => t.box());
      const ious = new Float64Array(n * m);
      const cost = new Float64Array(n * m);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < m; j++) {
          const v = iou(predicted[i]!, detections[j]!.box);
          ious[i * m + j] = v;
          // Pairs below the threshold cost more than any valid pair, so they are only picked when
          // nothing better exists, and are rejected below.
          cost[i * m + j] = v >= this.options.iou_threshold ? 1 - v : 2;
        }
      }
      const rowToCol = hungarian(cost, n, m);
      for (let i = 0; i < n; i++) {
        const j = rowToCol[i]!;
        if (j >= 0 && ious[i * m + j]! >= this.options.iou_threshold) assigned[j] = i;
      }
    }
    const matched = new Uint8Array(n);
    assigned.forEach((i, j) => {
      if (i >= 0) {
        matched[i] = 1;
        this.tracks[i]!.update(detections[j]!, pts);
      }
    });
    for (let i = 0; i < n; i++) if (!matched[i]) this.tracks[i]!.missed++;
    const created: Track[] = [];
    assigned.forEach((i, j) => {
      if (i < 0) {
        const t = new Track(detections[j]!, pts);
        created.push(t);
      }
    });
    // Deletions.
    const before = this.tracks;
    const alive: Track[] = [];
    for (const t of this.tracks) {
      if (t.missed > this.options.max_age_frames) {
        if (t.confirmed) events.push({ type: 'end', track_id: t.id, label: t.label, pts: t.last_pts });
      } else alive.push(t);
    }
    this.tracks = [...alive, ...created];
    // Confirmations.
    for (const t of this.tracks) {
      if (!t.confirmed && t.missed === 0 && t.hits >= this.options.min_hits) {
        t.confirmed = true;
        t.id = this.nextId++;
        events.push({ type: 'start', track_id: t.id, label: t.label, pts: t.first_pts });
      }
    }
    const detTrack: Array<Track | null> = new Array(m).fill(null);
    let c = 0;
    assigned.forEach((i, j) => {
      detTrack[j] = i >= 0 ? before[i]! : created[c++]!;
    });
    const tracks: TrackOut[] = [];
    for (const t of this.tracks) {
      if (t.confirmed && t.missed === 0)
        tracks.push({
          track_id: t.id,
          label_id: t.label_id,
          label: t.label,
          box: t.box().map((v) => Math.round(v * 100) / 100) as Box,
          score: t.score,
          age: t.age,
          hits: t.hits,
        });
    }
    return { track_ids: detTrack.map((t) => (t?.confirmed ? t.id : null)), tracks, events };
  }

  /** Ends every reported track (e.g. at the end of a stream). */
  flush(): TrackEvent[] {
    const events = this.tracks
      .filter((t) => t.confirmed)
      .map((t): TrackEvent => ({ type: 'end', track_id: t.id, label: t.label, pts: t.last_pts }));
    this.tracks = [];
    return events;
  }
}
