/**
 * Role: the WebSocket sink's heartbeat. Every `heartbeat_ms` each client gets a ping; a client
 * that has not shown a sign of life since the previous ping (a pong, or any message it sent,
 * both of which set `client.alive`) is terminated.
 */
import type { Client } from './client.js';

/**
 * One heartbeat tick over `clients`: terminates the ones that missed the previous ping
 * (`onMissed` is called for each first), pings the others and marks them not alive until they
 * answer. A client whose ping throws is terminated too.
 */
export function heartbeatTick(clients: Iterable<Client>, onMissed: (client: Client) => void): void {
  for (const client of clients) {
    if (!client.alive) {
      onMissed(client);
      client.ws.terminate();
      continue;
    }
    client.alive = false;
    try {
      client.ws.ping();
    } catch {
      client.ws.terminate();
    }
  }
}

/** Starts the heartbeat (nothing when `intervalMs` is 0); returns the function that stops it. */
export function startHeartbeat(
  clients: Iterable<Client>,
  intervalMs: number,
  onMissed: (client: Client) => void,
): () => void {
  if (intervalMs <= 0) return () => undefined;
  const timer = setInterval(() => heartbeatTick(clients, onMissed), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
