/**
 * The artifacts `cdk deploy` uploads really run (issue 10 item 4). The real CDK app is synthesized
 * (esbuild bundling included); each function's bundle is taken from the cloud assembly through
 * its Code asset, copied to a task root of its own and started in a separate Node process (Node
 * 22 like nodejs22.x when available) with exactly the environment its template sets, references
 * resolved to DynamoDB Local and fauxqs, plus what Lambda adds. Then the bundles are invoked with
 * the events API Gateway, the SQS event source and EventBridge send.
 */
import { readFileSync } from 'node:fs';
import { PurgeQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import type { APIGatewayAuthorizerResult, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSettings } from '../../infra/settings.ts';
import { documentClient } from '../../shared/adapters/dynamo/client.ts';
import { auditSale, formatReport } from '../../shared/audit/invariants.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../shared/auth/dev-issuer.ts';
import { type FunctionKey, functionSpecs, SCALAR_STANDALONE } from '../../shared/wiring.ts';
import { ACCOUNT_ID, type Assembly } from './lib/assembly.ts';
import { proxyEvent, scheduledEvent } from './lib/events.ts';
import { type Functions, REGION, type StandInStack, startStandInStack } from './lib/stand-in-stack.ts';

const fnKeys = Object.keys(functionSpecs) as FunctionKey[];

let stack: StandInStack;
let cloud: Assembly;
let fns: Functions;

beforeAll(async () => {
  stack = await startStandInStack();
  const { node } = stack;
  console.log(`artifact test: bundles run on Node ${node.version}${node.caveat ? ` (${node.caveat})` : ''}`);
  const started = Date.now();
  cloud = stack.synth({ jwtIssuer: DEV_ISSUER, jwksUrl: stack.jwksUrl, jwtAudience: DEV_AUDIENCE });
  console.log(`artifact test: cdk synth with bundling took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  fns = stack.startFunctions(cloud, fnKeys);
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

const http = (key: FunctionKey, call: Parameters<StandInStack['http']>[2]) => stack.http(fns, key, call);

/** What API Gateway passes on after the TOKEN authorizer allowed a bearer (its context + principalId). */
async function authorize(token: string): Promise<Record<string, unknown>> {
  const result = await fns.authorizer.invoke<APIGatewayAuthorizerResult>({
    type: 'TOKEN',
    authorizationToken: `Bearer ${token}`,
    methodArn: `arn:aws:execute-api:${REGION}:${ACCOUNT_ID}:abc123/v1/POST/sales`,
  });
  expect(result.policyDocument.Statement.map((s) => s.Effect)).toEqual(['Allow']);
  return { ...(result.context ?? {}), principalId: result.principalId };
}

describe('the bundles cdk deploy uploads', () => {
  const saleId = `artifacts-${Date.now().toString(36)}`;
  let admin: Record<string, unknown>;
  let buyer: Record<string, unknown>;
  let firstOrder: string;

  it('every function loads in its own Node process with its template environment', async () => {
    const outcomes = await Promise.allSettled(fnKeys.map((key) => fns[key].ready));
    const failures = outcomes.flatMap((outcome, i) =>
      outcome.status === 'rejected'
        ? [`${fnKeys[i]}: ${(outcome.reason as Error).message}\n${fns[fnKeys[i] as FunctionKey].output()}`]
        : [],
    );
    expect(failures).toEqual([]);
  });

  it('authorizer: allows a valid bearer with its identity, refuses a bad one as Unauthorized', async () => {
    admin = await authorize(await stack.issuer.sign('ops', true));
    buyer = await authorize(await stack.issuer.sign('alice'));
    expect(admin).toMatchObject({ userId: 'ops', admin: 'true', principalId: 'ops' });
    expect(buyer).toMatchObject({ userId: 'alice', admin: 'false' });
    const event = (token: string) => ({
      type: 'TOKEN',
      authorizationToken: `Bearer ${token}`,
      methodArn: `arn:aws:execute-api:${REGION}:${ACCOUNT_ID}:abc123/v1/GET/me/orders`,
    });
    await expect(fns.authorizer.invoke(event('not-a-jwt'))).rejects.toThrow('Unauthorized');
    await expect(fns.authorizer.invoke(event(await stack.stranger.sign('mallory', true)))).rejects.toThrow(
      'Unauthorized',
    );
  });

  it('health, create sale, read sale', async () => {
    expect((await http('health', {})).status).toBe(200);
    const now = Date.now();
    const created = await http('createSale', {
      authorizer: admin,
      body: {
        saleId,
        name: 'Artifact drop',
        price: 2500,
        currency: 'EUR',
        totalStock: 10,
        perUserLimit: 3,
        shards: 2,
        startsAt: new Date(now - 60_000).toISOString(),
        endsAt: new Date(now + 3_600_000).toISOString(),
      },
    });
    expect(created.status).toBe(201);
    const forbidden = await http('createSale', { authorizer: buyer, body: { saleId: 'nope' } });
    expect(forbidden.status).toBe(403);
    const sale = await http('getSale', { pathParameters: { saleId } });
    expect(sale).toMatchObject({ status: 200, body: { saleId, available: 10, totalStock: 10 } });
  });

  it('the API describes itself: /openapi.json, and /docs/scalar.js from the asset beside its bundle', async () => {
    const doc = await http('openApi', {});
    expect(doc.status).toBe(200);
    expect(doc.body).toEqual(JSON.parse(readFileSync('docs/openapi.json', 'utf8')));
    const script = await fns.apiDocsScript.invoke<APIGatewayProxyResult>(
      proxyEvent({ method: 'GET', resource: '/docs/scalar.js' }),
    );
    expect(script.statusCode).toBe(200);
    expect(script.body).toBe(readFileSync(SCALAR_STANDALONE, 'utf8'));
    // Lambda refuses a synchronous answer over 6 MB (6,291,556 bytes of JSON).
    expect(Buffer.byteLength(JSON.stringify(script))).toBeLessThan(6_291_556);
  });

  it('buy, replay, read, list, cancel', async () => {
    const buy = (key: string, paymentToken = 'tok_ok') =>
      http('placeOrder', {
        authorizer: buyer,
        pathParameters: { saleId },
        headers: { 'Idempotency-Key': key },
        body: { quantity: 1, paymentToken },
      });
    const first = await buy('artifact-1');
    expect(first.status).toBe(202);
    firstOrder = first.body.orderId;
    const replay = await buy('artifact-1');
    expect(replay).toMatchObject({ status: 200, body: { orderId: firstOrder } });
    const bad = await http('placeOrder', {
      authorizer: buyer,
      pathParameters: { saleId },
      headers: { 'Idempotency-Key': 'artifact-bad' },
      body: { quantity: 0, paymentToken: 'tok_ok' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');

    const read = await http('getOrder', { authorizer: buyer, pathParameters: { orderId: firstOrder } });
    expect(read).toMatchObject({ status: 200, body: { orderId: firstOrder, status: 'RESERVED' } });
    const list = await http('listMyOrders', { authorizer: buyer, query: { limit: '10' } });
    expect(list.status).toBe(200);
    expect(list.body.orders.map((o: { orderId: string }) => o.orderId)).toContain(firstOrder);

    const second = await buy('artifact-2');
    expect(second.status).toBe(202);
    const cancelled = await http('cancelOrder', {
      authorizer: buyer,
      pathParameters: { orderId: second.body.orderId },
    });
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'CANCELLED' } });
    const sale = await http('getSale', { pathParameters: { saleId } });
    expect(sale.body.available).toBe(9);
  });

  it('order and payment consumers settle the order from real queue messages', async () => {
    const orders = await stack.deliver('orders', fns.processOrder);
    // Both purchases were queued; the cancelled one is a no-op for the consumer.
    expect(orders.messages.length).toBe(2);
    expect(orders.failed).toEqual([]);
    const pending = await http('getOrder', {
      authorizer: buyer,
      pathParameters: { orderId: firstOrder },
    });
    expect(pending.body.status).toBe('PAYMENT_PENDING');

    const payments = await stack.deliver('payments', fns.processPayment);
    expect(payments.messages.length).toBe(1);
    expect(payments.failed).toEqual([]);
    const confirmed = await http('getOrder', {
      authorizer: buyer,
      pathParameters: { orderId: firstOrder },
    });
    expect(confirmed.body.status).toBe('CONFIRMED');
  });

  it('a poison message fails alone: the rest of its batch (a declined payment) goes through', async () => {
    await stack.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.resources.queueUrls.orders,
        MessageBody: '{"not":"an order"',
        MessageGroupId: 'poison',
        MessageDeduplicationId: `poison-${Date.now()}`,
      }),
    );
    const declined = await http('placeOrder', {
      authorizer: buyer,
      pathParameters: { saleId },
      headers: { 'Idempotency-Key': 'artifact-declined' },
      body: { quantity: 1, paymentToken: 'tok_decline' },
    });
    expect(declined.status).toBe(202);
    const { messages, failed } = await stack.deliver('orders', fns.processOrder);
    expect(messages.length).toBe(2);
    const poison = messages.find((m) => !(m.Body ?? '').includes(declined.body.orderId));
    expect(failed).toEqual([poison?.MessageId]);

    const payments = await stack.deliver('payments', fns.processPayment);
    expect(payments).toMatchObject({ messages: [{}], failed: [] });
    const read = await http('getOrder', {
      authorizer: buyer,
      pathParameters: { orderId: declined.body.orderId },
    });
    expect(read.body.status).toBe('PAYMENT_FAILED');
  });

  it('reconciler re-sends a RESERVED order whose message was lost, and expires holds past their deadline', async () => {
    // Play a lost SendMessage: the same bundle in an environment whose SQS endpoint refuses connections.
    const cutOff = stack.startFunctions(cloud, ['placeOrder'], {
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9',
    });
    const lost = await stack.http(cutOff, 'placeOrder', {
      authorizer: buyer,
      pathParameters: { saleId },
      headers: { 'Idempotency-Key': 'artifact-lost' },
      body: { quantity: 1, paymentToken: 'tok_ok' },
    });
    expect(lost.status).toBe(202);
    const lostId: string = lost.body.orderId;
    // Accepted, but never queued.
    expect((await stack.receiveAll('orders')).length).toBe(0);

    const later = new Date(Date.now() + 5 * 60_000);
    const report = await fns.reconcile.invoke<{ reenqueued: number; expired: number }>(
      scheduledEvent(later, REGION),
    );
    expect(report.reenqueued).toBeGreaterThanOrEqual(1);
    const resent = (await stack.receiveAll('orders')).filter((m) => (m.Body ?? '').includes(lostId));
    expect(resent.length).toBe(1);
    await stack.deleteAll('orders', resent);
    // Lost again, and the queue empties (the poison message above still in flight is purged): a day
    // later its hold is long gone, the job provably not queued, so the reconciler expires it.
    await stack.sqs.send(new PurgeQueueCommand({ QueueUrl: stack.resources.queueUrls.orders }));
    const expiry = await fns.reconcile.invoke<{ reenqueued: number; expired: number }>(
      scheduledEvent(new Date(Date.now() + 24 * 3600_000), REGION),
    );
    expect(expiry.expired).toBeGreaterThanOrEqual(1);
    const expired = await http('getOrder', { authorizer: buyer, pathParameters: { orderId: lostId } });
    expect(expired.body.status).toBe('EXPIRED');
  });

  it('the books balance afterwards (shared audit)', async () => {
    const db = documentClient({ region: REGION, endpoints: { dynamodb: stack.dynamoEndpoint } });
    try {
      const report = await auditSale(db, stack.resources.tableNames, saleId, { expectSettled: true });
      expect(report.violations, formatReport(report)).toEqual([]);
      expect(report.stock).toEqual({ total: 10, available: 9, held: 0, inFlight: 0, sold: 1 });
    } finally {
      db.destroy();
    }
  });
});

describe('the LocalStack target (-c target=localstack)', () => {
  it('protected routes verify the bearer themselves when no authorizer context is present', async () => {
    const context = { target: 'localstack', jwks: JSON.stringify(stack.issuer.jwks) };
    const settings = readSettings(new App({ context }).node) as unknown as { target?: string };
    if (settings.target !== 'localstack') {
      // The target is added by the infra area; until infra/settings.ts knows it, there is nothing to run.
      console.warn(
        'artifact test: infra/settings.ts has no localstack target yet; in-route verification not exercised',
      );
      expect(settings.target).toBeUndefined();
      return;
    }
    const assembly = stack.synth(context);
    const routes = fnKeys.filter(
      (key) => functionSpecs[key].http && functionSpecs[key].http?.auth !== 'public',
    );
    const local = stack.startFunctions(assembly, routes);
    const token = await stack.issuer.sign('lara');
    const list = (authorization?: string) =>
      stack.http(local, 'listMyOrders', { headers: authorization ? { Authorization: authorization } : {} });
    expect((await list(`Bearer ${token}`)).status).toBe(200);
    expect((await list('Bearer not-a-jwt')).status).toBe(401);
    expect((await list()).status).toBe(401);
    const asAdmin = await stack.http(local, 'createSale', {
      headers: { Authorization: `Bearer ${token}` },
      body: { saleId: 'never' },
    });
    expect(asAdmin.status).toBe(403);
  });
});
