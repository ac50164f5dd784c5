/**
 * `npm run audit -- --sale ID [--expect-settled] [--expect-sold-out]`
 *
 * Reads one sale straight from DynamoDB, runs THE invariant checker (shared/audit/invariants.ts)
 * and prints its report. Exit status: 0 clean, 1 violations, 2 usage or access problems.
 *
 * Where it reads:
 *   - DYNAMODB_ENDPOINT (or --endpoint): an emulator such as a running `npm start`'s DynamoDB Local
 *     or LocalStack; table names default to the local runtime's (`<prefix>-sales`, …, prefix "flash");
 *   - --local-data DIR: starts DynamoDB Local over the data `npm start` persisted in DIR (default
 *     .local) — only while `npm start` is not running;
 *   - otherwise AWS (region from AWS_REGION, credentials from the usual chain), with the table names
 *     from --sales-table/--orders-table/--payments-table/--claims-table or SALES_TABLE/ORDERS_TABLE/PAYMENTS_TABLE/CLAIMS_TABLE
 *     (the CDK stack's outputs).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startDynamoDbLocal } from '../local/emulators.ts';
import { readRuntimeState } from '../local/state.ts';
import { documentClient } from '../shared/adapters/dynamo/client.ts';
import { type AuditTables, auditSale, formatReport } from '../shared/audit/invariants.ts';
import { tables as tableSpecs } from '../shared/wiring.ts';
import { numberOption, runMain, stringOption, UsageError } from './lib/args.ts';

const HELP = `npm run audit -- --sale ID [options]

  --sale ID               the sale to audit (required)
  --expect-settled        every order must be terminal (a quiet moment after a drill)
  --expect-sold-out       demand exceeded stock and nothing came back: no unit may be left
  --accepted FILE         order ids the API accepted (one per line): each must exist
  --reconcile-period S    reconciler period for "stuck past its hold" (default 60)
  --json                  print the report as JSON instead of text

  --endpoint URL          DynamoDB endpoint (DYNAMODB_ENDPOINT), e.g. LocalStack or a DynamoDB Local
  --local-data DIR        start DynamoDB Local over npm start's persisted data (default dir .local)
  --prefix P              local table name prefix (default flash)
  --sales-table NAME      (SALES_TABLE)     table names; required for AWS
  --orders-table NAME     (ORDERS_TABLE)
  --payments-table NAME   (PAYMENTS_TABLE)
  --claims-table NAME     (CLAIMS_TABLE)
  --region R              (AWS_REGION, default us-east-1)`;

async function main(): Promise<number> {
  // Node 20 here; the SDK's reminder that it wants 22 is noise for an operator's tool.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values: v } = parseArgs({
    options: {
      sale: { type: 'string' },
      'expect-settled': { type: 'boolean', default: false },
      'expect-sold-out': { type: 'boolean', default: false },
      accepted: { type: 'string' },
      'reconcile-period': { type: 'string' },
      json: { type: 'boolean', default: false },
      endpoint: { type: 'string' },
      'local-data': { type: 'string' },
      prefix: { type: 'string' },
      'sales-table': { type: 'string' },
      'orders-table': { type: 'string' },
      'payments-table': { type: 'string' },
      'claims-table': { type: 'string' },
      region: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  if (!v.sale) throw new UsageError(`--sale is required\n\n${HELP}`);
  const period = numberOption('reconcile-period', v['reconcile-period'], undefined, 60, {
    min: 1,
    max: 86_400,
  }) as number;
  const region = stringOption(v.region, 'AWS_REGION') ?? 'us-east-1';
  let endpoint = stringOption(v.endpoint, 'DYNAMODB_ENDPOINT');
  let stopLocal: (() => Promise<void>) | undefined;

  if (v['local-data'] !== undefined) {
    if (endpoint) throw new UsageError('Give --local-data or an endpoint, not both');
    const dir = resolve(v['local-data'] || '.local', 'dynamodb');
    if (!existsSync(dir))
      throw new UsageError(`No DynamoDB Local data in ${dir} (run npm start without --in-memory first)`);
    const dynamo = await startDynamoDbLocal({ dataDir: dir });
    endpoint = dynamo.endpoint;
    stopLocal = dynamo.stop;
  }

  // A running `npm start` leaves its endpoints and table names in .local/runtime.json.
  const running = endpoint || v['local-data'] !== undefined ? undefined : readRuntimeState();
  if (running) endpoint = running.endpoints.dynamodb;

  const prefix = v.prefix ?? 'flash';
  const named = {
    sales: stringOption(v['sales-table'], tableSpecs.sales.envVar),
    orders: stringOption(v['orders-table'], tableSpecs.orders.envVar),
    payments: stringOption(v['payments-table'], tableSpecs.payments.envVar),
    claims: stringOption(v['claims-table'], tableSpecs.claims.envVar),
  };
  let tables: AuditTables;
  if (named.sales && named.orders && named.payments && named.claims) {
    tables = named as AuditTables;
  } else if (running) {
    tables = {
      ...running.tableNames,
      ...Object.fromEntries(Object.entries(named).filter(([, n]) => n)),
    } as AuditTables;
  } else if (endpoint) {
    // An emulator the local runtime created: its names are `${prefix}-${logical name}`.
    tables = {
      sales: named.sales ?? `${prefix}-${tableSpecs.sales.name}`,
      orders: named.orders ?? `${prefix}-${tableSpecs.orders.name}`,
      payments: named.payments ?? `${prefix}-${tableSpecs.payments.name}`,
      claims: named.claims ?? `${prefix}-${tableSpecs.claims.name}`,
    };
  } else {
    throw new UsageError(
      'For AWS, name the tables: --sales-table/--orders-table/--payments-table/--claims-table or SALES_TABLE/ORDERS_TABLE/PAYMENTS_TABLE/CLAIMS_TABLE (the stack outputs); for an emulator set DYNAMODB_ENDPOINT or --local-data.',
    );
  }

  const db = documentClient({ region, endpoints: { dynamodb: endpoint } });
  try {
    let accepted: string[] | undefined;
    if (v.accepted) {
      accepted = readFileSync(v.accepted, 'utf8').split(/\r?\n/).filter(Boolean);
    }
    let report: Awaited<ReturnType<typeof auditSale>>;
    try {
      report = await auditSale(db, tables, v.sale, {
        expectSettled: v['expect-settled'],
        expectSoldOut: v['expect-sold-out'],
        reconcilePeriodMs: period * 1000,
        ...(accepted ? { acceptedOrderIds: accepted } : {}),
      });
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'ResourceNotFoundException')
        throw new UsageError(
          `Table not found (${Object.values(tables).join(', ')}) at ${endpoint ?? `AWS ${region}`}`,
        );
      if ((error as Error).message?.startsWith('Sale ')) throw new UsageError((error as Error).message);
      throw error;
    }
    console.log(v.json ? JSON.stringify(report, null, 2) : formatReport(report));
    if (!v.json)
      console.log(`  read from ${endpoint ?? `AWS ${region}`}: ${Object.values(tables).join(', ')}`);
    return report.ok ? 0 : 1;
  } finally {
    db.destroy();
    await stopLocal?.();
  }
}

runMain(main);
