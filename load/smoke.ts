/**
 * `npm run smoke -- --target URL [--tokens FILE | --admin-token T --buyer-token T]
 *                  [--sales-table N --orders-table N --payments-table N --claims-table N --region R]`
 *
 * A few seconds' proof that a deployed stack (AWS, LocalStack, or `npm start`) works end to end:
 * a small sale of its own, purchases that are approved and declined, a replay, refusals, then the
 * invariants seen from outside (load/lib/smoke-scenario.ts) and, with the table names, the full
 * audit from DynamoDB (shared/audit/invariants.ts). Exit status: 0 clean, 1 any violation,
 * 2 usage or access problems.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { devIssuer } from '../local/dev-issuer.ts';
import { documentClient } from '../shared/adapters/dynamo/client.ts';
import { type AuditTables, auditSale, formatReport } from '../shared/audit/invariants.ts';
import { tables as tableSpecs } from '../shared/wiring.ts';
import { type ApiClient, ApiUnreachable, apiClient } from './lib/api-client.ts';
import { numberOption, runMain, stringOption, UsageError } from './lib/args.ts';
import { runSmoke, type SmokeTokens } from './lib/smoke-scenario.ts';

const HELP = `npm run smoke -- --target URL [options]

  --target URL            the API's base URL (SMOKE_TARGET), e.g. the stack's ApiUrl output or
                          http://127.0.0.1:3000 for npm start
  --tokens FILE           buyer tokens, one per line: "userId,token" or "token" (LOAD_TOKENS)
  --buyer-token T         a buyer token (repeatable), instead of --tokens
  --admin-token T         an admin token, to create the smoke sale (SMOKE_ADMIN_TOKEN)
                          Without tokens: POST /dev/tokens (npm start), else the dev issuer's key in
                          --data-dir (default .local; trusted by npm start and the LocalStack target)
  --data-dir DIR          where npm run token / npm start keep the dev issuer key
  --sale-id ID            the sale to create (default smoke-<time>-<random>; it must not exist)
  --settle-timeout S      seconds for every order to become terminal (default 120)

  With table access, the full audit runs as well (all four names, or none):
  --sales-table NAME      (SALES_TABLE)
  --orders-table NAME     (ORDERS_TABLE)
  --payments-table NAME   (PAYMENTS_TABLE)
  --claims-table NAME     (CLAIMS_TABLE)
  --region R              (AWS_REGION, default us-east-1)
  --dynamodb-endpoint URL (DYNAMODB_ENDPOINT) an emulator or LocalStack instead of AWS`;

async function main(): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values: v } = parseArgs({
    options: {
      target: { type: 'string' },
      tokens: { type: 'string' },
      'buyer-token': { type: 'string', multiple: true },
      'admin-token': { type: 'string' },
      'sale-id': { type: 'string' },
      'settle-timeout': { type: 'string' },
      'data-dir': { type: 'string' },
      'sales-table': { type: 'string' },
      'orders-table': { type: 'string' },
      'payments-table': { type: 'string' },
      'claims-table': { type: 'string' },
      region: { type: 'string' },
      'dynamodb-endpoint': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  const target = stringOption(v.target, 'SMOKE_TARGET');
  if (!target || !URL.canParse(target)) throw new UsageError(`--target must be the API's URL\n\n${HELP}`);
  const saleId = v['sale-id'] ?? `smoke-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(saleId))
    throw new UsageError('--sale-id must be 1-64 of A-Z a-z 0-9 _ -');
  const settleSeconds = numberOption('settle-timeout', v['settle-timeout'], undefined, 120, {
    min: 1,
    max: 3_600,
  }) as number;
  const tables = auditTables(v);

  const api = apiClient(target);
  const tokens = await smokeTokens(api, v, saleId);
  console.log(`Smoke test of ${target}: sale ${saleId}, ${tokens.buyers.length} buyer token(s)`);
  const started = Date.now();
  const result = await runSmoke(api, tokens, { saleId, settleTimeoutMs: settleSeconds * 1000 });
  for (const c of result.checks) console.log(`  ${c.ok ? '✓' : '✗'} ${c.what}`);
  let ok = result.checks.every((c) => c.ok);

  if (tables && result.saleCreated) {
    const region = stringOption(v.region, 'AWS_REGION') ?? 'us-east-1';
    const endpoint = stringOption(v['dynamodb-endpoint'], 'DYNAMODB_ENDPOINT');
    const db = documentClient({ region, endpoints: { dynamodb: endpoint } });
    try {
      const report = await auditSale(db, tables, saleId, {
        expectSettled: true,
        acceptedOrderIds: result.acceptedOrderIds,
      });
      // Refusals must have written nothing: the table holds exactly the orders the API accepted.
      const extra = report.orders - new Set(result.acceptedOrderIds).size;
      if (extra !== 0)
        report.violations.push(
          `${extra} order(s) in the table beyond the ${result.acceptedOrderIds.length} accepted`,
        );
      if (report.stock.sold !== result.confirmedUnits)
        report.violations.push(
          `the table shows ${report.stock.sold} units sold; the API showed ${result.confirmedUnits}`,
        );
      report.ok = report.violations.length === 0;
      console.log(formatReport(report).replace(/^/gm, '  '));
      ok &&= report.ok;
    } finally {
      db.destroy();
    }
  } else if (!tables) {
    console.log(
      '  (no table names given: HTTP checks only; add --sales-table/--orders-table/--payments-table/--claims-table for the full audit)',
    );
  }
  const failed = result.checks.filter((c) => !c.ok).length;
  console.log(
    ok
      ? `Smoke test passed in ${((Date.now() - started) / 1000).toFixed(1)} s.`
      : `Smoke test FAILED: ${failed} failed check(s)${tables ? ' or audit violations' : ''}.`,
  );
  return ok ? 0 : 1;
}

function auditTables(v: Record<string, unknown>): AuditTables | undefined {
  const named = {
    sales: stringOption(v['sales-table'] as string | undefined, tableSpecs.sales.envVar),
    orders: stringOption(v['orders-table'] as string | undefined, tableSpecs.orders.envVar),
    payments: stringOption(v['payments-table'] as string | undefined, tableSpecs.payments.envVar),
    claims: stringOption(v['claims-table'] as string | undefined, tableSpecs.claims.envVar),
  };
  const given = Object.values(named).filter(Boolean).length;
  if (given === 0) return undefined;
  if (given < 4)
    throw new UsageError(
      'The audit needs all four tables: --sales-table, --orders-table, --payments-table and --claims-table (or SALES_TABLE, ORDERS_TABLE, PAYMENTS_TABLE, CLAIMS_TABLE)',
    );
  return named as AuditTables;
}

/** Tokens from flags or a file; without any, minted by the local runtime's POST /dev/tokens. */
async function smokeTokens(api: ApiClient, v: Record<string, unknown>, saleId: string): Promise<SmokeTokens> {
  const admin = stringOption(v['admin-token'] as string | undefined, 'SMOKE_ADMIN_TOKEN');
  const file = stringOption(v.tokens as string | undefined, 'LOAD_TOKENS');
  let buyers = (v['buyer-token'] as string[] | undefined) ?? [];
  if (file) {
    if (!existsSync(file)) throw new UsageError(`No such tokens file: ${file}`);
    buyers = readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean)
      .map((line) => line.slice(line.lastIndexOf(',') + 1));
  }
  if (admin && buyers.length > 0) return { admin, buyers };
  if (admin || buyers.length > 0)
    throw new UsageError(
      'Give both an admin token (--admin-token) and buyer tokens (--tokens or --buyer-token)',
    );

  const users = [1, 2, 3].map((i) => `${saleId}-buyer-${i}`);
  const probe = await api('POST', '/dev/tokens', { body: { userId: `${saleId}-admin`, admin: true } });
  if (probe.status === 200) {
    const mint = async (userId: string) => {
      const reply = await api('POST', '/dev/tokens', { body: { userId, admin: false } });
      const token = (reply.body as { token?: unknown } | undefined)?.token;
      if (reply.status !== 200 || typeof token !== 'string')
        throw new Error(`POST /dev/tokens answered ${reply.status}`);
      return token;
    };
    return { admin: (probe.body as { token: string }).token, buyers: await Promise.all(users.map(mint)) };
  }
  // A deployed stack mints nothing; the LocalStack target trusts the dev issuer `npm run token` uses.
  const keyFile = join(resolve((v['data-dir'] as string | undefined) ?? '.local'), 'dev-issuer-key.json');
  if (!existsSync(keyFile))
    throw new UsageError(
      `No tokens: give --admin-token and --tokens/--buyer-token (POST /dev/tokens answered ${probe.status}, and there is no dev issuer key at ${keyFile})`,
    );
  const issuer = await devIssuer(keyFile);
  console.log(`  (tokens signed with the dev issuer key ${keyFile})`);
  return {
    admin: await issuer.sign(`${saleId}-admin`, true, 3600),
    buyers: await Promise.all(users.map((user) => issuer.sign(user, false, 3600))),
  };
}

runMain(() =>
  main().catch((error: unknown) => {
    if (error instanceof ApiUnreachable) throw new UsageError(`Cannot reach the API: ${error.message}`);
    throw error;
  }),
);
