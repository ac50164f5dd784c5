import {
  DeleteMessageCommand,
  DeleteQueueCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureResources } from '../../local/resources.ts';
import { DynamoOrderStore } from '../../shared/adapters/dynamo/order-store.ts';
import { peekDeadLetters, redriveDeadLetters } from '../../shared/adapters/sqs/dead-letters.ts';
import {
  PAYMENT_GRACE_MS,
  PAYMENT_RETRY_SECONDS_DEFAULT,
  PAYMENT_RETRY_WINDOW_SECONDS,
} from '../../shared/wiring.ts';
import { type Harness, startHarness } from '../support/harness.ts';

const MAX_RECEIVES = 3;
let h: Harness;
let admin: string;

beforeAll(async () => {
  h = await startHarness({
    consumers: false,
    visibilityTimeoutSeconds: 1,
    maxReceiveCount: MAX_RECEIVES,
    // A generous checkout budget: these tests are about the pipeline, and a 300-buyer burst on a
    // shared 2-core machine can outlast the default 3 s (the budget has its own tests).
    env: { REENQUEUE_GRACE_SECONDS: '1', PAYMENT_DECLINE_RATE: '0.1', CHECKOUT_BUDGET_MS: '20000' },
  });
  admin = await h.token('admin', true);
});
afterEach(async () => {
  await h.runtime.stopConsumers();
});
afterAll(async () => {
  await h?.stop();
});

const queues = () => h.runtime.resources.queueUrls;
const order = async (orderId: string) =>
  (await h.call('GET', `/orders/${orderId}`, { token: admin })).body as { status: string; orderId: string };
const settled = (orderId: string, status?: string) =>
  h.waitFor(
    async () => {
      const o = await order(orderId);
      return (
        (status
          ? o.status === status
          : ['CONFIRMED', 'PAYMENT_FAILED', 'EXPIRED', 'CANCELLED'].includes(o.status)) && o
      );
    },
    `order ${orderId} to reach ${status ?? 'a terminal status'}`,
  );
const ledger = async (orderId: string) =>
  (
    await h.db.send(
      new GetCommand({
        TableName: h.runtime.resources.tableNames.payments,
        Key: { idempotencyKey: orderId },
        ConsistentRead: true,
      }),
    )
  ).Item;

describe('order → payment pipeline, with faults injected', () => {
  it('changes nothing more when a consumer dies after its write and the message is redelivered', async () => {
    const { saleId } = await h.createSale({ totalStock: 5 });
    const { orderId } = (await h.buy('crash', saleId)).body as { orderId: string };

    const first = await h.receiveFor(queues().orders, orderId);
    expect(await h.deliver('processOrder', [first])).toEqual({ batchItemFailures: [] });
    expect((await order(orderId)).status).toBe('PAYMENT_PENDING');
    // Not deleted: the consumer "died". SQS redelivers after the visibility timeout.
    const again = await h.receiveFor(queues().orders, orderId);
    expect(again.Attributes?.ApproximateReceiveCount).toBe('2');
    await h.deliver('processOrder', [again]);
    expect((await order(orderId)).status).toBe('PAYMENT_PENDING');
    await h.drain(queues().orders);

    const payment = await h.receiveFor(queues().payments, orderId);
    await h.deliver('processPayment', [payment]);
    expect((await order(orderId)).status).toBe('CONFIRMED');
    const redelivered = await h.receiveFor(queues().payments, orderId);
    expect(redelivered.Attributes?.ApproximateReceiveCount).toBe('2');
    await h.deliver('processPayment', [redelivered]);
    // Two sends of the payment job (one per delivery above) were deduplicated into this one message.
    await h.sqs.send(
      new DeleteMessageCommand({ QueueUrl: queues().payments, ReceiptHandle: redelivered.ReceiptHandle }),
    );
    expect((await h.drain(queues().payments)).filter((m) => m.Body?.includes(orderId))).toHaveLength(0);
    expect(await ledger(orderId)).toMatchObject({ outcome: 'approved', attempts: 1 });
    const report = await h.audit(saleId, { expectSettled: true });
    expect(report.violations).toEqual([]);
    expect(report.charges.approved).toBe(1);
  });

  it('handles the same message delivered twice at the same time', async () => {
    const { saleId } = await h.createSale({ totalStock: 5 });
    const { orderId } = (await h.buy('twice', saleId)).body as { orderId: string };
    const message = await h.receiveFor(queues().orders, orderId);
    await Promise.all([h.deliver('processOrder', [message]), h.deliver('processOrder', [message])]);
    await h.drain(queues().orders);
    const payment = await h.receiveFor(queues().payments, orderId);
    const results = await Promise.all([
      h.deliver('processPayment', [payment]),
      h.deliver('processPayment', [payment]),
      h.deliver('processPayment', [payment]),
    ]);
    for (const r of results) expect(r.batchItemFailures).toEqual([]);
    await h.sqs.send(
      new DeleteMessageCommand({ QueueUrl: queues().payments, ReceiptHandle: payment.ReceiptHandle }),
    );
    expect((await h.drain(queues().payments)).filter((m) => m.Body?.includes(orderId))).toHaveLength(0);
    expect((await order(orderId)).status).toBe('CONFIRMED');
    const report = await h.audit(saleId, { expectSettled: true });
    expect(report.violations).toEqual([]);
    expect(report.charges).toEqual({ approved: 1, refunded: 0, declined: 0 });
  });

  it('sends an order whose SendMessage failed after the transaction, via the reconciler', async () => {
    const { saleId } = await h.createSale({ totalStock: 5 });
    await h.sqs.send(new DeleteQueueCommand({ QueueUrl: queues().orders }));
    const placed = await h.buy('unsent', saleId);
    expect(placed.status).toBe(202);
    const orderId = placed.body.orderId as string;
    // The queue comes back; the message never reached it.
    await ensureResources(h.runtime.endpoints, {
      prefix: 'flash',
      visibilityTimeoutSeconds: 1,
      maxReceiveCount: MAX_RECEIVES,
    });
    expect((await h.drain(queues().orders)).filter((m) => m.Body?.includes(orderId))).toHaveLength(0);

    // Past the grace and inside SQS's deduplication window: sent again at once with the same
    // deduplication id (had the first send arrived, this one would add nothing).
    const later = (await h.runtime.runReconciler(new Date(Date.now() + 2_000))) as { reenqueued: number };
    expect(later.reenqueued).toBe(1);
    const again = (await h.runtime.runReconciler(new Date(Date.now() + 4_000))) as { reenqueued: number };
    expect(again.reenqueued).toBe(1);
    // Two re-sends, one message: the second carried the same deduplication id.
    const seen = await h.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queues().orders, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect((seen.Messages ?? []).filter((m) => m.Body?.includes(orderId))).toHaveLength(1);
    h.runtime.startConsumers();
    await settled(orderId, 'CONFIRMED');
    expect((await h.audit(saleId, { expectSettled: true, acceptedOrderIds: [orderId] })).violations).toEqual(
      [],
    );
  });

  it('returns a declined unit to stock, and a later buyer gets it', async () => {
    const { saleId } = await h.createSale({ totalStock: 1, shards: 1 });
    h.runtime.startConsumers();
    const declined = (await h.buy('declined', saleId, { paymentToken: 'tok_decline' })).body as {
      orderId: string;
    };
    const failed = await settled(declined.orderId, 'PAYMENT_FAILED');
    expect(failed).toMatchObject({ failureReason: 'card_declined' });
    expect((await h.call('GET', `/sales/${saleId}`)).body).toMatchObject({ available: 1, status: 'ACTIVE' });
    const second = await h.waitFor(async () => {
      const reply = await h.buy('waiting', saleId, { key: 'w2' });
      return reply.status === 202 && reply;
    }, 'the returned unit to be sold again');
    await settled(second.body.orderId as string, 'CONFIRMED');
    const report = await h.audit(saleId, { expectSettled: true, expectSoldOut: true });
    expect(report.violations).toEqual([]);
    expect(report.stock).toMatchObject({ available: 0, sold: 1 });
    expect(report.ordersByStatus).toMatchObject({ PAYMENT_FAILED: 1, CONFIRMED: 1 });
  });

  it('retries transient payment failures, and ends a payment that fails every receive PAYMENT_FAILED, not in the DLQ', async () => {
    const { saleId } = await h.createSale({ totalStock: 5 });
    h.runtime.startConsumers();
    const flaky = (await h.buy('flaky', saleId, { paymentToken: `tok_flaky_${MAX_RECEIVES - 1}` })).body as {
      orderId: string;
    };
    const stubborn = (await h.buy('stubborn', saleId, { paymentToken: `tok_flaky_${MAX_RECEIVES}` }))
      .body as { orderId: string };
    await settled(flaky.orderId, 'CONFIRMED');
    expect(await ledger(flaky.orderId)).toMatchObject({ attempts: MAX_RECEIVES, outcome: 'approved' });

    // The queue's last receive: the consumer ends the order itself and returns its unit.
    expect(await settled(stubborn.orderId, 'PAYMENT_FAILED')).toMatchObject({
      failureReason: 'payment not completed: the processor kept failing',
    });
    expect(await ledger(stubborn.orderId)).toMatchObject({ attempts: MAX_RECEIVES });
    const dlq = h.runtime.resources.dlqUrls.payments;
    expect((await peekDeadLetters(h.sqs, dlq)).filter((m) => m.Body?.includes(stubborn.orderId))).toEqual([]);
    const audit = await h.audit(saleId, { expectSettled: true });
    expect(audit.violations).toEqual([]);
    expect(audit.stock).toMatchObject({ available: 4, held: 0, sold: 1 });
  });

  it('moves a payments dead letter back with a redrive, and it completes', async () => {
    const { saleId } = await h.createSale({ totalStock: 5 });
    const orderId = (await h.buy('redriven', saleId)).body.orderId as string;
    await h.deliver('processOrder', [await h.receiveFor(queues().orders, orderId)]);
    await h.drain(queues().orders);
    // Its job dead-lettered (a consumer that kept crashing): an operator moves it back.
    const job = await h.receiveFor(queues().payments, orderId);
    const dlq = h.runtime.resources.dlqUrls.payments;
    await h.sqs.send(
      new SendMessageCommand({
        QueueUrl: dlq,
        MessageBody: job.Body,
        MessageGroupId: orderId,
        MessageDeduplicationId: `${orderId}-dead`,
      }),
    );
    await h.sqs.send(
      new DeleteMessageCommand({ QueueUrl: queues().payments, ReceiptHandle: job.ReceiptHandle }),
    );
    expect(await redriveDeadLetters(h.sqs, dlq, queues().payments)).toBe(1);
    h.runtime.startConsumers();
    await settled(orderId, 'CONFIRMED');
    expect(await peekDeadLetters(h.sqs, dlq)).toHaveLength(0);
    expect((await h.audit(saleId, { expectSettled: true })).violations).toEqual([]);
  });

  it('fails only the poison message of a batch, which then goes to the DLQ', async () => {
    const { saleId } = await h.createSale({ totalStock: 5, perUserLimit: 1 });
    const ids = await Promise.all(
      ['p1', 'p2', 'p3'].map(async (u) => (await h.buy(u, saleId)).body.orderId as string),
    );
    await h.sqs.send(
      new SendMessageCommand({
        QueueUrl: queues().orders,
        MessageBody: 'not json {',
        MessageGroupId: 'poison',
        MessageDeduplicationId: `poison-${saleId}`,
      }),
    );
    const batch = await h.waitFor(async () => {
      const out = await h.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queues().orders,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      return (out.Messages?.length ?? 0) >= 4 && out.Messages;
    }, 'all four messages in one batch');
    const poison = batch.find((m) => m.Body === 'not json {') as Message;
    const response = await h.deliver('processOrder', batch);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: poison.MessageId }]);
    for (const id of ids) expect((await order(id)).status).toBe('PAYMENT_PENDING');

    h.runtime.startConsumers();
    await h.waitFor(
      async () =>
        (await peekDeadLetters(h.sqs, h.runtime.resources.dlqUrls.orders)).some(
          (m) => m.Body === 'not json {',
        ),
      'the poison message in the DLQ',
    );
    for (const id of ids) await settled(id, 'CONFIRMED');
    expect((await h.audit(saleId, { expectSettled: true })).violations).toEqual([]);
  });

  it('expires holds whose jobs were lost past their deadline, returns the stock, and never charges an expired order', async () => {
    const { saleId } = await h.createSale({ totalStock: 2, holdSeconds: PAYMENT_RETRY_WINDOW_SECONDS });
    const reserved = (await h.buy('slow-1', saleId)).body.orderId as string;
    const pending = (await h.buy('slow-2', saleId)).body.orderId as string;
    const ordersJob = await h.receiveFor(queues().orders, pending);
    await h.deliver('processOrder', [ordersJob]);
    expect((await order(pending)).status).toBe('PAYMENT_PENDING');
    await h.sqs.send(
      new DeleteMessageCommand({ QueueUrl: queues().orders, ReceiptHandle: ordersJob.ReceiptHandle }),
    );
    // Both jobs are lost (a stale copy of the payment job is kept for a late delivery below).
    const staleJob = await h.receiveFor(queues().payments, pending);
    await h.sqs.send(
      new DeleteMessageCommand({ QueueUrl: queues().payments, ReceiptHandle: staleJob.ReceiptHandle }),
    );
    // Messages received with it are back after the 1 s visibility timeout: take those too.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await h.drain(queues().orders);
    await h.drain(queues().payments);

    const report = (await h.runtime.runReconciler(
      new Date(Date.now() + (PAYMENT_RETRY_WINDOW_SECONDS + 1) * 1000),
    )) as { expired: number };
    expect(report.expired).toBeGreaterThanOrEqual(2);
    expect(await order(reserved)).toMatchObject({ status: 'EXPIRED', failureReason: 'hold expired' });
    expect((await order(pending)).status).toBe('EXPIRED');
    await h.deliver('processPayment', [staleJob]);
    expect((await order(pending)).status).toBe('EXPIRED');
    expect(await ledger(pending)).toBeUndefined();
    const audit = await h.audit(saleId, { expectSettled: true });
    expect(audit.violations).toEqual([]);
    expect(audit.stock).toMatchObject({ available: 2, held: 0, sold: 0 });
  });

  it('never expires an order that waits in our queue longer than its hold: it is charged and CONFIRMED', async () => {
    const { saleId } = await h.createSale({ totalStock: 2, holdSeconds: PAYMENT_RETRY_WINDOW_SECONDS });
    const waiting = (await h.buy('backlogged', saleId)).body.orderId as string;
    const pastHold = Date.now() + (PAYMENT_RETRY_WINDOW_SECONDS + 60) * 1000;
    // The orders job is still queued: the reconciler leaves the order alone and adds no copy.
    const first = (await h.runtime.runReconciler(new Date(pastHold))) as { waiting: number; expired: number };
    expect(first.expired).toBe(0);
    expect(first.waiting).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const copies = (await h.drain(queues().orders)).filter((m) => m.Body?.includes(waiting));
    expect(copies).toHaveLength(1);
    await h.deliver('processOrder', copies);
    // Now its payment job waits, long after the hold: still no expiry, no second copy.
    const second = (await h.runtime.runReconciler(new Date(pastHold + 60_000))) as {
      expired: number;
      paymentsResent: number;
    };
    expect(second).toMatchObject({ expired: 0, paymentsResent: 0 });
    const jobs = (await h.drain(queues().payments)).filter((m) => m.Body?.includes(waiting));
    expect(jobs).toHaveLength(1);
    await h.deliver('processPayment', jobs);
    expect((await order(waiting)).status).toBe('CONFIRMED');
    const audit = await h.audit(saleId, { expectSettled: true, acceptedOrderIds: [waiting] });
    expect(audit.violations).toEqual([]);
    expect(audit.charges).toEqual({ approved: 1, refunded: 0, declined: 0 });
  });

  it('lets exactly one of cancel and payment win when they race', async () => {
    const { saleId } = await h.createSale({ totalStock: 20, perUserLimit: 1 });
    h.runtime.startConsumers();
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const user = `racer-${i}`;
        const placed = await h.buy(user, saleId);
        const cancel = await h.call('DELETE', `/orders/${placed.body.orderId}`, {
          token: await h.token(user),
        });
        const final = await settled(placed.body.orderId as string);
        return {
          cancel: cancel.status,
          code: (cancel.body.error as { code?: string } | undefined)?.code,
          final: final.status,
        };
      }),
    );
    for (const o of outcomes) {
      expect([
        [200, undefined, 'CANCELLED'],
        [409, 'ORDER_NOT_CANCELLABLE', 'CONFIRMED'],
      ]).toContainEqual([o.cancel, o.code, o.final]);
    }
    const audit = await h.audit(saleId, { expectSettled: true });
    expect(audit.violations).toEqual([]);
    expect(audit.stock.sold).toBe(outcomes.filter((o) => o.final === 'CONFIRMED').length);
    expect(audit.charges.approved - audit.charges.refunded).toBe(audit.stock.sold);
  });

  it('settles 300 buyers for 100 units with 10% declines: every order terminal, the books balance', async () => {
    const { saleId } = await h.createSale({ totalStock: 100, shards: 8, perUserLimit: 1 });
    h.runtime.startConsumers();
    const started = Date.now();
    // Buyers do as the contract says: on 429 RETRY they wait Retry-After and retry with the same key
    // (the checkout's time budget answers RETRY when this shared machine is slower than the burst).
    const buyAsTold = async (userId: string) => {
      for (let attempt = 1; ; attempt++) {
        const reply = await h.buy(userId, saleId, { paymentToken: 'tok_random' });
        if (reply.status !== 429 || attempt === 8) return reply;
        await new Promise((r) => setTimeout(r, Number(reply.headers.get('retry-after') ?? 1) * 1000));
      }
    };
    const replies = await Promise.all(Array.from({ length: 300 }, (_, i) => buyAsTold(`e2e-${i}`)));
    const accepted = replies
      .filter((r) => r.status === 202 || r.status === 200)
      .map((r) => r.body.orderId as string);
    // Declines return units while the crowd is still buying, so a few buyers past the hundredth get one.
    expect(accepted.length).toBeGreaterThanOrEqual(100);
    expect(
      replies.every(
        (r) =>
          r.status === 202 ||
          r.status === 200 ||
          (r.status === 409 && (r.body.error as { code: string }).code === 'SOLD_OUT'),
      ),
    ).toBe(true);
    const lastRequest = Date.now();
    // A take or claim that timed out under this burst may leave numbers in flight: the reconciler's
    // sweep gives them back once they are older than its grace.
    await h.runtime.runReconciler();
    await h.runtime.runReconciler(new Date(Date.now() + 31_000));
    await h.waitFor(
      async () => {
        const report = await h.audit(saleId, { expectSettled: true });
        return report.ok && report;
      },
      'every order to settle',
      60_000,
    );
    const report = await h.audit(saleId, { expectSettled: true, acceptedOrderIds: accepted });
    console.log(
      `e2e: 300 buyers / 100 units: requests ${lastRequest - started} ms, settled ${Date.now() - lastRequest} ms after the last request`,
    );
    expect(report.violations).toEqual([]);
    expect(report.stock.total).toBe(report.stock.available + report.stock.sold);
    expect(report.ordersByStatus.CONFIRMED + report.ordersByStatus.PAYMENT_FAILED).toBe(accepted.length);
    expect(report.stock.sold).toBeLessThanOrEqual(100);
    expect(report.ordersByStatus.PAYMENT_FAILED).toBeGreaterThan(0);
    expect(report.charges.approved - report.charges.refunded).toBe(report.ordersByStatus.CONFIRMED);
  });
});

describe('no charge without goods, no paid order lost (issue 9 items 1, 2, 4)', () => {
  const HOLD_MS = PAYMENT_RETRY_WINDOW_SECONDS * 1000;
  const GRACE_MS = PAYMENT_GRACE_MS;
  const CLOCK_MS = PAYMENT_RETRY_SECONDS_DEFAULT * 1000;
  const store = () => {
    const tables = h.runtime.resources.tableNames;
    return new DynamoOrderStore(
      h.db,
      tables.orders,
      () => tables.sales,
      () => tables.claims,
    );
  };

  /** The processor approved this order's charge: what a consumer that then died leaves behind. */
  const approvedCharge = (orderId: string) =>
    h.db.send(
      new PutCommand({
        TableName: h.runtime.resources.tableNames.payments,
        Item: {
          idempotencyKey: orderId,
          attempts: 1,
          amount: 1500,
          currency: 'EUR',
          outcome: 'approved',
          chargeId: `ch_${orderId}`,
          settledAt: new Date().toISOString(),
        },
      }),
    );

  /** Bought and moved to PAYMENT_PENDING; the payment job is on payments.fifo. */
  async function pendingOrder(user: string, saleId: string): Promise<string> {
    const orderId = (await h.buy(user, saleId)).body.orderId as string;
    await h.deliver('processOrder', [await h.receiveFor(queues().orders, orderId)]);
    await h.drain(queues().orders);
    expect((await order(orderId)).status).toBe('PAYMENT_PENDING');
    return orderId;
  }

  it('confirms, rather than expires, a paid order whose consumer died before writing CONFIRMED', async () => {
    const { saleId } = await h.createSale({ totalStock: 2, holdSeconds: PAYMENT_RETRY_WINDOW_SECONDS });
    const orderId = await pendingOrder('paid-then-died', saleId);
    await h.drain(queues().payments);
    await approvedCharge(orderId);
    const report = (await h.runtime.runReconciler(new Date(Date.now() + HOLD_MS + 1_000))) as {
      confirmed: number;
    };
    expect(report.confirmed).toBeGreaterThanOrEqual(1);
    expect((await order(orderId)).status).toBe('CONFIRMED');
    const audit = await h.audit(saleId, { expectSettled: true });
    expect(audit.violations).toEqual([]);
    expect(audit.charges).toEqual({ approved: 1, refunded: 0, declined: 0 });
  });

  it('refunds on redelivery when the payment clock ran out first and the charge landed after (path a)', async () => {
    const { saleId } = await h.createSale({ totalStock: 2, holdSeconds: PAYMENT_RETRY_WINDOW_SECONDS });
    const orderId = await pendingOrder('expired-then-charged', saleId);
    const job = await h.receiveFor(queues().payments, orderId);
    const started = await h.beginPayment(orderId);
    await h.runtime.runReconciler(new Date(started + CLOCK_MS + 1_000));
    expect((await order(orderId)).status).toBe('PAYMENT_FAILED');
    // The consumer that read PAYMENT_PENDING before the expiry charged, then died.
    await approvedCharge(orderId);
    const redelivered = await h.receiveFor(queues().payments, orderId);
    expect(Number(redelivered.Attributes?.ApproximateReceiveCount)).toBeGreaterThan(1);
    expect(job.MessageId).toBe(redelivered.MessageId);
    expect(await h.deliver('processPayment', [redelivered])).toEqual({ batchItemFailures: [] });
    expect(await ledger(orderId)).toMatchObject({ outcome: 'approved', refunded: true });
    await h.drain(queues().payments);
    const audit = await h.audit(saleId, { expectSettled: true });
    expect(audit.violations).toEqual([]);
    expect(audit.charges).toEqual({ approved: 1, refunded: 1, declined: 0 });
  });

  it('lets the reconciler refund a kept charge whose payment job is gone for good (path b)', async () => {
    const { saleId } = await h.createSale({ totalStock: 2, holdSeconds: PAYMENT_RETRY_WINDOW_SECONDS });
    const orderId = await pendingOrder('refund-by-reconciler', saleId);
    const expiry = (await h.beginPayment(orderId)) + CLOCK_MS + 1_000;
    await h.runtime.runReconciler(new Date(expiry));
    expect((await order(orderId)).status).toBe('PAYMENT_FAILED');
    await approvedCharge(orderId);
    // Its refund kept failing and the job went to the DLQ: no redelivery will come.
    await h.drain(queues().payments);
    expect((await h.audit(saleId)).violations).toEqual([
      `order ${orderId} is PAYMENT_FAILED but its charge was kept`,
    ]);
    const early = (await h.runtime.runReconciler(new Date(expiry + 1_000))) as { refunded: number };
    expect(early.refunded).toBe(0);
    const report = (await h.runtime.runReconciler(new Date(expiry + GRACE_MS + 1_000))) as {
      refunded: number;
    };
    expect(report.refunded).toBe(1);
    expect(await ledger(orderId)).toMatchObject({ refunded: true });
    const audit = await h.audit(saleId, { expectSettled: true });
    expect(audit.violations).toEqual([]);
    // Checked once: the order has left the index, a later run refunds nothing more.
    const later = (await h.runtime.runReconciler(new Date(expiry + 3 * GRACE_MS))) as { refunded: number };
    expect(later.refunded).toBe(0);
  });

  it('re-sends a lost payment job, so an accepted order is charged and CONFIRMED before its hold ends', async () => {
    const { saleId } = await h.createSale({ totalStock: 2, holdSeconds: PAYMENT_RETRY_WINDOW_SECONDS });
    const orderId = await pendingOrder('job-lost', saleId);
    expect((await h.drain(queues().payments)).some((m) => m.Body?.includes(orderId))).toBe(true);
    // Messages an earlier step received are back after the 1 s visibility timeout: the queue empties.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await h.drain(queues().payments);
    const report = (await h.runtime.runReconciler(new Date(Date.now() + GRACE_MS + 1_000))) as {
      paymentsResent: number;
      expired: number;
    };
    expect(report.paymentsResent).toBeGreaterThanOrEqual(1);
    expect(report.expired).toBe(0);
    h.runtime.startConsumers();
    await settled(orderId, 'CONFIRMED');
    const audit = await h.audit(saleId, { expectSettled: true, acceptedOrderIds: [orderId] });
    expect(audit.violations).toEqual([]);
    expect(audit.charges).toEqual({ approved: 1, refunded: 0, declined: 0 });
  });

  it('pages the due index past its per-bucket limit', async () => {
    const tables = h.runtime.resources.tableNames;
    // Five orders forced into one bucket: a page of two must be followed twice more.
    const ids = Array.from({ length: 5 }, (_, i) => `paging-${Date.now()}-${i}`);
    const at = Date.now();
    for (const [i, orderId] of ids.entries()) {
      await h.db.send(
        new PutCommand({
          TableName: tables.orders,
          Item: { orderId, userId: 'pager', status: 'RESERVED', dueBucket: '7', dueAt: at - 1_000_000 + i },
        }),
      );
    }
    const seen: string[] = [];
    let pages = 0;
    for await (const page of store().due(at, 2)) {
      pages++;
      expect(page.length).toBeLessThanOrEqual(2 * 32);
      seen.push(...page.map((o) => o.orderId).filter((id) => ids.includes(id)));
    }
    expect(seen.sort()).toEqual([...ids].sort());
    expect(pages).toBeGreaterThanOrEqual(3);
    for (const orderId of ids)
      await h.db.send(new DeleteCommand({ TableName: tables.orders, Key: { orderId } }));
  });
});
