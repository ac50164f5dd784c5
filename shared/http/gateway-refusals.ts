import type { ErrorCode } from '../domain/errors.ts';

/** The text of every overload answer API Gateway gives (infra/api.ts builds its gateway responses from it). */
export const RETRY_MESSAGE = 'Too many requests right now; retry shortly with the same Idempotency-Key';

/**
 * Seconds a caller refused by the gateway (throttle, function concurrency, integration timeout) is
 * told to wait. API Gateway's gateway responses are static, so this cannot follow the load; it is
 * set so that a crowd refused in the same second, spreading its return over the next ~1.5×, does
 * not come back as one synchronised wave while the checkout is still at capacity.
 */
export const GATEWAY_RETRY_AFTER_SECONDS = 2;

/**
 * What API Gateway answers for overload, in the contract's shape: its THROTTLED response, a
 * throttled Lambda (INTEGRATION_FAILURE) and an integration past its timeout (INTEGRATION_TIMEOUT)
 * are all RETRY + Retry-After, never a 5xx. Data only (no CDK), so the local runtime plays the very
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
} as const satisfies Record<
  string,
  { status: number; code: ErrorCode; message: string; retryAfterSeconds: number }
>;

export type GatewayRefusal = keyof typeof gatewayRefusals;
