import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Context,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { emulatorCredentials } from '../shared/adapters/aws.ts';
import { errorBody } from '../shared/http/error-body.ts';
import { type FunctionKey, type FunctionSpec, functionSpecs, routeMatcher } from '../shared/wiring.ts';
import { DEV_ISSUER, type DevIssuer, devIssuer } from './dev-issuer.ts';
import { type Emulator, startDynamoDbLocal, startSqsEmulator } from './emulators.ts';
import { ensureResources, type LocalResources } from './resources.ts';
import { STATE_FILE } from './state.ts';

export interface RuntimeOptions {
  /** HTTP port; 0 picks a free one. */
  port?: number;
  /** Where DynamoDB data (unless inMemory) and the dev issuer key live. */
  dataDir?: string;
  inMemory?: boolean;
  /** External endpoints (LocalStack, AWS): nothing is embedded when set. */
  dynamodbEndpoint?: string;
  sqsEndpoint?: string;
  region?: string;
  prefix?: string;
  /** Run the SQS consumers (the Lambda event source mappings). */
  consumers?: boolean;
  /** Reconciler period in seconds; 0 disables the timer (tests call runReconciler). */
  reconcileIntervalSeconds?: number;
  /** Overrides for drills and tests: the wiring's values are the cloud's. */
  visibilityTimeoutSeconds?: number;
  maxReceiveCount?: number;
  /** Pollers per consumer, like the event source's maximum concurrency. */
  pollersPerConsumer?: number;
  /** Extra environment for the functions (payment simulation rates, log level). */
  env?: Record<string, string>;
}

export interface Runtime {
  url: string;
  port: number;
  resources: LocalResources;
  endpoints: { dynamodb: string; sqs: string; region: string };
  dataLocations: string[];
  issuer: DevIssuer;
  invokeHttp(fn: FunctionKey, event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult>;
  /** Invokes any function as its event source would (tests use it to replay deliveries). */
  invoke(fn: FunctionKey, event: unknown): Promise<unknown>;
  /** One scheduled run; `at` plays EventBridge's scheduled time. */
  runReconciler(at?: Date): Promise<unknown>;
  /** Resolves once every poller has drained its current batch and stopped. */
  stopConsumers(): Promise<void>;
  startConsumers(): void;
  stop(): Promise<void>;
}

type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/** Accepted before a handler runs, like API Gateway's own 10 MB cap (the handlers enforce 16 KB). */
const MAX_REQUEST_BYTES = 1024 * 1024;
/** API Gateway caches an authorizer's answer per token; so does the local runtime. */
const AUTHORIZER_CACHE_MS = 300_000;

/**
 * The whole system on one machine: DynamoDB Local and fauxqs (unless endpoints are given), the
 * tables and queues of the wiring table, an HTTP server that turns requests into API Gateway REST
 * proxy events for the very handler modules the cloud runs (through the authorizer), pollers that
 * play the SQS event source, and a timer that plays the schedule.
 */
let runtimeStarted = false;

export async function startRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  // Handler modules read their configuration once, at import, like a Lambda cold start: a second
  // runtime in this process would silently run with the first one's endpoints.
  if (runtimeStarted)
    throw new Error('startRuntime runs once per process; start another process for a second stack');
  runtimeStarted = true;
  // Node 20 here, nodejs22.x in Lambda: the SDK's reminder about that is noise locally.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const dataDir = resolve(options.dataDir ?? '.local');
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const started: Emulator[] = [];
  const stopEmulators = async () => {
    for (const emulator of started.reverse()) await emulator.stop().catch(() => undefined);
  };
  let server: Server | undefined;
  try {
    const dynamo = options.dynamodbEndpoint
      ? undefined
      : await startDynamoDbLocal({ dataDir: options.inMemory ? undefined : join(dataDir, 'dynamodb') });
    if (dynamo) started.push(dynamo);
    const sqsEmulator = options.sqsEndpoint ? undefined : await startSqsEmulator();
    if (sqsEmulator) started.push(sqsEmulator);
    const endpoints = {
      region,
      dynamodb: options.dynamodbEndpoint ?? (dynamo as Emulator).endpoint,
      sqs: options.sqsEndpoint ?? (sqsEmulator as Emulator).endpoint,
    };
    const resources = await ensureResources(endpoints, {
      prefix: options.prefix ?? 'flash',
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
      maxReceiveCount: options.maxReceiveCount,
    });
    const issuer = await devIssuer(join(dataDir, 'dev-issuer-key.json'));
    const signingKey = localSecret(join(dataDir, 'token-signing-key'));

    const handlers = new Map<FunctionKey, LambdaHandler>();
    let ready: () => void = () => {};
    const loaded = new Promise<void>((done) => {
      ready = done;
    });
    const authorizerCache = new Map<string, { result: APIGatewayAuthorizerResult | 'deny'; until: number }>();
    const routes = (Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]).flatMap(([key, spec]) =>
      spec.http ? [{ key, ...spec.http, match: routeMatcher(spec.http.path) }] : [],
    );

    const invoke = async (fn: FunctionKey, event: unknown) => {
      await loaded;
      const handler = handlers.get(fn);
      if (!handler) throw new Error(`No handler loaded for ${fn}`);
      return handler(event, lambdaContext(fn, functionSpecs[fn].timeoutSeconds));
    };

    const authorize = async (token: string | undefined, methodArn: string) => {
      if (!token) return 'deny' as const;
      const cached = authorizerCache.get(token);
      if (cached && cached.until > Date.now()) return cached.result;
      let result: APIGatewayAuthorizerResult | 'deny';
      try {
        result = (await invoke('authorizer', {
          type: 'TOKEN',
          authorizationToken: token,
          methodArn,
        })) as APIGatewayAuthorizerResult;
      } catch {
        result = 'deny';
      }
      if (authorizerCache.size > 50_000) authorizerCache.clear();
      authorizerCache.set(token, { result, until: Date.now() + AUTHORIZER_CACHE_MS });
      return result;
    };

    const handle = async (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://local');
      const body = await readBody(req);
      if (body === undefined) return send(res, 413, errorBody('PAYLOAD_TOO_LARGE', 'The body is too large'));
      const method = req.method ?? 'GET';

      // Local-only routes: never part of the wiring table, never deployed.
      if (method === 'GET' && url.pathname === '/.well-known/jwks.json')
        return send(res, 200, JSON.stringify(issuer.jwks));
      if (method === 'POST' && url.pathname === '/dev/tokens')
        return send(res, ...(await mintToken(issuer, body)));

      const found = routes.flatMap((r) => {
        const params = r.match(url.pathname);
        return params ? [{ route: r, params }] : [];
      });
      const hit = found.find((f) => f.route.method === method);
      if (!hit) {
        return found.length > 0
          ? send(res, 405, errorBody('NOT_FOUND', `${method} is not supported on ${url.pathname}`))
          : send(res, 404, errorBody('NOT_FOUND', `No route for ${method} ${url.pathname}`));
      }
      const requestId = randomUUID();
      const methodArn = `arn:aws:execute-api:${region}:000000000000:local/local/${method}${url.pathname}`;
      let authorizer: Record<string, unknown> | null = null;
      if (hit.route.auth !== 'public') {
        const result = await authorize(header(req, 'authorization'), methodArn);
        if (result === 'deny')
          return send(res, 401, errorBody('UNAUTHORIZED', 'A valid bearer token is required'));
        if (result.policyDocument.Statement.some((s) => s.Effect === 'Deny')) {
          return send(res, 403, errorBody('FORBIDDEN', 'Not allowed'));
        }
        authorizer = { ...(result.context ?? {}), principalId: result.principalId };
      }
      const event = proxyEvent(req, url, body, hit.route.path, hit.params, requestId, authorizer);
      const result = (await invoke(hit.route.key, event)) as APIGatewayProxyResult;
      res.writeHead(result.statusCode, normalizeHeaders(result.headers));
      res.end(result.body);
    };

    server = createServer((req, res) => {
      handle(req, res).catch((error: unknown) => {
        console.error('local runtime error', error);
        if (!res.headersSent) send(res, 500, errorBody('INTERNAL', 'Local runtime error'));
      });
    });
    server.keepAliveTimeout = 30_000;
    const listening = server;
    await new Promise<void>((done, fail) => {
      listening.once('error', fail);
      listening.listen(options.port ?? 3000, '127.0.0.1', () => done());
    });
    const port = (server.address() as AddressInfo).port;
    const url = `http://127.0.0.1:${port}`;

    // The functions read their configuration at import (cold start), as in Lambda.
    Object.assign(process.env, {
      AWS_REGION: region,
      DYNAMODB_ENDPOINT: endpoints.dynamodb,
      SQS_ENDPOINT: endpoints.sqs,
      SNS_ENDPOINT: endpoints.sqs,
      JWT_ISSUER: DEV_ISSUER,
      JWKS_URL: `${url}/.well-known/jwks.json`,
      PAYMENT_GATEWAY: 'simulated',
      TOKEN_SIGNING_KEY: signingKey,
      POWERTOOLS_SERVICE_NAME: 'flash-sale',
      POWERTOOLS_METRICS_NAMESPACE: 'FlashSale',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
      ...resources.env,
      ...options.env,
    });
    for (const [key, spec] of Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]) {
      const module = (await import(pathToFileURL(resolve(import.meta.dirname, '..', spec.entry)).href)) as {
        handler: LambdaHandler;
      };
      handlers.set(key, module.handler);
    }
    ready();

    const sqs = new SQSClient({ region, endpoint: endpoints.sqs, credentials: emulatorCredentials() });
    const pollers = new Pollers(sqs, resources, invoke, options.pollersPerConsumer ?? 4);
    if (options.consumers !== false) pollers.start();

    const timers: NodeJS.Timeout[] = [];
    const interval = options.reconcileIntervalSeconds ?? 60;
    const scheduled = (Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]).filter(
      ([, spec]) => spec.schedule,
    );
    if (interval > 0) {
      for (const [key] of scheduled) {
        const timer = setInterval(() => {
          invoke(key, { source: 'local.schedule' }).catch((error: unknown) =>
            console.error(`${key} failed`, error),
          );
        }, interval * 1000);
        timer.unref();
        timers.push(timer);
      }
    }

    // Operator tools (dlq, audit) find a running local stack through this file.
    const stateFile = join(dataDir, STATE_FILE);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(stateFile, JSON.stringify({ url, pid: process.pid, endpoints, ...resources }, null, 2));

    const runtime: Runtime = {
      url,
      port,
      resources,
      endpoints,
      dataLocations: [
        `DynamoDB: ${dynamo ? dynamo.data : endpoints.dynamodb}`,
        `SQS/SNS: ${sqsEmulator ? 'in memory (fauxqs)' : endpoints.sqs}`,
        `dev issuer key: ${join(dataDir, 'dev-issuer-key.json')}`,
      ],
      issuer,
      invokeHttp: (fn, event) => invoke(fn, event) as Promise<APIGatewayProxyResult>,
      invoke,
      runReconciler: (at = new Date()) =>
        invoke('reconcile', { source: 'local.schedule', time: at.toISOString() }),
      stopConsumers: () => pollers.stop(),
      startConsumers: () => pollers.start(),
      stop: async () => {
        for (const timer of timers) clearInterval(timer);
        await pollers.stop();
        await new Promise<void>((done) => {
          server?.close(() => done());
          server?.closeAllConnections();
        });
        sqs.destroy();
        await stopEmulators();
        rmSync(stateFile, { force: true });
      },
    };
    return runtime;
  } catch (error) {
    server?.close();
    await stopEmulators();
    throw error;
  }
}

/** Plays the Lambda SQS event source: batches of up to `batchSize`, partial batch failures honoured. */
class Pollers {
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly sqs: SQSClient,
    private readonly resources: LocalResources,
    private readonly invoke: (fn: FunctionKey, event: unknown) => Promise<unknown>,
    private readonly perConsumer: number,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const [key, spec] of Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]) {
      if (!spec.consumes) continue;
      const count = Math.min(spec.consumes.maxConcurrency, this.perConsumer);
      for (let i = 0; i < count; i++)
        this.loops.push(this.loop(key, spec.consumes.queue, spec.consumes.batchSize));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async loop(fn: FunctionKey, queue: 'orders' | 'payments', batchSize: number): Promise<void> {
    const queueUrl = this.resources.queueUrls[queue];
    while (this.running) {
      try {
        const out = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) continue;
        const event = sqsEventOf(messages, queue);
        let failed: Set<string>;
        try {
          const response = (await this.invoke(fn, event)) as SQSBatchResponse | undefined;
          failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        } catch (error) {
          // A thrown handler fails the whole batch, as in Lambda. Powertools throws FullBatchFailureError
          // when every record failed; the consumer has already logged each record's reason.
          if ((error as Error).name !== 'FullBatchFailureError') console.error(`${fn} failed a batch`, error);
          failed = new Set(messages.map((m) => m.MessageId as string));
        }
        const done = messages.filter((m) => !failed.has(m.MessageId as string));
        if (done.length > 0) {
          await this.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
            }),
          );
        }
      } catch (error) {
        if (this.running) {
          console.error(`poller for ${fn} hit an error; retrying`, error);
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
  }
}

/** The event Lambda's SQS event source builds from received messages. */
export function sqsEventOf(messages: Message[], queue: string): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId as string,
      receiptHandle: m.ReceiptHandle as string,
      body: m.Body ?? '',
      attributes: m.Attributes as SQSEvent['Records'][number]['attributes'],
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:local:000000000000:${queue}`,
      awsRegion: 'local',
    })),
  };
}

async function mintToken(issuer: DevIssuer, body: string): Promise<[number, string]> {
  let input: unknown;
  try {
    input = JSON.parse(body || '{}');
  } catch {
    return [400, errorBody('INVALID_JSON', 'The body is not valid JSON')];
  }
  const { userId, admin } = (input ?? {}) as { userId?: unknown; admin?: unknown };
  if (
    typeof userId !== 'string' ||
    !/^[A-Za-z0-9_@.-]{1,128}$/.test(userId) ||
    (admin !== undefined && typeof admin !== 'boolean')
  ) {
    return [400, errorBody('VALIDATION_ERROR', 'Send {"userId": string, "admin"?: boolean}')];
  }
  return [200, JSON.stringify({ token: await issuer.sign(userId, admin === true) })];
}

function proxyEvent(
  req: IncomingMessage,
  url: URL,
  body: string,
  resource: string,
  pathParameters: Record<string, string>,
  requestId: string,
  authorizer: Record<string, unknown> | null,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const value = req.rawHeaders[i + 1] as string;
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const query = [...url.searchParams.keys()];
  return {
    resource,
    path: url.pathname,
    httpMethod: req.method ?? 'GET',
    headers,
    multiValueHeaders,
    queryStringParameters: query.length > 0 ? Object.fromEntries(url.searchParams) : null,
    multiValueQueryStringParameters:
      query.length > 0 ? Object.fromEntries(query.map((k) => [k, url.searchParams.getAll(k)])) : null,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    body: body === '' ? null : body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer,
      httpMethod: req.method ?? 'GET',
      identity: {
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? null,
      } as APIGatewayProxyEvent['requestContext']['identity'],
      path: url.pathname,
      protocol: 'HTTP/1.1',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: resource,
      stage: 'local',
    },
  };
}

/** A random key kept beside the data, so tokens the API signed stay valid across restarts. */
function localSecret(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = randomBytes(32).toString('base64url');
  mkdirSync(resolve(file, '..'), { recursive: true });
  writeFileSync(file, key, { mode: 0o600 });
  return key;
}

function lambdaContext(fn: string, timeoutSeconds: number): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: fn,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${fn}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => done(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function normalizeHeaders(headers: APIGatewayProxyResult['headers']): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, String(v)]));
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(body);
}
