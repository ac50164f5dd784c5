/**
 * Transports for the API client (api-client.ts) with connections of their own, for drills that
 * measure how the server copes with real clients: a buyer's browser holds one connection, opened
 * when the buyer arrives and kept alive across its retries.
 *
 * The request goes out through undici's `request` rather than `fetch`: the client shares a 2-core
 * machine with the server it measures, and the typed client over Node 20's fetch costs about twice
 * the client CPU per call of the same client over this transport (measured side by side: 0.56-1.3
 * ms against 0.29-0.66 ms; node:http's request alone 0.07-0.23 ms). The client sees the same thing:
 * a Request in, a Response out, and fetch's failures ("fetch failed" with the cause, or the
 * timeout's reason).
 */
import { Agent, request as send } from 'undici';
import type { Transport } from './api-client.ts';

/**
 * A transport with sockets of its own: at most `connections` to the API, kept alive, each opened
 * when a request first needs it (as a browser opens its connection when the buyer arrives).
 */
export function ownConnections(connections = 1): { fetch: Transport; close(): Promise<void> } {
  const dispatcher = new Agent({ connections });
  const fetch: Transport = async (request) => {
    try {
      const answer = await send(request.url, {
        dispatcher,
        method: request.method as 'GET',
        headers: Object.fromEntries(request.headers),
        body: request.body ? Buffer.from(await request.arrayBuffer()) : null,
        signal: request.signal,
      });
      const body = await answer.body.arrayBuffer();
      const headers = new Headers();
      for (const [name, value] of Object.entries(answer.headers))
        for (const one of Array.isArray(value) ? value : [value])
          if (one !== undefined) headers.append(name, one);
      // A Response cannot carry a body with these statuses.
      const empty = answer.statusCode === 204 || answer.statusCode === 304;
      return new Response(empty ? null : body, { status: answer.statusCode, headers });
    } catch (error) {
      // As fetch fails: the timeout's own reason, else "fetch failed" with the transport's error as cause.
      if (request.signal.aborted) throw request.signal.reason;
      throw new TypeError('fetch failed', { cause: error });
    }
  };
  return { fetch, close: () => dispatcher.destroy() };
}
