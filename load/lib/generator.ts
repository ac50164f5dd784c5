/**
 * The benchmark's HTTP load generator, run as a child process so its CPU is not the server's event
 * loop: the API client over keep-alive sockets, a fixed number of concurrent buyers (closed loop), every request
 * bounded by a timeout and the whole run by a buyer count and a deadline. Driven over IPC by
 * bench/run.ts; tokens are minted here, before the clock starts, with the local dev issuer's key.
 */
import { typedApi } from './api-client.ts';
import { type BurstJob, buyerTokens, checkout, runBurst } from './burst.ts';
import { ownConnections } from './connections.ts';
import { type RoomCrowdJob, runRoomCrowd } from './room-crowd.ts';
import type { RequestSample } from './stats.ts';

/** What the parent (generator-process.ts) sends: one job per message. */
export type GeneratorMessage = { job: ClientJob } | { burst: BurstJob } | { room: RoomCrowdJob };

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

export async function runJob(job: ClientJob): Promise<ClientResult> {
  const { tokens, mintMs } = await buyerTokens(job);

  // One pool of `concurrency` keep-alive connections, one per concurrent buyer.
  const transport = ownConnections(job.concurrency);
  const api = typedApi(job.url, { fetch: transport.fetch, retries429: 0, timeoutMs: job.requestTimeoutMs });
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
      const reply = await checkout(api, job.saleId, tokens[i] as string, `bench-${i}`);
      const ms = performance.now() - t0;
      if (reply.orderId) orderIds.push(reply.orderId);
      samples.push({
        end: Date.now(),
        ms,
        name: 'checkout',
        status: reply.status,
        ...(reply.code ? { code: reply.code } : {}),
      });
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  const endedAt = Math.max(startedAt, ...samples.map((s) => s.end));
  await transport.close();
  return { startedAt, endedAt, samples, orderIds, mintMs };
}

// As a child: one job per message (closed-loop `job`, open-loop `burst` or a waiting-room crowd),
// answered with its result.
function run(message: GeneratorMessage): Promise<unknown> {
  if ('burst' in message) return runBurst(message.burst);
  if ('room' in message) return runRoomCrowd(message.room);
  return runJob(message.job);
}

if (process.send) {
  process.on('message', (message: GeneratorMessage) => {
    run(message).then(
      (result) => process.send?.({ result }),
      (error: unknown) => process.send?.({ error: String((error as Error)?.stack ?? error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
