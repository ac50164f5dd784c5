import { existsSync, readFileSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_FILES } from '../../local/openapi-files.ts';
import { type Harness, startHarness } from '../support/harness.ts';

/** Debian's chromium (installed by .ci/run); Playwright downloads no browser here. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`No browser at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  h = await startHarness();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
});
afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

describe('the API served as a product', () => {
  it('GET /openapi.json is the committed document, public and cacheable', async () => {
    const res = await fetch(`${h.runtime.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    expect(await res.json()).toEqual(JSON.parse(readFileSync(OPENAPI_FILES.document, 'utf8')));
  });

  it('GET /docs renders the operations with the bundled Scalar, nothing from another origin, no CSP violation', async () => {
    const page = await (await browser.newContext()).newPage();
    const problems: string[] = [];
    const foreign: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (!['data:', 'blob:'].includes(url.protocol) && url.origin !== new URL(h.runtime.url).origin)
        foreign.push(request.url());
    });
    const res = await page.goto(`${h.runtime.url}/docs`);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    // Sales opens first; another tag opens on a click. Summaries are the document's own.
    await page.getByText('Open a sale', { exact: true }).first().waitFor({ timeout: 60_000 });
    await page.getByText('Orders', { exact: true }).first().click();
    await page.getByText('Buy', { exact: true }).first().waitFor({ timeout: 30_000 });
    await page.getByText('Waiting room', { exact: true }).first().click();
    await page.getByText('Join the line', { exact: true }).first().waitFor({ timeout: 30_000 });
    expect(await page.getByText('Deploy API').count()).toBe(0);
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  }, 120_000);
});
