import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { gatewayResponses } from '../../infra/api.ts';
import { AUTHORIZER_FUNCTION } from '../../infra/stateless-stack.ts';
import { apiThrottle, type FunctionKey, type FunctionSpec, functionSpecs } from '../../shared/wiring.ts';
import {
  type Json,
  logicalId,
  mentions,
  props,
  resourcesOfType,
  type Synthesized,
  synth,
} from './support.ts';

const routes = (Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]).flatMap(([key, spec]) =>
  spec.http ? [{ key, ...spec.http }] : [],
);

let s: Synthesized;
/** Full path of every API Gateway resource, rebuilt from the template's ParentId chain. */
let pathOf: Map<string, string>;
let methods: Json[];

beforeAll(() => {
  s = synth();
  const apiId = logicalId(s.built.stateless.api.api);
  const resources = resourcesOfType(s.stateless, 'AWS::ApiGateway::Resource');
  // The root resource (`GET /`, the buyer page) is the API's own RootResourceId.
  pathOf = new Map([[apiId, '/']]);
  const resolve = (id: string): string => {
    const known = pathOf.get(id);
    if (known !== undefined) return known;
    const p = props(resources[id] as Json);
    const parent = p.ParentId as Json;
    const parentPath =
      mentions(parent, 'RootResourceId') && mentions(parent, apiId) ? '' : resolve(ref(parent));
    const full = `${parentPath}/${p.PathPart as string}`;
    pathOf.set(id, full);
    return full;
  };
  for (const id of Object.keys(resources)) resolve(id);
  methods = Object.values(resourcesOfType(s.stateless, 'AWS::ApiGateway::Method'));
});

function ref(value: Json): string {
  return (value.Ref ?? (value['Fn::GetAtt'] as string[])[0]) as string;
}

function methodFor(method: string, path: string): Json | undefined {
  return methods.find((m) => {
    const p = props(m);
    return p.HttpMethod === method && pathOf.get(ref(p.ResourceId as Json)) === path;
  });
}

describe('REST API routes', () => {
  it('has one Lambda proxy method per wiring route, plus CORS preflight only', () => {
    const nonOptions = methods.filter((m) => props(m).HttpMethod !== 'OPTIONS');
    expect(nonOptions).toHaveLength(routes.length);
    expect(routes.length).toBeGreaterThan(0);
  });

  it.each(routes)('$method $path → $key with auth $auth', ({ key, method, path, auth }) => {
    const found = methodFor(method, path);
    expect(found, `${method} ${path} missing`).toBeDefined();
    const p = props(found as Json);
    const integration = p.Integration as Json;
    expect(integration.Type).toBe('AWS_PROXY');
    expect(integration.IntegrationHttpMethod).toBe('POST');
    expect(mentions(integration.Uri, logicalId(s.built.stateless.functions.functions[key]))).toBe(true);
    if (auth === 'public') {
      expect(p.AuthorizationType).toBe('NONE');
      expect(p.AuthorizerId).toBeUndefined();
    } else {
      expect(p.AuthorizationType).toBe('CUSTOM');
      expect(p.AuthorizerId).toEqual({ Ref: logicalId(s.built.stateless.api.authorizer) });
    }
  });

  it('answers CORS preflight on every route path without auth', () => {
    for (const route of routes) {
      const options = methodFor('OPTIONS', route.path);
      expect(options, `OPTIONS ${route.path}`).toBeDefined();
      expect(props(options as Json).AuthorizationType).toBe('NONE');
      const headers = JSON.stringify(props(options as Json).Integration);
      expect(headers).toContain('Idempotency-Key');
    }
  });

  it('lets API Gateway invoke each route function (and the authorizer)', () => {
    for (const key of [...routes.map((r) => r.key), AUTHORIZER_FUNCTION]) {
      s.stateless.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [logicalId(s.built.stateless.functions.functions[key]), 'Arn'] },
      });
    }
  });
});

describe('authorizer', () => {
  it('is a TOKEN authorizer on the Authorization header, cached 300 s, backed by the authorizer function', () => {
    s.stateless.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
    s.stateless.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 300,
    });
    const authorizer = Object.values(resourcesOfType(s.stateless, 'AWS::ApiGateway::Authorizer'))[0] as Json;
    expect(
      mentions(props(authorizer).AuthorizerUri, logicalId(s.built.stateless.functions.functions.authorizer)),
    ).toBe(true);
  });
});

describe('stage', () => {
  it('throttles the stage and, tighter, the checkout method; logs errors; emits per-method metrics', () => {
    const placeOrder = functionSpecs.placeOrder.http;
    s.stateless.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: apiThrottle.stage.rateLimit,
          ThrottlingBurstLimit: apiThrottle.stage.burstLimit,
          LoggingLevel: 'ERROR',
          MetricsEnabled: true,
        }),
        Match.objectLike({
          HttpMethod: placeOrder?.method,
          ResourcePath: '/~1sales~1{saleId}~1orders',
          ThrottlingRateLimit: apiThrottle.methods.placeOrder.rateLimit,
          ThrottlingBurstLimit: apiThrottle.methods.placeOrder.burstLimit,
          MetricsEnabled: true,
          LoggingLevel: 'ERROR',
        }),
      ]),
    });
    expect(apiThrottle.methods.placeOrder.rateLimit).toBeLessThan(apiThrottle.stage.rateLimit);
  });

  it('writes JSON access logs to its own log group', () => {
    const stage = Object.values(resourcesOfType(s.stateless, 'AWS::ApiGateway::Stage'))[0] as Json;
    const setting = props(stage).AccessLogSetting as Json;
    expect(mentions(setting.DestinationArn, logicalId(s.built.stateless.api.accessLogs))).toBe(true);
    const format = JSON.parse(setting.Format as string) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      resourcePath: '$context.resourcePath',
      integrationLatency: '$context.integrationLatency',
      authorizerError: '$context.authorizer.error',
    });
    s.stateless.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  it('has a usage plan on the stage with the stage and checkout-method throttles', () => {
    s.stateless.resourceCountIs('AWS::ApiGateway::UsagePlan', 1);
    s.stateless.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: apiThrottle.stage.rateLimit, BurstLimit: apiThrottle.stage.burstLimit },
      ApiStages: [
        Match.objectLike({
          ApiId: { Ref: logicalId(s.built.stateless.api.api) },
          Throttle: {
            '/sales/{saleId}/orders/POST': {
              RateLimit: apiThrottle.methods.placeOrder.rateLimit,
              BurstLimit: apiThrottle.methods.placeOrder.burstLimit,
            },
          },
        }),
      ],
    });
  });

  it('has the account-level CloudWatch role API Gateway needs for execution logs', () => {
    s.stateless.resourceCountIs('AWS::ApiGateway::Account', 1);
  });
});

describe('gateway responses', () => {
  it.each([
    ['UNAUTHORIZED', '401', 'UNAUTHORIZED'],
    ['ACCESS_DENIED', '403', 'FORBIDDEN'],
    ['MISSING_AUTHENTICATION_TOKEN', '404', 'NOT_FOUND'],
    ['THROTTLED', '429', 'RETRY'],
    // The defaults keep API Gateway's own status code.
    ['DEFAULT_4XX', undefined, 'VALIDATION_ERROR'],
    ['DEFAULT_5XX', undefined, 'INTERNAL'],
  ])('%s answers status %s with the contract error shape (%s)', (type, status, code) => {
    const response = Object.values(resourcesOfType(s.stateless, 'AWS::ApiGateway::GatewayResponse')).find(
      (r) => props(r).ResponseType === type,
    );
    expect(response, type).toBeDefined();
    const p = props(response as Json);
    expect(p.StatusCode).toBe(status);
    const template = (p.ResponseTemplates as Record<string, string>)['application/json'] as string;
    // API Gateway substitutes $context.error.messageString with a JSON string literal.
    const body = JSON.parse(template.replace('$context.error.messageString', '"substituted"'));
    expect(body).toEqual({ error: { code, message: expect.any(String) } });
    expect(
      (p.ResponseParameters as Record<string, string>)['gatewayresponse.header.Access-Control-Allow-Origin'],
    ).toBe("'*'");
  });

  it('defines one gateway response per configured type', () => {
    s.stateless.resourceCountIs('AWS::ApiGateway::GatewayResponse', gatewayResponses.length);
  });

  it('tells throttled callers when to retry', () => {
    s.stateless.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Retry-After': "'1'" }),
    });
  });
});

describe('outputs', () => {
  it('exports the API URL, user pool id and client id', () => {
    s.stateless.hasOutput('ApiUrl', {});
    s.stateful.hasOutput('UserPoolId', { Value: { Ref: logicalId(s.built.stateful.userPool) } });
    s.stateful.hasOutput('UserPoolClientId', { Value: { Ref: logicalId(s.built.stateful.userPoolClient) } });
  });
});
