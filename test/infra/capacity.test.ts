import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { capacityDefaults, LIVE_ALIAS, PAYMENT_BATCH_OVERHEAD_SECONDS } from '../../infra/settings.ts';
import {
  type FunctionKey,
  type FunctionSpec,
  functionSpecs,
  type TableKey,
  tables,
} from '../../shared/wiring.ts';
import { type Json, logicalId, props, resourcesOfType, type Synthesized, synth } from './support.ts';

const fnEntries = Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][];

let base: Synthesized;
let raised: Synthesized;

/** A large account and another OIDC issuer: every function deployed, every reservation as wired. */
const LARGE = {
  accountConcurrency: '10000',
  jwtIssuer: 'https://issuer.example.com',
  jwtAudience: 'flash-sale-api',
};

beforeAll(() => {
  base = synth({ context: LARGE });
  raised = synth({
    context: {
      ...LARGE,
      provisionedCheckout: '200',
      provisionedAuthorizer: '50',
      warmWritesPerSecond: '40000',
      warmReadsPerSecond: '60000',
    },
  });
});

function fnProps(s: Synthesized, key: FunctionKey): Json {
  return props(s.stateless.toJSON().Resources[logicalId(s.built.stateless.functions.get(key))] as Json);
}

function aliasProps(s: Synthesized, key: FunctionKey): Json | undefined {
  const alias = s.built.stateless.functions.aliases[key];
  return alias ? props(s.stateless.toJSON().Resources[logicalId(alias)] as Json) : undefined;
}

describe('reserved concurrency (wiring reservedConcurrency) in a large account', () => {
  it.each(fnEntries)('%s: reserved concurrency as wired', (key, spec) => {
    expect(fnProps(base, key).ReservedConcurrentExecutions).toBe(spec.reservedConcurrency);
  });

  it('caps the checkout and the authorizer', () => {
    expect(functionSpecs.placeOrder.reservedConcurrency).toBeGreaterThan(0);
    expect(functionSpecs.authorizer.reservedConcurrency).toBeGreaterThan(0);
  });
});

describe("reserved concurrency planned from the account's quota (default stage, Cognito)", () => {
  const reservations = (accountConcurrency: number) => {
    const s = synth({ context: { accountConcurrency: String(accountConcurrency) } });
    const reserved = Object.values(resourcesOfType(s.stateless, 'AWS::Lambda::Function')).flatMap((fn) => {
      const n = props(fn).ReservedConcurrentExecutions;
      return typeof n === 'number' ? [n] : [];
    });
    return { s, reserved, sum: reserved.reduce((a, b) => a + b, 0) };
  };

  it('10 and 100: no reservation at all (AWS keeps 100 unreserved), and synth says what the drop can take', () => {
    for (const account of [10, 100]) {
      const { s, reserved } = reservations(account);
      expect(reserved, `accountConcurrency ${account}`).toEqual([]);
      const warnings = Annotations.fromStack(s.built.stateless).findWarning(
        '*',
        Match.stringLikeRegexp('checkouts/s'),
      );
      expect(warnings.length, `accountConcurrency ${account}`).toBeGreaterThan(0);
    }
  });

  it('1,000: reservations sum to at most 800, scaled down, never the whole account', () => {
    const { sum, s } = reservations(1_000);
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThanOrEqual(800);
    expect(fnProps(s, 'placeOrder').ReservedConcurrentExecutions).toBe(sum);
  });

  it('10,000: the checkout gets what the wiring asks; no authorizer function behind Cognito', () => {
    const { s, sum } = reservations(10_000);
    expect(fnProps(s, 'placeOrder').ReservedConcurrentExecutions).toBe(
      functionSpecs.placeOrder.reservedConcurrency,
    );
    expect(sum).toBe(functionSpecs.placeOrder.reservedConcurrency);
    expect(s.built.stateless.functions.functions.authorizer).toBeUndefined();
  });
});

describe('provisioned concurrency on the live alias', () => {
  it.each(['placeOrder', 'authorizer'] as const)(
    '%s has a `live` alias; none provisioned by default',
    (key) => {
      const alias = aliasProps(base, key);
      expect(alias).toMatchObject({ Name: LIVE_ALIAS });
      expect(alias?.ProvisionedConcurrencyConfig).toBeUndefined();
      expect(capacityDefaults.provisionedConcurrency[key]).toBe(0);
    },
  );

  it('takes provisioned concurrency from context, per function', () => {
    expect(aliasProps(raised, 'placeOrder')?.ProvisionedConcurrencyConfig).toEqual({
      ProvisionedConcurrentExecutions: 200,
    });
    expect(aliasProps(raised, 'authorizer')?.ProvisionedConcurrencyConfig).toEqual({
      ProvisionedConcurrentExecutions: 50,
    });
  });

  it('names the aliased functions in the outputs, for npm run capacity:raise', () => {
    base.stateless.hasOutput('PlaceOrderFunctionName', {
      Value: { Ref: logicalId(base.built.stateless.functions.get('placeOrder')) },
    });
    base.stateless.hasOutput('AuthorizerFunctionName', {
      Value: { Ref: logicalId(base.built.stateless.functions.get('authorizer')) },
    });
  });

  it('refuses provisioned concurrency above the reserved concurrency, or malformed', () => {
    const reserved = functionSpecs.placeOrder.reservedConcurrency as number;
    expect(() => synth({ context: { ...LARGE, provisionedCheckout: String(reserved + 1) } })).toThrow(
      /reserved concurrency/,
    );
    expect(() => synth({ context: { provisionedCheckout: 'many' } })).toThrow(/provisionedCheckout/);
    expect(() => synth({ context: { provisionedCheckout: '1.5' } })).toThrow(/integer/);
  });
});

describe('DynamoDB warm throughput', () => {
  it('is DynamoDB default (unset) unless asked for', () => {
    for (const table of Object.values(resourcesOfType(base.stateful, 'AWS::DynamoDB::Table'))) {
      expect(props(table).WarmThroughput).toBeUndefined();
    }
  });

  it.each(Object.keys(tables) as TableKey[])('%s: table and indexes pre-warmed from context', (key) => {
    const p = props(raised.stateful.toJSON().Resources[logicalId(raised.built.stateful.tables[key])] as Json);
    const warm = { ReadUnitsPerSecond: 60_000, WriteUnitsPerSecond: 40_000 };
    expect(p.WarmThroughput).toEqual(warm);
    for (const index of (p.GlobalSecondaryIndexes ?? []) as Json[])
      expect(index.WarmThroughput).toEqual(warm);
  });

  it('never asks for less than a new on-demand table already has', () => {
    const low = synth({ context: { warmWritesPerSecond: '100' } });
    const p = props(Object.values(resourcesOfType(low.stateful, 'AWS::DynamoDB::Table'))[0] as Json);
    expect(p.WarmThroughput).toEqual({ ReadUnitsPerSecond: 12_000, WriteUnitsPerSecond: 4_000 });
  });
});

describe('payment latency vs the payment function timeout', () => {
  const payment = functionSpecs.processPayment;
  const limitMs = Math.floor(((payment.timeoutSeconds - PAYMENT_BATCH_OVERHEAD_SECONDS) * 1000) / 2);

  it('accepts a latency whose batch fits the timeout', () => {
    expect(() => synth({ context: { paymentLatencyMs: String(limitMs) } })).not.toThrow();
  });

  it('refuses at synth a latency that makes a batch outlive the timeout', () => {
    expect(() => synth({ context: { paymentLatencyMs: String(limitMs + 1) } })).toThrow(
      /paymentLatencyMs .* timeout is 10 s/,
    );
  });
});
