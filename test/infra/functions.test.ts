import { beforeAll, describe, expect, it } from 'vitest';
import { deployedFunctions } from '../../infra/deployed.ts';
import { environmentFor, UNRESOLVED } from '../../infra/functions.ts';
import { loadConfig } from '../../shared/config.ts';
import {
  type FunctionKey,
  functionSpecs,
  queues,
  type TableKey,
  tables,
  topics,
} from '../../shared/wiring.ts';
import { type Json, logicalId, mentions, props, type Synthesized, synth } from './support.ts';

/** What the default stack deploys: every wiring function but the TOKEN authorizer (Cognito's own authorizer). */
const fnEntries = deployedFunctions({ target: 'aws' });

let s: Synthesized;

beforeAll(() => {
  s = synth();
});

function fnProps(target: Synthesized, key: FunctionKey): Json {
  return props(
    target.stateless.toJSON().Resources[logicalId(target.built.stateless.functions.get(key))] as Json,
  );
}

function envOf(target: Synthesized, key: FunctionKey): Record<string, unknown> {
  return ((fnProps(target, key).Environment as Json | undefined)?.Variables ?? {}) as Record<string, unknown>;
}

describe('functions', () => {
  it('creates one function per wiring entry', () => {
    s.stateless.resourceCountIs('AWS::Lambda::Function', fnEntries.length);
  });

  it.each(fnEntries)(
    '%s: nodejs22.x on arm64, ESM handler, X-Ray, timeout and memory from the wiring',
    (key, spec) => {
      expect(fnProps(s, key)).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        Timeout: spec.timeoutSeconds,
        MemorySize: spec.memoryMb,
      });
    },
  );

  it.each(fnEntries)('%s: writes to its own log group with a retention', (key) => {
    const p = fnProps(s, key);
    const logGroup = s.built.stateless.functions.logGroups[key] as NonNullable<
      typeof s.built.stateless.functions.logGroups.placeOrder
    >;
    expect(mentions(p.LoggingConfig, logicalId(logGroup))).toBe(true);
    const resource = s.stateless.toJSON().Resources[logicalId(logGroup)] as Json;
    expect(props(resource).RetentionInDays).toBe(7);
  });

  it.each(fnEntries)(
    '%s: has Powertools settings, source maps and exactly the resource env its access implies',
    (key, spec) => {
      const env = envOf(s, key);
      expect(env).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'flash-sale',
        POWERTOOLS_METRICS_NAMESPACE: 'FlashSale',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      });
      const expected = new Set<string>([
        ...Object.keys(spec.access.tables ?? {}).map((t) => tables[t as TableKey].envVar),
        ...(spec.access.sendTo ?? []).map((q) => queues[q].envVar),
        ...(spec.access.publishTo ?? []).map((t) => topics[t].envVar),
      ]);
      const resourceVars = Object.keys(env).filter((name) => /_(TABLE|QUEUE_URL|TOPIC_ARN)$/.test(name));
      expect(new Set(resourceVars)).toEqual(expected);
      // Table names, queue URLs and topic ARNs come from the stateful stack.
      for (const name of resourceVars) expect(mentions(env[name], 'Fn::ImportValue')).toBe(true);
    },
  );

  it.each(fnEntries)('%s: its config loads from the environment the app sets (shared/config.ts)', (key) => {
    const env = Object.fromEntries(
      Object.entries(envOf(s, key)).map(([name, value]) => [
        name,
        typeof value === 'string' ? value : UNRESOLVED,
      ]),
    );
    expect(() => loadConfig(key, env)).not.toThrow();
  });

  it("behind Cognito's own authorizer, no function carries token settings (routes read the checked claims)", () => {
    expect(s.built.stateless.functions.functions.authorizer).toBeUndefined();
    for (const [key] of fnEntries) {
      expect(envOf(s, key).JWT_ISSUER, key).toBeUndefined();
      expect(envOf(s, key).AUTH_MODE, key).toBeUndefined();
    }
  });

  it('gives the payment functions the simulated gateway, and the checkout and the page only its name', () => {
    for (const [key, spec] of fnEntries) {
      const env = envOf(s, key);
      if (
        spec.env?.includes('payment') ||
        spec.env?.includes('paymentTokens') ||
        spec.env?.includes('page')
      ) {
        expect(env.PAYMENT_GATEWAY).toBe('simulated');
        expect(env.PAYMENT_DECLINE_RATE).toBeUndefined();
      } else {
        expect(env.PAYMENT_GATEWAY).toBeUndefined();
      }
      expect(env.STRIPE_SECRET_KEY).toBeUndefined();
      expect(env.STRIPE_PUBLISHABLE_KEY).toBeUndefined();
    }
  });

  it('ships the bundled ESM output with a source map (asset metadata)', () => {
    const fn = s.built.stateless.functions.get('placeOrder');
    expect(fn.runtime.name).toBe('nodejs22.x');
    // NodejsFunction names the ESM bundle index.mjs, so `index.handler` resolves to it.
    expect(fnProps(s, 'placeOrder').Handler).toBe('index.handler');
  });
});

describe('the signing key (env group signing)', () => {
  it('is a generated Secrets Manager secret in the stateful stack', () => {
    s.stateful.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
    });
  });

  it.each(fnEntries)('%s: TOKEN_SIGNING_KEY exactly when its wiring env includes signing', (key, spec) => {
    const env = envOf(s, key);
    if (spec.env?.includes('signing'))
      expect(JSON.stringify(env.TOKEN_SIGNING_KEY)).toContain('{{resolve:secretsmanager:');
    else expect(env.TOKEN_SIGNING_KEY).toBeUndefined();
  });

  it('passes the secret as a CloudFormation dynamic reference, never its value', () => {
    const { stateful, stateless } = s.built;
    const fnsProps = {
      settings: s.built.settings,
      tables: stateful.tables,
      queues: stateful.queues,
      topics: stateful.topics,
      jwt: stateful.jwt,
      signingSecret: stateful.signingSecret,
    };
    const env = environmentFor('listMyOrders', { ...functionSpecs.listMyOrders, env: ['signing'] }, fnsProps);
    const resolved = stateless.resolve(env.TOKEN_SIGNING_KEY);
    const text = JSON.stringify(resolved);
    expect(text).toContain('{{resolve:secretsmanager:');
    expect(text).toContain('SecretString');
    expect(text).toContain(logicalId(stateful.signingSecret));
  });
});

describe('context overrides', () => {
  let other: Synthesized;
  beforeAll(() => {
    other = synth({
      context: {
        jwtIssuer: 'https://issuer.example.com/',
        jwtAudience: 'flash-sale-api',
        jwtAdminClaim: 'groups',
        paymentDeclineRate: '0.2',
        paymentLatencyMs: '150',
        logLevel: 'warn',
        lambdaArchitecture: 'x86_64',
      },
    });
  });

  it('points the authorizer at another OIDC issuer, deriving its JWKS URL', () => {
    expect(envOf(other, 'authorizer')).toMatchObject({
      JWT_ISSUER: 'https://issuer.example.com/',
      JWKS_URL: 'https://issuer.example.com/.well-known/jwks.json',
      JWT_AUDIENCE: 'flash-sale-api',
      JWT_ADMIN_CLAIM: 'groups',
    });
    // Not Cognito: no token_use / client_id check.
    expect(envOf(other, 'authorizer').JWT_TOKEN_USE).toBeUndefined();
    expect(envOf(other, 'authorizer').JWT_CLIENT_ID).toBeUndefined();
  });

  it('passes payment simulation knobs, log level and architecture through', () => {
    for (const [key, spec] of fnEntries) {
      const env = envOf(other, key);
      expect(env.POWERTOOLS_LOG_LEVEL).toBe('WARN');
      expect(fnProps(other, key).Architectures).toEqual(['x86_64']);
      if (spec.env?.includes('payment')) {
        expect(env).toMatchObject({ PAYMENT_DECLINE_RATE: '0.2', PAYMENT_LATENCY_MS: '150' });
        const probe = Object.fromEntries(
          Object.entries(env).map(([name, value]) => [name, typeof value === 'string' ? value : UNRESOLVED]),
        );
        expect(loadConfig(key, probe).payment).toMatchObject({
          PAYMENT_DECLINE_RATE: 0.2,
          PAYMENT_LATENCY_MS: 150,
        });
      }
    }
  });

  it('rejects malformed context at synth', () => {
    expect(() => synth({ context: { paymentDeclineRate: '2' } })).toThrow(/paymentDeclineRate/);
    expect(() => synth({ context: { jwksUrl: 'https://x.example/jwks' } })).toThrow(/jwtIssuer/);
    expect(() => synth({ context: { stage: 'Prod!' } })).toThrow(/stage/);
    // Issue 18: another issuer without an audience would accept its tokens for any application.
    expect(() => synth({ context: { jwtIssuer: 'https://issuer.example.com/' } })).toThrow(
      /jwtIssuer needs jwtAudience/,
    );
  });
});
