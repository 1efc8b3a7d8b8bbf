/**
 * `clipWindow`: a per-stream sliding window over sampled frames, for clip (video) models.
 *
 * Every input frame yields exactly one item, in order, synchronously (no scheduler):
 * - a frame that is not sampled, or only fills the window, yields `{clip: null}`;
 * - once a stream's window holds `clip_length` sampled frames, every `stride_frames`-th sampled
 *   frame yields the assembled clip of the last `clip_length` sampled frames (oldest first) and
 *   the pts of the clip's first frame.
 *
 * Frames are not kept: each sampled frame is written once, on arrival, into a preallocated slot
 * of a per-stream ring buffer by `fill` (e.g. preprocessed into a 3×112×112 Float32Array), and
 * `assemble` copies the slots into a new clip when one is due, so slots can be reused at once.
 * State lives inside the subscription; completion and unsubscription drop partial windows.
 */
import { Observable, type OperatorFunction } from 'rxjs';

export interface ClipWindowOptions<F extends { pts: number }, S, C> {
  clip_length: number;
  /** Sampled frames between the ends of consecutive clips (clip_length: non-overlapping). */
  stride_frames: number;
  /** Stream of a frame (one window per stream). */
  key(frame: F): string;
  /** Whether a frame is sampled into the window (default: all). */
  keep?(frame: F): boolean;
  /** A new ring-buffer slot. */
  allocate(): S;
  /** Writes a frame into a slot (called once per sampled frame). */
  fill(frame: F, slot: S): void;
  /** Builds a clip from slots, oldest first; must copy what it needs. */
  assemble(slots: readonly S[]): C;
}

export interface ClipWindowItem<F, C> {
  frame: F;
  /** The clip ending at this frame, or null. */
  clip: C | null;
  /** pts of the clip's first frame (null without a clip). */
  pts_start: number | null;
  /** Set when `fill` or `assemble` threw for this frame. */
  error: Error | null;
}

interface WindowState<S> {
  slots: S[];
  pts: Float64Array;
  /** Next slot to write (= oldest slot once full). */
  next: number;
  /** Sampled frames seen. */
  seen: number;
}

export function clipWindow<F extends { pts: number }, S, C>(
  options: ClipWindowOptions<F, S, C>,
): OperatorFunction<F, ClipWindowItem<F, C>> {
  const L = options.clip_length;
  const stride = options.stride_frames;
  if (!(Number.isInteger(L) && L >= 1)) throw new RangeError(`clip_length must be a positive integer, got ${L}`);
  if (!(Number.isInteger(stride) && stride >= 1))
    throw new RangeError(`stride_frames must be a positive integer, got ${stride}`);
  return (source) =>
    new Observable<ClipWindowItem<F, C>>((subscriber) => {
      const windows = new Map<string, WindowState<S>>();
      const subscription = source.subscribe({
        next(frame) {
          if (options.keep && !options.keep(frame)) {
            subscriber.next({ frame, clip: null, pts_start: null, error: null });
            return;
          }
          const key = options.key(frame);
          let st = windows.get(key);
          if (!st) {
            st = { slots: [], pts: new Float64Array(L), next: 0, seen: 0 };
            windows.set(key, st);
          }
          try {
            if (st.slots.length < L) st.slots.push(options.allocate());
            options.fill(frame, st.slots[st.next]!);
          } catch (err) {
            subscriber.next({ frame, clip: null, pts_start: null, error: err as Error });
            return;
          }
          st.pts[st.next] = frame.pts;
          st.next = (st.next + 1) % L;
          st.seen++;
          if (st.seen < L || (st.seen - L) % stride !== 0) {
            subscriber.next({ frame, clip: null, pts_start: null, error: null });
            return;
          }
          const ordered: S[] = new Array(L);
          for (let i = 0; i < L; i++) ordered[i] = st.slots[(st.next + i) % L]!;
          let clip: C;
          try {
            clip = options.assemble(ordered);
          } catch (err) {
            subscriber.next({ frame, clip: null, pts_start: null, error: err as Error });
            return;
          }
          subscriber.next({ frame, clip, pts_start: st.pts[st.next]!, error: null });
        },
        error(err) {
          windows.clear();
          subscriber.error(err);
        },
        complete() {
          windows.clear();
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        windows.clear();
      };
    });
}
