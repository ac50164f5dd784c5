import { describe, expect, it } from 'vitest';
import { documentClient } from '../../shared/adapters/dynamo/client.ts';
import { paymentGateway } from '../../shared/adapters/payment/gateway.ts';
import { SimulatedPaymentGateway } from '../../shared/adapters/payment/simulated-gateway.ts';
import { StripePaymentGateway } from '../../shared/adapters/payment/stripe-gateway.ts';
import { loadConfig } from '../../shared/config.ts';
import { placeOrderBodyFor } from '../../shared/contract.ts';

const paymentEnv = {
  ORDERS_TABLE: 'o',
  SALES_TABLE: 's',
  PAYMENTS_TABLE: 'p',
  ORDER_EVENTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:t',
};
const db = documentClient({ region: 'eu-west-1', endpoints: {} });

describe('the checkout takes the tokens its gateway can charge', () => {
  it('takes only Stripe PaymentMethod ids under Stripe, never the simulator tokens', () => {
    const stripe = placeOrderBodyFor('stripe');
    expect(stripe.parse({ quantity: 1, paymentToken: 'pm_1QxYzAbCdEfGhIjK' })).toEqual({
      quantity: 1,
      paymentToken: 'pm_1QxYzAbCdEfGhIjK',
    });
    for (const token of [
      'tok_ok',
      'tok_decline',
      'tok_timeout',
      'tok_flaky_2',
      'pm_',
      'pm_a-b',
      'card_123',
    ]) {
      const result = stripe.safeParse({ quantity: 1, paymentToken: token });
      expect(result.success, token).toBe(false);
      expect(JSON.stringify(result.error?.issues), token).toContain('Stripe PaymentMethod id (pm_');
    }
    expect(placeOrderBodyFor('simulated').parse({ quantity: 1, paymentToken: 'tok_ok' }).paymentToken).toBe(
      'tok_ok',
    );
  });
});

describe('gateway configuration', () => {
  it('picks the adapter from PAYMENT_GATEWAY', () => {
    const simulated = paymentGateway(
      loadConfig('processPayment', { ...paymentEnv, PAYMENT_GATEWAY: 'simulated' }),
      db,
    );
    expect(simulated).toBeInstanceOf(SimulatedPaymentGateway);
    const config = loadConfig('processPayment', {
      ...paymentEnv,
      PAYMENT_GATEWAY: 'stripe',
      STRIPE_SECRET_KEY: 'sk_test_abc123',
      STRIPE_WRITES_PER_SECOND: '25',
    });
    const stripe = paymentGateway(config, db);
    expect(stripe).toBeInstanceOf(StripePaymentGateway);
    // Test mode allows 25 writes/s; each charge is two (create, confirm).
    expect(stripe.limits).toEqual({ latencyMs: 1_000, ratePerSecond: 12.5 });
  });

  it('fails at start without a Stripe key, or with something that is not one', () => {
    expect(() => loadConfig('processPayment', { ...paymentEnv, PAYMENT_GATEWAY: 'stripe' })).toThrow(
      /STRIPE_SECRET_KEY: required/,
    );
    const config = loadConfig('processPayment', {
      ...paymentEnv,
      PAYMENT_GATEWAY: 'stripe',
      STRIPE_SECRET_KEY: 'pk_live_publishable',
    });
    expect(() => paymentGateway(config, db)).toThrow(/STRIPE_SECRET_KEY must be a Stripe secret/);
    expect(() =>
      loadConfig('processPayment', {
        ...paymentEnv,
        PAYMENT_GATEWAY: 'stripe',
        STRIPE_SECRET_KEY: 'sk_test_x',
        STRIPE_API_BASE: 'not a url',
      }),
    ).toThrow(/STRIPE_API_BASE/);
  });
});
