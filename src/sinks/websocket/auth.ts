/**
 * Role: the WebSocket sink's checks of upgrade requests (server.ts applies them): the bearer
 * token (`auth_token`, compared as SHA-256 digests in constant time; `Authorization: Bearer …`
 * or `?token=`) and the browser Origin (`allowed_origins`, or the same origin as the dashboard
 * page this server serves).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export function normOrigin(o: string): string {
  return o.trim().replace(/\/+$/, '').toLowerCase();
}

/** True when no token is configured, or the request carries it. */
export function tokenAuthorized(req: IncomingMessage, url: URL, tokenDigest: Buffer | null): boolean {
  if (!tokenDigest) return true;
  const header = req.headers.authorization;
  const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  const given = m?.[1] ?? url.searchParams.get('token');
  if (!given) return false;
  return timingSafeEqual(digest(given), tokenDigest);
}

/** `origins`: normalised allowed origins (null: none listed). */
export function originAllowed(req: IncomingMessage, origins: ReadonlySet<string> | null, anyOrigin: boolean): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true; // not a browser; auth_token is what guards those
  if (anyOrigin) return true;
  const norm = normOrigin(origin);
  if (origins?.has(norm)) return true;
  // same-origin: the dashboard page served by this server
  try {
    return new URL(norm).host === String(req.headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}
