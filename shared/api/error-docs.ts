import type { ErrorCode, ErrorDetail } from '../domain/errors.ts';

/**
 * What each refusal means, with an example message, for the OpenAPI document. Typed over every
 * error code, so a new code fails `tsc` until it is described here.
 */
export interface ErrorDoc {
  meaning: string;
  message: string;
  details?: ErrorDetail[];
}

export const errorDocs: Record<ErrorCode, ErrorDoc> = {
  VALIDATION_ERROR: {
    meaning: 'the request is not valid (body, path, query or header); nothing was written',
    message: 'The request is not valid',
    details: [{ path: 'quantity', message: 'Too small: expected number to be >=1' }],
  },
  INVALID_JSON: {
    meaning: 'the body is not JSON, or names a key twice',
    message: 'The body is not valid JSON',
  },
  UNAUTHORIZED: {
    meaning: 'no bearer token, or a bad or expired one',
    message: 'A valid bearer token is required',
  },
  FORBIDDEN: { meaning: 'the caller is not an operator', message: 'This needs an admin' },
  ADMISSION_REQUIRED: {
    meaning: 'the sale has a waiting room: join it and send the Admission-Token it gives you',
    message: 'Sale spring-drop has a waiting room: join it and send the Admission-Token it gives you',
  },
  NOT_FOUND: {
    meaning: 'the sale has no waiting room, or the buyer no ticket',
    message: 'Sale spring-drop has no waiting room; buy directly',
  },
  SALE_NOT_FOUND: { meaning: 'no such sale', message: 'Sale spring-drop does not exist' },
  ORDER_NOT_FOUND: {
    meaning: "no such order (someone else's order is answered the same way)",
    message: 'Order ord_9f2c1e7a5b3d4c6e8a0b does not exist',
  },
  METHOD_NOT_ALLOWED: {
    meaning: 'the path exists but not with this method (see `Allow`)',
    message: 'PUT is not supported here; use GET, PATCH',
  },
  SALE_EXISTS: { meaning: 'a sale with this id exists', message: 'Sale spring-drop already exists' },
  SOLD_OUT: { meaning: 'every unit is taken', message: 'Sale spring-drop is sold out' },
  SALE_NOT_ACTIVE: {
    meaning: 'the sale (or its waiting room) is not open now',
    message: 'Sale spring-drop is not open now',
  },
  PURCHASE_LIMIT_EXCEEDED: {
    meaning: "the buyer's orders would pass the sale's per-buyer limit",
    message: 'At most 2 per buyer for this sale',
  },
  ORDER_NOT_CANCELLABLE: {
    meaning: 'only a RESERVED order can be cancelled',
    message: 'Order ord_9f2c1e7a5b3d4c6e8a0b is CONFIRMED and can no longer be cancelled',
  },
  PAYLOAD_TOO_LARGE: { meaning: 'the body is over 16 KB', message: 'The body must be at most 16384 bytes' },
  UNSUPPORTED_MEDIA_TYPE: {
    meaning: 'the body is not sent as application/json',
    message: 'Send the body as application/json',
  },
  IDEMPOTENCY_KEY_REUSED: {
    meaning: 'this Idempotency-Key was used with another body',
    message: 'This Idempotency-Key was used with a different request',
  },
  RETRY: {
    meaning:
      'load (throttle, concurrency, contention, a spent time budget or an outcome not known yet), or, at the checkout, the last units still in flight (taken by checkouts not yet settled, so neither sold out nor free): retry after `Retry-After` seconds with the same Idempotency-Key',
    message: 'Too many requests right now; retry shortly with the same Idempotency-Key',
  },
  INTERNAL: {
    meaning: 'a bug on our side; it is safe to retry with the same Idempotency-Key',
    message: 'Something went wrong on our side; it is safe to retry with the same Idempotency-Key',
  },
};
