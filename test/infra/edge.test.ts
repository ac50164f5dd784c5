import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { EDGE_MAX_TTL_SECONDS, PRIVATE_UNDER_SALES, PUBLIC_DOCUMENT_PATHS } from '../../infra/edge.ts';
import { type FunctionKey, type FunctionSpec, functionSpecs } from '../../shared/wiring.ts';
import {
  type Json,
  logicalId,
  mentions,
  props,
  resourcesOfType,
  type Synthesized,
  synth,
} from './support.ts';

let cloud: Synthesized;

beforeAll(() => {
  cloud = synth({ context: { accountConcurrency: '1000' } });
});

function distributionConfig(s: Synthesized): Json {
  const [distribution] = Object.values(resourcesOfType(s.stateless, 'AWS::CloudFront::Distribution'));
  return props(distribution as Json).DistributionConfig as Json;
}

function cachePolicy(s: Synthesized, ref: unknown): Json {
  const id = (ref as { Ref: string }).Ref;
  return props(s.stateless.toJSON().Resources[id] as Json).CachePolicyConfig as Json;
}

describe('the edge: CloudFront in front of the API (aws target)', () => {
  it('serves the page and the API from one origin: the REST API stage, over HTTPS', () => {
    const config = distributionConfig(cloud);
    const origins = config.Origins as Json[];
    expect(origins).toHaveLength(1);
    // RestApiOrigin: the API's execute-api host, origin path the stage (`/v1`) from its URL.
    expect(mentions(origins[0]?.DomainName, logicalId(cloud.built.stateless.api.api))).toBe(true);
    expect(JSON.stringify(origins[0]?.OriginPath)).toContain('"Fn::Select":[3');
    const defaults = config.DefaultCacheBehavior as Json;
    expect(defaults.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(defaults.AllowedMethods).toEqual(expect.arrayContaining(['POST', 'PATCH', 'DELETE']));
    cloud.stateless.hasOutput('EdgeUrl', Match.anyValue());
  });

  it('caches the public documents for their max-age, and a token never shares an entry', () => {
    const behaviours = distributionConfig(cloud).CacheBehaviors as Json[];
    expect(behaviours.map((b) => b.PathPattern)).toEqual([
      PUBLIC_DOCUMENT_PATHS[0],
      PRIVATE_UNDER_SALES,
      PUBLIC_DOCUMENT_PATHS[1],
    ]);
    for (const path of PUBLIC_DOCUMENT_PATHS) {
      const behaviour = behaviours.find((b) => b.PathPattern === path) as Json;
      const policy = cachePolicy(cloud, behaviour.CachePolicyId);
      // TTL 0 by default and up to EDGE_MAX_TTL: the origin's `public, max-age=N` decides.
      expect(policy).toMatchObject({ DefaultTTL: 0, MinTTL: 0, MaxTTL: EDGE_MAX_TTL_SECONDS });
      const key = policy.ParametersInCacheKeyAndForwardedToOrigin as Json;
      expect(key.HeadersConfig).toEqual({
        HeaderBehavior: 'whitelist',
        Headers: ['Authorization', 'Origin'],
      });
      expect((key.QueryStringsConfig as Json).QueryStringBehavior).toBe('none');
    }
  });

  it('caches nothing else: orders, queue status, the page route and every write pass through with Authorization', () => {
    const config = distributionConfig(cloud);
    const passing = [
      config.DefaultCacheBehavior as Json,
      (config.CacheBehaviors as Json[]).find((b) => b.PathPattern === PRIVATE_UNDER_SALES) as Json,
    ];
    for (const behaviour of passing) {
      const policy = cachePolicy(cloud, behaviour.CachePolicyId);
      expect(policy.DefaultTTL).toBe(0);
      expect(policy.MinTTL).toBe(0);
      expect(Number(policy.MaxTTL)).toBeLessThanOrEqual(1);
      const key = policy.ParametersInCacheKeyAndForwardedToOrigin as Json;
      expect(key.HeadersConfig).toEqual({
        HeaderBehavior: 'whitelist',
        Headers: ['Authorization', 'Origin'],
      });
      expect((key.QueryStringsConfig as Json).QueryStringBehavior).toBe('all');
      // Every other viewer header (Idempotency-Key, Admission-Token, Queue-Ticket) reaches the API.
      expect(behaviour.OriginRequestPolicyId).toBe('b689b0a8-53d0-40ab-baf2-68738e2966ac');
    }
  });

  it('tells the public document routes their max-age (-c publicMaxAge, default 1 s)', () => {
    for (const key of ['getSale', 'getRoom'] as const) {
      const fn = props(
        cloud.stateless.toJSON().Resources[logicalId(cloud.built.stateless.functions.get(key))] as Json,
      );
      expect(((fn.Environment as Json).Variables as Json).PUBLIC_MAX_AGE_SECONDS, key).toBe('1');
    }
  });

  it('is off for LocalStack and with -c edge=false', () => {
    const off = synth({ context: { edge: 'false' } });
    expect(Object.keys(resourcesOfType(off.stateless, 'AWS::CloudFront::Distribution'))).toEqual([]);
    expect(off.built.settings.edge).toBe(false);
  });
});

describe("routes behind API Gateway's own Cognito authorizer (the default issuer)", () => {
  const routes = (Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]).filter(
    ([, spec]) => spec.http,
  );

  it('has one COGNITO_USER_POOLS authorizer on the stack user pool and no TOKEN authorizer function', () => {
    const authorizers = Object.values(resourcesOfType(cloud.stateless, 'AWS::ApiGateway::Authorizer'));
    expect(authorizers).toHaveLength(1);
    expect(props(authorizers[0] as Json)).toMatchObject({
      Type: 'COGNITO_USER_POOLS',
      IdentitySource: 'method.request.header.Authorization',
    });
    expect(JSON.stringify(props(authorizers[0] as Json).ProviderARNs)).toContain('UserPool');
    expect(cloud.built.stateless.functions.functions.authorizer).toBeUndefined();
  });

  it.each(routes)('%s: guarded by it unless public', (key, spec) => {
    const method = cloud.built.stateless.api.methods[key];
    if (!method) throw new Error(`no method for ${key}`);
    const p = props(cloud.stateless.toJSON().Resources[logicalId(method)] as Json);
    if (spec.http?.auth === 'public') expect(p.AuthorizationType).toBe('NONE');
    else {
      expect(p.AuthorizationType).toBe('COGNITO_USER_POOLS');
      expect(p.AuthorizerId).toBeDefined();
    }
  });

  it('keeps the TOKEN authorizer function for another OIDC issuer', () => {
    const oidc = synth({
      context: { jwtIssuer: 'https://issuer.example.com', jwtAudience: 'flash-sale-api', edge: 'false' },
    });
    const authorizers = Object.values(resourcesOfType(oidc.stateless, 'AWS::ApiGateway::Authorizer'));
    expect(authorizers.map((a) => props(a).Type)).toEqual(['TOKEN']);
    expect(oidc.built.stateless.functions.functions.authorizer).toBeDefined();
  });
});
