import type { FunctionKey, ThrottleSpec } from '../../shared/wiring.ts';

/**
 * API Gateway's throttling algorithm: a bucket of `burstLimit` tokens refilled at `rateLimit` per
 * second; a request takes one token or is refused at once (it never waits for one).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly spec: ThrottleSpec,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = spec.burstLimit;
    this.last = now();
  }

  tryTake(): boolean {
    const t = this.now();
    this.tokens = Math.min(
      this.spec.burstLimit,
      this.tokens + ((t - this.last) / 1000) * this.spec.rateLimit,
    );
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface ThrottleSettings {
  stage: ThrottleSpec;
  methods: Partial<Record<FunctionKey, ThrottleSpec>>;
}

/** The stage's bucket, then the method's own, like a REST API stage with per-method settings. */
export class ApiThrottle {
  private readonly stage: TokenBucket;
  private readonly methods = new Map<FunctionKey, TokenBucket>();

  constructor(settings: ThrottleSettings, now?: () => number) {
    this.stage = new TokenBucket(settings.stage, now);
    for (const [fn, spec] of Object.entries(settings.methods) as [FunctionKey, ThrottleSpec][])
      this.methods.set(fn, new TokenBucket(spec, now));
  }

  /** True when the request for `fn` may pass; false means answer 429 RETRY now. */
  admit(fn: FunctionKey): boolean {
    if (!this.stage.tryTake()) return false;
    return this.methods.get(fn)?.tryTake() ?? true;
  }
}
