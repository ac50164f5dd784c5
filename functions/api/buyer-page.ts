import { createHash } from 'node:crypto';
import { route } from '../../shared/http/route.ts';
import { buyerPageHtml } from '../../web/page.ts';

// The inline script is allowed by its hash, so the policy can forbid every other script.
const scriptHash = createHash('sha256')
  .update(/<script>([\s\S]*)<\/script>/.exec(buyerPageHtml)?.[1] ?? '')
  .digest('base64');
const headers = {
  'Content-Type': 'text/html; charset=utf-8',
  // base-uri and form-action do not fall back to default-src: without them an injected <base> or
  // <form action> could send requests (and the sign-in name) elsewhere.
  'Content-Security-Policy': `default-src 'self'; script-src 'sha256-${scriptHash}'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
  // Links out of the page carry no URL (no sale id, nothing of the address bar).
  'Referrer-Policy': 'no-referrer',
  // The page is the same for everyone: a CDN may keep it briefly.
  'Cache-Control': 'public, max-age=60',
  'X-Content-Type-Options': 'nosniff',
};

export const handler = route({ auth: 'public' }, async () => ({
  statusCode: 200,
  headers,
  body: buyerPageHtml,
}));
