/**
 * `regex(/^error\[X\]: first part /, /second part$/m)`: one RegExp from pieces, so a long expected
 * error line can be written over several source lines. Sources are joined as written; the flags
 * are the union of the pieces' flags.
 */
export function regex(...parts: RegExp[]): RegExp {
  const flags = [...new Set(parts.flatMap((p) => [...p.flags]))].join('');
  return new RegExp(parts.map((p) => p.source).join(''), flags);
}
