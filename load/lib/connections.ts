/**
 * Transports for the API client (api-client.ts) with connections of their own, for drills that
 * measure how the server copes with real clients: a buyer's browser holds one connection, opened
 * when the buyer arrives and kept alive across its retries.
 */
import { Agent } from 'undici';
import type { Transport } from './api-client.ts';

/**
 * A transport with sockets of its own: at most `connections` to the API, kept alive, each opened
 * when a request first needs it (as a browser opens its connection when the buyer arrives).
 */
export function ownConnections(connections = 1): { fetch: Transport; close(): Promise<void> } {
  const dispatcher = new Agent({ connections });
  return {
    // Node's fetch takes an undici dispatcher; its types (undici-types) name the same interface apart.
    fetch: (request) => fetch(request, { dispatcher: dispatcher as unknown as RequestInit['dispatcher'] }),
    close: () => dispatcher.destroy(),
  };
}
