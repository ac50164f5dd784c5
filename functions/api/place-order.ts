import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { stores } from '../../shared/adapters/dynamo/client.ts';
import { SqsOrderQueue, sqsClient } from '../../shared/adapters/sqs/order-queue.ts';
import { inRouteVerifier } from '../../shared/auth/verify.ts';
import { loadConfig } from '../../shared/config.ts';
import { idempotencyKey, pathId, placeOrderBodyFor } from '../../shared/contract.ts';
import { DomainError } from '../../shared/domain/errors.ts';
import { viewOfOrder } from '../../shared/domain/order.ts';
import { caller, json, route, singleHeader } from '../../shared/http/route.ts';
import { logger, metrics } from '../../shared/observability.ts';
import { type CheckoutDeps, placeOrder, SaleCatalog } from '../../shared/usecases/checkout.ts';
import { ADMISSION_HEADER, requireAdmission } from '../../shared/usecases/waiting-room.ts';

const config = loadConfig('placeOrder');
const signingKey = config.signing.TOKEN_SIGNING_KEY;
const budgetMs = config.checkout.CHECKOUT_BUDGET_MS;
const placeOrderBody = placeOrderBodyFor(config.paymentTokens.PAYMENT_GATEWAY);
// Per-attempt timeouts so one stuck socket costs part of the budget, not all of it; the SDK's own
// retries then run within what is left (every call also carries the budget's abort signal).
const { sales, stock, orders } = stores(config, {
  connectionTimeoutMs: Math.min(1_000, budgetMs / 3),
  requestTimeoutMs: Math.ceil(budgetMs / 2),
});
const saleStore = sales();
const deps: CheckoutDeps = {
  sales: saleStore,
  stock: stock(),
  orders: orders(),
  queue: new SqsOrderQueue(sqsClient(config), { orders: config.queueUrl('orders') }),
  catalog: new SaleCatalog(saleStore, config.checkout.SALE_CACHE_MS),
  maxAttempts: config.checkout.CHECKOUT_MAX_ATTEMPTS,
  budgetMs,
  soldOutMemoMs: config.checkout.SOLD_OUT_MEMO_MS,
  reenqueueGraceMs: config.checkout.REENQUEUE_GRACE_SECONDS * 1000,
  observe: (event, detail) => {
    metrics.addMetric(event, MetricUnit.Count, 1);
    if (event === 'enqueueFailed')
      logger.error('order accepted but not sent; the reconciler will send it', detail as Error);
    if (event === 'returnFailed')
      logger.warn('numbers not given back at once; the reconciler sweep will', detail as Error);
  },
};

// No in-process tracer on the hottest, most cold-start-sensitive function: Lambda's active
// tracing still records its segment, and the X-Ray SDK would add ~10 ms to every cold start.
export const handler = route(
  { auth: 'buyer', verifier: inRouteVerifier(config), jsonBody: true, metrics: true },
  async (event) => {
    const key = singleHeader(event, 'Idempotency-Key');
    if (key === undefined)
      throw new DomainError('VALIDATION_ERROR', 'The Idempotency-Key header is required');
    const saleId = pathId.parse(event.pathParameters?.saleId);
    // The waiting room's one early step, on the sale the checkout reads next anyway (cached).
    const found = await deps.catalog.get(saleId, Date.now());
    if (found?.sale.waitingRoom) {
      const admission = singleHeader(event, ADMISSION_HEADER);
      await requireAdmission(found.sale, caller(event).userId, admission, Date.now(), signingKey).catch(
        (error: unknown) => {
          metrics.addMetric('admissionRefused', MetricUnit.Count, 1);
          throw error;
        },
      );
    }
    const { order, replayed } = await placeOrder(deps, {
      userId: caller(event).userId,
      saleId,
      idempotencyKey: idempotencyKey.parse(key),
      body: placeOrderBody.parse(event.body),
      now: Date.now(),
    });
    return json(replayed ? 200 : 202, viewOfOrder(order), { Location: `/orders/${order.orderId}` });
  },
);
