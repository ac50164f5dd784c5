import { GetCommand } from '@aws-sdk/lib-dynamodb';
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AUTHENTICATION_REQUIRED,
  INVALID_PAYMENT_METHOD,
  StripePaymentGateway,
} from '../../shared/adapters/payment/stripe-gateway.ts';
import { ProcessorRateLimitedError, TransientPaymentError } from '../../shared/ports.ts';
import { PAYMENT_GRACE_MS, PAYMENT_RETRY_SECONDS_DEFAULT } from '../../shared/wiring.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { type Prism, startPrism } from '../support/prism.ts';
import { STRIPE_CONTRACT } from '../support/stripe-contract.ts';
import { type StripeStandIn, startStripeStandIn } from '../support/stripe-stand-in.ts';

// The Stripe adapter against a stand-in that speaks Stripe's wire protocol (stripe-stateful-mock
// behind test/support/stripe-stand-in.ts), with DynamoDB Local holding the adapter's ledger; then
// the whole pipeline with PAYMENT_GATEWAY=stripe pointed at the stand-in. Between the two sits
// Stoplight Prism as a validating proxy (`--errors`) over Stripe's own published OpenAPI document
// (cut to these operations, test/fixtures/stripe/README.md): every request the adapter sends and
// every answer the stand-in gives is checked against Stripe's contract, and any breach fails the
// test that caused it.

let h: Harness;
let stripe: StripeStandIn;
let prism: Prism;
let gateway: StripePaymentGateway;
/** The same adapter straight at the stand-in: for a reset connection, which no proxy can pass on. */
let direct: StripePaymentGateway;
let admin: string;
let orderCounter = 0;
/** Prism's problems that a test has already accounted for (the deliberate breaches). */
let problemsSeen = 0;
/** Requests that did not go through Prism (direct), and ones Prism refused (never reached the stand-in). */
let bypassed = 0;
let refusedByPrism = 0;

beforeAll(async () => {
  stripe = await startStripeStandIn();
  prism = await startPrism(STRIPE_CONTRACT, stripe.url, { errors: true });
  h = await startHarness({
    consumers: false,
    visibilityTimeoutSeconds: 1,
    env: {
      PAYMENT_GATEWAY: 'stripe',
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_API_BASE: prism.url,
      CHECKOUT_BUDGET_MS: '20000',
    },
  });
  admin = await h.token('admin', true);
  const options = (apiBase: string) => ({
    secretKey: stripe.secretKey,
    apiBase,
    timeoutMs: 5_000,
    limits: { latencyMs: 1_000, ratePerSecond: 50 },
  });
  gateway = new StripePaymentGateway(h.db, h.runtime.resources.tableNames.payments, options(prism.url));
  direct = new StripePaymentGateway(h.db, h.runtime.resources.tableNames.payments, options(stripe.url));
});
afterEach(async () => {
  await h.runtime.stopConsumers();
  // Prism logs which exchange broke the contract; the details are in its answer's `validation`
  // (which the SDK hands back as if it were the object asked for).
  expect(await newProblems(), "Prism: requests or answers outside Stripe's published contract").toEqual([]);
});
afterAll(async () => {
  try {
    if (prism && stripe) {
      const { received, problems } = await prism.log();
      console.log(
        `Prism checked ${received} Stripe requests and answers against Stripe's published contract; it reported ${problems.length}, each a deliberate breach asserted by its test`,
      );
      // Every request the stand-in answered went through Prism, except the direct ones.
      expect(received - refusedByPrism).toBe(stripe.requests.length - bypassed);
    }
  } finally {
    await h?.stop();
    await prism?.stop();
    await stripe?.stop();
  }
});

/** Prism's problems since the last call. */
async function newProblems(): Promise<string[]> {
  const problems = (await prism.log()).problems.slice(problemsSeen);
  problemsSeen += problems.length;
  return problems;
}

const newOrderId = () => `order-${process.pid}-${++orderCounter}`;
const chargeOf = (idempotencyKey: string, paymentToken: string) =>
  gateway.charge({ idempotencyKey, amount: 1500, currency: 'EUR', paymentToken });
const requestsFor = (path: string) => stripe.requests.filter((r) => r.path.endsWith(path));

describe('Stripe adapter against the stand-in', () => {
  it('approves a good card: one PaymentIntent keyed by the order id, one charge in minor units', async () => {
    const orderId = newOrderId();
    const outcome = await chargeOf(orderId, 'pm_card_visa');
    expect(outcome).toMatchObject({ status: 'approved', chargeId: expect.stringMatching(/^pi_/) });
    const charges = await stripe.chargesFor(orderId);
    expect(charges).toHaveLength(1);
    expect(charges[0]).toMatchObject({ amount: 1500, currency: 'eur', paid: true, status: 'succeeded' });
    expect(
      stripe.requests.find((r) => r.path === '/v1/payment_intents' && r.idempotencyKey === orderId),
    ).toBeTruthy();
    expect(await gateway.lookup(orderId)).toEqual({
      status: 'approved',
      chargeId: (outcome as { chargeId: string }).chargeId,
      refunded: false,
    });
  });

  it('maps a card decline to declined with the issuer code, and a repeat asks Stripe nothing new', async () => {
    const orderId = newOrderId();
    expect(await chargeOf(orderId, 'pm_card_chargeDeclined')).toEqual({
      status: 'declined',
      reason: 'generic_decline',
    });
    const sent = stripe.requests.length;
    expect(await chargeOf(orderId, 'pm_card_chargeDeclined')).toEqual({
      status: 'declined',
      reason: 'generic_decline',
    });
    expect(stripe.requests.length).toBe(sent);
    expect(await gateway.lookup(orderId)).toEqual({ status: 'declined' });
    expect((await stripe.chargesFor(orderId)).filter((c) => c.paid)).toEqual([]);
  });

  it('declines a card that asks for 3-D Secure as authentication_required and cancels its intent', async () => {
    const orderId = newOrderId();
    const cancels = requestsFor('/cancel').length;
    expect(await chargeOf(orderId, 'pm_card_threeDSecure2Required')).toEqual({
      status: 'declined',
      reason: AUTHENTICATION_REQUIRED,
    });
    expect(requestsFor('/cancel').length).toBe(cancels + 1);
    expect(await stripe.chargesFor(orderId)).toEqual([]);
    expect(await gateway.lookup(orderId)).toEqual({ status: 'declined' });
  });

  it('refuses the simulator tokens and unknown payment methods without charging', async () => {
    const sent = stripe.requests.length;
    expect(await chargeOf(newOrderId(), 'tok_ok')).toEqual({
      status: 'declined',
      reason: INVALID_PAYMENT_METHOD,
    });
    expect(stripe.requests.length).toBe(sent);
    const unknown = newOrderId();
    expect(await chargeOf(unknown, 'pm_card_nonexistent')).toEqual({
      status: 'declined',
      reason: INVALID_PAYMENT_METHOD,
    });
    expect(await stripe.chargesFor(unknown)).toEqual([]);
  });

  it('turns a processor 429 into ProcessorRateLimitedError, then charges once on the retry', async () => {
    const orderId = newOrderId();
    stripe.failNext([429]);
    await expect(chargeOf(orderId, 'pm_card_visa')).rejects.toBeInstanceOf(ProcessorRateLimitedError);
    stripe.failNext([429], '/confirm');
    await expect(chargeOf(orderId, 'pm_card_visa')).rejects.toBeInstanceOf(ProcessorRateLimitedError);
    expect(await stripe.chargesFor(orderId)).toEqual([]);
    expect(await chargeOf(orderId, 'pm_card_visa')).toMatchObject({ status: 'approved' });
    expect(await stripe.chargesFor(orderId)).toHaveLength(1);
  });

  it('turns a 5xx or a reset connection into TransientPaymentError, then charges once', async () => {
    const orderId = newOrderId();
    stripe.failNext([500]);
    const first = chargeOf(orderId, 'pm_card_visa');
    await expect(first).rejects.toBeInstanceOf(TransientPaymentError);
    await expect(first).rejects.not.toBeInstanceOf(ProcessorRateLimitedError);
    stripe.failNext([500], '/confirm');
    await expect(chargeOf(orderId, 'pm_card_visa')).rejects.toBeInstanceOf(TransientPaymentError);
    // A reset socket behind Prism would reach the adapter as Prism's own 500: these go direct.
    const before = stripe.requests.length;
    const directCharge = () =>
      direct.charge({ idempotencyKey: orderId, amount: 1500, currency: 'EUR', paymentToken: 'pm_card_visa' });
    // The SDK retries a closed connection once by itself (same idempotency key): two in a row fail.
    stripe.failNext(['reset', 'reset'], '/confirm');
    await expect(directCharge()).rejects.toBeInstanceOf(TransientPaymentError);
    expect(await direct.lookup(orderId)).toEqual({ status: 'pending' });
    expect(await stripe.chargesFor(orderId)).toEqual([]);
    stripe.failNext(['reset'], '/confirm');
    expect(await directCharge()).toMatchObject({ status: 'approved' });
    bypassed += stripe.requests.length - before;
    expect(await stripe.chargesFor(orderId)).toHaveLength(1);
    // Every attempt found the same PaymentIntent: one create answered, the rest read it back.
    expect(
      stripe.requests.filter(
        (r) => r.path === '/v1/payment_intents' && r.idempotencyKey === orderId && r.status === 200,
      ),
    ).toHaveLength(1);
  });

  it('charges once for repeated and concurrent charges of the same order', async () => {
    const orderId = newOrderId();
    const settled = await Promise.allSettled(
      Array.from({ length: 4 }, () => chargeOf(orderId, 'pm_card_visa')),
    );
    // A concurrent confirmation finds the intent busy (Stripe locks it): a transient failure, never a second charge.
    for (const result of settled)
      if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(TransientPaymentError);
    const again = await chargeOf(orderId, 'pm_card_visa');
    expect(again).toMatchObject({ status: 'approved' });
    for (const result of settled) if (result.status === 'fulfilled') expect(result.value).toEqual(again);
    expect(await chargeOf(orderId, 'pm_card_visa')).toEqual(again);
    expect(await stripe.chargesFor(orderId)).toHaveLength(1);
  });

  it('refunds once however often it is asked', async () => {
    const orderId = newOrderId();
    const outcome = await chargeOf(orderId, 'pm_card_visa');
    expect(outcome.status).toBe('approved');
    await gateway.refund(orderId, 'order EXPIRED, not CONFIRMED');
    await gateway.refund(orderId, 'order EXPIRED, not CONFIRMED');
    const [charge] = await stripe.chargesFor(orderId);
    expect(charge).toMatchObject({ refunded: true, amount_refunded: 1500 });
    expect(await stripe.refundsOf(charge?.id as string)).toHaveLength(1);
    expect(await gateway.lookup(orderId)).toMatchObject({ status: 'approved', refunded: true });
  });
});

describe("Stripe's published contract, checked by Prism", () => {
  const sdk = () =>
    new Stripe(stripe.secretKey, {
      host: '127.0.0.1',
      port: Number(new URL(prism.url).port),
      protocol: 'http',
      maxNetworkRetries: 0,
      telemetry: false,
    });
  /** Prism's answer to a refused request: the SDK hands its problem document back as the result. */
  type Problem = { status: number; validation?: { location: string[]; code: string }[] };

  it('refuses a request outside the contract: a value the spec forbids and an operation it lacks (Prism), a parameter it lacks (the stand-in)', async () => {
    const client = sdk();
    const intent = await client.paymentIntents.create({
      amount: 1500,
      currency: 'eur',
      payment_method: 'pm_card_visa',
      automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
    });
    expect(intent.status).toBe('requires_confirmation');
    const reached = stripe.requests.length;
    const badValue = (await client.paymentIntents.cancel(intent.id, {
      cancellation_reason: 'bored' as 'abandoned',
    })) as unknown as Problem;
    expect(badValue.status).toBe(422);
    expect(badValue.validation).toEqual([
      expect.objectContaining({ location: ['body', 'cancellation_reason'], code: 'enum' }),
    ]);
    // A parameter Stripe does not have passes Prism (its form decoder drops undeclared ones); the
    // stand-in refuses it as Stripe does, its list of names being Stripe's document.
    const unknownParameter = client.paymentIntents.cancel(intent.id, {
      cancellation_reason: 'abandoned',
      reason_why: 'bored',
    } as Stripe.PaymentIntentCancelParams);
    await expect(unknownParameter).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'parameter_unknown',
      param: 'reason_why',
    });
    const noSuchOperation = (await client.charges.list()) as unknown as Problem;
    expect(noSuchOperation.status).toBe(404);
    refusedByPrism += 2;
    expect(stripe.requests.map((r) => `${r.method} ${r.status}`).slice(reached)).toEqual(['POST 400']);
    expect(await newProblems()).toEqual([
      expect.stringMatching(/post \/v1\/payment_intents\/pi_\w+\/cancel .*UNPROCESSABLE_ENTITY/),
      expect.stringMatching(/get \/v1\/charges .*NO_PATH_MATCHED/),
    ]);
  });

  it("reports an answer outside the contract (an object without its id): the client gets Prism's 500 instead", async () => {
    const orderId = newOrderId();
    const outcome = await chargeOf(orderId, 'pm_card_visa');
    expect(outcome).toMatchObject({ status: 'approved' });
    stripe.failNext(['no-id']);
    const broken = (await sdk().paymentIntents.retrieve(
      (outcome as { chargeId: string }).chargeId,
    )) as unknown as Problem;
    expect(broken.status).toBe(500);
    expect(broken.validation).toEqual([expect.objectContaining({ code: 'required' })]);
    expect(await newProblems()).toEqual([
      expect.stringMatching(/get \/v1\/payment_intents\/pi_\w+ .*VIOLATIONS/),
    ]);
    expect(await gateway.lookup(orderId)).toMatchObject({ status: 'approved', refunded: false });
  });
});

describe('the pipeline with PAYMENT_GATEWAY=stripe', () => {
  const queues = () => h.runtime.resources.queueUrls;
  const order = async (orderId: string) =>
    (await h.call('GET', `/orders/${orderId}`, { token: admin })).body as {
      status: string;
      orderId: string;
      expiresAt: string;
      failureReason?: string;
    };
  /** Bought with `paymentToken` and moved to PAYMENT_PENDING; the payment job is on payments.fifo. */
  async function pendingOrder(user: string, saleId: string, paymentToken: string): Promise<string> {
    const reply = await h.buy(user, saleId, { paymentToken });
    expect(reply.status).toBe(202);
    const orderId = reply.body.orderId as string;
    expect(await h.deliver('processOrder', [await h.receiveFor(queues().orders, orderId)])).toEqual({
      batchItemFailures: [],
    });
    await h.drain(queues().orders);
    expect((await order(orderId)).status).toBe('PAYMENT_PENDING');
    return orderId;
  }

  it('refuses a simulator token at the checkout with 400 in the error shape, and takes a pm_ id', async () => {
    const { saleId } = await h.createSale({ totalStock: 2 });
    const refused = await h.buy('sim-token', saleId, { paymentToken: 'tok_ok' });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(JSON.stringify(refused.body.error)).toContain('pm_');
    expect((await h.call('GET', `/sales/${saleId}`)).body).toMatchObject({ available: 2 });
    expect((await h.buy('sim-token', saleId, { key: 'second', paymentToken: 'pm_card_visa' })).status).toBe(
      202,
    );
    await h.drain(queues().orders);
  });

  it('confirms a paid order with the PaymentIntent as its charge, and fails a declined one', async () => {
    const { saleId } = await h.createSale({ totalStock: 2 });
    const paid = await pendingOrder('stripe-paid', saleId, 'pm_card_visa');
    const declined = await pendingOrder('stripe-declined', saleId, 'pm_card_chargeDeclined');
    const jobs = [
      await h.receiveFor(queues().payments, paid),
      await h.receiveFor(queues().payments, declined),
    ];
    expect(await h.deliver('processPayment', jobs)).toEqual({ batchItemFailures: [] });
    await h.drain(queues().payments);
    expect((await order(paid)).status).toBe('CONFIRMED');
    const { Item } = await h.db.send(
      new GetCommand({ TableName: h.runtime.resources.tableNames.orders, Key: { orderId: paid } }),
    );
    expect(Item?.chargeId).toMatch(/^pi_/);
    expect(await order(declined)).toMatchObject({
      status: 'PAYMENT_FAILED',
      failureReason: 'generic_decline',
    });
    expect(await stripe.chargesFor(paid)).toHaveLength(1);
    const audit = await h.audit(saleId, { expectSettled: true });
    expect(audit.violations).toEqual([]);
    expect(audit.stock).toMatchObject({ sold: 1, held: 0, available: 1 });
  });

  it('refunds through Stripe when the payment clock ran out first and the charge landed after', async () => {
    const { saleId } = await h.createSale({ totalStock: 2 });
    const orderId = await pendingOrder('stripe-late-charge', saleId, 'pm_card_visa');
    const job = await h.receiveFor(queues().payments, orderId);
    const started = await h.beginPayment(orderId);
    await h.runtime.runReconciler(new Date(started + PAYMENT_RETRY_SECONDS_DEFAULT * 1000 + 1_000));
    expect((await order(orderId)).status).toBe('PAYMENT_FAILED');
    // The consumer that read PAYMENT_PENDING before the deadline charged, then died.
    expect(await chargeOf(orderId, 'pm_card_visa')).toMatchObject({ status: 'approved' });
    const redelivered = await h.receiveFor(queues().payments, orderId);
    expect(redelivered.MessageId).toBe(job.MessageId);
    expect(await h.deliver('processPayment', [redelivered])).toEqual({ batchItemFailures: [] });
    await h.drain(queues().payments);

    const [charge] = await stripe.chargesFor(orderId);
    expect(charge).toMatchObject({ refunded: true, amount_refunded: 1500 });
    expect(await stripe.refundsOf(charge?.id as string)).toHaveLength(1);
    expect((await order(orderId)).status).toBe('PAYMENT_FAILED');
    const audit = await h.audit(saleId, { expectSettled: true });
    expect(audit.violations).toEqual([]);
    expect(audit.charges).toEqual({ approved: 1, refunded: 1, declined: 0 });
  });

  it('lets the reconciler refund through Stripe when the payment job is gone for good', async () => {
    const { saleId } = await h.createSale({ totalStock: 2 });
    const orderId = await pendingOrder('stripe-reconciler-refund', saleId, 'pm_card_visa');
    const deadline = (await h.beginPayment(orderId)) + PAYMENT_RETRY_SECONDS_DEFAULT * 1000 + 1_000;
    await h.runtime.runReconciler(new Date(deadline));
    expect((await order(orderId)).status).toBe('PAYMENT_FAILED');
    expect(await chargeOf(orderId, 'pm_card_visa')).toMatchObject({ status: 'approved' });
    // Its job went to the DLQ: only the reconciler's refund check is left.
    await h.drain(queues().payments);
    expect((await h.audit(saleId)).violations).toEqual([
      `order ${orderId} is PAYMENT_FAILED but its charge was kept`,
    ]);
    const report = (await h.runtime.runReconciler(new Date(deadline + PAYMENT_GRACE_MS + 1_000))) as {
      refunded: number;
    };
    expect(report.refunded).toBe(1);
    const [charge] = await stripe.chargesFor(orderId);
    expect(charge).toMatchObject({ refunded: true, amount_refunded: 1500 });
    expect(await stripe.refundsOf(charge?.id as string)).toHaveLength(1);
    expect((await h.audit(saleId, { expectSettled: true })).violations).toEqual([]);
  });
});
