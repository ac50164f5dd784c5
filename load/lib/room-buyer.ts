/**
 * One virtual buyer of the waiting-room drill, behaving like the buyer page: join, wait as the
 * room asks (pollAfterSeconds / Retry-After), buy with the admission token once admitted.
 */
import {
  type Draw,
  pollAfterSeconds,
  type RoomDocument,
  stateFromDocument,
} from '../../shared/domain/waiting-room.ts';
import { drawOfTicket, TICKET_HEADER } from '../../shared/usecases/room-tickets.ts';
import { type ApiClient, ApiUnreachable, apiClient, sleep } from './api-client.ts';

export type Outcome = 'ordered' | 'soldOut' | 'expired' | 'refused' | 'gaveUp';

/**
 * `page`: every buyer waits exactly as the buyer page does (web/page.ts): it polls the public room
 * document on its own timer (at least what the server asks, plus up to half again at random),
 * computes its place from its ticket's draw, and calls `GET /queue/me` with its ticket only once
 * that place is served; no cap on requests in flight, as a crowd of browsers would.
 * `capped`: the crowd polls `GET /queue/me`, shares `maxInFlight` requests and backs off
 * exponentially on refusals (the drill's first mode, kinder to a stack sharing the machine).
 */
export type RoomPolling = 'page' | 'capped';

/** The buyer page's timer (web/page.ts `later`): never sooner than asked, spread by up to half again. */
export function pageDelayMs(seconds: number, random: () => number = Math.random): number {
  return Math.max(0.5, seconds) * (1 + random() / 2) * 1000;
}

export interface BuyerRecord {
  userId: string;
  group: 'preStart' | 'postStart';
  /** When the buyer first asked to join (epoch ms). */
  joinedAt?: number;
  /** How the room placed the ticket: lottery (joined before the start) or arrival order. */
  placedBy?: 'lottery' | 'arrival';
  position?: number;
  outcome?: Outcome;
  outcomeAt?: number;
  /** The refusal's code, when the outcome is `refused`. */
  refusal?: string;
  orderId?: string;
  admitted: boolean;
  /** The last state the room told this buyer. */
  lastState?: string;
  /** Status of a checkout tried without an admission token (cheaters only). */
  unadmittedCheckout?: number;
}

export interface Tally {
  requests: Record<string, number>;
  answers5xx: number;
  answers429: number;
  latencies: Record<string, number[]>;
}

export function newTally(): Tally {
  return { requests: {}, answers5xx: 0, answers429: 0, latencies: {} };
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  retryAfter: number;
}

/**
 * Requests of every virtual buyer go through here (the API client over the global fetch, whose pool
 * opens a connection whenever every open one is busy), at most `maxInFlight` at once: with
 * `capped` polling the crowd queues here (like a CDN's connection pool) rather than burying one
 * event loop in thousands of open requests. Latency is measured from the send.
 */
export class RoomClient {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly api: ApiClient;

  constructor(
    baseUrl: string,
    readonly tally: Tally,
    private readonly maxInFlight: number,
  ) {
    // The buyers honour 429 themselves, as the page does: the client hands every answer back.
    this.api = apiClient(baseUrl, { retries429: 0, timeoutMs: 30_000 });
  }

  private async slot(): Promise<void> {
    if (this.inFlight < this.maxInFlight) {
      this.inFlight++;
      return;
    }
    await new Promise<void>((resume) => this.waiting.push(resume));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }

  async send(
    name: string,
    method: string,
    path: string,
    /** The buyer's bearer token; empty for a public document (the edge caches it for everyone). */
    token: string,
    extra: { headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<Answer> {
    await this.slot();
    const started = performance.now();
    this.tally.requests[name] = (this.tally.requests[name] ?? 0) + 1;
    let status: number;
    let body: Record<string, unknown> = {};
    let retryAfter = 0;
    try {
      const reply = await this.api(method, path, { token, ...extra });
      status = reply.status;
      if (typeof reply.body === 'object' && reply.body !== null) body = reply.body as Record<string, unknown>;
      retryAfter = Number(reply.headers.get('retry-after') ?? 0);
    } catch (error) {
      if (!(error instanceof ApiUnreachable)) throw error;
      status = 599; // no answer at all: counted with the 5xx
    } finally {
      this.release();
    }
    this.tally.latencies[name] ??= [];
    this.tally.latencies[name].push(performance.now() - started);
    if (status >= 500) this.tally.answers5xx++;
    if (status === 429) this.tally.answers429++;
    return { status, body, retryAfter };
  }
}

/** Plays one buyer from the join to a final outcome (or `deadline`, epoch ms). */
export async function playBuyer(
  client: RoomClient,
  buyer: BuyerRecord,
  options: {
    saleId: string;
    token: string;
    joinAt: number;
    cheat: boolean;
    deadline: number;
    polling: RoomPolling;
  },
): Promise<void> {
  const { saleId, token } = options;
  const page = options.polling === 'page';
  const base = `/sales/${encodeURIComponent(saleId)}`;
  const finish = (outcome: Outcome, refusal?: string) => {
    buyer.outcome = outcome;
    buyer.outcomeAt = Date.now();
    if (refusal) buyer.refusal = refusal;
  };
  await sleep(Math.max(0, options.joinAt - Date.now()));
  // Set once the join hands out a ticket (page mode): from then on the buyer watches the room document.
  let draw: Draw | undefined;
  let ticket = '';
  const status = () => (draw ? lookAtRoom(draw) : client.send('status', 'GET', `${base}/queue/me`, token));
  /**
   * The page's look at the line: the room document, and the ticket's state computed from it. A
   * served ticket is exchanged for an admission token (the one call with the buyer's token); any
   * other state is answered as the status route would, with its pollAfterSeconds.
   */
  const lookAtRoom = async (d: Draw): Promise<Answer> => {
    const room = await client.send('room', 'GET', `${base}/room`, '');
    if (room.status !== 200) return room;
    const state = stateFromDocument(room.body as unknown as RoomDocument, d);
    if (state.state === 'ADMITTED')
      return client.send('status', 'GET', `${base}/queue/me`, token, {
        headers: { [TICKET_HEADER]: ticket },
      });
    return { status: 200, body: { ...state, pollAfterSeconds: pollAfterSeconds(state) }, retryAfter: 0 };
  };
  const buy = (admission?: string) =>
    client.send('checkout', 'POST', `${base}/orders`, token, {
      headers: {
        'idempotency-key': `room-${buyer.userId}`,
        ...(admission ? { 'admission-token': admission } : {}),
      },
      body: { quantity: 1, paymentToken: 'tok_ok' },
    });
  if (options.cheat) {
    let answer = await buy();
    for (let i = 0; i < 5 && (answer.status === 429 || answer.status >= 500); i++) {
      await sleep(Math.max(1, answer.retryAfter) * 1000);
      answer = await buy();
    }
    buyer.unadmittedCheckout = answer.status;
  }

  buyer.joinedAt = Date.now();
  let answer = await client.send('join', 'POST', `${base}/queue`, token);
  let failures = 0;
  while (Date.now() < options.deadline) {
    if (answer.status === 429 || answer.status >= 500) {
      // Back off harder on each failure in a row, so a struggling stack is not buried by retries.
      failures++;
      if (page) await sleep(pageDelayMs(answer.status === 429 ? answer.retryAfter || 1 : 3));
      else {
        const wait = Math.max(answer.retryAfter, Math.min(30, 2 ** failures));
        await sleep(wait * 1000 * (0.5 + Math.random()));
      }
      answer =
        buyer.position === undefined
          ? await client.send('join', 'POST', `${base}/queue`, token)
          : await status();
      continue;
    }
    failures = 0;
    if (answer.status !== 200 && answer.status !== 201) {
      return finish('refused', String((answer.body.error as { code?: string } | undefined)?.code));
    }
    const state = answer.body.state;
    buyer.position = Number(answer.body.position);
    buyer.lastState = String(state);
    buyer.placedBy = (answer.body.placedBy as BuyerRecord['placedBy']) ?? buyer.placedBy;
    if (page && !draw && typeof answer.body.ticket === 'string') {
      ticket = answer.body.ticket;
      draw = drawOfTicket(ticket);
    }
    if (state === 'SOLD_OUT') return finish('soldOut');
    if (state === 'ADMITTED') {
      buyer.admitted = true;
      const bought = await buy(String(answer.body.admissionToken));
      if (bought.status === 200 || bought.status === 202) {
        buyer.orderId = String(bought.body.orderId);
        return finish('ordered');
      }
      const code = (bought.body.error as { code?: string } | undefined)?.code;
      if (code === 'SOLD_OUT') return finish('soldOut');
      if (bought.status !== 429 && bought.status < 500 && code !== 'ADMISSION_REQUIRED')
        return finish('refused', code);
      await sleep(
        page
          ? pageDelayMs(bought.retryAfter || 1)
          : Math.max(1, bought.retryAfter) * 1000 * (0.5 + Math.random()),
      );
    } else {
      // WAITING, or EXPIRED waiting for the last call (or SOLD_OUT); at the deadline an expired
      // buyer counts as expired. Jitter spreads a crowd that joined in the same second over the next poll.
      const asked = Number(answer.body.pollAfterSeconds) || 1;
      await sleep(page ? pageDelayMs(asked) : Math.max(1, asked) * 1000 * (0.8 + 0.4 * Math.random()));
    }
    answer = await status();
  }
  finish(buyer.lastState === 'EXPIRED' ? 'expired' : 'gaveUp');
}
