import type { APIGatewayProxyResult } from 'aws-lambda';
import type { Invocation } from './concurrency.ts';

/** The longest an edge copy lives whatever the origin says (infra/edge.ts EDGE_MAX_TTL_SECONDS). */
const MAX_TTL_SECONDS = 60;
const MAX_ENTRIES = 10_000;

/** What the cache reads of a request: its method, target and `Authorization`. */
export interface EdgeRequest {
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
}

interface Entry {
  result: APIGatewayProxyResult;
  storedAt: number;
  until: number;
}

/**
 * Plays the CloudFront distribution in front of the API (infra/edge.ts) for `npm start`: a GET or
 * HEAD whose answer the origin marked cacheable (`max-age` > 0, not private, no-store or no-cache)
 * is answered from here until it expires, with no function invocation, no concurrency slot and
 * no throttle token, and concurrent misses of one key share one origin call (request collapsing).
 * The key is method + path + query + `Authorization` + `Origin`, as the distribution's cache
 * policies key it, so an answer is never served to another bearer, nor its CORS header to another origin.
 */
export class EdgeCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Invocation<unknown>>>();
  readonly stats = { hits: 0, misses: 0 };

  constructor(private readonly now: () => number = Date.now) {}

  /** A fresh copy for this request, answered at once; undefined to go on to the origin. */
  lookup(req: EdgeRequest): APIGatewayProxyResult | undefined {
    const key = keyOf(req);
    const entry = key === undefined ? undefined : this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.entries.delete(key as string);
      return undefined;
    }
    this.stats.hits++;
    return this.served(entry);
  }

  /**
   * The origin call for a miss: joins a call already in flight for the same key, and keeps what
   * it answers when the answer is cacheable.
   */
  async through(req: EdgeRequest, origin: () => Promise<Invocation<unknown>>): Promise<Invocation<unknown>> {
    const key = keyOf(req);
    if (key === undefined) return origin();
    const pending = this.inFlight.get(key);
    if (pending) {
      const shared = await pending;
      const entry = this.entries.get(key);
      if (shared.outcome === 'done' && entry) {
        this.stats.hits++;
        return { outcome: 'done', value: this.served(entry) };
      }
      return origin();
    }
    this.stats.misses++;
    const call = origin();
    this.inFlight.set(key, call);
    try {
      const invocation = await call;
      if (invocation.outcome === 'done') this.keep(key, invocation.value as APIGatewayProxyResult);
      return invocation;
    } finally {
      this.inFlight.delete(key);
    }
  }

  private keep(key: string, result: APIGatewayProxyResult): void {
    const seconds = cacheSeconds(result);
    if (seconds <= 0) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    const now = this.now();
    this.entries.set(key, { result, storedAt: now, until: now + Math.min(seconds, MAX_TTL_SECONDS) * 1000 });
  }

  private served(entry: Entry): APIGatewayProxyResult {
    const age = Math.max(0, Math.floor((this.now() - entry.storedAt) / 1000));
    return { ...entry.result, headers: { ...entry.result.headers, Age: age, 'X-Cache': 'Hit from edge' } };
  }
}

function keyOf(req: EdgeRequest): string | undefined {
  if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
  return `${req.method} ${req.url} ${req.headers.authorization ?? ''} ${req.headers.origin ?? ''}`;
}

/** Seconds a shared cache may keep this answer: CloudFront's reading of the origin's Cache-Control. */
export function cacheSeconds(result: APIGatewayProxyResult): number {
  const header = Object.entries(result.headers ?? {}).find(([k]) => k.toLowerCase() === 'cache-control')?.[1];
  if (typeof header !== 'string') return 0;
  const directives = header
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.some((d) => d === 'private' || d === 'no-store' || d === 'no-cache')) return 0;
  const maxAge =
    directives.find((d) => d.startsWith('s-maxage=')) ?? directives.find((d) => d.startsWith('max-age='));
  const seconds = Number(maxAge?.split('=')[1]);
  return Number.isFinite(seconds) ? seconds : 0;
}
