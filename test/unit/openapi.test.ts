import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPENAPI_FILES, openApiFiles } from '../../local/openapi-files.ts';
import { openApiDocument } from '../../shared/api/openapi.ts';
import { LIMIT_PATTERN } from '../../shared/api/routes.ts';
import { listOrdersQuery } from '../../shared/contract.ts';
import { functionSpecs } from '../../shared/wiring.ts';

type Operation = {
  operationId: string;
  security: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
};

describe('the OpenAPI document', () => {
  it('is committed as the code generates it (run `npm run openapi` after changing the contract)', async () => {
    const generated = await openApiFiles();
    for (const [name, path] of Object.entries(OPENAPI_FILES)) {
      expect(readFileSync(path, 'utf8'), `${path} is stale: run npm run openapi`).toBe(
        generated[name as keyof typeof OPENAPI_FILES],
      );
    }
  });

  it('has one operation per HTTP route of the wiring table, with its auth', () => {
    const paths = openApiDocument().paths as Record<string, Record<string, Operation>>;
    const routes = Object.entries(functionSpecs).flatMap(([key, spec]) =>
      spec.http ? [{ key, ...spec.http }] : [],
    );
    expect(Object.values(paths).flatMap((ops) => Object.keys(ops))).toHaveLength(routes.length);
    for (const route of routes) {
      const op = paths[route.path]?.[route.method.toLowerCase()];
      expect(op?.operationId, `${route.method} ${route.path}`).toBe(route.key);
      const expected = { public: [], buyer: [{ bearer: [] }], admin: [{ bearer: ['admin'] }] }[route.auth];
      expect(op?.security).toEqual(expected);
      expect(Object.keys(op?.responses ?? {})).toContain('429');
      if (route.auth !== 'public') expect(Object.keys(op?.responses ?? {})).toContain('401');
    }
  });

  it('narrows each error answer to the codes that answer can carry', () => {
    const paths = openApiDocument().paths as Record<string, Record<string, Operation>>;
    const buy = paths['/sales/{saleId}/orders']?.post;
    type Envelope = { properties: { error: { properties: { code: { enum: string[] } } } } };
    const codesOf = (status: string) =>
      (buy?.responses[status]?.content?.['application/json']?.schema as Envelope | undefined)?.properties
        .error.properties.code.enum;
    expect(codesOf('409')).toEqual(['SOLD_OUT', 'SALE_NOT_ACTIVE', 'PURCHASE_LIMIT_EXCEEDED']);
    expect(codesOf('403')).toEqual(['ADMISSION_REQUIRED']);
    expect(codesOf('422')).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(codesOf('429')).toEqual(['RETRY']);
  });

  it('documents `limit` as exactly the values the contract accepts', () => {
    const samples = ['1', '7', '07', '007', '0007', '20', '99', '100', '0100', '101', '0', '00', '000'];
    samples.push('999', '1000', '0x10', '1e1', ' 7', '7 ', '+7', '-1', '1.0', '');
    for (const limit of samples) {
      expect(LIMIT_PATTERN.test(limit), JSON.stringify(limit)).toBe(
        listOrdersQuery.safeParse({ limit }).success,
      );
    }
    expect(samples.filter((limit) => LIMIT_PATTERN.test(limit))).toEqual([
      '1',
      '7',
      '07',
      '007',
      '20',
      '99',
      '100',
    ]);
  });
});
