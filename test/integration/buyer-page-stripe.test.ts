import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRIPE_JS } from '../../web/payment.ts';
import { launchChromium } from '../support/browser.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { type StripeStandIn, startStripeStandIn } from '../support/stripe-stand-in.ts';

// The buyer page of a Stripe stack in a real browser: the local runtime with PAYMENT_GATEWAY=stripe
// charging through the Stripe API stand-in (test/support/stripe-stand-in.ts), and the page's
// Stripe.js replaced by STRIPE_JS_STAND_IN below, since nothing outside this machine is reachable.

const PUBLISHABLE_KEY = 'pk_test_buyerPage';

/**
 * A STAND-IN FOR STRIPE.JS, NOT STRIPE.JS: only the calls the buyer page makes — Stripe(key),
 * elements().create('card'), element.on('change'), element.mount(), stripe.createPaymentMethod —
 * with the shapes Stripe documents. Its "card Element" is a plain input in the page (the real one
 * is an iframe of js.stripe.com with Stripe's own validation); its PaymentMethods are the test ids
 * the API stand-in knows. It records what the page asked of it in `window.stripeStandIn`.
 */
const STRIPE_JS_STAND_IN = `
window.Stripe = function (key) {
  const log = (window.stripeStandIn = { key, mounted: 0, created: [] });
  const paymentMethods = { '4242424242424242': 'pm_card_visa', '4000002760003184': 'pm_card_threeDSecure2Required' };
  return {
    elements() {
      return {
        create(type) {
          const input = document.createElement('input');
          input.id = 'stand-in-card';
          const listeners = [];
          input.addEventListener('input', () => {
            const number = input.value.replace(/ /g, '');
            const invalid = /[^0-9]/.test(number);
            const event = { elementType: type, empty: number === '', complete: !invalid && number.length === 16 };
            if (invalid) event.error = { type: 'validation_error', code: 'invalid_number', message: 'Your card number is invalid.' };
            for (const listener of listeners) listener(event);
          });
          return {
            number: () => input.value.replace(/ /g, ''),
            on(name, listener) { if (name === 'change') listeners.push(listener); },
            mount(selector) { document.querySelector(selector).append(input); log.mounted += 1; },
          };
        },
      };
    },
    async createPaymentMethod(options) {
      const id = options.type === 'card' ? paymentMethods[options.card.number()] : undefined;
      log.created.push(id || null);
      if (!id) return { error: { type: 'card_error', code: 'card_declined', message: 'Your card was declined.' } };
      return { paymentMethod: { id, object: 'payment_method', type: 'card' } };
    },
  };
};
`;

interface StandInLog {
  key: string;
  mounted: number;
  created: (string | null)[];
}

let h: Harness;
let stripeApi: StripeStandIn;
let browser: Browser;

beforeAll(async () => {
  stripeApi = await startStripeStandIn();
  h = await startHarness({
    consumers: true,
    env: {
      PAYMENT_GATEWAY: 'stripe',
      STRIPE_SECRET_KEY: stripeApi.secretKey,
      STRIPE_API_BASE: stripeApi.url,
      STRIPE_PUBLISHABLE_KEY: PUBLISHABLE_KEY,
    },
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await h?.stop();
  await stripeApi?.stop();
});

interface Opened {
  page: Page;
  context: BrowserContext;
  /** Requests for Stripe.js, and the order requests the page sent. */
  stripeJsRequests: string[];
  orders: Request[];
  /** Uncaught exceptions and console errors (a refused resource's status line aside). */
  errors: string[];
}

async function openAs(userId: string, saleId: string): Promise<Opened> {
  const context = await browser.newContext();
  const stripeJsRequests: string[] = [];
  await context.route(STRIPE_JS, async (route) => {
    stripeJsRequests.push(route.request().url());
    await route.fulfill({ contentType: 'text/javascript', body: STRIPE_JS_STAND_IN });
  });
  const page = await context.newPage();
  const orders: Request[] = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().endsWith('/orders')) orders.push(request);
  });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      errors.push(message.text());
  });
  await page.goto(`${h.runtime.url}/?sale=${saleId}`);
  await page.locator('#user').fill(userId);
  await page.locator('#signin button').click();
  await page.locator('#join').waitFor({ state: 'visible' });
  return { page, context, stripeJsRequests, orders, errors };
}

const state = (page: Page) => page.locator('#state');
const standIn = (page: Page) => page.evaluate<StandInLog>('window.stripeStandIn');
const sent = (request: Request) => ({
  key: request.headers()['idempotency-key'],
  body: request.postDataJSON() as { quantity: number; paymentToken: string },
});

describe('the buyer page of a Stripe stack', () => {
  it('mounts a card Element, waits for a complete card, and pays with its PaymentMethod; a RETRY resends the same key and pm', async () => {
    const { saleId } = await h.createSale({ totalStock: 2, perUserLimit: 1 });
    const { page, stripeJsRequests, orders, errors } = await openAs('sam', saleId);

    // Stripe.js came from js.stripe.com, ran under the stack's publishable key, and mounted the card.
    expect(stripeJsRequests).toEqual([STRIPE_JS]);
    await expect.poll(() => standIn(page)).toMatchObject({ key: PUBLISHABLE_KEY, mounted: 1 });
    expect(await page.locator('#card #stand-in-card').count()).toBe(1);

    await page.locator('#join').click();
    await expect.poll(() => state(page).getAttribute('data-state')).toBe('ADMITTED');
    const buy = page.locator('#buy');
    expect(await buy.isVisible()).toBe(true);
    expect(await buy.isDisabled()).toBe(true);
    const card = page.locator('#stand-in-card');
    await card.fill('4242 4242');
    expect(await buy.isDisabled()).toBe(true);
    // What Stripe.js says is wrong with the card shows in the message area.
    await card.fill('4242 42x2');
    await expect.poll(() => state(page).textContent()).toBe('Your card number is invalid.');
    await card.fill('4242 4242 4242 4242');
    await expect.poll(() => buy.isEnabled()).toBe(true);
    expect(await state(page).getAttribute('data-state')).toBe('ADMITTED');

    // The first order request is answered RETRY (as API Gateway's throttle would); the rest pass.
    let refused = 0;
    await page.route(
      (url) => url.pathname.endsWith('/orders'),
      async (route) => {
        if (route.request().method() !== 'POST' || refused++ > 0) return route.continue();
        await route.fulfill({
          status: 429,
          headers: { 'Content-Type': 'application/json', 'Retry-After': '1' },
          body: JSON.stringify({ error: { code: 'RETRY', message: 'Busy: retry after 1 s' } }),
        });
      },
    );
    await buy.click();
    await expect
      .poll(() => state(page).getAttribute('data-state'), { timeout: 30_000 })
      .toBe('ORDER_CONFIRMED');

    // One PaymentMethod, made once; both requests carried it under one Idempotency-Key.
    expect((await standIn(page)).created).toEqual(['pm_card_visa']);
    expect(orders).toHaveLength(2);
    const [first, retry] = orders.map(sent);
    expect(first?.body).toEqual({ quantity: 1, paymentToken: 'pm_card_visa' });
    expect(retry).toEqual(first);
    expect(first?.key).toMatch(/^web-[0-9a-f-]{36}$/);

    // The server confirmed one order, charged once through the Stripe API stand-in.
    const mine = await h.call<{ orders: { orderId: string; saleId: string; status: string }[] }>(
      'GET',
      '/me/orders',
      { token: await h.token('sam') },
    );
    const bought = mine.body.orders.filter((o) => o.saleId === saleId);
    expect(bought.map((o) => o.status)).toEqual(['CONFIRMED']);
    expect(await stripeApi.chargesFor(String(bought[0]?.orderId))).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('shows a card Stripe.js refuses and a card needing 3-D Secure plainly, then buys with another card', async () => {
    const { saleId } = await h.createSale({ totalStock: 1, perUserLimit: 1 });
    const { page, orders, errors } = await openAs('tess', saleId);
    await page.locator('#join').click();
    const card = page.locator('#stand-in-card');
    const buy = page.locator('#buy');

    // Refused by Stripe.js: its message, no order request, the buy button back.
    await card.fill('4000 0000 0000 0002');
    await buy.click();
    await expect.poll(() => state(page).textContent()).toBe('Your card was declined.');
    expect(orders).toHaveLength(0);
    expect(await buy.isVisible()).toBe(true);

    // 3-D Secure required: the order ends PAYMENT_FAILED authentication_required, said plainly.
    await card.fill('4000 0027 6000 3184');
    await buy.click();
    await expect
      .poll(() => state(page).getAttribute('data-state'), { timeout: 30_000 })
      .toBe('ORDER_PAYMENT_FAILED');
    expect(await state(page).textContent()).toMatch(
      /3-D Secure.*cannot do yet.*Nothing is charged.*another card/,
    );
    expect(await page.locator('#order-status').textContent()).toBe('PAYMENT_FAILED');

    // Its unit is back on sale: another card buys it, as a new attempt (a new key, a new pm).
    await card.fill('4242 4242 4242 4242');
    await expect.poll(() => buy.isVisible()).toBe(true);
    await buy.click();
    await expect
      .poll(() => state(page).getAttribute('data-state'), { timeout: 30_000 })
      .toBe('ORDER_CONFIRMED');
    expect((await standIn(page)).created).toEqual([null, 'pm_card_threeDSecure2Required', 'pm_card_visa']);
    const [threeDs, visa] = orders.map(sent);
    expect(threeDs?.body.paymentToken).toBe('pm_card_threeDSecure2Required');
    expect(visa?.body.paymentToken).toBe('pm_card_visa');
    expect(visa?.key).not.toBe(threeDs?.key);
    expect(errors).toEqual([]);
  });
});
