import * as z from 'zod/mini';
import { type ErrorCode, errorStatus } from '../domain/errors.ts';
import { type FunctionSpec, functionSpecs } from '../wiring.ts';
import { errorDocs } from './error-docs.ts';
import * as shape from './responses.ts';
import { type Answer, type HeaderName, type HttpFunctionKey, type RouteDoc, routeDocs } from './routes.ts';

/**
 * THE OpenAPI 3.1 document, built from the code that enforces the contract: every HTTP route of the
 * wiring table (method, path, who may call), its entry in `routeDocs` (schemas, examples, own
 * refusals) and the zod schemas, turned into JSON Schema by zod itself. `npm run openapi` writes it
 * to docs/openapi.json; `GET /openapi.json` serves it; a test fails when the two differ.
 */

type Json = Record<string, unknown>;

export const API_VERSION = '1.0.0';

/** Schemas shown by name under components.schemas (others are inlined where used). */
const requestSchemas = {
  CreateSale: routeDocs.createSale.body.schema,
  UpdateSale: routeDocs.updateSale.body.schema,
  PlaceOrder: routeDocs.placeOrder.body.schema,
};
const responseSchemas = {
  Health: shape.health,
  OpenApiDocument: shape.openApiDocument,
  Sale: shape.sale,
  WaitingRoom: shape.roomView,
  RoomChange: shape.roomChange,
  Order: shape.order,
  OrderPage: shape.orderPage,
  QueueStatus: shape.queueStatus,
  JoinedTicket: shape.joinedTicket,
  RoomDocument: shape.roomDocument,
  ErrorDetail: shape.errorDetail,
};

const headerDocs: Record<HeaderName, Json> = {
  Location: { description: 'Where the created resource lives', schema: { type: 'string' } },
  'Retry-After': {
    description: 'Seconds to wait before asking again',
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
  'Cache-Control': { description: 'Who may keep the answer, and for how long', schema: { type: 'string' } },
  Vary: { description: 'Request headers the answer depends on', schema: { type: 'string' } },
  'Content-Security-Policy': { description: 'What the page may load and run', schema: { type: 'string' } },
};

const tags = [
  { name: 'Sales', description: 'Limited-stock sales and their live stock' },
  { name: 'Orders', description: 'Buying, following and cancelling orders' },
  {
    name: 'Waiting room',
    description: 'The line in front of a sale: tickets, admission tokens and the admission rate',
  },
  { name: 'Service', description: 'Liveness, the buyer page and this document' },
];

export function openApiDocument(): Json {
  const named = new Map<z.ZodMiniType, string>();
  const components = {
    ...componentSchemas(requestSchemas, 'input', named),
    ...componentSchemas(responseSchemas, 'output', named),
  };
  const paths: Record<string, Record<string, Json>> = {};
  for (const [key, spec] of Object.entries(functionSpecs) as [string, FunctionSpec][]) {
    if (!spec.http) continue;
    const doc: RouteDoc = routeDocs[key as HttpFunctionKey];
    paths[spec.http.path] ??= {};
    (paths[spec.http.path] as Record<string, Json>)[spec.http.method.toLowerCase()] = operation(
      key,
      spec.http,
      doc,
      named,
    );
  }
  return tidy({
    openapi: '3.1.0',
    info: {
      title: 'Flash-sale checkout API',
      version: API_VERSION,
      summary: 'Limited-stock sales: every unit sold once, no buyer charged twice, overload answered.',
      description:
        'Errors always have the shape `{"error":{"code","message","details"?}}` with a JSON content type. Load of any kind (throttle, concurrency, contention) is answered 429 `RETRY` with `Retry-After`; a 5xx always means a bug. Bad input gets a 4xx and writes nothing. A path the API lacks is 404 `NOT_FOUND`, a method a path lacks 405 `METHOD_NOT_ALLOWED` with an `Allow` header. Any route answers 400 `VALIDATION_ERROR` to a request whose meaning depends on which copy a parser keeps: a header sent under two spellings, a header the API reads (`Authorization`, `Content-Type`, `Idempotency-Key`, `Admission-Token`, `Queue-Ticket`, `Origin`) sent twice, a query parameter given twice; the local runtime answers a request that is not well-formed HTTP/1.1 400 `VALIDATION_ERROR` the same way.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [
      {
        url: '/',
        description: 'The origin serving this document (`npm start`: http://localhost:3000)',
      },
      {
        url: 'https://{restApiId}.execute-api.{region}.amazonaws.com/v1',
        description: 'A deployed stack (`npm run deploy`; the API URL is a stack output)',
        variables: {
          restApiId: { default: 'abc123defg', description: 'The REST API id' },
          region: { default: 'eu-west-1', description: 'The AWS region' },
        },
      },
    ],
    tags,
    paths,
    components: {
      schemas: components,
      headers: headerDocs,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A JWT from the configured issuer (the stack’s Cognito user pool by default; locally `npm run token -- --user alice [--admin]`). `sub` is the buyer; operator routes need `admin` in the groups claim (the role named in their security requirement).',
        },
      },
    },
  }) as Json;
}

/**
 * zod spells out what JSON Schema already says: RFC 3339 date-times as a long regex beside
 * `format: date-time`, and every integer's safe-integer bounds. Dropped for a readable document.
 */
function tidy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidy);
  if (typeof value !== 'object' || value === null) return value;
  const node = value as Json;
  return Object.fromEntries(
    Object.entries(node)
      .filter(
        ([key, v]) =>
          !(key === 'pattern' && node.format === 'date-time') &&
          !(key === 'maximum' && v === Number.MAX_SAFE_INTEGER) &&
          !(key === 'minimum' && v === Number.MIN_SAFE_INTEGER),
      )
      .map(([key, v]) => [key, tidy(v)]),
  );
}

function componentSchemas(
  schemas: Record<string, z.ZodMiniType>,
  io: 'input' | 'output',
  named: Map<z.ZodMiniType, string>,
): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [name, schema] of Object.entries(schemas)) {
    registry.add(schema, { id: name });
    named.set(schema, name);
  }
  const { schemas: out } = z.toJSONSchema(registry, {
    io,
    target: 'draft-2020-12',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Json> };
  return Object.fromEntries(Object.entries(out).map(([name, schema]) => [name, withoutMeta(schema)]));
}

function schemaOf(schema: z.ZodMiniType, named: Map<z.ZodMiniType, string>, io: 'input' | 'output'): Json {
  const name = named.get(schema);
  if (name) return { $ref: `#/components/schemas/${name}` };
  return withoutMeta(z.toJSONSchema(schema, { io, target: 'draft-2020-12' }) as Json);
}

function withoutMeta(schema: Json): Json {
  const { $schema: _schema, $id: _id, id: _name, ...rest } = schema;
  return rest;
}

function operation(
  key: string,
  http: NonNullable<FunctionSpec['http']>,
  doc: RouteDoc,
  named: Map<z.ZodMiniType, string>,
): Json {
  const parameters: Json[] = [];
  for (const [, name] of http.path.matchAll(/\{(\w+)\}/g)) {
    if (!doc.pathParameter) throw new Error(`routeDocs.${key} needs a pathParameter for {${name}}`);
    parameters.push({
      name,
      in: 'path',
      required: true,
      schema: schemaOf(doc.pathParameter, named, 'input'),
    });
  }
  if (doc.query) {
    const query = schemaOf(doc.query, named, 'input') as { properties: Json; required?: string[] };
    for (const [name, schema] of Object.entries(query.properties)) {
      parameters.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema });
    }
  }
  for (const header of doc.headers ?? []) {
    parameters.push({
      name: header.name,
      in: 'header',
      required: header.required,
      description: header.description,
      schema: schemaOf(header.schema, named, 'input'),
      example: header.example,
    });
  }
  return {
    operationId: key,
    tags: [doc.tag],
    summary: doc.summary,
    description: doc.description,
    security: http.auth === 'public' ? [] : [{ bearer: http.auth === 'admin' ? ['admin'] : [] }],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc.body
      ? {
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: schemaOf(doc.body.schema, named, 'input'),
                examples: { [key]: { value: doc.body.example } },
              },
            },
          },
        }
      : {}),
    responses: {
      ...Object.fromEntries(
        Object.entries(doc.answers).map(([status, answer]) => [status, success(key, answer, named)]),
      ),
      ...refusals(refusalCodes(http.auth, doc)),
    },
  };
}

function success(key: string, answer: Answer, named: Map<z.ZodMiniType, string>): Json {
  const headers = Object.fromEntries(
    (answer.headers ?? []).map((name) => [name, { $ref: `#/components/headers/${name}` }]),
  );
  const content = answer.schema
    ? {
        'application/json': {
          schema: schemaOf(answer.schema, named, 'output'),
          examples: { [key]: { value: answer.example } },
        },
      }
    : { [answer.mediaType ?? 'text/plain']: { schema: { type: 'string' } } };
  return { description: answer.description, ...(answer.headers ? { headers } : {}), content };
}

/** The route's own refusals plus those every route of its kind shares. */
function refusalCodes(auth: NonNullable<FunctionSpec['http']>['auth'], doc: RouteDoc): ErrorCode[] {
  // Any request can be malformed beyond its parameters: a header sent twice or under two
  // spellings, a repeated query parameter (shared/http/strict-request.ts), bytes the front cannot parse.
  const codes = new Set<ErrorCode>(['VALIDATION_ERROR']);
  if (doc.body) {
    for (const code of [
      'VALIDATION_ERROR',
      'INVALID_JSON',
      'PAYLOAD_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
    ] as const)
      codes.add(code);
  }
  if (auth !== 'public') codes.add('UNAUTHORIZED');
  if (auth === 'admin') codes.add('FORBIDDEN');
  for (const code of doc.errors ?? []) codes.add(code);
  codes.add('RETRY');
  codes.add('INTERNAL');
  return [...codes];
}

/** The error envelope narrowed to `codes`, its details by reference to the one ErrorDetail schema. */
function errorSchema(codes: ErrorCode[]): Json {
  const schema = withoutMeta(
    z.toJSONSchema(shape.errorEnvelope(codes as [ErrorCode, ...ErrorCode[]]), {
      io: 'output',
      target: 'draft-2020-12',
    }) as Json,
  );
  const error = (schema.properties as { error: { properties: { details: Json } } }).error;
  error.properties.details = { type: 'array', items: { $ref: '#/components/schemas/ErrorDetail' } };
  return schema;
}

function refusals(codes: ErrorCode[]): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes)
    byStatus.set(errorStatus[code], [...(byStatus.get(errorStatus[code]) ?? []), code]);
  return Object.fromEntries(
    [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, list]) => [
        String(status),
        {
          description: list.map((code) => `\`${code}\`: ${errorDocs[code].meaning}`).join('\n\n'),
          ...(list.includes('RETRY')
            ? { headers: { 'Retry-After': { ...headerDocs['Retry-After'], required: true } } }
            : {}),
          content: {
            'application/json': {
              schema: errorSchema(list),
              examples: Object.fromEntries(
                list.map((code) => [
                  code,
                  {
                    value: {
                      error: {
                        code,
                        message: errorDocs[code].message,
                        ...(errorDocs[code].details ? { details: errorDocs[code].details } : {}),
                      },
                    },
                  },
                ]),
              ),
            },
          },
        },
      ]),
  );
}
