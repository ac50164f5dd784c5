/**
 * The open-loop burst: buyers arrive at a fixed rate whether or not earlier ones were answered (a
 * flash crowd does not wait for the server), and each buyer honours `429 RETRY` + `Retry-After` by
 * trying again with the same Idempotency-Key, at most `maxTries` times. Runs in the load
 * generator's child process (generator.ts); tokens are minted before the clock starts.
 */
import { Agent, request } from 'node:http';
import { devIssuer } from '../../local/dev-issuer.ts';
import type { RequestSample } from './stats.ts';
import { joinUrl } from './url.ts';

export interface BurstJob {
  url: string;
  saleId: string;
  /** The local dev issuer's key file (the runtime's data dir). */
  keyFile: string;
  userPrefix: string;
  buyers: number;
  arrivalPerSec: number;
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

const MAX_SOCKETS = 256;

type Reply = { status: number; body: string; retryAfter?: string; code?: string };

function post(agent: Agent, url: URL, headers: Record<string, string>, body: string, timeoutMs: number) {
  return new Promise<Reply>((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            ...(typeof res.headers['retry-after'] === 'string'
              ? { retryAfter: res.headers['retry-after'] }
              : {}),
          }),
        );
        res.on('error', (e: NodeJS.ErrnoException) =>
          resolve({ status: 0, body: '', code: e.code ?? 'ERES' }),
        );
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, body: '', code: e.code ?? 'EREQ' }));
    req.end(body);
  });
}

/**
 * Seconds to wait before the next try: what Retry-After asks (1 s if absent or unreadable), spread
 * over up to half as much again so that a crowd refused together does not return together.
 */
export function retryDelayMs(retryAfter: string | undefined, random: () => number = Math.random): number {
  const seconds = Number(retryAfter);
  const base = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000;
  return base + random() * base * 0.5;
}

export async function runBurst(job: BurstJob): Promise<BurstResult> {
  const mintStart = Date.now();
  const issuer = await devIssuer(job.keyFile);
  const tokens: string[] = [];
  for (let i = 0; i < job.buyers; i++) tokens.push(await issuer.sign(`${job.userPrefix}-${i}`));
  const mintMs = Date.now() - mintStart;

  // Keep-alive sockets, at most MAX_SOCKETS: thousands of fresh connections in one second would
  // measure this machine's loopback accept queue, not the service. A buyer waiting for a socket is
  // still waiting: latency runs from the moment the request is issued, so that wait is counted.
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_SOCKETS });
  const target = new URL(joinUrl(job.url, `/sales/${encodeURIComponent(job.saleId)}/orders`));
  const body = JSON.stringify({ quantity: 1, paymentToken: 'tok_ok' });
  const samples: RequestSample[] = [];
  const buyers: BuyerOutcome[] = [];

  const buyer = async (i: number): Promise<void> => {
    const arrived = performance.now();
    const headers = { authorization: `Bearer ${tokens[i]}`, 'idempotency-key': `burst-${i}` };
    for (let tries = 1; ; tries++) {
      const t0 = performance.now();
      const reply = await post(agent, target, headers, body, job.requestTimeoutMs);
      let code = reply.code;
      let orderId: string | undefined;
      try {
        const parsed = reply.body
          ? (JSON.parse(reply.body) as { orderId?: string; error?: { code?: string } })
          : {};
        orderId = parsed.orderId;
        code ??= parsed.error?.code;
      } catch {
        code = 'BAD_BODY';
      }
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
  const running: Promise<void>[] = [];
  // Arrivals on a fixed schedule (buyer i at i / rate seconds), released in 5 ms ticks.
  const t0 = performance.now();
  for (let i = 0; i < job.buyers; ) {
    const due = Math.min(job.buyers, Math.floor(((performance.now() - t0) / 1000) * job.arrivalPerSec) + 1);
    for (; i < due; i++) running.push(buyer(i));
    if (i < job.buyers) await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(running);
  agent.destroy();
  const endedAt = Math.max(startedAt, ...samples.map((s) => s.end));
  return { startedAt, endedAt, samples, buyers, mintMs };
}
