import {
  apiThrottle,
  type FunctionKey,
  type FunctionSpec,
  functionSpecs,
  type ThrottleSpec,
} from '../../shared/wiring.ts';
import type { ThrottleSettings } from './throttle.ts';

/**
 * Local cap on every function's in-flight invocations. The wiring's reserved concurrency is the
 * cloud's (400 checkouts on 400 instances); here every invocation shares one event loop, the SDK's
 * 50-socket pool and one DynamoDB Local. On disk, alone on this 2-core machine, DynamoDB Local
 * does its most (~140-220 checkouts/s, by JIT warmth) from 4-8 concurrent checkouts on; more only
 * queue inside it. 8 and 32 measured within each other's variance in the 5,000-buyer burst, and 32
 * lets a herd of cheap requests (sold-out answers, order reads) through in turn. Admitting more
 * only queues work inside the process, where it waits past its budget.
 */
export const LOCAL_MAX_IN_FLIGHT = 32;

/**
 * How long a request that finds its function's concurrency full may wait for a slot before it is
 * answered RETRY: long enough for a herd of short invocations to be served in turn, short beside
 * the checkout's 3 s budget so a waited request still answers within about its budget.
 */
export const LOCAL_QUEUE_WAIT_MS = 500;

/**
 * How long a consumer's poller holds off while buyers wait for a function slot, before it takes a
 * batch anyway. In the cloud the consumers have machines and tables of their own; here they share
 * the two cores and the one DynamoDB Local with the API, and an order's pipeline costs about twice
 * the emulator's work of its checkout. A buyer's answer has a budget, a confirmation is
 * asynchronous (202, then polling): so the pipeline gives way during a crowd's rush, and still
 * moves every poller's batch at least this often, so no order waits on a crowd that never ends.
 */
export const LOCAL_CONSUMER_YIELD_MS = 10_000;

export interface RuntimeLimits {
  throttle: ThrottleSettings;
  /** In-flight limit per synchronously invoked function (routes and the authorizer). */
  concurrency: Partial<Record<FunctionKey, number>>;
  /** Longest wait for a concurrency slot (0: refuse at once, as Lambda does). */
  queueWaitMs: number;
  /** Longest a poller holds off while buyers wait for a slot (0: never). */
  consumerYieldMs: number;
}

export interface LimitOverrides {
  throttle?: { stage?: ThrottleSpec; methods?: Partial<Record<FunctionKey, ThrottleSpec>> };
  concurrency?: Partial<Record<FunctionKey, number>>;
  queueWaitMs?: number;
  consumerYieldMs?: number;
}

/** The wiring's limits (API throttle as deployed, concurrency capped for one machine), then overrides. */
export function effectiveLimits(overrides: LimitOverrides = {}): RuntimeLimits {
  const concurrency: Partial<Record<FunctionKey, number>> = {};
  for (const [key, spec] of Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]) {
    if (!spec.http && key !== 'authorizer') continue;
    concurrency[key] =
      overrides.concurrency?.[key] ??
      Math.min(spec.reservedConcurrency ?? Number.POSITIVE_INFINITY, LOCAL_MAX_IN_FLIGHT);
  }
  return {
    throttle: {
      stage: overrides.throttle?.stage ?? apiThrottle.stage,
      methods: { ...apiThrottle.methods, ...overrides.throttle?.methods },
    },
    concurrency,
    queueWaitMs: overrides.queueWaitMs ?? LOCAL_QUEUE_WAIT_MS,
    consumerYieldMs: overrides.consumerYieldMs ?? LOCAL_CONSUMER_YIELD_MS,
  };
}

/** Milliseconds from 0 to 10,000 (flag `--queue-wait-ms`, env LOCAL_QUEUE_WAIT_MS). */
export function parseQueueWait(text: string): number {
  const ms = Number(text);
  if (!(text.trim() !== '' && Number.isInteger(ms) && ms >= 0 && ms <= 10_000))
    throw new Error(`LOCAL_QUEUE_WAIT_MS: a whole number of milliseconds from 0 to 10000, got "${text}"`);
  return ms;
}

/** `placeOrder=8,authorizer=50` (flag `--concurrency`, env LOCAL_CONCURRENCY). */
export function parseConcurrency(text: string): Partial<Record<FunctionKey, number>> {
  const out: Partial<Record<FunctionKey, number>> = {};
  for (const [key, value] of pairs(text, 'LOCAL_CONCURRENCY')) {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`LOCAL_CONCURRENCY: ${key} needs a whole number ≥ 1, got "${value}"`);
    out[key as FunctionKey] = n;
  }
  return out;
}

/** `stage=500/250,placeOrder=100/50` as rate/burst (flag `--throttle`, env LOCAL_THROTTLE). */
export function parseThrottle(text: string): NonNullable<LimitOverrides['throttle']> {
  const out: NonNullable<LimitOverrides['throttle']> = {};
  for (const [key, value] of pairs(text, 'LOCAL_THROTTLE', true)) {
    const [rate, burst] = value.split('/').map(Number);
    if (!(rate !== undefined && rate > 0 && burst !== undefined && Number.isInteger(burst) && burst >= 1))
      throw new Error(`LOCAL_THROTTLE: ${key} needs rate/burst such as 100/50, got "${value}"`);
    const spec = { rateLimit: rate, burstLimit: burst };
    if (key === 'stage') out.stage = spec;
    else out.methods = { ...out.methods, [key]: spec };
  }
  return out;
}

function pairs(text: string, what: string, stage = false): [string, string][] {
  return text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const [key = '', value = ''] = p.split('=').map((x) => x.trim());
      if (!(key in functionSpecs) && !(stage && key === 'stage'))
        throw new Error(
          `${what}: unknown function "${key}"; use one of ${stage ? 'stage, ' : ''}${Object.keys(functionSpecs).join(', ')}`,
        );
      return [key, value] as [string, string];
    });
}

/** One line per limit, for the start banner. */
export function formatLimits(limits: RuntimeLimits): string {
  const t = (s: ThrottleSpec) => `${s.rateLimit}/s burst ${s.burstLimit}`;
  const methods = Object.entries(limits.throttle.methods)
    .map(([k, s]) => `${k} ${t(s as ThrottleSpec)}`)
    .join(', ');
  const concurrency = Object.entries(limits.concurrency)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return `API throttle: stage ${t(limits.throttle.stage)}${methods ? `; ${methods}` : ''}\nConcurrency (in flight): ${concurrency}; a request finding it full waits up to ${limits.queueWaitMs} ms for a slot; while one waits, the consumers hold off (up to ${limits.consumerYieldMs} ms at a time)`;
}
