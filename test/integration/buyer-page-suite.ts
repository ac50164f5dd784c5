import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { type Harness, startHarness } from '../support/harness.ts';

/**
 * The buyer page in a real browser against the local runtime, served at `basePath` (`''` = the
 * root, as behind CloudFront; `/v1` as on the execute-api URL): buyer-page.test.ts and
 * buyer-page-base-path.test.ts run it, each in its own process (one runtime per process).
 */
export function buyerPageSuite(basePath: string): void {
  let h: Harness;
  let browser: Browser;

  beforeAll(async () => {
    h = await startHarness({ consumers: true, basePath });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.stop();
  });

  /** Requests the pages made anywhere but the runtime (the simulator's page makes none: no Stripe.js). */
  const offsite: string[] = [];

  async function openAs(userId: string, saleId: string): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.protocol.startsWith('http') && url.origin !== new URL(h.runtime.url).origin)
        offsite.push(url.href);
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(`${h.runtime.url}/?sale=${saleId}`);
    await page.locator('#user').fill(userId);
    await page.locator('#signin button').click();
    await page.locator('#join').waitFor({ state: 'visible' });
    expect(errors).toEqual([]);
    return page;
  }

  const state = (page: Page) => page.locator('#state');

  describe('the buyer page', () => {
    it('counts down, queues, admits, buys and shows the order CONFIRMED', async () => {
      // Far enough ahead that a slow machine still shows the countdown before the start.
      const startsAt = Date.now() + 10_000;
      const { saleId } = await h.createSale({
        name: 'Browser drop',
        totalStock: 3,
        perUserLimit: 1,
        startsAt: new Date(startsAt).toISOString(),
        waitingRoom: { admitPerSecond: 5 },
      });
      const page = await openAs('pat', saleId);
      await expect.poll(() => page.locator('#sale-name').textContent()).toBe('Browser drop');
      expect(await page.locator('#countdown').textContent()).toMatch(/^Starts in \d+ s$/);

      const before = h.runtime.invocationCounts();
      await page.locator('#join').click();
      await expect.poll(() => state(page).getAttribute('data-state'), { timeout: 10_000 }).toBe('WAITING');
      expect(await page.locator('#position').textContent()).toBe('1');

      await expect.poll(() => state(page).getAttribute('data-state'), { timeout: 25_000 }).toBe('ADMITTED');
      // While in line it read the public room document, and called its own status once: the exchange.
      const after = h.runtime.invocationCounts();
      expect((after.getRoom ?? 0) - (before.getRoom ?? 0)).toBeGreaterThan(0);
      expect((after.queueStatus ?? 0) - (before.queueStatus ?? 0)).toBe(1);
      await expect.poll(() => page.locator('#countdown').textContent()).toBe('On sale now');
      // The simulator's page: no card form, a buy button ready at once, the simulator's test token.
      expect(await page.locator('#card').isVisible()).toBe(false);
      expect(await page.locator('#buy').isEnabled()).toBe(true);
      const order = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/orders'));
      await page.locator('#buy').click();
      expect((await order).postDataJSON()).toEqual({ quantity: 1, paymentToken: 'tok_ok' });
      await expect
        .poll(() => state(page).getAttribute('data-state'), { timeout: 20_000 })
        .toBe('ORDER_CONFIRMED');
      expect(await page.locator('#order-status').textContent()).toBe('CONFIRMED');
      // Nothing was fetched from anywhere else: Stripe.js is loaded only by a Stripe stack's page.
      expect(offsite).toEqual([]);

      // What the page showed is what the system holds.
      const orders = await h.call<{ orders: { status: string; saleId: string }[] }>('GET', '/me/orders', {
        token: await h.token('pat'),
      });
      expect(orders.body.orders.filter((o) => o.saleId === saleId).map((o) => o.status)).toEqual([
        'CONFIRMED',
      ]);
    });

    it('shows SOLD_OUT to a waiting buyer the moment the last unit goes', async () => {
      const { saleId } = await h.createSale({
        totalStock: 1,
        perUserLimit: 1,
        waitingRoom: { admitPerSecond: 1_000 },
      });
      const page = await openAs('quinn', saleId);
      await page.locator('#join').click();
      await expect.poll(() => state(page).getAttribute('data-state'), { timeout: 10_000 }).toBe('ADMITTED');

      // Someone else, admitted too, takes the only unit first.
      const rival = await h.token('rival');
      const ticket = await h.call('POST', `/sales/${saleId}/queue`, { token: rival });
      expect(ticket.body.state).toBe('ADMITTED');
      const bought = await h.call('POST', `/sales/${saleId}/orders`, {
        token: rival,
        headers: { 'idempotency-key': 'rival-1', 'admission-token': String(ticket.body.admissionToken) },
        body: { quantity: 1, paymentToken: 'tok_ok' },
      });
      expect(bought.status).toBe(202);

      await expect.poll(() => state(page).getAttribute('data-state'), { timeout: 10_000 }).toBe('SOLD_OUT');
      expect(await page.locator('#buy').isVisible()).toBe(false);
    });

    it('takes a #token= sign-in out of the address bar and history, and sends a strict policy (issue 18)', async () => {
      const { saleId } = await h.createSale({ waitingRoom: { admitPerSecond: 5 } });
      const token = await h.token('robin');
      const page = await (await browser.newContext()).newPage();
      const reply = await page.goto(`${h.runtime.url}/?sale=${saleId}#token=${token}`);
      const headers = reply?.headers() ?? {};
      expect(headers['referrer-policy']).toBe('no-referrer');
      const policy = headers['content-security-policy'] ?? '';
      expect(policy).toContain("base-uri 'none'");
      expect(policy).toContain("form-action 'none'");
      await page.locator('#join').waitFor({ state: 'visible' });
      expect(page.url()).toBe(`${h.runtime.url}/?sale=${saleId}`);
      // The entry was replaced, not added to: as many entries as a page opened without a token.
      const plain = await (await browser.newContext()).newPage();
      await plain.goto(`${h.runtime.url}/?sale=${saleId}`);
      const entries = await plain.evaluate('history.length');
      expect(await page.evaluate('[history.length, location.hash]')).toEqual([entries, '']);
      await page.goBack();
      expect(page.url()).not.toContain('token=');
      await page.goForward();
      // Still signed in: the tab kept the token (a reload finds it in sessionStorage).
      await page.reload();
      await page.locator('#join').click();
      await expect.poll(() => state(page).getAttribute('data-state')).toBe('ADMITTED');
    });
  });
}
