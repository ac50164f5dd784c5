import type { PaymentGatewayKind } from '../shared/contract.ts';

/** What the buyer page must know of the stack's payments (the buyerPage function's `page` settings). */
export interface PageSettings {
  gateway: PaymentGatewayKind;
  /** Stripe only: the publishable key Stripe.js runs under (public by design). */
  stripePublishableKey?: string;
}

/** Stripe.js, always loaded from Stripe (Stripe requires it: never bundled, never self-hosted). */
export const STRIPE_JS = 'https://js.stripe.com/v3/';

/**
 * The page's payment step, part of its one inline script (web/page.ts; it uses the page's `$`,
 * `say`, `saleId` and `sale`). The gateway comes from the page's `data-gateway`:
 *
 * - `simulated`: no card form and no third-party script; the simulator's test token `tok_ok`.
 * - `stripe`: Stripe.js mounts a card Element, the buy button waits until the Element reports a
 *   complete card, and `stripe.createPaymentMethod` turns it into the `pm_…` id sent as
 *   `paymentToken` (the payment consumer confirms the PaymentIntent server-side). 3-D Secure is not
 *   done on the page: such an order ends PAYMENT_FAILED `authentication_required` (README "Payments").
 *
 * One purchase attempt is one Idempotency-Key together with one payment token, kept in the tab's
 * sessionStorage until the server has answered it: a RETRY, a lost connection or a reload sends
 * both again unchanged, so it finds the same order — never a second order, never a second
 * PaymentMethod (the same key with another token would be refused as IDEMPOTENCY_KEY_REUSED).
 */
export const paymentScript = `
const gateway = document.body.dataset.gateway;
let stripe = null;
let card = null;
let cardComplete = gateway !== 'stripe';
let cardProblem = '';

function attemptKey() { return 'attempt:' + saleId; }
function keptAttempt() {
  try { return JSON.parse(sessionStorage.getItem(attemptKey()) || 'null'); } catch { return null; }
}
function forgetAttempt() { sessionStorage.removeItem(attemptKey()); }

/** The attempt to send: the kept one, else a new key with a new payment token. */
async function attempt() {
  const kept = keptAttempt();
  if (kept) return kept;
  const made = { key: 'web-' + crypto.randomUUID(), paymentToken: gateway === 'stripe' ? await paymentMethod() : 'tok_ok' };
  sessionStorage.setItem(attemptKey(), JSON.stringify(made));
  return made;
}

async function paymentMethod() {
  const result = await stripe.createPaymentMethod({ type: 'card', card });
  if (result.error) throw new Error(result.error.message || 'The card was not accepted.');
  return result.paymentMethod.id;
}

/** Buy waits for a complete card, unless a kept attempt already holds its payment method. */
function payReady() { $('buy').disabled = !(cardComplete || keptAttempt()); }

function turnMessage() {
  return sale && sale.waitingRoom ? "It's your turn: buy within " + sale.waitingRoom.tokenSeconds + ' s.' : "It's your turn: buy now.";
}

function loadCardForm() {
  payReady();
  if (gateway !== 'stripe') return;
  const tag = document.createElement('script');
  tag.src = '${STRIPE_JS}';
  tag.onload = mountCard;
  tag.onerror = () => say('ERROR', 'Card payments could not load (Stripe.js did not arrive); reload the page to try again.');
  document.head.append(tag);
}

function mountCard() {
  try {
    stripe = Stripe(document.body.dataset.stripeKey);
    card = stripe.elements().create('card');
    card.on('change', (event) => {
      cardComplete = event.complete;
      // Stripe.js's own words for what is wrong with the card, in the page's message area.
      const problem = event.error ? event.error.message : '';
      if (problem) say('ERROR', problem);
      else if (cardProblem && phase === 'admitted') say('ADMITTED', turnMessage());
      cardProblem = problem;
      payReady();
    });
    card.mount('#card');
    show('card', true);
  } catch (error) {
    say('ERROR', 'Card payments could not start: ' + (error && error.message ? error.message : String(error)));
  }
}

/** What a buyer reads when the order ended PAYMENT_FAILED; they may buy again with another card. */
function failedMessage(reason) {
  // The Stripe adapter's AUTHENTICATION_REQUIRED: the card needs 3-D Secure, which the consumer
  // cannot ask for once the buyer has left (no handleNextAction flow is built).
  if (reason === 'authentication_required')
    return 'Your bank wants to confirm this card with 3-D Secure, which this shop cannot do yet. Nothing is charged for this order: buy again with another card.';
  return 'The payment did not go through' + (reason ? ' (' + reason + ')' : '') + '. Nothing is charged for this order: buy again, with another card if you like.';
}
`;
