import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { DomainError } from '../domain/errors.ts';

/**
 * Refuses requests whose meaning depends on which copy a parser keeps, before the header
 * normaliser folds names to lower case (it keeps the last of `Idempotency-Key` / `IDEMPOTENCY-KEY`)
 * and before `queryStringParameters` (API Gateway keeps the last of `?limit=500&limit=1`):
 * - one header name under two spellings (API Gateway passes both in `multiValueHeaders`);
 * - a header the API reads given more than once, whether under one key or several;
 * - one query parameter given more than once.
 * Other headers repeated under one spelling stay legal HTTP.
 */
/** Headers some route reads (the checkout's Idempotency-Key and Admission-Token among them). */
const READ_ONCE = new Set(['authorization', 'content-type', 'idempotency-key', 'admission-token', 'origin']);

export function strictRequest(): MiddlewareObj<
  Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders' | 'multiValueQueryStringParameters'>
> {
  return {
    before: async ({ event }) => {
      const spellings = new Map<string, string>();
      const names = [...Object.keys(event.headers ?? {}), ...Object.keys(event.multiValueHeaders ?? {})];
      for (const name of names) {
        const lower = name.toLowerCase();
        const seen = spellings.get(lower);
        if (seen !== undefined && seen !== name)
          throw new DomainError(
            'VALIDATION_ERROR',
            `Send the ${name.slice(0, 64)} header once, in one spelling`,
            [
              {
                path: name.slice(0, 64),
                message: `sent as both ${seen.slice(0, 64)} and ${name.slice(0, 64)}`,
              },
            ],
          );
        spellings.set(lower, name);
      }
      for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
        if (READ_ONCE.has(name.toLowerCase()) && (values?.length ?? 0) > 1)
          throw new DomainError('VALIDATION_ERROR', `Send exactly one ${name} header`, [
            { path: name, message: 'sent more than once' },
          ]);
      }
      for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
        if ((values?.length ?? 0) > 1)
          throw new DomainError('VALIDATION_ERROR', `Send the ${name.slice(0, 64)} query parameter once`, [
            { path: name.slice(0, 64), message: 'sent more than once' },
          ]);
      }
    },
  };
}
