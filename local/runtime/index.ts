import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { emulatorCredentials } from '../../shared/adapters/aws.ts';
import { type FunctionKey, type FunctionSpec, functionSpecs } from '../../shared/wiring.ts';
import { DEV_AUDIENCE, DEV_ISSUER, type DevIssuer, devIssuer } from '../dev-issuer.ts';
import { type Emulator, startDynamoDbLocal, startSqsEmulator } from '../emulators.ts';
import { ensureResources, type LocalResources } from '../resources.ts';
import { STATE_FILE } from '../state.ts';
import { cachedAuthorizer } from './authorizer.ts';
import { normalizeBasePath, underBasePath } from './base-path.ts';
import { ConcurrencyGate, crowded, invokeWithin } from './concurrency.ts';
import { devRoute } from './dev-routes.ts';
import { EdgeCache } from './edge-cache.ts';
import { gateway } from './gateway.ts';
import { type HttpFront, startHttpFront } from './http-front.ts';
import { lambdaContext } from './lambda-context.ts';
import { effectiveLimits, type LimitOverrides, type RuntimeLimits } from './limits.ts';
import { Pollers } from './pollers.ts';
import { startSchedule } from './schedule.ts';
import { localSecret } from './secret.ts';
import { clearStaleRuntime } from './stale.ts';
import { ApiThrottle } from './throttle.ts';

export type { RuntimeLimits } from './limits.ts';
export { localQueueArn, sqsEventOf } from './pollers.ts';

export interface RuntimeOptions extends LimitOverrides {
  /** HTTP port; 0 picks a free one. */
  port?: number;
  /** Where DynamoDB data (unless inMemory) and the dev issuer key live. */
  dataDir?: string;
  inMemory?: boolean;
  /** External endpoints (LocalStack, AWS): nothing is embedded when set. */
  dynamodbEndpoint?: string;
  sqsEndpoint?: string;
  /**
   * Act as the dev issuer (JWKS + POST /dev/tokens, functions trust its key). On by default only
   * when both emulators are embedded; with external endpoints the functions need JWT_ISSUER and
   * JWKS_URL of a real issuer unless this is set explicitly.
   */
  devIssuer?: boolean;
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
  /** Serve the API and the page under this prefix, as the execute-api URL serves its stage (`/v1`). */
  basePath?: string;
}

export interface Runtime {
  /** Where the API and the page are: the server's origin plus the base path, if any. */
  url: string;
  port: number;
  resources: LocalResources;
  endpoints: { dynamodb: string; sqs: string; region: string };
  dataLocations: string[];
  /** The dev issuer, when this runtime is one (see RuntimeOptions.devIssuer). */
  issuer: DevIssuer;
  devIssuer: boolean;
  /** The throttle and concurrency limits in force. */
  limits: RuntimeLimits;
  /** The edge in front (CloudFront's part, played locally): its hit and miss counts. */
  edge: EdgeCache;
  /** Invocations per function since the start (routes, authorizer, consumers, schedule). */
  invocationCounts(): Partial<Record<FunctionKey, number>>;
  /** What the start did on its own (e.g. stopped a stale DynamoDB Local), for the banner. */
  notices: string[];
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

/** API Gateway gives up on an integration after 29 s whatever the function's own timeout. */
const INTEGRATION_TIMEOUT_MS = 29_000;

let runtimeStarted = false;

/**
 * The whole system on one machine: DynamoDB Local and fauxqs (unless endpoints are given), the
 * tables and queues of the wiring table, API Gateway played by an HTTP server (throttle, authorizer,
 * proxy events) in front of the very handler modules the cloud runs, each within its concurrency
 * limit and timeout, pollers that play the SQS event source, and a timer that plays the schedule.
 */
export async function startRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  // Handler modules read their configuration once, at import, like a Lambda cold start: a second
  // runtime in this process would silently run with the first one's endpoints.
  if (runtimeStarted)
    throw new Error('startRuntime runs once per process; start another process for a second stack');
  // Node 20 here, nodejs22.x in Lambda: the SDK's reminder about that is noise locally.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const dataDir = resolve(options.dataDir ?? '.local');
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const external = Boolean(options.dynamodbEndpoint || options.sqsEndpoint);
  const isDevIssuer = options.devIssuer ?? !external;
  const limits = effectiveLimits(options);
  const basePath = normalizeBasePath(options.basePath);
  const dynamoDataDir = options.dynamodbEndpoint || options.inMemory ? undefined : join(dataDir, 'dynamodb');
  const stateFile = join(dataDir, STATE_FILE);
  const env = { ...process.env, ...options.env };
  if (!isDevIssuer && !(env.JWT_ISSUER && (env.JWKS_URL || env.JWKS_JSON)))
    throw new Error(
      'With external endpoints the runtime is not a dev issuer: set JWT_ISSUER and JWKS_URL (or JWKS_JSON) for your issuer, or ask for the dev issuer explicitly (npm start -- --dev-issuer)',
    );
  const notices = await clearStaleRuntime(dataDir, dynamoDataDir);
  runtimeStarted = true;
  const started: Emulator[] = [];
  const stopEmulators = async () => {
    for (const emulator of started.reverse()) await emulator.stop().catch(() => undefined);
  };
  let front: HttpFront | undefined;
  try {
    const dynamo = options.dynamodbEndpoint
      ? undefined
      : await startDynamoDbLocal({ dataDir: dynamoDataDir });
    if (dynamo) started.push(dynamo);
    // Recorded at once, so a crash from here on leaves a pid the next start can clean up.
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(stateFile, JSON.stringify({ pid: process.pid, dynamodbPid: dynamo?.pid }));
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
    const invocations: Partial<Record<FunctionKey, number>> = {};
    let ready: () => void = () => {};
    const loaded = new Promise<void>((done) => {
      ready = done;
    });
    const invoke = async (fn: FunctionKey, event: unknown) => {
      await loaded;
      const handler = handlers.get(fn);
      if (!handler) throw new Error(`No handler loaded for ${fn}`);
      invocations[fn] = (invocations[fn] ?? 0) + 1;
      return handler(event, lambdaContext(fn, functionSpecs[fn].timeoutSeconds));
    };
    const gates = new Map(
      (Object.entries(limits.concurrency) as [FunctionKey, number][]).map(([fn, n]) => [
        fn,
        new ConcurrencyGate(n, limits.queueWaitMs),
      ]),
    );
    /** A synchronous invocation as API Gateway makes it: within the concurrency limit and timeout. */
    const invokeSync = (fn: FunctionKey, event: unknown) =>
      invokeWithin(
        gates.get(fn),
        Math.min(functionSpecs[fn].timeoutSeconds * 1000, INTEGRATION_TIMEOUT_MS),
        () => invoke(fn, event),
      );
    const authorize = cachedAuthorizer((token, methodArn) =>
      invokeSync('authorizer', { type: 'TOKEN', authorizationToken: token, methodArn }),
    );
    const edge = new EdgeCache();
    const handle = underBasePath(
      basePath,
      gateway({
        region,
        throttle: new ApiThrottle(limits.throttle),
        authorize,
        invoke: invokeSync,
        edge,
        ...(isDevIssuer ? { devRoute: (req, path) => devRoute(issuer, req, path) } : {}),
      }),
    );

    front = await startHttpFront({ port: options.port ?? 3000, host: '127.0.0.1' }, handle);
    const { port } = front;
    const url = `http://127.0.0.1:${port}${basePath}`;

    // The functions read their configuration at import (cold start), as in Lambda.
    Object.assign(process.env, {
      AWS_REGION: region,
      DYNAMODB_ENDPOINT: endpoints.dynamodb,
      SQS_ENDPOINT: endpoints.sqs,
      SNS_ENDPOINT: endpoints.sqs,
      ...(isDevIssuer
        ? { JWT_ISSUER: DEV_ISSUER, JWKS_URL: `${url}/.well-known/jwks.json`, JWT_AUDIENCE: DEV_AUDIENCE }
        : {}),
      // `PAYMENT_GATEWAY=stripe STRIPE_SECRET_KEY=sk_test_… STRIPE_PUBLISHABLE_KEY=pk_test_… npm start`
      // charges a Stripe test account, its page collecting cards with Stripe.js: the Stripe settings
      // reach the functions from this environment as they are, each checked at its cold start.
      PAYMENT_GATEWAY: process.env.PAYMENT_GATEWAY ?? 'simulated',
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
      const module = (await import(
        pathToFileURL(resolve(import.meta.dirname, '..', '..', spec.entry)).href
      )) as {
        handler: LambdaHandler;
      };
      handlers.set(key, module.handler);
    }
    ready();

    const sqs = new SQSClient({ region, endpoint: endpoints.sqs, credentials: emulatorCredentials() });
    const pollers = new Pollers(sqs, resources, invoke, options.pollersPerConsumer ?? 4, {
      busy: () => crowded(gates.values()),
      maxMs: limits.consumerYieldMs,
    });
    if (options.consumers !== false) pollers.start();
    const stopSchedule = startSchedule(options.reconcileIntervalSeconds ?? 60, invoke);

    // Operator tools (dlq, audit) and the next start find this stack through this file.
    writeFileSync(
      stateFile,
      JSON.stringify({ url, pid: process.pid, dynamodbPid: dynamo?.pid, endpoints, ...resources }, null, 2),
    );

    return {
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
      devIssuer: isDevIssuer,
      limits,
      edge,
      invocationCounts: () => ({ ...invocations }),
      notices,
      invokeHttp: (fn, event) => invoke(fn, event) as Promise<APIGatewayProxyResult>,
      invoke,
      runReconciler: (at = new Date()) =>
        invoke('reconcile', { source: 'local.schedule', time: at.toISOString() }),
      stopConsumers: () => pollers.stop(),
      startConsumers: () => pollers.start(),
      stop: async () => {
        stopSchedule();
        await pollers.stop();
        await front?.close();
        sqs.destroy();
        await stopEmulators();
        rmSync(stateFile, { force: true });
      },
    };
  } catch (error) {
    await front?.close();
    await stopEmulators();
    rmSync(stateFile, { force: true });
    throw error;
  }
}
