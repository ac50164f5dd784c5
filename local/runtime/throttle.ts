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

/**
 * A REST API stage's throttle as API Gateway applies it: the stage's limits are the default of
 * EACH method (one bucket per method, not one shared by the stage), and a method's own settings
 * replace them for that method.
 */
export class ApiThrottle {
  private readonly methods = new Map<FunctionKey, TokenBucket>();

  constructor(
    private readonly settings: ThrottleSettings,
    private readonly now?: () => number,
  ) {}

  /** True when the request for `fn` may pass; false means answer 429 RETRY now. */
  admit(fn: FunctionKey): boolean {
    let bucket = this.methods.get(fn);
    if (!bucket) {
      bucket = new TokenBucket(this.settings.methods[fn] ?? this.settings.stage, this.now);
      this.methods.set(fn, bucket);
    }
    return bucket.tryTake();
  }
}
