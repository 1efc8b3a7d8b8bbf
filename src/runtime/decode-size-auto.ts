/**
 * `decode_size: auto` of the `file` and `camera` sources: the decode-time size that every model
 * stage reading the stream can take without upsampling, read from their manifests' resize.
 *
 * - `letterbox` W×H (YOLOX): fit inside W×H, i.e. `{ max_width: W, max_height: H }`;
 * - `shorter_side` N (classifiers, crop after): `{ shorter_side: N }`;
 * - `exact` W×H: when every model stage on the stream stretches, `{ width, height }` (the largest
 *   of each); beside aspect-keeping stages, the smallest `shorter_side` whose frame still covers
 *   W×H (needs the frame size: a probed file);
 * - `none` (torchvision detection exports resize in their graph): decoding smaller would change
 *   what the model sees, so auto is off for that stream.
 *
 * With several stages the largest need wins: the candidate whose decoded frame contains every
 * stage's resize target (so each stage's own resize only shrinks), the smallest such. A stage on
 * another stream does not count, nor one that feeds no frames to a model. The choice is a plain
 * function of the stages and the frame size (`chooseAutoDecodeSize`); `applyAutoDecodeSizes`
 * hands it to the sources and logs one line per source.
 */
import type { Source, Stage, StageFrameInput } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import { resizedSize } from '../models/preprocess.js';
import { decodedSize, describeDecodeSize, wantsAutoDecodeSize, type DecodeSize } from '../sources/decode-size.js';

export interface Size {
  width: number;
  height: number;
}

export type AutoDecodeStage = Pick<Stage, 'id' | 'streams' | 'frameInput'>;

export interface AutoDecodeChoice {
  /** The size to decode at (null: off, decode at the source's size). */
  decode_size: DecodeSize | null;
  /** What a frame of the known size decodes to (null: size unknown, or off). */
  decoded: Size | null;
  /** Why, for the log line: the stage(s) whose need decided it, or why auto is off. */
  reason: string;
}

const times = (w: number, h: number) => `${w}×${h}`;

function describeNeed(id: string, fi: StageFrameInput): string {
  const r = fi.resize;
  const what =
    r.mode === 'letterbox'
      ? `letterbox ${times(r.width, r.height)}`
      : r.mode === 'shorter_side'
        ? `shorter side ${r.size}${r.max_size !== undefined ? ` (longer at most ${r.max_size})` : ''}`
        : r.mode === 'exact'
          ? `exact ${times(r.width, r.height)}`
          : 'takes the frame at its own size';
  return `stage \`${id}\`: ${fi.model} ${what}`;
}

/** swscale filter for the winning manifest's interpolation (docs/parity.md measured both). */
function interpolationFor(fi: StageFrameInput): DecodeSize['interpolation'] {
  // Plain bilinear (YOLOX's cv2 resize, no antialias): `area` comes closest; torchvision's antialiased bilinear:
  // swscale's bilinear, which widens its filter when downscaling.
  return fi.interpolation === 'bilinear_antialias' ? 'bilinear' : 'area';
}

/** The size stage `fi` resizes a `size` frame to, no larger than the frame (what must not be upsampled). */
function targetOf(fi: StageFrameInput, size: Size): Size {
  const r = fi.resize;
  const t =
    r.mode === 'exact'
      ? { width: r.width, height: r.height }
      : r.mode === 'none'
        ? size
        : r.mode === 'letterbox'
          ? resizedSize(size.width, size.height, { ...r, pad_value: 0, align: 'top_left' })
          : resizedSize(size.width, size.height, r);
  return { width: Math.min(t.width, size.width), height: Math.min(t.height, size.height) };
}

/** The smallest `shorter_side` whose decoded frame covers `need` (keeping the aspect ratio). */
function coveringShorterSide(need: Size, size: Size): number {
  const short = Math.min(size.width, size.height);
  const long = Math.max(size.width, size.height);
  const [needShort, needLong] = size.width <= size.height ? [need.width, need.height] : [need.height, need.width];
  let s = Math.max(16, needShort, Math.ceil((needLong * short) / long));
  const covers = (n: number) => {
    const d = decodedSize({ shorter_side: n, interpolation: 'bilinear' }, size.width, size.height);
    return d.width >= need.width && d.height >= need.height;
  };
  while (s < short && !covers(s)) s += 1;
  return Math.min(s, 8192);
}

function formOf(fi: StageFrameInput): DecodeSize | null {
  const r = fi.resize;
  const interpolation = interpolationFor(fi);
  if (r.mode === 'letterbox') return { max_width: r.width, max_height: r.height, interpolation };
  if (r.mode === 'shorter_side') return { shorter_side: r.size, interpolation };
  if (r.mode === 'exact') return { width: r.width, height: r.height, interpolation };
  return null;
}

/** Whether decoding at `a` gives every frame size at least what `b` gives (camera: size unknown). */
function dominates(a: DecodeSize, b: DecodeSize): boolean {
  if (a.shorter_side !== undefined) {
    if (b.shorter_side !== undefined) return a.shorter_side >= b.shorter_side;
    // A letterbox's shorter side is at most min(W, H)… and its longer side follows the aspect ratio.
    return (
      b.max_width !== undefined && b.max_height !== undefined && a.shorter_side >= Math.max(b.max_width, b.max_height)
    );
  }
  if (
    a.max_width !== undefined &&
    a.max_height !== undefined &&
    b.max_width !== undefined &&
    b.max_height !== undefined
  )
    return a.max_width >= b.max_width && a.max_height >= b.max_height;
  return false;
}

/**
 * The `decode_size: auto` choice for stream `stream`, given every stage of the pipeline and the
 * stream's frame size when known before decoding (null for a camera).
 */
export function chooseAutoDecodeSize(
  stream: string,
  frameSize: Size | null,
  stages: readonly AutoDecodeStage[],
): AutoDecodeChoice {
  const off = (reason: string): AutoDecodeChoice => ({ decode_size: null, decoded: null, reason });
  const models = stages.flatMap((st) =>
    (st.streams === null || st.streams.includes(stream)) && st.frameInput ? [{ id: st.id, fi: st.frameInput }] : [],
  );
  if (models.length === 0) return off('no model stage reads this stream');
  const full = models.filter((m) => m.fi.resize.mode === 'none');
  if (full.length > 0) return off(`${full.map((m) => describeNeed(m.id, m.fi)).join('; ')} (resizes in its graph)`);
  const needs = models.map((m) => describeNeed(m.id, m.fi));
  const because = (winner: { id: string; fi: StageFrameInput } | null) => {
    if (models.length === 1) return needs[0]!;
    const first = winner ? describeNeed(winner.id, winner.fi) : null;
    return first
      ? `largest need: ${first}; also ${needs.filter((n) => n !== first).join('; ')}`
      : `largest of ${needs.join('; ')}`;
  };

  if (models.every((m) => m.fi.resize.mode === 'exact')) {
    // Every stage stretches: stretching to the largest width and height first changes nothing they see.
    const sizes = models.map((m) => m.fi.resize as { width: number; height: number });
    const width = Math.max(...sizes.map((s) => s.width));
    const height = Math.max(...sizes.map((s) => s.height));
    const winner = models.find((m) => formOf(m.fi)!.width === width && formOf(m.fi)!.height === height) ?? null;
    const grows = frameSize && (width > frameSize.width || height > frameSize.height);
    if (frameSize && (grows || (width === frameSize.width && height === frameSize.height)))
      return off(`the source's ${times(frameSize.width, frameSize.height)} is not larger than ${because(winner)}`);
    const d: DecodeSize = { width, height, interpolation: interpolationFor((winner ?? models[0]!).fi) };
    return { decode_size: d, decoded: frameSize ? { width, height } : null, reason: because(winner) };
  }

  if (frameSize === null) {
    const exact = models.filter((m) => m.fi.resize.mode === 'exact');
    if (exact.length > 0)
      return off(
        `${exact.map((m) => describeNeed(m.id, m.fi)).join('; ')} beside aspect-keeping stages: the covering size ` +
          "needs the frame size, which a camera's source knows only once connected",
      );
    const winner = models.find((m) => models.every((o) => dominates(formOf(m.fi)!, formOf(o.fi)!)));
    if (!winner) return off(`no one size is the largest for every frame size: ${needs.join('; ')}`);
    return { decode_size: formOf(winner.fi), decoded: null, reason: because(winner) };
  }

  const targets = models.map((m) => targetOf(m.fi, frameSize));
  const candidates = models.map((m, i) => {
    let d = formOf(m.fi)!;
    if (m.fi.resize.mode === 'exact')
      d = { shorter_side: coveringShorterSide(targets[i]!, frameSize), interpolation: d.interpolation };
    return { stage: m, d, decoded: decodedSize(d, frameSize.width, frameSize.height) };
  });
  const fitting = candidates
    .filter((c) => targets.every((t) => c.decoded.width >= t.width && c.decoded.height >= t.height))
    .sort((a, b) => a.decoded.width * a.decoded.height - b.decoded.width * b.decoded.height);
  const best = fitting[0];
  if (!best) return off(`no one size serves every stage without upsampling: ${needs.join('; ')}`);
  if (best.decoded.width >= frameSize.width && best.decoded.height >= frameSize.height)
    return off(`the source's ${times(frameSize.width, frameSize.height)} is already what ${because(best.stage)} needs`);
  return { decode_size: best.d, decoded: best.decoded, reason: because(best.stage) };
}

/** The log line of one source's choice. */
export function autoDecodeSizeLine(
  configPath: string,
  id: string,
  frameSize: Size | null,
  c: AutoDecodeChoice,
): string {
  if (c.decode_size === null) return `${configPath} (\`${id}\`): decode_size auto → off (${c.reason}).`;
  const what = `${describeDecodeSize(c.decode_size)}, interpolation ${c.decode_size.interpolation}`;
  const size =
    frameSize && c.decoded
      ? `; ${times(frameSize.width, frameSize.height)} decodes at ${times(c.decoded.width, c.decoded.height)}`
      : '';
  return `${configPath} (\`${id}\`): decode_size auto → ${what} (${c.reason}${size}).`;
}

/**
 * Chooses and applies the size of every source with `decode_size: auto` (before `frames` is
 * called), logging one info line per such source. `configPaths[i]` names `sources[i]`.
 */
export function applyAutoDecodeSizes(
  sources: readonly Source[],
  stages: readonly AutoDecodeStage[],
  configPaths: readonly string[],
  logger: Logger,
): Map<string, AutoDecodeChoice> {
  const chosen = new Map<string, AutoDecodeChoice>();
  sources.forEach((source, i) => {
    if (!wantsAutoDecodeSize(source)) return;
    const size = source.knownFrameSize;
    const choice = chooseAutoDecodeSize(source.id, size, stages);
    source.applyDecodeSize(choice.decode_size);
    chosen.set(source.id, choice);
    logger.info(
      { stream: source.id, decode_size: choice.decode_size, decoded: choice.decoded },
      autoDecodeSizeLine(configPaths[i] ?? `sources[${i}]`, source.id, size, choice),
    );
  });
  return chosen;
}
