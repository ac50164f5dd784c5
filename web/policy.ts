import { createHash } from 'node:crypto';
import { pageScript } from './page.ts';
import type { PageSettings } from './payment.ts';

// The inline script is allowed by its hash, so the policy can forbid every other script.
const scriptHash = createHash('sha256').update(pageScript).digest('base64');

/**
 * What Stripe.js needs from a page's Content-Security-Policy (Stripe's integration security
 * guide): its script, the iframes of its Elements (and hooks.stripe.com, where a payment method
 * redirects), and its API. Nothing of it for the simulator: that page loads no third-party code.
 * Stripe lists maps.googleapis.com too, for the Address Element's autocomplete: not used here.
 */
const STRIPE_SOURCES = {
  script: ['https://js.stripe.com', 'https://*.js.stripe.com'],
  frame: ['https://js.stripe.com', 'https://*.js.stripe.com', 'https://hooks.stripe.com'],
  connect: ['https://api.stripe.com'],
};

export function contentSecurityPolicy(settings: Pick<PageSettings, 'gateway'>): string {
  const stripe = settings.gateway === 'stripe';
  const sources = (own: string[], extra: string[]) => [...own, ...(stripe ? extra : [])].join(' ');
  return [
    "default-src 'self'",
    `script-src ${sources([`'sha256-${scriptHash}'`], STRIPE_SOURCES.script)}`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    `connect-src ${sources(["'self'"], STRIPE_SOURCES.connect)}`,
    ...(stripe ? [`frame-src ${STRIPE_SOURCES.frame.join(' ')}`] : []),
    "frame-ancestors 'none'",
    // base-uri and form-action do not fall back to default-src: without them an injected <base> or
    // <form action> could send requests (and the sign-in name) elsewhere.
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** The page's response headers, computed once per cold start. */
export function buyerPageHeaders(settings: PageSettings): Record<string, string> {
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': contentSecurityPolicy(settings),
    // Links out of the page carry no URL (no sale id, nothing of the address bar).
    'Referrer-Policy': 'no-referrer',
    // The page is the same for everyone: a CDN may keep it briefly.
    'Cache-Control': 'public, max-age=60',
    'X-Content-Type-Options': 'nosniff',
  };
}
