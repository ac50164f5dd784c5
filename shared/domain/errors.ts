/** Every refusal the API can give. The HTTP mapper (shared/http/errors.ts) is the only place that turns these into responses. */
export const errorStatus = {
  VALIDATION_ERROR: 400,
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  ADMISSION_REQUIRED: 403,
  NOT_FOUND: 404,
  SALE_NOT_FOUND: 404,
  ORDER_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  SALE_EXISTS: 409,
  SOLD_OUT: 409,
  SALE_NOT_ACTIVE: 409,
  PURCHASE_LIMIT_EXCEEDED: 409,
  ORDER_NOT_CANCELLABLE: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  // One rule for every "come back shortly": throttle, concurrency limit, contention, an exhausted
  // time budget or an outcome not yet known. 429 + Retry-After, never a 5xx, so a 5xx always means a bug.
  RETRY: 429,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export interface ErrorDetail {
  path?: string;
  message: string;
}

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetail[] = [],
    /** Seconds a caller should wait before retrying, for RETRY. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const saleNotFound = (saleId: string) =>
  new DomainError('SALE_NOT_FOUND', `Sale ${saleId} does not exist`);
export const orderNotFound = (orderId: string) =>
  new DomainError('ORDER_NOT_FOUND', `Order ${orderId} does not exist`);
export const invalid = (message: string, details: ErrorDetail[] = []) =>
  new DomainError('VALIDATION_ERROR', message, details);
