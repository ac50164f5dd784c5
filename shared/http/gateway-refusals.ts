import type { ErrorCode } from '../domain/errors.ts';

/** The text of every overload answer API Gateway gives (infra/api.ts's gateway responses say the same). */
const RETRY_MESSAGE = 'Too many requests right now; retry shortly with the same Idempotency-Key';

/**
 * What API Gateway answers for overload, in the contract's shape: its THROTTLED response, a
 * throttled Lambda (INTEGRATION_FAILURE) and an integration past its timeout (INTEGRATION_TIMEOUT)
 * are all RETRY + Retry-After, never a 5xx. Data only (no CDK), so the local runtime plays the very
 * answers the CDK app configures.
 */
export const gatewayRefusals = {
  throttled: { status: 429, code: 'RETRY', message: RETRY_MESSAGE, retryAfterSeconds: 1 },
  functionThrottled: { status: 429, code: 'RETRY', message: RETRY_MESSAGE, retryAfterSeconds: 1 },
  integrationTimeout: { status: 429, code: 'RETRY', message: RETRY_MESSAGE, retryAfterSeconds: 1 },
} as const satisfies Record<
  string,
  { status: number; code: ErrorCode; message: string; retryAfterSeconds: number }
>;

export type GatewayRefusal = keyof typeof gatewayRefusals;
