import { describe, expect, it } from 'vitest';
import { parseCapacityArgs, planCapacity } from '../../infra/ops/capacity-plan.ts';
import { functionSpecs } from '../../shared/wiring.ts';

const cold = { readUnitsPerSecond: 12_000, writeUnitsPerSecond: 4_000 };

describe('npm run capacity:raise | capacity:lower', () => {
  it('raises provisioned concurrency on the aliases and warm throughput of every table', () => {
    const request = parseCapacityArgs(
      'raise --stage prod --provisioned 200 --provisioned-authorizer 50 --warm-writes 40000'.split(' '),
    );
    expect(request).toMatchObject({ stage: 'prod', provisioned: { placeOrder: 200, authorizer: 50 } });
    const steps = planCapacity(request, {
      sales: cold,
      orders: { readUnitsPerSecond: 30_000, writeUnitsPerSecond: 50_000 },
    });
    expect(steps).toEqual([
      { kind: 'putProvisioned', fn: 'placeOrder', executions: 200 },
      { kind: 'putProvisioned', fn: 'authorizer', executions: 50 },
      // sales is raised; orders is already warmer than asked, and warm throughput never goes down.
      { kind: 'warmTable', table: 'sales', readUnitsPerSecond: 12_000, writeUnitsPerSecond: 40_000 },
    ]);
  });

  it('lowers by removing provisioned concurrency, or keeping a stated baseline', () => {
    expect(planCapacity(parseCapacityArgs(['lower', '--stage', 'prod']), {})).toEqual([
      { kind: 'deleteProvisioned', fn: 'placeOrder' },
      { kind: 'deleteProvisioned', fn: 'authorizer' },
    ]);
    expect(planCapacity(parseCapacityArgs(['lower', '--provisioned', '20']), {})).toEqual([
      { kind: 'putProvisioned', fn: 'placeOrder', executions: 20 },
      { kind: 'deleteProvisioned', fn: 'authorizer' },
    ]);
  });

  it('refuses what cannot work', () => {
    const reserved = functionSpecs.placeOrder.reservedConcurrency as number;
    expect(() => parseCapacityArgs(['raise', '--provisioned', String(reserved + 1)])).toThrow(
      /reserved concurrency/,
    );
    expect(() => parseCapacityArgs(['lower', '--warm-writes', '1000'])).toThrow(/cannot be lowered/);
    expect(() => parseCapacityArgs(['raise'])).toThrow(/Nothing to raise/);
    expect(() => parseCapacityArgs(['raise', '--provisioned', '-3'])).toThrow(/whole number/);
    expect(() => parseCapacityArgs(['raise', '--provisoned', '3'])).toThrow(/Unknown flag/);
    expect(() => parseCapacityArgs(['up', '--provisioned', '3'])).toThrow(/Usage/);
  });
});
