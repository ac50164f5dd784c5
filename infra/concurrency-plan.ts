import type { FunctionKey } from '../shared/wiring.ts';

/**
 * Reserved concurrency computed from the account (README "Deploying to AWS"). A reservation takes
 * slots from every other function in the account and region, and Lambda refuses any that would
 * leave fewer than 100 unreserved, so `cdk deploy` failed in small accounts and beside a second
 * stage. The plan reserves only what fits: the account's quota less AWS's 100, less headroom for
 * the other functions (10 %, at least 100), times this stage's share of that pool; the wiring's
 * wishes are scaled down proportionally when they do not fit, and dropped below a useful size.
 */

/** Lambda keeps this much of the account's concurrency unreserved, whatever is asked. */
export const AWS_UNRESERVED_MINIMUM = 100;
/** Synth without `-c accountConcurrency` assumes a new account's small quota: no reservations. */
export const ASSUMED_ACCOUNT_CONCURRENCY = 10;
/** Below this a reservation caps a function harder than the shared pool would: none instead. */
export const MIN_USEFUL_RESERVATION = 10;
/** Shares of the reservable pool by stage unless `-c concurrencyShare`: prod and one other stage fit. */
export const DEFAULT_SHARE = { prod: 0.8, other: 0.2 } as const;
/**
 * How long a checkout holds its environment (capacity model, `npm run capacity`: ~30 ms plus a
 * 20 ms transaction window at worst): reserved slots ÷ this = checkouts per second.
 */
export const CHECKOUT_BUSY_SECONDS = 0.05;

export interface ConcurrencyPlan {
  accountConcurrency: number;
  /** Whether the quota was given (`npm run deploy` reads it) or assumed. */
  measured: boolean;
  share: number;
  /** Slots this stage may reserve. */
  pool: number;
  reserved: Partial<Record<FunctionKey, number>>;
  /** Said at synth when the plan cannot give what the wiring asks. */
  warnings: string[];
}

export function headroomFor(accountConcurrency: number): number {
  return Math.max(100, Math.ceil(accountConcurrency * 0.1));
}

export function concurrencyPlan(input: {
  accountConcurrency?: number;
  share: number;
  /** What the wiring asks (`reservedConcurrency`) of the functions this stack deploys. */
  wanted: Partial<Record<FunctionKey, number>>;
  checkout: FunctionKey;
}): ConcurrencyPlan {
  const measured = input.accountConcurrency !== undefined;
  const account = input.accountConcurrency ?? ASSUMED_ACCOUNT_CONCURRENCY;
  const pool = Math.max(
    0,
    Math.floor((account - AWS_UNRESERVED_MINIMUM - headroomFor(account)) * input.share),
  );
  const wanted = Object.entries(input.wanted).filter(([, n]) => (n ?? 0) > 0) as [FunctionKey, number][];
  const total = wanted.reduce((sum, [, n]) => sum + n, 0);
  const scale = total <= pool ? 1 : pool / total;
  const reserved: Partial<Record<FunctionKey, number>> = {};
  for (const [key, n] of wanted) {
    const r = Math.floor(n * scale);
    if (r >= MIN_USEFUL_RESERVATION) reserved[key] = r;
  }
  const warnings: string[] = [];
  if (scale < 1) {
    const where = measured
      ? `account concurrency ${account}`
      : `account concurrency assumed ${account} (npm run deploy passes -c accountConcurrency from Lambda GetAccountSettings)`;
    const got = wanted.map(([key, n]) => `${key} ${reserved[key] ?? 'none'} of ${n}`).join(', ');
    const checkoutSlots = reserved[input.checkout];
    const takes =
      checkoutSlots !== undefined
        ? `the checkout can then take about ${Math.floor(checkoutSlots / CHECKOUT_BUSY_SECONDS)} checkouts/s`
        : `the checkout has no reservation and shares the account's unreserved pool (at most about ${Math.floor(account / CHECKOUT_BUSY_SECONDS)} checkouts/s, and only while nothing else runs)`;
    warnings.push(
      `Reserved concurrency scaled to fit (${where}, this stage's share ${input.share} of ${Math.max(0, account - AWS_UNRESERVED_MINIMUM - headroomFor(account))} reservable = ${pool}): ${got}; ${takes}. Lambda also limits the account to about ${10 * account} requests/s.`,
    );
  }
  return { accountConcurrency: account, measured, share: input.share, pool, reserved, warnings };
}
