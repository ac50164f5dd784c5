import {
  admittedAt,
  countsCovering,
  joined,
  nowServing,
  pollAfterSeconds,
  positionOf,
  scheduled,
  scheduledAt,
  stateFromDocument,
  ticketState,
} from '../shared/domain/waiting-room.ts';
import { type PageSettings, paymentScript } from './payment.ts';

/**
 * The room's rules, as the status route runs them: the page computes a buyer's place from the
 * public room document and its signed ticket with these very functions (their source, in a scope
 * of their own so a bundler's short names cannot meet the page's).
 */
const roomRules = `(() => {
${[scheduled, nowServing, scheduledAt, admittedAt, positionOf, joined, ticketState, countsCovering, stateFromDocument, pollAfterSeconds].map((fn) => fn.toString()).join('\n')}
return { stateFromDocument: ${stateFromDocument.name}, pollAfterSeconds: ${pollAfterSeconds.name} };
})()`;

/**
 * The buyer page: one HTML document with its script inline, served by the public `GET /` route
 * (functions/api/buyer-page.ts), so `npm start` and the deployed API serve the same bytes from the
 * same origin as the API (no CORS, no second deployment). Plain DOM and fetch, no framework.
 *
 * `?sale=<id>` picks the sale (default `demo`). Sign-in: a bearer token in the URL fragment
 * (`#token=…`, never sent to a server, and wiped from the address bar and history at once) or,
 * locally, a name exchanged at `POST /dev/tokens`.
 * Every request is relative to where the page is served (`/` behind CloudFront, `/v1/` on the
 * execute-api URL, `npm start -- --base-path /v1`). While in line it polls the public room
 * document (cacheable, no token) and computes its place from its signed ticket; it calls the API
 * with its token once more, to exchange a served ticket for an admission token. How it pays
 * (simulator token or a Stripe card form) is web/payment.ts, chosen by the stack's gateway.
 *
 * The script is the same for every stack (its hash is in the page's Content-Security-Policy,
 * web/policy.ts); the settings travel as data attributes of <body>.
 */
export const pageScript = `
const rules = ${roomRules};
const $ = (id) => document.getElementById(id);
const base = location.pathname.endsWith('/') ? location.pathname : location.pathname + '/';
const params = new URLSearchParams(location.search);
const saleId = params.get('sale') || 'demo';
const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
let token = fromHash || sessionStorage.getItem('token:' + saleId) || '';
let ticket = sessionStorage.getItem('ticket:' + saleId) || '';
// The token leaves the address bar and the history entry at once (screenshots, shared links,
// the back button); this tab keeps it in sessionStorage, as a name signed in at /dev/tokens is.
if (fromHash) {
  sessionStorage.setItem('token:' + saleId, fromHash);
  history.replaceState(null, '', location.pathname + location.search);
}
let sale = null;
let admission = null;
let orderId = null;
let phase = 'idle';
let timer = null;
${paymentScript}
function show(id, on) { $(id).hidden = !on; }
function say(state, text) { $('state').dataset.state = state; $('state').textContent = text; }
// Never sooner than asked (Retry-After, pollAfterSeconds), spread by up to half again at random, so
// pages that learned the same moment (the start, one shared Retry-After) never poll in lockstep.
function later(fn, seconds) { clearTimeout(timer); timer = setTimeout(fn, Math.max(0.5, seconds) * (1 + Math.random() / 2) * 1000); }

async function api(method, path, body, headers = {}, anonymous = false) {
  const h = { ...headers };
  if (token && !anonymous) h.Authorization = 'Bearer ' + token;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(base + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, retryAfter: Number(res.headers.get('Retry-After') || 0) };
}

function money(minor, currency) {
  return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(minor / 100);
}

function soldOut() {
  phase = 'soldOut';
  clearTimeout(timer);
  say('SOLD_OUT', 'Sold out. Every unit is gone; thank you for waiting.');
  show('join', false); show('pay', false);
}

function renderSale() {
  $('sale-name').textContent = sale.name;
  $('price').textContent = money(sale.price, sale.currency);
  $('available').textContent = sale.available + ' of ' + sale.totalStock + ' left';
  const ms = Date.parse(sale.startsAt) - Date.now();
  $('countdown').textContent = ms > 0 ? 'Starts in ' + Math.ceil(ms / 1000) + ' s' : 'On sale now';
}

async function loadSale() {
  // A public document: no token, so every buyer shares the edge's cached copy.
  const res = await api('GET', 'sales/' + encodeURIComponent(saleId), undefined, {}, true);
  if (res.status !== 200) { say('ERROR', res.body.error ? res.body.error.message : 'Sale not found'); return; }
  sale = res.body;
  renderSale();
  if (sale.status === 'SOLD_OUT' && phase !== 'ordered') return soldOut();
  if (phase === 'idle') {
    show('join', Boolean(token));
    $('join').textContent = sale.waitingRoom ? 'Join the line' : 'Buy now';
    say('IDLE', token ? (sale.waitingRoom ? 'Join the line to get your turn.' : 'No line for this sale.') : 'Sign in to take part.');
    later(loadSale, 2);
  }
}

async function join() {
  show('join', false);
  if (!sale.waitingRoom) { admission = null; return admitted(); }
  phase = 'queued';
  const res = await api('POST', 'sales/' + encodeURIComponent(saleId) + '/queue');
  if (res.body.ticket) { ticket = res.body.ticket; sessionStorage.setItem('ticket:' + saleId, ticket); }
  onStatus(res);
}

/** The draw the signed ticket carries (its payload is the buyer's to read). */
function drawOf(jwt) {
  try { return JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).draw || null; } catch { return null; }
}

/** Next look at the line: the public room document when we hold a ticket, else our own status. */
function watch() { return drawOf(ticket) ? pollRoom() : poll(); }

async function poll() {
  const res = await api('GET', 'sales/' + encodeURIComponent(saleId) + '/queue/me');
  onStatus(res);
}

async function pollRoom() {
  if (phase === 'ordered' || phase === 'soldOut') return;
  const res = await api('GET', 'sales/' + encodeURIComponent(saleId) + '/room', undefined, {}, true);
  if (res.status === 429) return later(pollRoom, res.retryAfter || 1);
  if (res.status !== 200) return later(pollRoom, 3);
  const s = rules.stateFromDocument(res.body, drawOf(ticket));
  if (phase === 'admitted') return s.state === 'SOLD_OUT' ? soldOut() : later(pollRoom, 3);
  if (s.state === 'ADMITTED') return exchange();
  onLine(s, rules.pollAfterSeconds(s));
}

/** The one call with the token while in line: a served ticket for an admission token. */
async function exchange() {
  const res = await api('GET', 'sales/' + encodeURIComponent(saleId) + '/queue/me', undefined, { 'Queue-Ticket': ticket });
  onStatus(res);
}

function onStatus(res) {
  if (phase === 'ordered' || phase === 'soldOut') return;
  if (res.status === 429) return later(watch, res.retryAfter || 1);
  if (res.status !== 200 && res.status !== 201) { say('ERROR', res.body.error ? res.body.error.message : 'Error ' + res.status); return later(watch, 3); }
  const s = res.body;
  if (s.state !== 'ADMITTED') return onLine(s, s.pollAfterSeconds);
  showPlace(s);
  admission = s.admissionToken;
  admitted();
  later(watch, 3);
}

function showPlace(s) {
  if (sale) renderSale();
  $('position').textContent = String(s.position);
  $('serving').textContent = String(s.nowServing);
  show('line', true);
}

function onLine(s, pollAfter) {
  showPlace(s);
  if (s.state === 'SOLD_OUT') return soldOut();
  if (s.state === 'EXPIRED') {
    phase = 'expired';
    say('EXPIRED', 'Your turn came and passed without a purchase. If units are left once the line is through, you get a last call here.');
    return later(watch, pollAfter || 10);
  }
  $('eta').textContent = s.etaSeconds === null ? 'admission paused' : 'about ' + s.etaSeconds + ' s';
  say('WAITING', 'You are in line. Keep this page open.');
  later(watch, pollAfter || 1);
}

function admitted() {
  if (phase === 'buying' || phase === 'ordered') return;
  phase = 'admitted';
  $('eta').textContent = 'now';
  if (!cardProblem) say('ADMITTED', turnMessage());
  show('pay', true);
  payReady();
}

/** Back to the buy button after a refusal or an error, with the reason in the message area. */
function payAgain(text) {
  phase = 'admitted';
  show('pay', true);
  payReady();
  say('ERROR', text);
}

async function buy() {
  phase = 'buying';
  show('pay', false);
  let sent;
  try {
    sent = await attempt();
  } catch (error) {
    return payAgain(error && error.message ? error.message : 'The card was not accepted.');
  }
  const headers = { 'Idempotency-Key': sent.key };
  if (admission) headers['Admission-Token'] = admission;
  let res;
  try {
    res = await api('POST', 'sales/' + encodeURIComponent(saleId) + '/orders', { quantity: 1, paymentToken: sent.paymentToken }, headers);
  } catch {
    // The outcome is unknown: the kept attempt makes the next press find the order if there is one.
    return payAgain('The shop could not be reached. Press Buy again: it finds your order if it was placed, never a second one.');
  }
  if (res.status === 200 || res.status === 202) { phase = 'ordered'; clearTimeout(timer); orderId = res.body.orderId; return watchOrder(); }
  if (res.status === 409 && res.body.error.code === 'SOLD_OUT') return soldOut();
  if (res.status === 429) { phase = 'admitted'; return later(buy, res.retryAfter || 1); }
  // A refusal changed nothing: the next press is a new attempt (and may use another card).
  forgetAttempt();
  payAgain(res.body.error ? res.body.error.message : 'Error ' + res.status);
}

async function watchOrder() {
  const res = await api('GET', 'orders/' + encodeURIComponent(orderId));
  if (res.status === 200) {
    const status = res.body.status;
    $('order-status').textContent = status;
    show('order', true);
    if (status === 'PAYMENT_FAILED') {
      // Its units are back on sale: a new attempt may buy them, with another card.
      forgetAttempt();
      phase = 'admitted';
      show('pay', true);
      payReady();
      return say('ORDER_PAYMENT_FAILED', failedMessage(res.body.failureReason));
    }
    const done = ['CONFIRMED', 'EXPIRED', 'CANCELLED'].includes(status);
    say('ORDER_' + status, done ? (status === 'CONFIRMED' ? 'Bought! Your order is confirmed.' : 'Your order ended: ' + status) : 'Order placed; confirming payment…');
    if (done) return;
  }
  later(watchOrder, 1);
}

async function signIn(event) {
  event.preventDefault();
  const res = await api('POST', 'dev/tokens', { userId: $('user').value.trim() });
  if (res.status !== 200) { say('ERROR', 'Sign-in needs a token: open this page with #token=<your JWT>.'); return; }
  token = res.body.token;
  sessionStorage.setItem('token:' + saleId, token);
  show('signin', false);
  loadSale();
}

loadCardForm();
$('signin').addEventListener('submit', signIn);
$('join').addEventListener('click', join);
$('buy').addEventListener('click', buy);
show('signin', !token);
setInterval(() => { if (sale) renderSale(); }, 1000);
loadSale();
`;

const style = `
body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.5rem;margin:.2rem 0}.muted{color:#666}#state{font-size:1.15rem;margin:1rem 0;padding:.8rem;border-radius:.5rem;background:#f1f3f5}
#state[data-state=SOLD_OUT]{background:#ffe3e3}#state[data-state=ADMITTED],#state[data-state=ORDER_CONFIRMED]{background:#d3f9d8}
button{font-size:1.1rem;padding:.6rem 1.2rem;border-radius:.4rem;border:0;background:#1c7ed6;color:#fff;cursor:pointer}
button:disabled{opacity:.5;cursor:not-allowed}#card{padding:.7rem;margin:.6rem 0;border:1px solid #ced4da;border-radius:.4rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}dt{color:#666}`;

/** The page for a stack's payment settings (keys are checked at cold start: only [A-Za-z0-9_]). */
export const buyerPageHtml = (settings: PageSettings) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Flash sale</title><link rel="icon" href="data:,"><style>${style}</style></head>
<body data-gateway="${settings.gateway}"${settings.gateway === 'stripe' ? ` data-stripe-key="${settings.stripePublishableKey}"` : ''}>
<p class="muted" id="countdown"></p>
<h1 id="sale-name">Loading…</h1>
<p><span id="price"></span> · <span id="available"></span></p>
<form id="signin" hidden><label>Your name <input id="user" required pattern="[A-Za-z0-9_.@\\-]{1,64}"></label> <button>Sign in</button></form>
<div id="state" data-state="LOADING">Loading…</div>
<dl id="line" hidden><dt>Your place</dt><dd id="position"></dd><dt>Now serving</dt><dd id="serving"></dd><dt>Your turn</dt><dd id="eta"></dd></dl>
<button id="join" hidden>Join the line</button>
<div id="pay" hidden><div id="card" hidden></div><button id="buy">Buy 1</button></div>
<dl id="order" hidden><dt>Order</dt><dd id="order-status"></dd></dl>
<script>${pageScript}</script>
</body></html>`;
