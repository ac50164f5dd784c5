import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDevJwks } from '../../infra/dev-jwks.ts';
import { wafDefaults } from '../../infra/settings.ts';
import { ADMIN_GROUP } from '../../infra/stateful-stack.ts';
import { RATE_LIMITED_ROUTES, routeRegex, WAF_RETRY_AFTER_SECONDS, wafBlockedBody } from '../../infra/waf.ts';
import { type FunctionKey, functionSpecs } from '../../shared/wiring.ts';
import {
  type Json,
  logicalId,
  mentions,
  props,
  resourcesOfType,
  type Synthesized,
  synth,
} from './support.ts';

/**
 * Issue 18: what a production deploy gets without asking, and how each default is turned off.
 * Through CDK context, as `cdk deploy -c stage=prod` passes it.
 */
let prod: Synthesized;
let dev: Synthesized;

/** What `cdk deploy -c stage=prod` needs at the least: real money through Stripe. */
const PROD = { stage: 'prod', paymentGateway: 'stripe', stripePublishableKey: 'pk_live_example' };

beforeAll(() => {
  prod = synth({ context: PROD });
  dev = synth();
});

const webAcls = (s: Synthesized) => Object.values(resourcesOfType(s.stateless, 'AWS::WAFv2::WebACL'));
const rulesOf = (s: Synthesized) => props(webAcls(s)[0] as Json).Rules as Json[];
const pools = (s: Synthesized) => Object.values(resourcesOfType(s.stateful, 'AWS::Cognito::UserPool'));
const envOf = (s: Synthesized, key: FunctionKey) =>
  ((
    props(s.stateless.toJSON().Resources[logicalId(s.built.stateless.functions.get(key))] as Json)
      .Environment as Json
  ).Variables ?? {}) as Record<string, unknown>;

describe('prod: a WAF web ACL on the API stage', () => {
  it('is regional, attached to the stage, with per-IP rate rules on checkout and join', () => {
    expect(webAcls(prod)).toHaveLength(1);
    prod.stateless.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
    });
    const association = Object.values(
      resourcesOfType(prod.stateless, 'AWS::WAFv2::WebACLAssociation'),
    )[0] as Json;
    expect(
      mentions(props(association).ResourceArn, logicalId(prod.built.stateless.api.api.deploymentStage)),
    ).toBe(true);
    expect(mentions(props(association).WebACLArn, logicalId(prod.built.stateless.api.webAcl as never))).toBe(
      true,
    );

    const expected = [
      ['CheckoutPerIp', RATE_LIMITED_ROUTES.checkout, wafDefaults.checkoutPerMinute],
      ['JoinPerIp', RATE_LIMITED_ROUTES.join, wafDefaults.joinPerMinute],
    ] as const;
    const rules = rulesOf(prod);
    expect(rules.map((r) => r.Name)).toEqual(expected.map(([name]) => name));
    const bodies = props(webAcls(prod)[0] as Json).CustomResponseBodies as Json;
    expect(bodies.retry).toEqual({ ContentType: 'APPLICATION_JSON', Content: wafBlockedBody });
    expect(JSON.parse(wafBlockedBody)).toMatchObject({
      error: { code: 'RETRY', message: expect.any(String) },
    });
    for (const [name, fn, limit] of expected) {
      const http = functionSpecs[fn].http;
      const rule = rules.find((r) => r.Name === name) as Json;
      // Blocked as the contract's overload answer: 429 RETRY + Retry-After, from the ACL's body.
      expect(rule.Action).toEqual({
        Block: {
          CustomResponse: {
            ResponseCode: 429,
            CustomResponseBodyKey: 'retry',
            ResponseHeaders: [{ Name: 'Retry-After', Value: String(WAF_RETRY_AFTER_SECONDS) }],
          },
        },
      });
      const rate = (rule.Statement as Json).RateBasedStatement as Json;
      expect(rate).toMatchObject({ Limit: limit, EvaluationWindowSec: 60, AggregateKeyType: 'IP' });
      const [method, uri] = ((rate.ScopeDownStatement as Json).AndStatement as Json).Statements as Json[];
      expect((method as Json).ByteMatchStatement).toMatchObject({
        FieldToMatch: { Method: {} },
        PositionalConstraint: 'EXACTLY',
        SearchString: http?.method,
      });
      expect((uri as Json).RegexMatchStatement).toMatchObject({
        FieldToMatch: { UriPath: {} },
        RegexString: routeRegex(http?.path ?? ''),
      });
    }
  });

  it('matches the routes as a browser reaches them, behind the stage or a base path, and nothing else', () => {
    const checkout = new RegExp(routeRegex('/sales/{saleId}/orders'));
    for (const path of ['/v1/sales/drop-1/orders', '/sales/drop-1/orders', '/api/v1/sales/x/orders/'])
      expect(checkout.test(path), path).toBe(true);
    for (const path of [
      '/v1/sales/drop-1',
      '/v1/sales/a/b/orders',
      '/v1/sales/drop-1/orders/x',
      '/v1/me/orders',
    ])
      expect(checkout.test(path), path).toBe(false);
  });

  it('is dropped with -c waf=false; other stages have none unless -c waf=true; Bot Control is opt-in', () => {
    expect(
      webAcls(
        synth({
          context: {
            ...PROD,
            waf: 'false',
          },
        }),
      ),
    ).toHaveLength(0);
    expect(webAcls(dev)).toHaveLength(0);
    expect(rulesOf(prod).some((r) => r.Name === 'BotControl')).toBe(false);
    const bots = synth({ context: { waf: 'true', botControl: 'true', wafCheckoutPerMinute: '30' } });
    expect(webAcls(bots)).toHaveLength(1);
    const rules = rulesOf(bots);
    expect(rules.find((r) => r.Name === 'CheckoutPerIp')).toMatchObject({
      Statement: { RateBasedStatement: { Limit: 30 } },
    });
    expect(rules.find((r) => r.Name === 'BotControl')).toMatchObject({
      OverrideAction: { None: {} },
      Statement: {
        ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesBotControlRuleSet' },
      },
    });
    expect(() =>
      synth({
        context: {
          ...PROD,
          waf: 'false',
          botControl: 'true',
        },
      }),
    ).toThrow(/waf=false/);
    expect(() => synth({ context: { waf: 'maybe' } })).toThrow(/waf must be true or false/);
  });
});

describe('prod: Cognito', () => {
  it('lets nobody sign up by themselves unless -c selfSignUp=true', () => {
    for (const pool of pools(prod))
      expect((props(pool).AdminCreateUserConfig as Json).AllowAdminCreateUserOnly).toBe(true);
    const open = synth({
      context: {
        ...PROD,
        selfSignUp: 'true',
      },
    });
    const buyers = props(
      open.stateful.toJSON().Resources[logicalId(open.built.stateful.userPool as never)] as Json,
    );
    expect((buyers.AdminCreateUserConfig as Json).AllowAdminCreateUserOnly).toBe(false);
    // The admin pool never opens.
    const admins = props(
      open.stateful.toJSON().Resources[logicalId(open.built.stateful.adminPool as never)] as Json,
    );
    expect((admins.AdminCreateUserConfig as Json).AllowAdminCreateUserOnly).toBe(true);
  });

  it('puts admins in their own pool, where TOTP is required, and trusts only it for admin', () => {
    const { adminPool, adminPoolClient, userPool } = prod.built.stateful;
    const resources = prod.stateful.toJSON().Resources as Record<string, Json>;
    expect(props(resources[logicalId(adminPool as never)] as Json)).toMatchObject({
      MfaConfiguration: 'ON',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      DeletionProtection: 'ACTIVE',
    });
    expect(props(resources[logicalId(userPool as never)] as Json).MfaConfiguration).toBe('OPTIONAL');
    const group = Object.values(resourcesOfType(prod.stateful, 'AWS::Cognito::UserPoolGroup'));
    expect(group).toHaveLength(1);
    expect(props(group[0] as Json).GroupName).toBe(ADMIN_GROUP);
    expect(mentions(props(group[0] as Json).UserPoolId, logicalId(adminPool as never))).toBe(true);
    // API Gateway's Cognito authorizer accepts both pools; the routes trust only the admins' pool's
    // issuer for admin (the TOKEN authorizer function is deployed only for another OIDC issuer).
    const authorizer = Object.values(resourcesOfType(prod.stateless, 'AWS::ApiGateway::Authorizer'));
    expect(authorizer).toHaveLength(1);
    const providers = props(authorizer[0] as Json).ProviderARNs as unknown[];
    expect(providers).toHaveLength(2);
    expect(providers.some((arn) => mentions(arn, logicalId(adminPool as never)))).toBe(true);
    for (const key of ['createSale', 'updateSale', 'getOrder'] as const)
      expect(mentions(envOf(prod, key).ADMIN_JWT_ISSUER, logicalId(adminPool as never)), key).toBe(true);
    expect(adminPoolClient).toBeDefined();
  });

  it('offers no USER_PASSWORD_AUTH on any app client', () => {
    const clients = Object.values(resourcesOfType(prod.stateful, 'AWS::Cognito::UserPoolClient'));
    expect(clients).toHaveLength(2);
    for (const client of clients) {
      const flows = props(client).ExplicitAuthFlows as string[];
      expect(flows).not.toContain('ALLOW_USER_PASSWORD_AUTH');
      expect(flows).toEqual(
        expect.arrayContaining(['ALLOW_USER_SRP_AUTH', 'ALLOW_ADMIN_USER_PASSWORD_AUTH']),
      );
    }
    prod.stateful.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      ExplicitAuthFlows: Match.not(Match.arrayWith(['ALLOW_USER_PASSWORD_AUTH'])),
    });
  });

  it('has no admin pool when another issuer is trusted (its claims decide admins)', () => {
    const other = synth({
      context: {
        ...PROD,
        jwtIssuer: 'https://issuer.example.com/',
        jwtAudience: 'flash-sale-api',
      },
    });
    expect(other.built.stateful.adminPool).toBeUndefined();
    expect(envOf(other, 'authorizer').ADMIN_JWT_ISSUER).toBeUndefined();
  });
});

describe('the localstack target keeps what Community deploys', () => {
  let keyDir: string;
  let jwks: string;
  beforeAll(async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    keyDir = mkdtempSync(path.join(tmpdir(), 'flash-sale-dev-key-'));
    writeFileSync(
      path.join(keyDir, 'key.json'),
      JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'k', alg: 'RS256' }),
    );
    jwks = readDevJwks(path.join(keyDir, 'key.json'));
  });
  afterAll(() => rmSync(keyDir, { recursive: true, force: true }));

  it('skips WAFv2 and Cognito even for stage prod, and refuses an explicit waf=true', () => {
    const local = synth({
      context: {
        ...PROD,
        target: 'localstack',
        jwks,
      },
    });
    expect(webAcls(local)).toHaveLength(0);
    expect(pools(local)).toHaveLength(0);
    expect(() => synth({ context: { target: 'localstack', jwks, waf: 'true' } })).toThrow(/no WAFv2/);
  });
});
