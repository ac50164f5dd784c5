import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { BEARER_TOKEN_PATTERN, gatewayResponses } from '../../infra/api.ts';
import { AUTHORIZER_FUNCTION } from '../../infra/stateless-stack.ts';
import { GATEWAY_RETRY_AFTER_SECONDS } from '../../shared/http/gateway-refusals.ts';
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
  // Another OIDC issuer: the TOKEN authorizer path (Cognito's own authorizer: edge.test.ts).
  s = synth({
    context: {
      jwtIssuer: 'https://issuer.example.com',
      jwtAudience: 'flash-sale-api',
      accountConcurrency: '1000',
    },
  });
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
    // The `live` alias where there is one (provisioned concurrency lives there), else the function.
    const alias = s.built.stateless.functions.aliases[key];
    expect(
      mentions(integration.Uri, logicalId(alias ?? s.built.stateless.functions.get(key))),
      `${key} integration`,
    ).toBe(true);
    if (auth === 'public') {
      expect(p.AuthorizationType).toBe('NONE');
      expect(p.AuthorizerId).toBeUndefined();
    } else {
      expect(p.AuthorizationType).toBe('CUSTOM');
      expect(p.AuthorizerId).toEqual({ Ref: logicalId(s.built.stateless.api.authorizer as never) });
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
      const alias = s.built.stateless.functions.aliases[key];
      s.stateless.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        FunctionName: alias
          ? { Ref: logicalId(alias) }
          : { 'Fn::GetAtt': [logicalId(s.built.stateless.functions.get(key)), 'Arn'] },
      });
    }
  });
});

describe('authorizer', () => {
  it('is a TOKEN authorizer on the Authorization header, cached 300 s, backed by the authorizer alias', () => {
    s.stateless.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
    s.stateless.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
      IdentityValidationExpression: BEARER_TOKEN_PATTERN,
      AuthorizerResultTtlInSeconds: 300,
    });
    const authorizer = Object.values(resourcesOfType(s.stateless, 'AWS::ApiGateway::Authorizer'))[0] as Json;
    const alias = s.built.stateless.functions.aliases.authorizer;
    expect(alias).toBeDefined();
    expect(mentions(props(authorizer).AuthorizerUri, logicalId(alias as never))).toBe(true);
  });

  it('validates the bearer shape before invoking the authorizer', () => {
    const valid = new RegExp(BEARER_TOKEN_PATTERN);
    expect(valid.test('Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_')).toBe(true);
    for (const bad of ['eyJhbGciOi.x.y', 'Basic dXNlcjpwYXNz', 'Bearer ', 'Bearer a b', 'Bearer <script>']) {
      expect(valid.test(bad), bad).toBe(false);
    }
  });
});

describe('stage', () => {
  it('throttles each method by the stage default and the checkout by its own; logs errors; emits per-method metrics', () => {
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
    // Limits apply per method: the checkout leaves room under the account's 10,000 rps for the rest.
    expect(apiThrottle.methods.placeOrder.rateLimit).toBeLessThanOrEqual(8_000);
    expect(apiThrottle.stage.rateLimit).toBeLessThan(apiThrottle.methods.placeOrder.rateLimit);
  });

  it('raises the checkout method throttle with -c checkoutRateLimit / checkoutBurstLimit (for a raised account quota)', () => {
    const raised = synth({
      context: { accountConcurrency: '1000', checkoutRateLimit: '20000', checkoutBurstLimit: '10000' },
    });
    raised.stateless.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          ResourcePath: '/~1sales~1{saleId}~1orders',
          ThrottlingRateLimit: 20_000,
          ThrottlingBurstLimit: 10_000,
        }),
      ]),
    });
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

  it('has no usage plan (no method requires an API key, so it would limit nothing) and no WAF by default', () => {
    s.stateless.resourceCountIs('AWS::ApiGateway::UsagePlan', 0);
    s.stateless.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });

  it('adds a per-IP WAF rate rule on every request with -c wafRateLimit', () => {
    const waf = synth({ context: { wafRateLimit: '2000' } });
    waf.stateless.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: Match.arrayWith([
        Match.objectLike({
          Name: 'RatePerIp',
          Action: { Block: { CustomResponse: Match.objectLike({ ResponseCode: 429 }) } },
          Statement: { RateBasedStatement: { Limit: 2000, AggregateKeyType: 'IP' } },
        }),
      ]),
    });
    const association = Object.values(
      resourcesOfType(waf.stateless, 'AWS::WAFv2::WebACLAssociation'),
    )[0] as Json;
    expect(
      mentions(props(association).ResourceArn, logicalId(waf.built.stateless.api.api.deploymentStage)),
    ).toBe(true);
  });

  it('has the account-level CloudWatch role API Gateway needs for execution logs', () => {
    s.stateless.resourceCountIs('AWS::ApiGateway::Account', 1);
  });
});

describe('gateway responses', () => {
  const response = (type: string) => {
    const found = Object.values(resourcesOfType(s.stateless, 'AWS::ApiGateway::GatewayResponse')).find(
      (r) => props(r).ResponseType === type,
    );
    expect(found, type).toBeDefined();
    return props(found as Json);
  };

  it.each([
    ['UNAUTHORIZED', '401', 'UNAUTHORIZED'],
    ['ACCESS_DENIED', '403', 'FORBIDDEN'],
    ['MISSING_AUTHENTICATION_TOKEN', '404', 'NOT_FOUND'],
    // The default keeps API Gateway's own status code.
    ['DEFAULT_4XX', undefined, 'VALIDATION_ERROR'],
  ])('%s answers status %s with the contract error shape (%s)', (type, status, code) => {
    const p = response(type);
    expect(p.StatusCode).toBe(status);
    const template = (p.ResponseTemplates as Record<string, string>)['application/json'] as string;
    // API Gateway substitutes $context.error.messageString with a JSON string literal.
    const body = JSON.parse(template.replace('$context.error.messageString', '"substituted"'));
    expect(body).toEqual({ error: { code, message: expect.any(String) } });
    expect(
      (p.ResponseParameters as Record<string, string>)['gatewayresponse.header.Access-Control-Allow-Origin'],
    ).toBe("'*'");
  });

  // A throttled stage, a throttled or failing Lambda, a slow one and API Gateway's own 5xx all
  // reach the buyer as the contract's RETRY: 429 + Retry-After, never INTERNAL.
  it.each(['THROTTLED', 'INTEGRATION_FAILURE', 'INTEGRATION_TIMEOUT', 'DEFAULT_5XX'])(
    '%s answers 429 RETRY with Retry-After in the contract error shape',
    (type) => {
      const p = response(type);
      expect(p.StatusCode).toBe('429');
      const body = JSON.parse((p.ResponseTemplates as Record<string, string>)['application/json'] as string);
      expect(body).toEqual({ error: { code: 'RETRY', message: expect.stringContaining('Idempotency-Key') } });
      expect(p.ResponseParameters).toMatchObject({
        'gatewayresponse.header.Retry-After': `'${GATEWAY_RETRY_AFTER_SECONDS}'`,
        'gatewayresponse.header.Access-Control-Allow-Origin': "'*'",
      });
    },
  );

  it('never answers INTERNAL from API Gateway itself', () => {
    for (const r of Object.values(resourcesOfType(s.stateless, 'AWS::ApiGateway::GatewayResponse'))) {
      expect(JSON.stringify(props(r).ResponseTemplates)).not.toContain('INTERNAL');
    }
  });

  it('defines one gateway response per configured type', () => {
    s.stateless.resourceCountIs('AWS::ApiGateway::GatewayResponse', gatewayResponses.length);
  });
});

describe('outputs', () => {
  it('exports the API URL, user pool id and client id', () => {
    s.stateless.hasOutput('ApiUrl', {});
    s.stateful.hasOutput('UserPoolId', { Value: { Ref: logicalId(s.built.stateful.userPool as never) } });
    s.stateful.hasOutput('UserPoolClientId', {
      Value: { Ref: logicalId(s.built.stateful.userPoolClient as never) },
    });
  });
});
