/**
 * The benchmark's HTTP load generator, run as a child process so its CPU is not the server's event
 * loop: keep-alive sockets, a fixed number of concurrent buyers (closed loop), every request
 * bounded by a timeout and the whole run by a buyer count and a deadline. Driven over IPC by
 * bench/run.ts; tokens are minted here, before the clock starts, with the local dev issuer's key.
 */
import { Agent, request } from 'node:http';
import { devIssuer } from '../../local/dev-issuer.ts';
import { type BurstJob, runBurst } from './burst.ts';
import type { RequestSample } from './stats.ts';
import { joinUrl } from './url.ts';

export interface ClientJob {
  url: string;
  saleId: string;
  /** The local dev issuer's key file (the runtime's data dir). */
  keyFile: string;
  userPrefix: string;
  /** Buyers to run (each buys once, with its own user and token). */
  buyers: number;
  concurrency: number;
  /** Stop starting new buyers after this long (ms). */
  maxDurationMs: number;
  requestTimeoutMs: number;
}

export interface ClientResult {
  startedAt: number;
  endedAt: number;
  samples: RequestSample[];
  /** Accepted order ids (202/200), for the audit. */
  orderIds: string[];
  mintMs: number;
}

type Reply = { status: number; body: string; code?: string };

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
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
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

export async function runJob(job: ClientJob): Promise<ClientResult> {
  const mintStart = Date.now();
  const issuer = await devIssuer(job.keyFile);
  const tokens: string[] = [];
  for (let i = 0; i < job.buyers; i++) tokens.push(await issuer.sign(`${job.userPrefix}-${i}`));
  const mintMs = Date.now() - mintStart;

  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency, maxFreeSockets: job.concurrency });
  const target = new URL(joinUrl(job.url, `/sales/${encodeURIComponent(job.saleId)}/orders`));
  const body = JSON.stringify({ quantity: 1, paymentToken: 'tok_ok' });
  const samples: RequestSample[] = [];
  const orderIds: string[] = [];
  let next = 0;
  const startedAt = Date.now();
  const deadline = startedAt + job.maxDurationMs;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= job.buyers || Date.now() >= deadline) return;
      const t0 = performance.now();
      const reply = await post(
        agent,
        target,
        { authorization: `Bearer ${tokens[i]}`, 'idempotency-key': `bench-${i}` },
        body,
        job.requestTimeoutMs,
      );
      const ms = performance.now() - t0;
      let code = reply.code;
      if (reply.status >= 200 && reply.status < 300) {
        try {
          orderIds.push((JSON.parse(reply.body) as { orderId: string }).orderId);
        } catch {
          code = 'BAD_BODY';
        }
      } else if (reply.status > 0) {
        try {
          code = (JSON.parse(reply.body) as { error?: { code?: string } }).error?.code;
        } catch {
          code = 'BAD_BODY';
        }
      }
      samples.push({
        end: Date.now(),
        ms,
        name: 'checkout',
        status: reply.status,
        ...(code ? { code } : {}),
      });
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  const endedAt = Math.max(startedAt, ...samples.map((s) => s.end));
  agent.destroy();
  return { startedAt, endedAt, samples, orderIds, mintMs };
}

// As a child: one job per message (closed-loop `job` or open-loop `burst`), answered with its result.
if (process.send) {
  process.on('message', (message: { job: ClientJob } | { burst: BurstJob }) => {
    ('burst' in message ? runBurst(message.burst) : runJob(message.job)).then(
      (result) => process.send?.({ result }),
      (error: unknown) => process.send?.({ error: String((error as Error)?.stack ?? error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
