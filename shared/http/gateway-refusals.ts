import type { ErrorCode } from '../domain/errors.ts';

/** The text of every overload answer API Gateway gives (infra/api.ts builds its gateway responses from it). */
export const RETRY_MESSAGE = 'Too many requests right now; retry shortly with the same Idempotency-Key';

/**
 * Seconds a caller refused by the gateway (throttle, function concurrency, integration timeout) is
 * told to wait. API Gateway's gateway responses are static, so this cannot follow the load. It sets
 * how long a client that honours it keeps trying: a buyer who gives up after 8 tries stays for about
 * 7 × 1.25 × this (26 s at 3 s), which must outlast the sale's busiest stretch, or buyers are turned
 * away while stock remains. On this 2-core machine 1,000 units sell in about 17 s under a 5,000-buyer
 * crowd; at 2 s the eighth try came at ~17 s and 626 of 5,000 buyers gave up, at 3 s none did
 * (bench `burst`). It also sets the refusal rate: 5,000 waiting buyers send ~1,300 tries/s at 3 s.
 */
export const GATEWAY_RETRY_AFTER_SECONDS = 3;

/**
 * What API Gateway answers for overload, in the contract's shape: its THROTTLED response, a
 * throttled Lambda (INTEGRATION_FAILURE) and an integration past its timeout (INTEGRATION_TIMEOUT)
 * and a failed authorizer are all RETRY + Retry-After, never a 5xx. Data only (no CDK), so the local runtime plays the very
 * answers the CDK app configures.
 */
export const gatewayRefusals = {
  throttled: {
    status: 429,
    code: 'RETRY',
    message: RETRY_MESSAGE,
    retryAfterSeconds: GATEWAY_RETRY_AFTER_SECONDS,
  },
  functionThrottled: {
    status: 429,
    code: 'RETRY',
    message: RETRY_MESSAGE,
    retryAfterSeconds: GATEWAY_RETRY_AFTER_SECONDS,
  },
  integrationTimeout: {
    status: 429,
    code: 'RETRY',
    message: RETRY_MESSAGE,
    retryAfterSeconds: GATEWAY_RETRY_AFTER_SECONDS,
  },
  /** An authorizer that failed (not "Unauthorized"): AUTHORIZER_FAILURE, a 5xx, via DEFAULT_5XX. */
  authorizerFailure: {
    status: 429,
    code: 'RETRY',
    message: RETRY_MESSAGE,
    retryAfterSeconds: GATEWAY_RETRY_AFTER_SECONDS,
  },
} as const satisfies Record<
  string,
  { status: number; code: ErrorCode; message: string; retryAfterSeconds: number }
>;

export type GatewayRefusal = keyof typeof gatewayRefusals;
