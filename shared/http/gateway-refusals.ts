import type { ErrorCode } from '../domain/errors.ts';

/**
 * What API Gateway answers for overload, in the contract's shape: its THROTTLED response, a
 * throttled Lambda (INTEGRATION_FAILURE) and an integration past its timeout (INTEGRATION_TIMEOUT)
 * are all RETRY + Retry-After, never a 5xx. Data only (no CDK), so the local runtime plays the same
 * answers the CDK app configures.
 */
export const gatewayRefusals = {
  throttled: {
    status: 429,
    code: 'RETRY',
    message: 'Too many requests; retry shortly with the same Idempotency-Key',
    retryAfterSeconds: 1,
  },
  functionThrottled: {
    status: 429,
    code: 'RETRY',
    message: 'The service is at capacity; retry shortly with the same Idempotency-Key',
    retryAfterSeconds: 1,
  },
  integrationTimeout: {
    status: 429,
    code: 'RETRY',
    message:
      'The request ran out of time; retry shortly with the same Idempotency-Key (it returns the order if one was made)',
    retryAfterSeconds: 1,
  },
} as const satisfies Record<
  string,
  { status: number; code: ErrorCode; message: string; retryAfterSeconds: number }
>;

export type GatewayRefusal = keyof typeof gatewayRefusals;
