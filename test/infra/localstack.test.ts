import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AwsSolutionsChecks } from 'cdk-nag';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDevJwks } from '../../infra/dev-jwks.ts';
import { DEV_ISSUER } from '../../shared/auth/dev-issuer.ts';
import { type FunctionKey, type FunctionSpec, functionSpecs, queues, tables } from '../../shared/wiring.ts';
import { type Json, logicalId, props, resourcesOfType, type Synthesized, synth } from './support.ts';

/**
 * CloudFormation resource types LocalStack Community deploys: the resource providers in its open
 * source tree (github.com/localstack/localstack, localstack-core/localstack/services/<service>/
 * resource_providers/, read Nov 2026), limited to the services this app uses. Types outside it
 * (Cognito, API Gateway authorizers, CloudWatch dashboards, log metric filters, WAF) are paid
 * features there and are skipped silently or fail the deploy.
 */
const LOCALSTACK_COMMUNITY_TYPES = new Set([
  'AWS::CDK::Metadata',
  'AWS::ApiGateway::Account',
  'AWS::ApiGateway::ApiKey',
  'AWS::ApiGateway::BasePathMapping',
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::DomainName',
  'AWS::ApiGateway::GatewayResponse',
  'AWS::ApiGateway::Method',
  'AWS::ApiGateway::Model',
  'AWS::ApiGateway::RequestValidator',
  'AWS::ApiGateway::Resource',
  'AWS::ApiGateway::RestApi',
  'AWS::ApiGateway::Stage',
  'AWS::ApiGateway::UsagePlan',
  'AWS::ApiGateway::UsagePlanKey',
  'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::CompositeAlarm',
  'AWS::DynamoDB::GlobalTable',
  'AWS::DynamoDB::Table',
  'AWS::Events::EventBus',
  'AWS::Events::Rule',
  'AWS::IAM::ManagedPolicy',
  'AWS::IAM::Policy',
  'AWS::IAM::Role',
  'AWS::Lambda::Alias',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::Lambda::EventSourceMapping',
  'AWS::Lambda::Function',
  'AWS::Lambda::Permission',
  'AWS::Lambda::Version',
  'AWS::Logs::LogGroup',
  'AWS::Logs::SubscriptionFilter',
  'AWS::SNS::Subscription',
  'AWS::SNS::Topic',
  'AWS::SNS::TopicPolicy',
  'AWS::SQS::Queue',
  'AWS::SQS::QueuePolicy',
  'AWS::SecretsManager::Secret',
]);

const routes = (Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]).filter(
  ([, spec]) => spec.http,
);

let jwks: string;
let keyDir: string;
let local: Synthesized;

beforeAll(async () => {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: 'dev-test', alg: 'RS256' };
  keyDir = mkdtempSync(path.join(tmpdir(), 'flash-sale-dev-key-'));
  writeFileSync(path.join(keyDir, 'dev-issuer-key.json'), JSON.stringify(privateJwk));
  jwks = readDevJwks(path.join(keyDir, 'dev-issuer-key.json'));
  local = synth({ context: { target: 'localstack', jwks } });
});

afterAll(() => {
  rmSync(keyDir, { recursive: true, force: true });
});

function types(s: Synthesized): string[] {
  return [s.stateful, s.stateless].flatMap((t) =>
    Object.values(t.toJSON().Resources as Record<string, Json>).map((r) => r.Type as string),
  );
}

function envOf(key: FunctionKey): Record<string, unknown> {
  const fn = local.stateless.toJSON().Resources[logicalId(local.built.stateless.functions.get(key))] as Json;
  return ((props(fn).Environment as Json | undefined)?.Variables ?? {}) as Record<string, unknown>;
}

describe('cdk synth -c target=localstack', () => {
  it('uses only resource types LocalStack Community deploys', () => {
    const outside = [...new Set(types(local))].filter((type) => !LOCALSTACK_COMMUNITY_TYPES.has(type));
    expect(outside).toEqual([]);
  });

  it('the cloud target does need more (so the check above can fail)', () => {
    const cloud = synth();
    const outside = new Set(types(cloud).filter((type) => !LOCALSTACK_COMMUNITY_TYPES.has(type)));
    expect([...outside]).toEqual(
      expect.arrayContaining([
        'AWS::Cognito::UserPool',
        'AWS::ApiGateway::Authorizer',
        'AWS::CloudWatch::Dashboard',
        'AWS::Logs::MetricFilter',
      ]),
    );
  });

  it('has no Lambda authorizer: every method is open to API Gateway, protected routes verify in-route', () => {
    local.stateless.resourceCountIs('AWS::ApiGateway::Authorizer', 0);
    for (const method of Object.values(resourcesOfType(local.stateless, 'AWS::ApiGateway::Method'))) {
      expect(props(method).AuthorizationType).toBe('NONE');
    }
  });

  it.each(routes)(
    '%s: verifies bearer tokens against the dev issuer when the route is protected',
    (key, spec) => {
      const env = envOf(key);
      if (spec.http?.auth === 'public') {
        expect(env.AUTH_MODE).toBeUndefined();
        expect(env.JWKS_JSON).toBeUndefined();
        return;
      }
      expect(env).toMatchObject({ AUTH_MODE: 'verify', JWT_ISSUER: DEV_ISSUER, JWKS_JSON: jwks });
      const keys = (JSON.parse(env.JWKS_JSON as string) as { keys: Record<string, unknown>[] }).keys;
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatchObject({ kty: 'RSA', kid: 'dev-test', alg: 'RS256', use: 'sig' });
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(keys[0]).not.toHaveProperty(secret);
    },
  );

  it('has no Cognito, no X-Ray and no dashboard', () => {
    expect(types(local).filter((type) => type.startsWith('AWS::Cognito::'))).toEqual([]);
    local.stateless.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    for (const fn of Object.values(resourcesOfType(local.stateless, 'AWS::Lambda::Function'))) {
      expect(props(fn).TracingConfig).toBeUndefined();
    }
    local.stateless.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: false });
    expect(JSON.stringify(resourcesOfType(local.stateless, 'AWS::IAM::Policy'))).not.toContain('xray:');
    expect(local.built.stateful.userPool).toBeUndefined();
  });

  it('keeps tables, FIFO queues with DLQs, event sources with partial batch failures, the schedule, SNS and alarms', () => {
    local.stateful.resourceCountIs('AWS::DynamoDB::Table', Object.keys(tables).length);
    local.stateful.resourceCountIs('AWS::SQS::Queue', Object.keys(queues).length * 2);
    for (const queue of Object.values(resourcesOfType(local.stateful, 'AWS::SQS::Queue'))) {
      expect(props(queue).FifoQueue).toBe(true);
    }
    const consumers = Object.values(functionSpecs).filter((spec) => spec.consumes).length;
    local.stateless.resourceCountIs('AWS::Lambda::EventSourceMapping', consumers);
    for (const mapping of Object.values(
      resourcesOfType(local.stateless, 'AWS::Lambda::EventSourceMapping'),
    )) {
      expect(props(mapping).FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    }
    local.stateless.resourceCountIs('AWS::Events::Rule', 1);
    expect(Object.keys(resourcesOfType(local.stateful, 'AWS::SNS::Topic')).length).toBeGreaterThanOrEqual(2);
    expect(Object.keys(resourcesOfType(local.stateless, 'AWS::CloudWatch::Alarm')).length).toBeGreaterThan(
      20,
    );
    local.stateful.resourceCountIs('AWS::SecretsManager::Secret', 1);
  });

  it('keeps the gateway responses (LocalStack keeps their status codes)', () => {
    local.stateless.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      StatusCode: '429',
    });
  });

  it('passes cdk-nag as `cdk synth` runs it', () => {
    const result = new AwsSolutionsChecks(local.app).validateScope(local.app);
    expect(result.violations.map((v) => v.ruleName)).toEqual([]);
  });
});

describe('the dev issuer key for the localstack target', () => {
  it('refuses a JWKS holding a private key', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const leaked = JSON.stringify({ keys: [await exportJWK(privateKey)] });
    expect(() => synth({ context: { target: 'localstack', jwks: leaked } })).toThrow(/private key member/);
  });

  it('says how to create the key file when it is missing', () => {
    expect(() => readDevJwks(path.join(keyDir, 'absent.json'))).toThrow(/npm run token/);
  });

  it('refuses an unknown target and an external issuer on the localstack target', () => {
    expect(() => synth({ context: { target: 'gcp' } })).toThrow(/target/);
    expect(() => synth({ context: { target: 'localstack', jwks, jwtIssuer: 'https://x.example/' } })).toThrow(
      /jwtIssuer/,
    );
  });
});
