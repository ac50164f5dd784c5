import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DomainError, type ErrorCode, type ErrorDetail, errorStatus } from '../domain/errors.ts';
import { logger } from '../observability.ts';
import { errorBody } from './error-body.ts';

interface HttpError extends Error {
  statusCode: number;
  expose: boolean;
  headers?: Record<string, string>;
}

/**
 * The one mapping from anything thrown to the HTTP contract: domain errors by their code, zod
 * issues as VALIDATION_ERROR, middy's own HTTP errors by status, the rest as a 500 that says
 * nothing internal. @middy/http-error-handler then renders the result (JSON body → JSON type).
 */
export function toHttpError(error: unknown): HttpError {
  const make = (
    code: ErrorCode,
    message: string,
    details: ErrorDetail[] = [],
    headers?: Record<string, string>,
  ): HttpError =>
    Object.assign(new Error(errorBody(code, message, details)), {
      statusCode: errorStatus[code],
      expose: true,
      headers,
    });

  if (error instanceof DomainError) {
    const headers = error.retryAfterSeconds ? { 'Retry-After': String(error.retryAfterSeconds) } : undefined;
    return make(error.code, error.message, error.details, headers);
  }
  const issues = (error as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
  if (Array.isArray(issues)) {
    return make(
      'VALIDATION_ERROR',
      'The request is not valid',
      issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(body)', message: issue.message })),
    );
  }
  if (isMiddyTimeout(error)) {
    // middy ends a handler just before the function's own timeout (a starved or overloaded
    // instance): what it did is unknown, and a retry with the same key is safe, so the answer is
    // RETRY, as API Gateway answers an integration timeout, never a 5xx.
    logger.warn('handler ran out of time', error as Error);
    return make('RETRY', TIMED_OUT_MESSAGE, [], { 'Retry-After': '1' });
  }
  // middy's own HTTP errors (its utilities throw them with a status) keep their meaning.
  const status = (error as { statusCode?: number }).statusCode;
  if (status === 413) return make('PAYLOAD_TOO_LARGE', 'The body is too large');
  if (status === 415) return make('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
  if (status === 400 || status === 422) return make('VALIDATION_ERROR', 'The request is not valid');
  logger.error('unhandled error', error as Error);
  return make(
    'INTERNAL',
    'Something went wrong on our side; it is safe to retry with the same Idempotency-Key',
  );
}

const TIMED_OUT_MESSAGE =
  'This request ran out of time before it finished; retry with the same Idempotency-Key';

/** The error middy's `timeoutEarlyResponse` throws when a handler reaches the function's timeout. */
function isMiddyTimeout(error: unknown): boolean {
  const { name, cause } = (error ?? {}) as { name?: unknown; cause?: { package?: unknown } };
  return name === 'TimeoutError' && cause?.package === '@middy/core';
}

export function contractErrors(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    onError: async (request) => {
      if (request.response !== undefined) return;
      request.error = toHttpError(request.error);
    },
  };
}
