import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build-app.ts';
import { loadConfig } from '../../shared/config.ts';
import { type FunctionKey, type FunctionSpec, functionSpecs } from '../../shared/wiring.ts';
import {
  cdkJsonContext,
  type Json,
  logicalId,
  props,
  type Synthesized,
  synth,
  tempOutdir,
} from './support.ts';

const fnEntries = Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][];

function envOf(target: Synthesized, key: FunctionKey): Record<string, unknown> {
  const fn = target.stateless.toJSON().Resources[
    logicalId(target.built.stateless.functions.get(key))
  ] as Json;
  return ((props(fn).Environment as Json | undefined)?.Variables ?? {}) as Record<string, unknown>;
}

/** Builds the app from context alone, as `cdk synth -c ...` does (no synth: the guard runs first). */
const build = (context: Record<string, unknown>) =>
  buildApp(
    new App({
      outdir: tempOutdir(),
      context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [], ...context },
    }),
  );

describe('no free goods in production', () => {
  it('refuses to synthesize prod with the simulated gateway, and says what to set', () => {
    expect(() => build({ stage: 'prod' })).toThrow(
      /simulated payment gateway.*-c paymentGateway=stripe.*-c allowSimulatedPayments=true/s,
    );
    expect(() =>
      build({ stage: 'prod', paymentGateway: 'simulated', allowSimulatedPayments: 'false' }),
    ).toThrow(/gives goods away/);
  });

  it('builds prod with the simulated gateway only when told to take no money', () => {
    const built = build({ stage: 'prod', allowSimulatedPayments: 'true' });
    expect(built.settings).toMatchObject({ paymentGateway: 'simulated', allowSimulatedPayments: true });
  });

  it('keeps the simulator as the default of other stages, and refuses unknown gateways or flags', () => {
    expect(build({}).settings.paymentGateway).toBe('simulated');
    expect(() => build({ paymentGateway: 'paypal' })).toThrow(
      /paymentGateway must be one of simulated, stripe/,
    );
    expect(() => build({ stage: 'prod', allowSimulatedPayments: 'yes' })).toThrow(/allowSimulatedPayments/);
  });
});

describe('-c paymentGateway=stripe (prod)', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synth({
      context: { stage: 'prod', paymentGateway: 'stripe', stripePublishableKey: 'pk_live_example' },
    });
  });

  it('gives the payment functions the Stripe key as a deploy-time reference to the stage secret', () => {
    const paying = fnEntries.filter(([, spec]) => spec.env?.includes('payment'));
    expect(paying.map(([key]) => key).sort()).toEqual(['processPayment', 'reconcile']);
    for (const [key] of paying) {
      const env = envOf(s, key);
      expect(env.PAYMENT_GATEWAY).toBe('stripe');
      // Never the key itself: CloudFormation resolves the secret at deploy time.
      expect(JSON.stringify(env.STRIPE_SECRET_KEY)).toMatch(
        /^"\{\{resolve:secretsmanager:flash-sale\/prod\/stripe-secret-key:SecretString:::\}\}"$/,
      );
      expect(env.PAYMENT_DECLINE_RATE).toBeUndefined();
    }
  });

  it('tells the checkout the gateway (it refuses non-pm_ tokens) without giving it the key', () => {
    const env = envOf(s, 'placeOrder');
    expect(env.PAYMENT_GATEWAY).toBe('stripe');
    expect(env.STRIPE_SECRET_KEY).toBeUndefined();
    for (const [key, spec] of fnEntries)
      if (s.built.stateless.functions.functions[key] && !spec.env?.includes('payment'))
        expect(envOf(s, key).STRIPE_SECRET_KEY, key).toBeUndefined();
  });

  it('lets each function start with the environment it is given (a key in place of the reference)', () => {
    const deployed = Object.fromEntries(
      Object.entries(envOf(s, 'processPayment')).map(([name, value]) => [
        name,
        name === 'STRIPE_SECRET_KEY' ? 'sk_live_abc123' : typeof value === 'string' ? value : 'x',
      ]),
    );
    expect(loadConfig('processPayment', deployed).payment).toMatchObject({
      PAYMENT_GATEWAY: 'stripe',
      STRIPE_SECRET_KEY: 'sk_live_abc123',
    });
    delete deployed.STRIPE_SECRET_KEY;
    expect(() => loadConfig('processPayment', deployed)).toThrow(/STRIPE_SECRET_KEY: required/);
  });

  it('takes another secret name from context', () => {
    const other = build({
      stage: 'prod',
      paymentGateway: 'stripe',
      stripePublishableKey: 'pk_live_example',
      stripeSecretName: 'payments/stripe-live',
    });
    expect(other.settings.stripeSecretName).toBe('payments/stripe-live');
  });

  it('gives the buyer page the publishable key and the gateway, and no other function the key', () => {
    const page = envOf(s, 'buyerPage');
    expect(page).toMatchObject({ PAYMENT_GATEWAY: 'stripe', STRIPE_PUBLISHABLE_KEY: 'pk_live_example' });
    expect(page.STRIPE_SECRET_KEY).toBeUndefined();
    expect(loadConfig('buyerPage', page as Record<string, string>).page).toEqual({
      PAYMENT_GATEWAY: 'stripe',
      STRIPE_PUBLISHABLE_KEY: 'pk_live_example',
    });
    for (const [key] of fnEntries)
      if (key !== 'buyerPage' && s.built.stateless.functions.functions[key])
        expect(envOf(s, key).STRIPE_PUBLISHABLE_KEY, key).toBeUndefined();
  });
});

describe('-c stripePublishableKey (the buyer page under Stripe)', () => {
  it('is required with paymentGateway=stripe, and the message says what to pass', () => {
    expect(() => build({ stage: 'prod', paymentGateway: 'stripe' })).toThrow(
      /publishable key the buyer page collects cards with: pass -c stripePublishableKey=pk_live_… \(pk_test_…/,
    );
  });

  it('refuses anything but a publishable key, without repeating the value', () => {
    for (const wrong of ['sk_live_abc123secret', 'rk_live_abc123secret', 'pk_live_', 'pk_prod_abc']) {
      let message = '';
      try {
        build({ stage: 'prod', paymentGateway: 'stripe', stripePublishableKey: wrong });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, wrong).toMatch(/must be a Stripe publishable key \(pk_live_… or pk_test_…\)/);
      expect(message, wrong).not.toContain('abc');
    }
  });

  it('is ignored by a simulated stack (its page loads no Stripe.js)', () => {
    const built = build({ stripePublishableKey: 'pk_test_example' });
    expect(built.settings).toMatchObject({ paymentGateway: 'simulated', stripePublishableKey: undefined });
  });
});
