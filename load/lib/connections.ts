/**
 * Transports for the API client (api-client.ts) with connections of their own, for drills that
 * measure how the server copes with real clients: a buyer's browser holds one connection, opened
 * when the buyer arrives and kept alive across its retries.
 *
 * The request goes out through undici's `request`, not `fetch`: the client shares a 2-core machine
 * with the server it measures, and fetch's WHATWG machinery cost twice the CPU per call.
 */
import { Agent, request as send } from 'undici';
import type { Transport } from './api-client.ts';

/**
 * A transport with sockets of its own: at most `connections` to the API, kept alive, each opened
 * when a request first needs it (as a browser opens its connection when the buyer arrives).
 */
export function ownConnections(connections = 1): { fetch: Transport; close(): Promise<void> } {
  const dispatcher = new Agent({ connections });
  const fetch: Transport = async (request, signal) => {
    try {
      const answer = await send(request.url, {
        dispatcher,
        method: request.method as 'GET',
        headers: request.headers,
        body: request.body ?? null,
        signal,
      });
      return { status: answer.statusCode, headers: answer.headers, body: await answer.body.text() };
    } catch (error) {
      // As fetch fails: the timeout's own reason, else "fetch failed" with the transport's error as cause.
      if (signal.aborted) throw signal.reason;
      throw new TypeError('fetch failed', { cause: error });
    }
  };
  return { fetch, close: () => dispatcher.destroy() };
}
