/**
 * Label maps for semantic-segmentation scoring, read from the two forms a `segment` record writes
 * (docs/result-schema.md) and that ground truth may use as well:
 *   {"format":"rle","size":[h,w],"order":"row_major","values":[...],"counts":[...]}
 *   {"format":"png","width":w,"height":h,"data":base64}  (8-bit grayscale PNG, pixel = class id)
 * plus, for ground truth only, {"format":"png","file":"relative/or/absolute.png"}.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { decodeLabelMapRle, type LabelMapRle } from '../models/decoders/rle.js';

export interface LabelMap {
  width: number;
  height: number;
  /** row-major class ids */
  data: Uint8Array;
}

/** Decodes an 8-bit grayscale, non-interlaced PNG (all five row filters). */
export function decodeGrayPng(buf: Uint8Array, where: string): LabelMap {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 8 || b.readUInt32BE(0) !== 0x89504e47) throw new Error(`${where}: not a PNG`);
  let off = 8;
  let width = 0,
    height = 0;
  const idat: Buffer[] = [];
  while (off + 8 <= b.length) {
    const len = b.readUInt32BE(off);
    const type = b.toString('latin1', off + 4, off + 8);
    const body = b.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      if (body[8] !== 8 || body[9] !== 0 || body[12] !== 0)
        throw new Error(
          `${where}: expected an 8-bit grayscale non-interlaced PNG ` +
            `(got bit depth ${body[8]}, colour type ${body[9]}, interlace ${body[12]})`,
        );
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length < (width + 1) * height) throw new Error(`${where}: PNG data too short for ${width}x${height}`);
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (width + 1)]!;
    const src = y * (width + 1) + 1;
    for (let x = 0; x < width; x++) {
      const v = raw[src + x]!;
      const a = x > 0 ? out[y * width + x - 1]! : 0;
      const up = y > 0 ? out[(y - 1) * width + x]! : 0;
      const c = x > 0 && y > 0 ? out[(y - 1) * width + x - 1]! : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = up;
      else if (filter === 3) pred = (a + up) >> 1;
      else if (filter === 4) {
        const p = a + up - c;
        const pa = Math.abs(p - a),
          pb = Math.abs(p - up),
          pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? up : c;
      } else if (filter !== 0) throw new Error(`${where}: PNG row filter ${filter} is not valid`);
      out[y * width + x] = (v + pred) & 0xff;
    }
  }
  return { width, height, data: out };
}

/** Reads a label map object; `baseDir` resolves a ground truth's `file`. */
export function readLabelMap(obj: unknown, where: string, baseDir?: string): LabelMap {
  const m = obj as Partial<LabelMapRle> & { format?: string; data?: string; file?: string; width?: number };
  if (m?.format === 'rle') {
    if (!Array.isArray(m.size) || !Array.isArray(m.values) || !Array.isArray(m.counts))
      throw new Error(`${where}: an rle label map needs size [h, w], values and counts`);
    const total = m.counts.reduce((s, c) => s + c, 0);
    if (total !== m.size[0]! * m.size[1]!)
      throw new Error(
        `${where}: rle counts sum to ${total}, expected ${m.size[0]}x${m.size[1]} = ${m.size[0]! * m.size[1]!}`,
      );
    return { height: m.size[0]!, width: m.size[1]!, data: decodeLabelMapRle(m as LabelMapRle) };
  }
  if (m?.format === 'png') {
    if (typeof m.data === 'string') return decodeGrayPng(Buffer.from(m.data, 'base64'), where);
    if (typeof m.file === 'string') {
      const file = baseDir ? path.resolve(baseDir, m.file) : m.file;
      return decodeGrayPng(readFileSync(file), `${where} (${file})`);
    }
  }
  throw new Error(`${where}: expected a label map {"format":"rle",...} or {"format":"png","data"|"file":...}`);
}
