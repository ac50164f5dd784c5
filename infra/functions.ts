import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, type SecretValue, Token, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type BundlingOptions, NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DEV_ISSUER } from '../shared/auth/dev-issuer.ts';
import { envSchemaFor } from '../shared/config.ts';
import { paymentConsumers } from '../shared/pipeline-plan.ts';
import {
  type FunctionKey,
  type FunctionSpec,
  functionSpecs,
  PAYMENT_RETRY_SECONDS_DEFAULT,
  type QueueKey,
  type QueueSpec,
  queues,
  type TableKey,
  type TopicKey,
  tables,
  topics,
} from '../shared/wiring.ts';
import { accessStatements } from './access.ts';
import { nodejsBundlingProps } from './bundling.ts';
import { deployedFunctions } from './deployed.ts';
import {
  isProd,
  LIVE_ALIAS,
  METRICS_NAMESPACE,
  provisionedConcurrencyKeys,
  SERVICE_NAME,
  type Settings,
} from './settings.ts';
import type { JwtTrust, QueuePair } from './stateful-stack.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** AWS recommends a queue visibility timeout of at least six times the consumer's timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** Lambda's SQS FIFO event source takes at most 10 records per batch. */
export const MAX_FIFO_BATCH = 10;

export interface FunctionsProps {
  settings: Settings;
  tables: Record<TableKey, dynamodb.ITable>;
  queues: Record<QueueKey, QueuePair>;
  topics: Record<TopicKey, sns.ITopic>;
  jwt: JwtTrust;
  /** HMAC key of the `signing` env group (TOKEN_SIGNING_KEY). */
  signingSecret: secretsmanager.ISecret;
  /** The Stripe secret key (STRIPE_SECRET_KEY) when the payment gateway is Stripe (infra/payment.ts). */
  stripeSecretKey?: SecretValue;
}

/**
 * One NodejsFunction per wiring entry, each with its own role whose policy is exactly the
 * wiring entry's `access`, its own log group, and the environment its config schema reads.
 */
export class Functions extends Construct {
  /** Every wiring function this stack deploys (not the TOKEN authorizer when Cognito's own authorizer serves). */
  readonly functions = {} as Partial<Record<FunctionKey, NodejsFunction>>;
  readonly logGroups = {} as Partial<Record<FunctionKey, logs.LogGroup>>;
  /** The `live` alias of functions that take provisioned concurrency; API Gateway invokes it. */
  readonly aliases = {} as Partial<Record<FunctionKey, lambda.Alias>>;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    assertQueuesFitConsumers(functionSpecs, queues);
    const { settings } = props;
    const prod = isProd(settings);
    const tracing = settings.target === 'aws';

    const plan = settings.concurrencyPlan;
    for (const [key, spec] of deployedFunctions(settings)) {
      const logGroup = new logs.LogGroup(this, `${key}Logs`, {
        retention: prod ? logs.RetentionDays.THREE_MONTHS : logs.RetentionDays.ONE_WEEK,
        removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
      // Own role, no AWS managed policy: the function may write to its own log group only.
      const role = new iam.Role(this, `${key}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `Flash sale ${key} (${settings.stage})`,
      });
      logGroup.grantWrite(role);
      for (const statement of accessStatements(spec, props, key)) role.addToPolicy(statement);

      const fn = new NodejsFunction(this, key, {
        entry: path.join(REPO_ROOT, spec.entry),
        handler: 'handler',
        projectRoot: REPO_ROOT,
        depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture:
          settings.lambdaArchitecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
        memorySize: spec.memoryMb,
        timeout: Duration.seconds(spec.timeoutSeconds),
        // X-Ray is a paid LocalStack feature; the localstack target goes without.
        ...(tracing ? { tracing: lambda.Tracing.ACTIVE } : {}),
        // Work beyond it is throttled at once; API Gateway turns that into 429 RETRY.
        // Only where the account's plan (infra/concurrency-plan.ts) has room for it.
        ...(plan.reserved[key] !== undefined ? { reservedConcurrentExecutions: plan.reserved[key] } : {}),
        role,
        logGroup,
        environment: environmentFor(key, spec, props),
        bundling: { ...nodejsBundlingProps(), ...assetHooks(spec.assets) },
        description: `Flash sale ${key}: ${spec.entry}`,
        // A scheduled run that fails is simply repeated by the next tick; async retries would
        // only overlap with it.
        ...(spec.schedule ? { retryAttempts: 0 } : {}),
      });
      if (tracing) {
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'Only X-Ray active tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) uses Resource "*": X-Ray has no resource-level permissions. Every data-plane statement names its table, index, queue or topic ARN.',
        });
      }
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'nodejs22.x is the runtime the project targets and tests (DESIGN.md); nodejs24.x is adopted deliberately, not by the linter.',
      });

      if (spec.consumes) {
        const { queue, batchSize } = spec.consumes;
        // The payment consumer is sized for the processor it calls (capacity model, pipeline-plan.ts).
        const maxConcurrency =
          queue === 'payments'
            ? paymentConsumers(props.settings.processor, batchSize)
            : spec.consumes.maxConcurrency;
        // Receive/delete/change-visibility on this queue come with the event source mapping.
        fn.addEventSource(
          new SqsEventSource(props.queues[queue].queue, {
            batchSize,
            reportBatchItemFailures: true,
            maxConcurrency,
          }),
        );
      }
      this.functions[key] = fn;
      this.logGroups[key] = logGroup;

      if (key in provisionedConcurrencyKeys) {
        const provisioned =
          settings.target === 'aws' ? (settings.capacity.provisionedConcurrency[key] ?? 0) : 0;
        this.aliases[key] = new lambda.Alias(this, `${key}Live`, {
          aliasName: LIVE_ALIAS,
          version: fn.currentVersion,
          ...(provisioned > 0 ? { provisionedConcurrentExecutions: provisioned } : {}),
        });
      }
    }
  }

  /** A deployed function by wiring key; throws for one this stack does not deploy. */
  get(key: FunctionKey): NodejsFunction {
    const fn = this.functions[key];
    if (!fn) throw new Error(`${key} is not deployed in this stack`);
    return fn;
  }

  /** What API Gateway invokes for a wiring function: its `live` alias when it has one. */
  invokeTarget(key: FunctionKey): lambda.IFunction {
    const target = this.aliases[key] ?? this.functions[key];
    if (!target) throw new Error(`${key} is not deployed in this stack`);
    return target;
  }
}

/** Powertools settings, the resource names `access` implies, and the function's env groups. */
export function environmentFor(
  key: FunctionKey,
  spec: FunctionSpec,
  props: FunctionsProps,
): Record<string, string> {
  const { settings } = props;
  const env: Record<string, string> = {
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    POWERTOOLS_LOG_LEVEL: settings.logLevel,
    NODE_OPTIONS: '--enable-source-maps',
  };
  for (const table of Object.keys(spec.access.tables ?? {}) as TableKey[]) {
    env[tables[table].envVar] = props.tables[table].tableName;
  }
  for (const queue of spec.access.sendTo ?? [])
    env[queues[queue].envVar] = props.queues[queue].queue.queueUrl;
  for (const topic of spec.access.publishTo ?? []) env[topics[topic].envVar] = props.topics[topic].topicArn;
  if (spec.http) env.CORS_ORIGINS = settings.corsOrigins.join(',');
  for (const group of spec.env ?? []) {
    switch (group) {
      case 'auth':
        env.JWT_ISSUER = props.jwt.issuer;
        env.JWKS_URL = props.jwt.jwksUrl;
        if (props.jwt.audience) env.JWT_AUDIENCE = props.jwt.audience;
        if (props.jwt.cognito) {
          env.JWT_TOKEN_USE = props.jwt.cognito.tokenUse;
          env.JWT_CLIENT_ID = props.jwt.cognito.clientId;
        }
        if (props.jwt.adminClaim) env.JWT_ADMIN_CLAIM = props.jwt.adminClaim;
        if (props.jwt.admins) {
          env.ADMIN_JWT_ISSUER = props.jwt.admins.issuer;
          env.ADMIN_JWKS_URL = props.jwt.admins.jwksUrl;
          env.ADMIN_JWT_CLIENT_ID = props.jwt.admins.clientId;
        }
        break;
      case 'payment': {
        env.PAYMENT_GATEWAY = settings.paymentGateway;
        if (settings.paymentGateway === 'stripe') {
          if (!props.stripeSecretKey)
            throw new Error(`Function ${key} needs the Stripe secret key (infra/payment.ts)`);
          // A dynamic reference, as TOKEN_SIGNING_KEY below.
          env.STRIPE_SECRET_KEY = props.stripeSecretKey.unsafeUnwrap();
          break;
        }
        const { latencyMs, declineRate, errorRate, rateLimit } = settings.payment;
        if (rateLimit !== undefined) env.PAYMENT_RATE_LIMIT = String(rateLimit);
        if (latencyMs !== undefined) env.PAYMENT_LATENCY_MS = String(latencyMs);
        if (declineRate !== undefined) env.PAYMENT_DECLINE_RATE = String(declineRate);
        if (errorRate !== undefined) env.PAYMENT_ERROR_RATE = String(errorRate);
        break;
      }
      // The checkout refuses tokens the gateway cannot take; it never sees the processor's key.
      case 'paymentTokens':
        env.PAYMENT_GATEWAY = settings.paymentGateway;
        break;
      // The buyer page: which card form to serve, and for Stripe the publishable key (public by
      // design, so a plain value; settings.ts refused anything but pk_live_/pk_test_).
      case 'page':
        env.PAYMENT_GATEWAY = settings.paymentGateway;
        if (settings.stripePublishableKey) env.STRIPE_PUBLISHABLE_KEY = settings.stripePublishableKey;
        break;
      // A CloudFormation dynamic reference: resolved at deploy, so the key never sits in the
      // template (it does show in the function's configuration; docs/DEPLOY.md).
      case 'signing':
        env.TOKEN_SIGNING_KEY = props.signingSecret.secretValue.unsafeUnwrap();
        break;
      case 'public':
        env.PUBLIC_MAX_AGE_SECONDS = String(settings.publicMaxAgeSeconds);
        break;
      // checkout and reconcile: the config schema's defaults are the tuned values.
      case 'checkout':
      case 'reconcile':
        break;
    }
  }
  // Behind the Cognito authorizer a route reads the claims itself: only the admins' pool's
  // tokens make an admin (shared/http/route.ts identityOf), so guarded routes know its issuer.
  if (spec.http && spec.http.auth !== 'public' && props.jwt.admins)
    env.ADMIN_JWT_ISSUER = props.jwt.admins.issuer;
  // LocalStack Community has no Lambda authorizers: protected routes verify the bearer token
  // themselves against the dev issuer's public key (shared/http/route.ts, AUTH_MODE=verify).
  if (settings.target === 'localstack' && spec.http && spec.http.auth !== 'public') {
    env.AUTH_MODE = 'verify';
    env.JWT_ISSUER = DEV_ISSUER;
    env.JWKS_JSON = settings.devJwks ?? '';
    if (props.jwt.audience) env.JWT_AUDIENCE = props.jwt.audience;
    if (props.jwt.adminClaim) env.JWT_ADMIN_CLAIM = props.jwt.adminClaim;
  }
  assertEnvironmentComplete(key, env);
  return env;
}

/**
 * Fails synthesis when the environment would not pass the function's own config schema
 * (shared/config.ts): a missing or malformed variable would otherwise kill it at cold start.
 * Deploy-time values (table names, ARNs) are tokens here; they stand in as a placeholder URL.
 */
export function assertEnvironmentComplete(key: FunctionKey, env: Record<string, string>): void {
  const probe = Object.fromEntries(
    Object.entries(env).map(([name, value]) => [name, Token.isUnresolved(value) ? UNRESOLVED : value]),
  );
  const result = envSchemaFor(key).safeParse(probe);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Function ${key} would not start with this environment:\n  ${problems.join('\n  ')}`);
  }
}

/** Stands in for a value only known at deploy time; valid both as a name and as a URL. */
export const UNRESOLVED = 'https://unresolved.invalid/deploy-time-value';

/**
 * Throws at synth when a queue's visibility timeout is under six times a consumer's timeout
 * (a slow batch would reappear while still being processed), or when a consumer's batch or
 * concurrency is outside what Lambda's SQS FIFO event source accepts.
 */
export function assertQueuesFitConsumers(
  specs: Record<string, FunctionSpec>,
  queueSpecs: Record<QueueKey, QueueSpec>,
): void {
  for (const [key, spec] of Object.entries(specs)) {
    if (!spec.consumes) continue;
    const { queue, batchSize, maxConcurrency } = spec.consumes;
    const queueSpec = queueSpecs[queue];
    const needed = VISIBILITY_TIMEOUT_FACTOR * spec.timeoutSeconds;
    if (queueSpec.visibilityTimeoutSeconds < needed) {
      throw new Error(
        `Queue ${queue} has visibilityTimeoutSeconds ${queueSpec.visibilityTimeoutSeconds} but its consumer ${key} ` +
          `has timeoutSeconds ${spec.timeoutSeconds}; it needs at least ${needed} (${VISIBILITY_TIMEOUT_FACTOR}x).`,
      );
    }
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_FIFO_BATCH) {
      throw new Error(
        `Consumer ${key}: batchSize ${batchSize} must be 1..${MAX_FIFO_BATCH} for a FIFO queue`,
      );
    }
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000) {
      throw new Error(`Consumer ${key}: maxConcurrency ${maxConcurrency} must be 2..1000`);
    }
    // The payments queue's retries end inside the payment clock, so the consumer (not the DLQ)
    // ends an order whose payment never succeeds.
    const retrySpan =
      (queueSpec.maxReceiveCount - 1) * queueSpec.visibilityTimeoutSeconds + spec.timeoutSeconds;
    if (spec.env?.includes('payment') && retrySpan > PAYMENT_RETRY_SECONDS_DEFAULT) {
      throw new Error(
        `Queue ${queue}: ${queueSpec.maxReceiveCount} receives ${queueSpec.visibilityTimeoutSeconds} s apart end ` +
          `${retrySpan} s after the first, past PAYMENT_RETRY_SECONDS (${PAYMENT_RETRY_SECONDS_DEFAULT} s).`,
      );
    }
  }
}

/** Copies a function's `assets` (wiring table) into its bundle directory, where `readAsset` finds them. */
function assetHooks(assets: string[] | undefined): Pick<BundlingOptions, 'commandHooks'> {
  if (!assets?.length) return {};
  return {
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (inputDir, outputDir) =>
        assets.map(
          (asset) => `cp "${path.join(inputDir, asset)}" "${path.join(outputDir, path.basename(asset))}"`,
        ),
    },
  };
}
