import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';

export interface RouteCall {
  method: string;
  /** The route's resource path, e.g. `/sales/{saleId}`. */
  resource: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
  /** What API Gateway passes from a TOKEN authorizer (its context plus principalId); none on public routes. */
  authorizer?: Record<string, unknown> | null;
}

/** The REST API (v1) proxy event API Gateway sends a Lambda integration. */
export function proxyEvent(call: RouteCall): APIGatewayProxyEvent {
  const path = call.resource.replace(/\{(\w+)\}/g, (_m, name: string) =>
    encodeURIComponent(call.pathParameters?.[name] ?? ''),
  );
  const headers: Record<string, string> = {
    Host: 'api.example.com',
    'User-Agent': 'artifact-test',
    ...call.headers,
  };
  if (call.body !== undefined) headers['Content-Type'] ??= 'application/json';
  const query = call.query && Object.keys(call.query).length > 0 ? call.query : null;
  return {
    resource: call.resource,
    path,
    httpMethod: call.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: query,
    multiValueQueryStringParameters: query
      ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]]))
      : null,
    pathParameters: call.pathParameters ?? null,
    stageVariables: null,
    body: call.body === undefined ? null : JSON.stringify(call.body),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'artifacts',
      authorizer: call.authorizer ?? null,
      httpMethod: call.method,
      identity: {
        sourceIp: '203.0.113.7',
        userAgent: 'artifact-test',
      } as APIGatewayProxyEvent['requestContext']['identity'],
      path: `/v1${path}`,
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'artifacts',
      resourcePath: call.resource,
      stage: 'v1',
    },
  };
}

/** An EventBridge scheduled event, as the reconciler's rule sends it. */
export function scheduledEvent(time: Date, region: string) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:000000000000:rule/reconcile`],
    detail: {},
  };
}
