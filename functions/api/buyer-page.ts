import { loadConfig } from '../../shared/config.ts';
import { route } from '../../shared/http/route.ts';
import { buyerPageHtml } from '../../web/page.ts';
import type { PageSettings } from '../../web/payment.ts';
import { buyerPageHeaders } from '../../web/policy.ts';

// The gateway (and Stripe's publishable key) are checked once, at cold start: a Stripe stack
// without the key fails here, not at a buyer's first card.
const config = loadConfig('buyerPage');
const settings: PageSettings = {
  gateway: config.page.PAYMENT_GATEWAY,
  ...(config.page.STRIPE_PUBLISHABLE_KEY ? { stripePublishableKey: config.page.STRIPE_PUBLISHABLE_KEY } : {}),
};
const headers = buyerPageHeaders(settings);
const body = buyerPageHtml(settings);

export const handler = route({ auth: 'public' }, async () => ({ statusCode: 200, headers, body }));
