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

type Reply = { status: number; body: string; retryAfter?: string; code?: string };

function send(
  agent: Agent,
  method: 'GET' | 'POST',
  url: URL,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
) {
  return new Promise<Reply>((resolve) => {
    const req = request(
      url,
      {
        method,
        agent,
        headers:
          method === 'POST'
            ? { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
            : headers,
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
    req.end(method === 'POST' ? body : undefined);
  });
}

/** Opens each agent's keep-alive connection with a GET, a bounded number at a time. */
async function openConnections(agents: Agent[], url: URL, timeoutMs: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < agents.length) {
      const agent = agents[next++] as Agent;
      const reply = await send(agent, 'GET', url, {}, '', timeoutMs);
      if (reply.status === 0) throw new Error(`Could not open a connection to ${url.origin}: ${reply.code}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPENING_IN_PARALLEL, agents.length) }, worker));
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

export async function runBurst(job: BurstJob): Promise<BurstResult> {
  const mintStart = Date.now();
  const issuer = await devIssuer(job.keyFile);
  const tokens: string[] = [];
  for (let i = 0; i < job.buyers; i++) tokens.push(await issuer.sign(`${job.userPrefix}-${i}`));
  const mintMs = Date.now() - mintStart;

  // Each buyer has a connection of its own, kept alive across its retries, as a browser does: a pool
  // shared by the crowd would hold arrivals back in the client, and that is a closed loop. A real
  // buyer opens it on arrival; `before-clock` opens them all first, to measure the server alone.
  const agents = Array.from({ length: job.buyers }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  if (job.connections === 'before-clock')
    await openConnections(agents, new URL(joinUrl(job.url, '/health')), job.requestTimeoutMs);
  const target = new URL(joinUrl(job.url, `/sales/${encodeURIComponent(job.saleId)}/orders`));
  const body = JSON.stringify({ quantity: 1, paymentToken: 'tok_ok' });
  const samples: RequestSample[] = [];
  const buyers: BuyerOutcome[] = [];

  const buyer = async (i: number): Promise<void> => {
    const arrived = performance.now();
    const agent = agents[i] as Agent;
    const headers = { authorization: `Bearer ${tokens[i]}`, 'idempotency-key': `burst-${i}` };
    for (let tries = 1; ; tries++) {
      const t0 = performance.now();
      const reply = await send(agent, 'POST', target, headers, body, job.requestTimeoutMs);
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
  for (const agent of agents) agent.destroy();
  const endedAt = Math.max(startedAt, ...samples.map((s) => s.end));
  return { startedAt, endedAt, samples, buyers, mintMs };
}
