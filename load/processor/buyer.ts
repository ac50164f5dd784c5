/**
 * Who each virtual buyer of load/flash-sale.yml is: its token (from the tokens file in order, or
 * minted through the local runtime's `POST /dev/tokens`), its Idempotency-Key and its role (a
 * buyer who repeats its request, or one who buys its limit and tries one more).
 */
import { mintDevToken, readSale } from '../lib/api-calls.ts';
import { type ApiClient, apiClient, typedApi } from '../lib/api-client.ts';
import { readTokenRows, type TokenRow } from '../lib/tokens-file.ts';
import { type Context, type Events, settings } from './settings.ts';

/** Counters the `ensure` conditions read: emitted as 0 so they always exist in the report. */
const ALWAYS = [
  'checkout.accepted',
  'checkout.server_errors',
  'idempotency.same_order',
  'idempotency.mismatch',
  'limit.refused',
  'limit.breached',
  'orders.unsettled',
  'buyers.without_token',
];

let nextBuyer = 0;
let tokenRows: TokenRow[] | undefined;
let saleInfo: Promise<{ perUserLimit: number }> | undefined;

function tokensFromFile(): TokenRow[] {
  tokenRows ??= readTokenRows(settings.tokensFile as string);
  return tokenRows;
}

async function perUserLimit(target: string): Promise<number> {
  saleInfo ??= readSale(typedApi(target), settings.saleId);
  return (await saleInfo).perUserLimit;
}

/** The client that mints tokens, one per target. */
const minters = new Map<string, ApiClient>();
function mint(target: string, userId: string): Promise<string> {
  const api = minters.get(target) ?? apiClient(target);
  minters.set(target, api);
  return mintDevToken(api, userId);
}

/** Deterministic spread: buyer i has the role when the running share crosses an integer at i. */
const picks = (i: number, share: number, offset: number) =>
  share > 0 && Math.floor((i + 1 + offset) * share) > Math.floor((i + offset) * share);

/** Scenario start: one buyer, its token, its key, its role. */
export async function pickBuyer(context: Context, events: Events): Promise<void> {
  for (const name of ALWAYS) events.emit('counter', name, 0);
  if (!settings.saleId) throw new Error('Set LOAD_SALE_ID to the sale the drill buys from');
  const target = String(context.vars.target);
  const i = nextBuyer++;
  let userId = `${settings.runId}-buyer-${i}`;
  let token: string;
  if (settings.tokensFile) {
    const row = tokensFromFile()[i];
    if (!row) {
      events.emit('counter', 'buyers.without_token', 1);
      context.vars.skip = true;
      return;
    }
    token = row.token;
    if (row.userId) userId = row.userId;
  } else {
    token = await mint(target, userId);
  }
  const limit = await perUserLimit(target);
  const overLimit = picks(i, settings.overLimitShare, 0.5);
  context.vars.skip = false;
  context.vars.saleId = settings.saleId;
  context.vars.buyer = i;
  context.vars.userId = userId;
  context.vars.token = token;
  context.vars.idemKey = `${settings.runId}-${i}`;
  context.vars.quantity = overLimit ? limit : 1;
  context.vars.retries = picks(i, settings.retryShare, 0) && !overLimit;
  context.vars.overLimit = overLimit;
  context.vars.accepted = false;
  context.vars.checkoutTries = 0;
  context.vars.retryAfterMs = 0;
  context.vars.orderId = '';
  context.vars.orderStatus = '';
  context.vars.pollDeadline = 0;
  if (overLimit) events.emit('counter', 'buyers.over_limit', 1);
  if (context.vars.retries) events.emit('counter', 'buyers.retrying', 1);
}
