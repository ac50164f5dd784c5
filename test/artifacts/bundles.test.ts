/**
 * The artifacts `cdk deploy` uploads really run (issue 10 item 4). The real CDK app is synthesized
 * (esbuild bundling included); each function's bundle is taken from the cloud assembly through
 * its Code asset, copied to a task root of its own and started in a separate Node process (Node
 * 22 like nodejs22.x when available) with exactly the environment its template sets, references
 * resolved to DynamoDB Local and fauxqs, plus what Lambda adds. Then the bundles are invoked with
 * the events API Gateway, the SQS event source and EventBridge send.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import type { APIGatewayAuthorizerResult, APIGatewayProxyResult, SQSBatchResponse } from 'aws-lambda';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSettings } from '../../infra/settings.ts';
import { type DevIssuer, devIssuer } from '../../local/dev-issuer.ts';
import { type Emulator, startDynamoDbLocal, startSqsEmulator } from '../../local/emulators.ts';
import { ensureResources, type LocalResources } from '../../local/resources.ts';
import { emulatorCredentials } from '../../shared/adapters/aws.ts';
import { documentClient } from '../../shared/adapters/dynamo/client.ts';
import { auditSale, formatReport } from '../../shared/audit/invariants.ts';
import { DEV_ISSUER } from '../../shared/auth/dev-issuer.ts';
import { type FunctionKey, functionSpecs, type QueueKey } from '../../shared/wiring.ts';
import { ACCOUNT_ID, type Assembly, standIns, synthAssembly } from './lib/assembly.ts';
import { Resolver } from './lib/cloudformation.ts';
import { proxyEvent, type RouteCall, scheduledEvent, sqsEvent } from './lib/events.ts';
import { type LambdaNode, lambdaNode } from './lib/lambda-node.ts';
import { LambdaError, type LambdaProcess, startLambda } from './lib/lambda-process.ts';

const REGION = 'eu-west-1';
const fnKeys = Object.keys(functionSpecs) as FunctionKey[];

let node: LambdaNode;
let dynamo: Emulator;
let sqsEmulator: Emulator;
let resources: LocalResources;
let sqs: SQSClient;
let jwksServer: Server;
let jwksUrl: string;
let publicJwks: { keys: JWK[] };
let scratch: string;
let issuer: DevIssuer;
/** Same issuer name, another key: what a forger would have. */
let stranger: DevIssuer;
const assemblies: Assembly[] = [];
const processes: LambdaProcess[] = [];
let fns: Record<FunctionKey, LambdaProcess>;

/** Starts every function of an assembly, each with its template's environment resolved. */
function startFunctions(
  assembly: Assembly,
  keys: FunctionKey[],
  runtimeOverrides: Record<string, string> = {},
): Record<FunctionKey, LambdaProcess> {
  const resolver = new Resolver(assembly.templates, standIns(assembly, resources, REGION), {
    region: REGION,
    accountId: ACCOUNT_ID,
  });
  const started = {} as Record<FunctionKey, LambdaProcess>;
  for (const key of keys) {
    const fn = assembly.functions[key];
    const environment = Object.fromEntries(
      Object.entries(fn.environment).map(([name, value]) => [
        name,
        resolver.resolveString(value, assembly.stacks.stateless),
      ]),
    );
    started[key] = startLambda({
      name: `${assembly.stacks.stateless}-${key}`,
      assetDir: fn.assetDir,
      handler: fn.handler,
      environment,
      runtimeEnvironment: { ...lambdaRuntimeEnvironment(), ...runtimeOverrides },
      timeoutSeconds: fn.timeoutSeconds,
      memoryMb: fn.memoryMb,
      nodePath: node.path,
    });
    processes.push(started[key]);
  }
  return started;
}

/**
 * What Lambda puts beside the template's variables: region and role credentials; and what
 * LocalStack puts there: the SDK's standard endpoint variables pointing at the emulators (the
 * functions' own *_ENDPOINT settings stay unset, as in a deployment).
 */
function lambdaRuntimeEnvironment(): Record<string, string> {
  // DynamoDB Local keeps one database per access key and region: the key the resources were made with.
  const credentials = emulatorCredentials() ?? {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
  };
  return {
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: 'artifacts',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: sqsEmulator.endpoint,
    AWS_ENDPOINT_URL_SNS: sqsEmulator.endpoint,
    AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
  };
}

beforeAll(async () => {
  node = lambdaNode();
  console.log(`artifact test: bundles run on Node ${node.version}${node.caveat ? ` (${node.caveat})` : ''}`);

  // The project's dev issuer (the key `npm run token` signs with), its JWKS served over HTTP as the app's jwksUrl.
  scratch = mkdtempSync(path.join(tmpdir(), 'flash-sale-artifacts-issuer-'));
  issuer = await devIssuer(path.join(scratch, 'dev-issuer-key.json'));
  stranger = await devIssuer(path.join(scratch, 'another-key.json'));
  publicJwks = issuer.jwks;
  jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(publicJwks));
  });
  await new Promise<void>((done) => jwksServer.listen(0, '127.0.0.1', done));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;

  [dynamo, sqsEmulator] = await Promise.all([startDynamoDbLocal(), startSqsEmulator()]);
  resources = await ensureResources(
    { region: REGION, dynamodb: dynamo.endpoint, sqs: sqsEmulator.endpoint },
    { prefix: 'artifacts' },
  );
  sqs = new SQSClient({
    region: REGION,
    endpoint: sqsEmulator.endpoint,
    credentials: emulatorCredentials(),
  });

  const started = Date.now();
  const assembly = synthAssembly({ jwtIssuer: DEV_ISSUER, jwksUrl });
  assemblies.push(assembly);
  console.log(`artifact test: cdk synth with bundling took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  fns = startFunctions(assembly, fnKeys);
}, 300_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  for (const assembly of assemblies) assembly.remove();
  sqs?.destroy();
  await Promise.all([dynamo?.stop(), sqsEmulator?.stop()]);
  await new Promise<void>((done) => (jwksServer ? jwksServer.close(() => done()) : done()));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function http(
  processes: Record<FunctionKey, LambdaProcess>,
  key: FunctionKey,
  call: Omit<RouteCall, 'method' | 'resource'>,
) {
  const route = functionSpecs[key].http;
  if (!route) throw new Error(`${key} is not a route`);
  const result = await processes[key].invoke<APIGatewayProxyResult>(
    proxyEvent({ method: route.method, resource: route.path, ...call }),
  );
  // A 5xx is a bug in this test's terms: show what the function logged.
  if (result.statusCode >= 500)
    throw new Error(`${key} answered ${result.statusCode}:\n${processes[key].output()}`);
  return { status: result.statusCode, body: JSON.parse(result.body || '{}'), headers: result.headers ?? {} };
}

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

async function receiveAll(queue: QueueKey): Promise<Message[]> {
  const all: Message[] = [];
  for (let empty = 0; empty < 2; ) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: resources.queueUrls[queue],
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) empty++;
    else all.push(...messages);
  }
  return all;
}

async function deleteAll(queue: QueueKey, messages: Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: resources.queueUrls[queue],
        Entries: messages
          .slice(i, i + 10)
          .map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle as string })),
      }),
    );
  }
}

/** Plays the SQS event source once: receive, invoke the consumer bundle, delete what succeeded. */
async function deliver(
  queue: QueueKey,
  consumer: FunctionKey,
): Promise<{ messages: Message[]; failed: string[] }> {
  const messages = await receiveAll(queue);
  const queueArn = `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${queue}`;
  let failed: string[];
  try {
    const response = await fns[consumer].invoke<SQSBatchResponse>(sqsEvent(messages, queueArn, REGION));
    failed = response.batchItemFailures.map((f) => f.itemIdentifier);
  } catch (error) {
    // A function error fails the whole batch (Powertools throws when every record failed).
    if (!(error instanceof LambdaError)) throw error;
    failed = messages.map((m) => m.MessageId as string);
  }
  await deleteAll(
    queue,
    messages.filter((m) => !failed.includes(m.MessageId as string)),
  );
  return { messages, failed };
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
    admin = await authorize(await issuer.sign('ops', true));
    buyer = await authorize(await issuer.sign('alice'));
    expect(admin).toMatchObject({ userId: 'ops', admin: 'true', principalId: 'ops' });
    expect(buyer).toMatchObject({ userId: 'alice', admin: 'false' });
    const event = (token: string) => ({
      type: 'TOKEN',
      authorizationToken: `Bearer ${token}`,
      methodArn: `arn:aws:execute-api:${REGION}:${ACCOUNT_ID}:abc123/v1/GET/me/orders`,
    });
    await expect(fns.authorizer.invoke(event('not-a-jwt'))).rejects.toThrow('Unauthorized');
    await expect(fns.authorizer.invoke(event(await stranger.sign('mallory', true)))).rejects.toThrow(
      'Unauthorized',
    );
  });

  it('health, create sale, read sale', async () => {
    expect((await http(fns, 'health', {})).status).toBe(200);
    const now = Date.now();
    const created = await http(fns, 'createSale', {
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
    const forbidden = await http(fns, 'createSale', { authorizer: buyer, body: { saleId: 'nope' } });
    expect(forbidden.status).toBe(403);
    const sale = await http(fns, 'getSale', { pathParameters: { saleId } });
    expect(sale).toMatchObject({ status: 200, body: { saleId, available: 10, totalStock: 10 } });
  });

  it('buy, replay, read, list, cancel', async () => {
    const buy = (key: string, paymentToken = 'tok_ok') =>
      http(fns, 'placeOrder', {
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
    const bad = await http(fns, 'placeOrder', {
      authorizer: buyer,
      pathParameters: { saleId },
      headers: { 'Idempotency-Key': 'artifact-bad' },
      body: { quantity: 0, paymentToken: 'tok_ok' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');

    const read = await http(fns, 'getOrder', { authorizer: buyer, pathParameters: { orderId: firstOrder } });
    expect(read).toMatchObject({ status: 200, body: { orderId: firstOrder, status: 'RESERVED' } });
    const list = await http(fns, 'listMyOrders', { authorizer: buyer, query: { limit: '10' } });
    expect(list.status).toBe(200);
    expect(list.body.orders.map((o: { orderId: string }) => o.orderId)).toContain(firstOrder);

    const second = await buy('artifact-2');
    expect(second.status).toBe(202);
    const cancelled = await http(fns, 'cancelOrder', {
      authorizer: buyer,
      pathParameters: { orderId: second.body.orderId },
    });
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'CANCELLED' } });
    const sale = await http(fns, 'getSale', { pathParameters: { saleId } });
    expect(sale.body.available).toBe(9);
  });

  it('order and payment consumers settle the order from real queue messages', async () => {
    const orders = await deliver('orders', 'processOrder');
    // Both purchases were queued; the cancelled one is a no-op for the consumer.
    expect(orders.messages.length).toBe(2);
    expect(orders.failed).toEqual([]);
    const pending = await http(fns, 'getOrder', {
      authorizer: buyer,
      pathParameters: { orderId: firstOrder },
    });
    expect(pending.body.status).toBe('PAYMENT_PENDING');

    const payments = await deliver('payments', 'processPayment');
    expect(payments.messages.length).toBe(1);
    expect(payments.failed).toEqual([]);
    const confirmed = await http(fns, 'getOrder', {
      authorizer: buyer,
      pathParameters: { orderId: firstOrder },
    });
    expect(confirmed.body.status).toBe('CONFIRMED');
  });

  it('a poison message fails alone: the rest of its batch (a declined payment) goes through', async () => {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: resources.queueUrls.orders,
        MessageBody: '{"not":"an order"',
        MessageGroupId: 'poison',
        MessageDeduplicationId: `poison-${Date.now()}`,
      }),
    );
    const declined = await http(fns, 'placeOrder', {
      authorizer: buyer,
      pathParameters: { saleId },
      headers: { 'Idempotency-Key': 'artifact-declined' },
      body: { quantity: 1, paymentToken: 'tok_decline' },
    });
    expect(declined.status).toBe(202);
    const { messages, failed } = await deliver('orders', 'processOrder');
    expect(messages.length).toBe(2);
    const poison = messages.find((m) => !(m.Body ?? '').includes(declined.body.orderId));
    expect(failed).toEqual([poison?.MessageId]);

    const payments = await deliver('payments', 'processPayment');
    expect(payments).toMatchObject({ messages: [{}], failed: [] });
    const read = await http(fns, 'getOrder', {
      authorizer: buyer,
      pathParameters: { orderId: declined.body.orderId },
    });
    expect(read.body.status).toBe('PAYMENT_FAILED');
  });

  it('reconciler re-sends a RESERVED order whose message was lost, and expires holds past their deadline', async () => {
    // Play a lost SendMessage: the same bundle in an environment whose SQS endpoint refuses connections.
    const { placeOrder: cutOff } = startFunctions(assemblies[0] as Assembly, ['placeOrder'], {
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9',
    });
    const lost = await http({ ...fns, placeOrder: cutOff }, 'placeOrder', {
      authorizer: buyer,
      pathParameters: { saleId },
      headers: { 'Idempotency-Key': 'artifact-lost' },
      body: { quantity: 1, paymentToken: 'tok_ok' },
    });
    expect(lost.status).toBe(202);
    const lostId: string = lost.body.orderId;
    // Accepted, but never queued.
    expect((await receiveAll('orders')).length).toBe(0);

    const later = new Date(Date.now() + 5 * 60_000);
    const report = await fns.reconcile.invoke<{ reenqueued: number; expired: number }>(
      scheduledEvent(later, REGION),
    );
    expect(report.reenqueued).toBeGreaterThanOrEqual(1);
    const resent = (await receiveAll('orders')).filter((m) => (m.Body ?? '').includes(lostId));
    expect(resent.length).toBe(1);
    await deleteAll('orders', resent);

    // A day later its hold is long gone: the reconciler expires it and returns the unit.
    const expiry = await fns.reconcile.invoke<{ reenqueued: number; expired: number }>(
      scheduledEvent(new Date(Date.now() + 24 * 3600_000), REGION),
    );
    expect(expiry.expired).toBeGreaterThanOrEqual(1);
    const expired = await http(fns, 'getOrder', { authorizer: buyer, pathParameters: { orderId: lostId } });
    expect(expired.body.status).toBe('EXPIRED');
  });

  it('the books balance afterwards (shared audit)', async () => {
    const db = documentClient({ region: REGION, endpoints: { dynamodb: dynamo.endpoint } });
    try {
      const report = await auditSale(db, resources.tableNames, saleId, { expectSettled: true });
      expect(report.violations, formatReport(report)).toEqual([]);
      expect(report.stock).toEqual({ total: 10, available: 9, held: 0, sold: 1 });
    } finally {
      db.destroy();
    }
  });
});

describe('the LocalStack target (-c target=localstack)', () => {
  it('protected routes verify the bearer themselves when no authorizer context is present', async () => {
    const context = { target: 'localstack', jwks: JSON.stringify(publicJwks) };
    const settings = readSettings(new App({ context }).node) as unknown as { target?: string };
    if (settings.target !== 'localstack') {
      // The target is added by the infra area; until infra/settings.ts knows it, there is nothing to run.
      console.warn(
        'artifact test: infra/settings.ts has no localstack target yet; in-route verification not exercised',
      );
      expect(settings.target).toBeUndefined();
      return;
    }
    const assembly = synthAssembly(context);
    assemblies.push(assembly);
    const routes = fnKeys.filter(
      (key) => functionSpecs[key].http && functionSpecs[key].http?.auth !== 'public',
    );
    const local = startFunctions(assembly, routes);
    const token = await issuer.sign('lara');
    const list = (authorization?: string) =>
      http(local, 'listMyOrders', { headers: authorization ? { Authorization: authorization } : {} });
    expect((await list(`Bearer ${token}`)).status).toBe(200);
    expect((await list('Bearer not-a-jwt')).status).toBe(401);
    expect((await list()).status).toBe(401);
    const asAdmin = await http(local, 'createSale', {
      headers: { Authorization: `Bearer ${token}` },
      body: { saleId: 'never' },
    });
    expect(asAdmin.status).toBe(403);
  });
});
