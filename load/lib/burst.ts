/**
 * The open-loop burst: buyers arrive at a fixed rate whether or not earlier ones were answered (a
 * flash crowd does not wait for the server), and each buyer honours `429 RETRY` + `Retry-After` by
 * trying again with the same Idempotency-Key, at most `maxTries` times. Runs in the load
 * generator's child process (generator.ts); tokens are minted before the clock starts.
 */
import { devIssuer } from '../../local/dev-issuer.ts';
import { ApiUnreachable, errorCode, type TypedApi, typedApi } from './api-client.ts';
import { ownConnections } from './connections.ts';
import type { RequestSample } from './stats.ts';

/**
 * `on-arrival`: each buyer opens its connection when it arrives, as a browser or an Artillery virtual
 * user does (the default). `before-clock`: every connection is opened before the first arrival.
 */
export type BurstConnections = 'on-arrival' | 'before-clock';

export interface BurstJob {
  url: string;
  connections: BurstConnections;
  saleId: string;
  /** The local dev issuer's key file (the runtime's data dir). */
  keyFile: string;
  userPrefix: string;
  buyers: number;
  arrivalPerSec: number;
  /**
   * Closed loop instead: this many buyers at a time, each arriving when one before it has its final
   * answer (`arrivalPerSec` unused). Each still has its own connection and honours Retry-After.
   */
  closedLoop?: number;
  maxTries: number;
  requestTimeoutMs: number;
}

export interface BuyerOutcome {
  /** accepted (202/200), refused (a final 4xx such as SOLD_OUT), gaveUp (still RETRY after maxTries, or no answer). */
  outcome: 'accepted' | 'refused' | 'gaveUp';
  tries: number;
  orderId?: string;
  /** First arrival to final answer, including the waits Retry-After asked for. */
  ms: number;
}

export interface BurstResult {
  startedAt: number;
  endedAt: number;
  /** Every answer (first tries and retries). */
  samples: RequestSample[];
  buyers: BuyerOutcome[];
  mintMs: number;
}

/** One answer to a checkout: status 0 and the transport's code when there was no answer at all. */
export interface CheckoutReply {
  status: number;
  orderId?: string;
  code?: string;
  retryAfter?: string;
}

/** `POST /sales/{saleId}/orders` for one unit, through the typed client, as one sample's worth. */
export async function checkout(
  api: TypedApi,
  saleId: string,
  token: string,
  idempotencyKey: string,
): Promise<CheckoutReply> {
  try {
    const { data, error, response } = await api.POST('/sales/{saleId}/orders', {
      params: { path: { saleId }, header: { 'Idempotency-Key': idempotencyKey } },
      headers: { authorization: `Bearer ${token}` },
      body: { quantity: 1, paymentToken: 'tok_ok' },
    });
    const code = errorCode(error);
    const retryAfter = response.headers.get('retry-after');
    return {
      status: response.status,
      ...(data?.orderId ? { orderId: data.orderId } : {}),
      ...(code ? { code } : {}),
      ...(retryAfter === null ? {} : { retryAfter }),
    };
  } catch (error) {
    if (error instanceof ApiUnreachable) return { status: 0, code: error.code };
    // A success whose body is not the contract's JSON.
    if (error instanceof SyntaxError) return { status: 0, code: 'BAD_BODY' };
    throw error;
  }
}

/** Opens each buyer's keep-alive connection with a GET /health, a bounded number at a time. */
async function openConnections(apis: TypedApi[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < apis.length) {
      const api = apis[next++] as TypedApi;
      try {
        await api.GET('/health');
      } catch (error) {
        throw new Error(`Could not open a connection: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPENING_IN_PARALLEL, apis.length) }, worker));
}

const OPENING_IN_PARALLEL = 16;

/**
 * Seconds to wait before the next try: what Retry-After asks (1 s if absent or unreadable), spread
 * over up to half as much again so that a crowd refused together does not return together.
 */
export function retryDelayMs(retryAfter: string | undefined, random: () => number = Math.random): number {
  const seconds = Number(retryAfter);
  const base = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000;
  return base + random() * base * 0.5;
}

/** One token per buyer (`<userPrefix>-<i>`), signed with the local dev issuer's key before the clock starts. */
export async function buyerTokens(job: {
  keyFile: string;
  userPrefix: string;
  buyers: number;
}): Promise<{ tokens: string[]; mintMs: number }> {
  const started = Date.now();
  const issuer = await devIssuer(job.keyFile);
  const tokens: string[] = [];
  for (let i = 0; i < job.buyers; i++) tokens.push(await issuer.sign(`${job.userPrefix}-${i}`));
  return { tokens, mintMs: Date.now() - started };
}

export async function runBurst(job: BurstJob): Promise<BurstResult> {
  const { tokens, mintMs } = await buyerTokens(job);

  // Each buyer has a connection of its own, kept alive across its retries, as a browser does: a pool
  // shared by the crowd would hold arrivals back in the client, and that is a closed loop. A real
  // buyer opens it on arrival (its first request opens it); `before-clock` opens them all first, to
  // measure the server alone.
  const transports = Array.from({ length: job.buyers }, () => ownConnections(1));
  const apis = transports.map((t) =>
    typedApi(job.url, { fetch: t.fetch, retries429: 0, timeoutMs: job.requestTimeoutMs }),
  );
  if (job.connections === 'before-clock') await openConnections(apis);
  const samples: RequestSample[] = [];
  const buyers: BuyerOutcome[] = [];

  const buyer = async (i: number): Promise<void> => {
    const arrived = performance.now();
    const api = apis[i] as TypedApi;
    for (let tries = 1; ; tries++) {
      const t0 = performance.now();
      const reply = await checkout(api, job.saleId, tokens[i] as string, `burst-${i}`);
      const { code, orderId } = reply;
      samples.push({
        end: Date.now(),
        ms: performance.now() - t0,
        name: tries === 1 ? 'checkout' : 'checkout-retry',
        status: reply.status,
        ...(code ? { code } : {}),
      });
      const done = (outcome: BuyerOutcome['outcome']) =>
        buyers.push({ outcome, tries, ms: performance.now() - arrived, ...(orderId ? { orderId } : {}) });
      if ((reply.status === 200 || reply.status === 202) && orderId) return void done('accepted');
      const retryable = reply.status === 429 || reply.status === 503;
      if (!retryable && reply.status >= 400 && reply.status < 500) return void done('refused');
      // A 5xx or no answer: a buyer would retry too; it is counted in answers5xx / transport errors.
      if (tries >= job.maxTries) return void done('gaveUp');
      await new Promise((r) => setTimeout(r, retryDelayMs(reply.retryAfter)));
    }
  };

  const startedAt = Date.now();
  if (job.closedLoop) {
    let next = 0;
    const seat = async () => {
      while (next < job.buyers) await buyer(next++);
    };
    await Promise.all(Array.from({ length: Math.min(job.closedLoop, job.buyers) }, seat));
  } else {
    const running: Promise<void>[] = [];
    // Arrivals on a fixed schedule (buyer i at i / rate seconds), released in 5 ms ticks.
    const t0 = performance.now();
    for (let i = 0; i < job.buyers; ) {
      const due = Math.min(job.buyers, Math.floor(((performance.now() - t0) / 1000) * job.arrivalPerSec) + 1);
      for (; i < due; i++) running.push(buyer(i));
      if (i < job.buyers) await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(running);
  }
  await Promise.all(transports.map((t) => t.close()));
  const endedAt = Math.max(startedAt, ...samples.map((s) => s.end));
  return { startedAt, endedAt, samples, buyers, mintMs };
}
