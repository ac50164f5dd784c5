import { createHash } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { buyerPageHtml, pageScript } from '../../web/page.ts';
import { STRIPE_JS } from '../../web/payment.ts';
import { contentSecurityPolicy } from '../../web/policy.ts';

/** The policy as directive → sources. */
function directives(policy: string): Record<string, string[]> {
  return Object.fromEntries(
    policy.split(';').map((part) => {
      const [name = '', ...sources] = part.trim().split(/\s+/);
      return [name, sources];
    }),
  );
}

const hashOf = (script: string) => `'sha256-${createHash('sha256').update(script).digest('base64')}'`;
const inlineScriptOf = (html: string) => /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';

describe('the buyer page Content-Security-Policy', () => {
  it('stays strict for the simulator: its own inline script and same-origin calls, nothing of Stripe', () => {
    const policy = contentSecurityPolicy({ gateway: 'simulated' });
    expect(directives(policy)).toEqual({
      'default-src': ["'self'"],
      'script-src': [hashOf(pageScript)],
      'style-src': ["'unsafe-inline'"],
      'img-src': ['data:'],
      'connect-src': ["'self'"],
      'frame-ancestors': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'none'"],
    });
    expect(policy).not.toContain('stripe');
  });

  it("adds exactly Stripe.js's script, frames and API under Stripe, and nothing else", () => {
    const simulated = directives(contentSecurityPolicy({ gateway: 'simulated' }));
    const stripe = directives(contentSecurityPolicy({ gateway: 'stripe' }));
    expect(stripe['script-src']).toEqual([
      hashOf(pageScript),
      'https://js.stripe.com',
      'https://*.js.stripe.com',
    ]);
    expect(stripe['frame-src']).toEqual([
      'https://js.stripe.com',
      'https://*.js.stripe.com',
      'https://hooks.stripe.com',
    ]);
    expect(stripe['connect-src']).toEqual(["'self'", 'https://api.stripe.com']);
    // Every other directive is the simulator's, unchanged.
    const { 'script-src': _s, 'frame-src': _f, 'connect-src': _c, ...rest } = stripe;
    const { 'script-src': _s2, 'connect-src': _c2, ...simulatedRest } = simulated;
    expect(rest).toEqual(simulatedRest);
    // Stripe.js's URL is one the policy lets load.
    expect(new URL(STRIPE_JS).origin).toBe('https://js.stripe.com');
  });

  it('names the inline script the page really serves, for either gateway', () => {
    for (const settings of [
      { gateway: 'simulated' as const },
      { gateway: 'stripe' as const, stripePublishableKey: 'pk_test_abc' },
    ]) {
      const html = buyerPageHtml(settings);
      expect(inlineScriptOf(html)).toBe(pageScript);
      expect(directives(contentSecurityPolicy(settings))['script-src']?.[0]).toBe(
        hashOf(inlineScriptOf(html)),
      );
    }
  });

  it('tells the page its gateway, and the publishable key only under Stripe', () => {
    expect(buyerPageHtml({ gateway: 'simulated', stripePublishableKey: 'pk_test_abc' })).toContain(
      '<body data-gateway="simulated">',
    );
    expect(buyerPageHtml({ gateway: 'stripe', stripePublishableKey: 'pk_test_abc' })).toContain(
      '<body data-gateway="stripe" data-stripe-key="pk_test_abc">',
    );
  });
});

describe('the buyer page settings (checked at cold start)', () => {
  const base = { PAYMENT_GATEWAY: 'stripe' };

  it('require the publishable key under Stripe, saying what to set', () => {
    expect(() => loadConfig('buyerPage', base)).toThrow(
      /Invalid configuration for buyerPage; set these environment variables:\n {2}STRIPE_PUBLISHABLE_KEY: required: PAYMENT_GATEWAY=stripe/,
    );
    expect(() => loadConfig('buyerPage', {})).toThrow(/PAYMENT_GATEWAY/);
    expect(() => loadConfig('buyerPage', { PAYMENT_GATEWAY: 'paypal' })).toThrow(/PAYMENT_GATEWAY/);
  });

  it('refuse a secret or restricted key in its place (the page shows it to everyone)', () => {
    for (const wrong of ['sk_live_abc123', 'rk_test_abc123', 'pk_test_', 'pk_test_a"b'])
      expect(() => loadConfig('buyerPage', { ...base, STRIPE_PUBLISHABLE_KEY: wrong }), wrong).toThrow(
        /STRIPE_PUBLISHABLE_KEY: must be a Stripe publishable key \(pk_live_… or pk_test_…\)/,
      );
  });

  it('take a publishable key under Stripe, and need none for the simulator', () => {
    expect(loadConfig('buyerPage', { ...base, STRIPE_PUBLISHABLE_KEY: 'pk_live_51Abc' }).page).toEqual({
      PAYMENT_GATEWAY: 'stripe',
      STRIPE_PUBLISHABLE_KEY: 'pk_live_51Abc',
    });
    expect(loadConfig('buyerPage', { PAYMENT_GATEWAY: 'simulated' }).page.PAYMENT_GATEWAY).toBe('simulated');
  });
});

describe('the buyerPage function', () => {
  const context = {
    functionName: 'buyerPage',
    awsRequestId: 'r',
    getRemainingTimeInMillis: () => 1000,
  } as unknown as Context;
  const get = {
    httpMethod: 'GET',
    path: '/',
    resource: '/',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  } as APIGatewayProxyEvent;

  /** A cold start under this environment. */
  async function coldStart(env: Record<string, string>) {
    vi.resetModules();
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    return import('../../functions/api/buyer-page.ts');
  }
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('refuses to start under Stripe without a publishable key', async () => {
    await expect(coldStart({ PAYMENT_GATEWAY: 'stripe' })).rejects.toThrow(
      /STRIPE_PUBLISHABLE_KEY: required/,
    );
  });

  it('serves the Stripe page with its policy', async () => {
    const { handler } = await coldStart({ PAYMENT_GATEWAY: 'stripe', STRIPE_PUBLISHABLE_KEY: 'pk_test_abc' });
    const res = (await handler(get, context)) as APIGatewayProxyResult;
    expect(res.statusCode).toBe(200);
    expect(res.headers?.['Content-Security-Policy']).toBe(contentSecurityPolicy({ gateway: 'stripe' }));
    expect(res.body).toContain('data-stripe-key="pk_test_abc"');
  });
});
