import { generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../load/lib/burst.ts';
import { AUTHORIZER_CACHE_MS, cachedAuthorizer } from '../../local/runtime/authorizer.ts';
import { ConcurrencyGate, crowded, invokeWithin } from '../../local/runtime/concurrency.ts';
import { isLoopbackHost } from '../../local/runtime/dev-routes.ts';
import { gateway } from '../../local/runtime/gateway.ts';
import {
  effectiveLimits,
  LOCAL_MAX_IN_FLIGHT,
  parseConcurrency,
  parseThrottle,
} from '../../local/runtime/limits.ts';
import { giveWay } from '../../local/runtime/pollers.ts';
import { ApiThrottle, TokenBucket } from '../../local/runtime/throttle.ts';
import { apiThrottle, functions } from '../../shared/wiring.ts';

describe('TokenBucket (API Gateway rate + burst)', () => {
  it('lets a burst through at once, refuses the next, and refills at the rate', () => {
    let now = 0;
    const bucket = new TokenBucket({ rateLimit: 10, burstLimit: 3 }, () => now);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    now += 99; // 0.99 tokens
    expect(bucket.tryTake()).toBe(false);
    now += 2; // 1.01 tokens
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    now += 10_000; // refills only up to the burst
    expect(Array.from({ length: 5 }, () => bucket.tryTake())).toEqual([true, true, true, false, false]);
  });

  it("applies the stage's limits to each method, as API Gateway does; a method's own replace them", () => {
    let now = 0;
    const throttle = new ApiThrottle(
      { stage: { rateLimit: 1, burstLimit: 4 }, methods: { placeOrder: { rateLimit: 1, burstLimit: 2 } } },
      () => now,
    );
    expect([
      throttle.admit('placeOrder'),
      throttle.admit('placeOrder'),
      throttle.admit('placeOrder'),
    ]).toEqual([true, true, false]);
    // getSale has no limit of its own: a bucket of the stage's size for itself, untouched by the
    // checkout's traffic, and another for getRoom.
    expect(Array.from({ length: 5 }, () => throttle.admit('getSale'))).toEqual([
      true,
      true,
      true,
      true,
      false,
    ]);
    expect(Array.from({ length: 4 }, () => throttle.admit('getRoom'))).toEqual([true, true, true, true]);
    now += 1000;
    expect(throttle.admit('getSale')).toBe(true);
  });
});

describe('ConcurrencyGate and invokeWithin (Lambda concurrency and timeout)', () => {
  it('refuses beyond the limit at once and admits again when one finishes', async () => {
    const gate = new ConcurrencyGate(2);
    const releases: (() => void)[] = [];
    const slow = () => new Promise<string>((done) => releases.push(() => done('ok')));
    const a = invokeWithin(gate, 10_000, slow);
    const b = invokeWithin(gate, 10_000, slow);
    expect(await invokeWithin(gate, 10_000, slow)).toEqual({ outcome: 'throttled' });
    expect(gate.inFlight).toBe(2);
    releases[0]?.();
    expect(await a).toEqual({ outcome: 'done', value: 'ok' });
    expect(gate.inFlight).toBe(1);
    const c = invokeWithin(gate, 10_000, slow);
    await new Promise((r) => setTimeout(r, 0)); // c has its slot and has started
    releases[1]?.();
    releases[2]?.();
    expect([await b, await c]).toEqual([
      { outcome: 'done', value: 'ok' },
      { outcome: 'done', value: 'ok' },
    ]);
    expect(gate.inFlight).toBe(0);
  });

  it('answers timedOut past the budget but keeps the slot until the work really ends', async () => {
    const gate = new ConcurrencyGate(1);
    let finish: () => void = () => {};
    const work = () => new Promise<void>((done) => (finish = done));
    expect(await invokeWithin(gate, 20, work)).toEqual({ outcome: 'timedOut' });
    expect(gate.inFlight).toBe(1);
    expect(await invokeWithin(gate, 20, work)).toEqual({ outcome: 'throttled' });
    finish();
    await new Promise((r) => setTimeout(r, 0));
    expect(gate.inFlight).toBe(0);
  });

  it('frees the slot when the work throws, and passes the error on', async () => {
    const gate = new ConcurrencyGate(1);
    await expect(invokeWithin(gate, 1000, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(gate.inFlight).toBe(0);
  });

  it('refuses a limit below 1', () => {
    expect(() => new ConcurrencyGate(0)).toThrow(/≥ 1/);
  });

  it('serves a herd of 500 cheap requests at concurrency 8 in turn, all within the wait bound', async () => {
    const gate = new ConcurrencyGate(8, 2_000);
    let peak = 0;
    const cheap = async () => {
      peak = Math.max(peak, gate.inFlight);
      await new Promise((r) => setTimeout(r, 1));
      return 'ok';
    };
    const outcomes = await Promise.all(Array.from({ length: 500 }, () => invokeWithin(gate, 10_000, cheap)));
    expect(outcomes.filter((o) => o.outcome === 'done')).toHaveLength(500);
    expect(peak).toBe(8);
    expect([gate.inFlight, gate.queued]).toEqual([0, 0]);
  });

  it('refuses sustained overload at once once slots are seen held longer than the queue could wait', async () => {
    const gate = new ConcurrencyGate(2, 100);
    const releases: (() => void)[] = [];
    const slow = () => new Promise<string>((done) => releases.push(() => done('ok')));
    // Two slow invocations teach the gate that a slot is held ~150 ms.
    const first = [invokeWithin(gate, 10_000, slow), invokeWithin(gate, 10_000, slow)];
    await new Promise((r) => setTimeout(r, 150));
    for (const release of releases.splice(0)) release();
    await Promise.all(first);
    const busy = [invokeWithin(gate, 10_000, slow), invokeWithin(gate, 10_000, slow)];
    // A third waits: a slot frees every ~75 ms. A fourth would wait ~150 ms, more than the 100 ms
    // bound: refused without waiting.
    const waiting = invokeWithin(gate, 10_000, async () => 'served');
    expect(gate.queued).toBe(1);
    let settled = false;
    const refused = invokeWithin(gate, 10_000, slow).then((o) => {
      settled = true;
      return o;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(true);
    expect(await refused).toEqual({ outcome: 'throttled' });
    for (const release of releases.splice(0)) release();
    await Promise.all(busy);
    expect(await waiting).toEqual({ outcome: 'done', value: 'served' });
  });

  it('answers a waiter RETRY once the wait bound passes without a free slot', async () => {
    const gate = new ConcurrencyGate(1, 30);
    let finish: () => void = () => {};
    const held = invokeWithin(gate, 10_000, () => new Promise<void>((done) => (finish = done)));
    expect(await invokeWithin(gate, 10_000, async () => 'never')).toEqual({ outcome: 'throttled' });
    expect(gate.queued).toBe(0);
    finish();
    await held;
  });
});

describe('consumers giving way to buyers', () => {
  it('calls it crowded while a request waits for a slot or a gate is half full, not otherwise', async () => {
    const gate = new ConcurrencyGate(4, 1_000);
    const idle = new ConcurrencyGate(8);
    const releases: (() => void)[] = [];
    const held = () => invokeWithin(gate, 10_000, () => new Promise<void>((done) => releases.push(done)));
    const running = [held()];
    expect(crowded([gate, idle])).toBe(false);
    running.push(held());
    expect(crowded([gate, idle])).toBe(true); // 2 of 4 in flight
    running.push(held(), held(), held()); // the fifth waits for a slot
    expect(gate.queued).toBe(1);
    expect(crowded([gate])).toBe(true);
    while (releases.length > 0 || gate.inFlight > 0) {
      for (const release of releases.splice(0)) release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(running);
    expect(crowded([gate, idle])).toBe(false);
  });

  it('holds a poller while buyers are served, until they are done or the bound passes', async () => {
    let busy = true;
    const started = Date.now();
    setTimeout(() => {
      busy = false;
    }, 120);
    await giveWay({ busy: () => busy, maxMs: 5_000 }, () => true);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(110);
    expect(waited).toBeLessThan(2_000);

    const bounded = Date.now();
    await giveWay({ busy: () => true, maxMs: 150 }, () => true);
    expect(Date.now() - bounded).toBeGreaterThanOrEqual(140);

    // Never held when the bound is 0, or once the pollers stop.
    const at = Date.now();
    await giveWay({ busy: () => true, maxMs: 0 }, () => true);
    await giveWay({ busy: () => true, maxMs: 5_000 }, () => false);
    expect(Date.now() - at).toBeLessThan(1_000);
  });
});

describe('the gateway in front of a concurrency gate', () => {
  /** The local gateway for GET /health, whose handler takes `workMs`, behind a gate. */
  const healthGateway = (gate: ConcurrencyGate, workMs: number) =>
    gateway({
      region: 'us-east-1',
      throttle: new ApiThrottle(effectiveLimits().throttle),
      authorize: async () => ({ kind: 'unauthorized' }),
      invoke: (_fn, _event) =>
        invokeWithin(gate, 10_000, async () => {
          await new Promise((r) => setTimeout(r, workMs));
          return {
            statusCode: 200,
            headers: { 'Content-Type': 'application/json' },
            body: '{"status":"ok"}',
          };
        }),
    });
  const get = (id: number) => ({
    id,
    method: 'GET',
    url: '/health',
    rawHeaders: ['Host', '127.0.0.1'],
    body: '',
    remoteAddress: '127.0.0.1',
  });

  it('answers a herd of 500 simultaneous cheap requests at concurrency 8 all 200, within the wait bound', async () => {
    const waitBoundMs = 2_000;
    const handle = healthGateway(new ConcurrencyGate(8, waitBoundMs), 1);
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => handle(get(i))));
    expect(answers.map((a) => a.status)).toEqual(new Array(500).fill(200));
    // Generous: the herd's last answer comes within the bound a waiter may wait.
    expect(performance.now() - started).toBeLessThan(waitBoundMs);
  });

  it('answers sustained overload 429 RETRY with Retry-After, in the contract shape, without waiting it out', async () => {
    const gate = new ConcurrencyGate(2, 300);
    const handle = healthGateway(gate, 200);
    // Work held 200 ms a slot: a queue of 2 per slot already exceeds the 300 ms bound.
    await Promise.all([handle(get(0)), handle(get(1))]);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => handle(get(i + 2))));
    const refused = answers.filter((a) => a.status === 429);
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(2);
    expect(refused.length).toBeGreaterThan(40);
    for (const answer of refused) {
      expect(answer.headers['Retry-After']).toMatch(/^\d+$/);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'RETRY' } });
    }
  });
});

describe('local limits', () => {
  it('takes the throttle from the wiring and caps concurrency for one machine', () => {
    const limits = effectiveLimits();
    expect(limits.throttle.stage).toEqual(apiThrottle.stage);
    expect(limits.throttle.methods.placeOrder).toEqual(apiThrottle.methods.placeOrder);
    expect(limits.concurrency.placeOrder).toBe(
      Math.min(functions.placeOrder.reservedConcurrency, LOCAL_MAX_IN_FLIGHT),
    );
    expect(limits.concurrency.authorizer).toBeDefined();
    // Consumers are bounded by their pollers, not by a synchronous gate.
    expect(limits.concurrency.processPayment).toBeUndefined();
  });

  it('applies overrides and parses the flags, naming what is wrong', () => {
    const limits = effectiveLimits({
      concurrency: parseConcurrency('placeOrder=4, authorizer=50'),
      throttle: parseThrottle('stage=100/50,placeOrder=10/5'),
    });
    expect(limits.concurrency).toMatchObject({ placeOrder: 4, authorizer: 50 });
    expect(limits.throttle.stage).toEqual({ rateLimit: 100, burstLimit: 50 });
    expect(limits.throttle.methods.placeOrder).toEqual({ rateLimit: 10, burstLimit: 5 });
    expect(() => parseConcurrency('placeOrders=4')).toThrow(/unknown function "placeOrders"/);
    expect(() => parseConcurrency('placeOrder=0')).toThrow(/whole number/);
    expect(() => parseThrottle('placeOrder=10')).toThrow(/rate\/burst/);
    expect(() => parseConcurrency('stage=4')).toThrow(/unknown function/);
  });
});

describe('authorizer cache', () => {
  const allow = {
    principalId: 'alice',
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: '*' }],
    },
  };
  const tokenWithExp = async (expSeconds: number) => {
    const { privateKey } = await generateKeyPair('ES256');
    return `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setSubject('alice').setExpirationTime(expSeconds).sign(privateKey)}`;
  };

  it('caches an Allow no longer than the token’s exp, and at most 300 s', async () => {
    let now = 1_000_000_000_000;
    let calls = 0;
    const authorize = cachedAuthorizer(
      async () => {
        calls++;
        return { outcome: 'done', value: allow };
      },
      () => now,
    );
    const shortLived = await tokenWithExp(now / 1000 + 10);
    expect((await authorize(shortLived, 'arn')).kind).toBe('allow');
    now += 9_000;
    expect((await authorize(shortLived, 'arn')).kind).toBe('allow');
    expect(calls).toBe(1);
    now += 2_000; // past exp: asked again
    await authorize(shortLived, 'arn');
    expect(calls).toBe(2);

    const longLived = await tokenWithExp(now / 1000 + 3600);
    await authorize(longLived, 'arn');
    now += AUTHORIZER_CACHE_MS - 1;
    await authorize(longLived, 'arn');
    expect(calls).toBe(3);
    now += 2;
    await authorize(longLived, 'arn');
    expect(calls).toBe(4);
  });

  it('never caches a refusal and reports a busy authorizer as such', async () => {
    const answers: unknown[] = [
      new Error('Unauthorized'),
      {
        outcome: 'done',
        value: {
          ...allow,
          policyDocument: {
            ...allow.policyDocument,
            Statement: [{ ...allow.policyDocument.Statement[0], Effect: 'Deny' }],
          },
        },
      },
      { outcome: 'throttled' },
      { outcome: 'done', value: allow },
    ];
    let calls = 0;
    const authorize = cachedAuthorizer(async () => {
      const answer = answers[calls++];
      if (answer instanceof Error) throw answer;
      return answer as never;
    });
    const token = await tokenWithExp(Math.floor(Date.now() / 1000) + 3600);
    expect((await authorize(token, 'arn')).kind).toBe('unauthorized');
    expect((await authorize(token, 'arn')).kind).toBe('deny');
    expect(await authorize(token, 'arn')).toEqual({ kind: 'busy', reason: 'throttled' });
    expect((await authorize(token, 'arn')).kind).toBe('allow');
    expect(calls).toBe(4);
    const starved = cachedAuthorizer(async () => {
      throw Object.assign(new Error('[AbortError]: The operation was aborted.'), { name: 'TimeoutError' });
    });
    expect(await starved(token, 'arn')).toEqual({ kind: 'busy', reason: 'failed' });
    expect((await authorize(undefined, 'arn')).kind).toBe('unauthorized');
  });
});

describe('dev routes and the burst client', () => {
  it('knows loopback Host names, any port, and nothing else', () => {
    for (const host of ['127.0.0.1', '127.0.0.1:3000', 'localhost', 'LOCALHOST:80', '[::1]', '[::1]:3102'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of [
      undefined,
      '',
      'evil.example',
      'localhost.evil.example',
      '127.0.0.1.nip.io:3000',
      '[::2]:1',
      '10.0.0.1',
      '[::1]evil.example',
      '[::1]:3000evil.example',
      '127.0.0.1:3000/evil.example',
      'localhost:',
      'localhost:80:80',
    ])
      expect(isLoopbackHost(host), String(host)).toBe(false);
  });

  it('waits at least what Retry-After asks, spread by up to half again', () => {
    expect(retryDelayMs('2', () => 0)).toBe(2000);
    expect(retryDelayMs('2', () => 1)).toBe(3000);
    expect(retryDelayMs(undefined, () => 0)).toBe(1000);
    expect(retryDelayMs('soon', () => 0.5)).toBe(1250);
  });
});
