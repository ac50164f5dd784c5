import { type FunctionKey, functionSpecs } from '../../shared/wiring.ts';
import { MIN_WARM, provisionedConcurrencyKeys } from '../settings.ts';

/** What `npm run capacity:raise|lower` was asked to do. */
export interface CapacityRequest {
  direction: 'raise' | 'lower';
  stage: string;
  /** Provisioned concurrency per aliased function (raise: the target; lower: the baseline to keep, 0 = none). */
  provisioned: Partial<Record<FunctionKey, number>>;
  warm?: { readUnitsPerSecond?: number; writeUnitsPerSecond?: number };
  wait: boolean;
}

export type CapacityStep =
  | { kind: 'putProvisioned'; fn: FunctionKey; executions: number }
  | { kind: 'deleteProvisioned'; fn: FunctionKey }
  | { kind: 'warmTable'; table: string; readUnitsPerSecond: number; writeUnitsPerSecond: number };

export const USAGE = `Usage:
  npm run capacity:raise -- --stage prod --provisioned 200 [--provisioned-authorizer 50] [--warm-writes 40000] [--warm-reads 60000] [--wait]
  npm run capacity:lower -- --stage prod [--provisioned 0] [--provisioned-authorizer 0]
Raises provisioned concurrency on the live alias of the checkout (and the authorizer) and DynamoDB
warm throughput of every table and index before a drop; lower removes provisioned concurrency
after it (warm throughput cannot be lowered: it is paid once, when raised).`;

const FLAG_OF: Record<string, FunctionKey> = Object.fromEntries(
  Object.keys(provisionedConcurrencyKeys).map((fn) => [
    fn === 'placeOrder' ? 'provisioned' : `provisioned-${kebab(fn)}`,
    fn,
  ]),
) as Record<string, FunctionKey>;

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Parses `raise|lower --flag value ...`; throws with the usage on anything malformed. */
export function parseCapacityArgs(argv: string[]): CapacityRequest {
  const [direction, ...rest] = argv;
  if (direction !== 'raise' && direction !== 'lower') throw new Error(USAGE);
  const request: CapacityRequest = { direction, stage: 'dev', provisioned: {}, wait: false };
  for (let i = 0; i < rest.length; i++) {
    const flag = (rest[i] ?? '').replace(/^--/, '');
    if (flag === 'wait') {
      request.wait = true;
      continue;
    }
    const value = rest[++i];
    if (value === undefined) throw new Error(`--${flag} needs a value\n${USAGE}`);
    if (flag === 'stage') {
      if (!/^[a-z][a-z0-9-]{0,19}$/.test(value)) throw new Error(`--stage ${value}: not a stage name`);
      request.stage = value;
      continue;
    }
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag} ${value}: a whole number is needed`);
    const fn = FLAG_OF[flag];
    if (fn) {
      const reserved = functionSpecs[fn].reservedConcurrency;
      if (reserved !== undefined && n > reserved)
        throw new Error(`--${flag} ${n} exceeds ${fn}'s reserved concurrency ${reserved} (shared/wiring.ts)`);
      request.provisioned[fn] = n;
    } else if (flag === 'warm-writes' || flag === 'warm-reads') {
      if (direction === 'lower') throw new Error('DynamoDB warm throughput cannot be lowered');
      request.warm = {
        ...request.warm,
        [flag === 'warm-writes' ? 'writeUnitsPerSecond' : 'readUnitsPerSecond']: n,
      };
    } else {
      throw new Error(`Unknown flag --${flag}\n${USAGE}`);
    }
  }
  if (direction === 'raise' && Object.keys(request.provisioned).length === 0 && !request.warm)
    throw new Error(`Nothing to raise\n${USAGE}`);
  return request;
}

/**
 * The steps for a request, given each table's current warm throughput (only raised, never
 * lowered: DynamoDB refuses a decrease).
 */
export function planCapacity(
  request: CapacityRequest,
  currentWarm: Record<string, { readUnitsPerSecond: number; writeUnitsPerSecond: number }>,
): CapacityStep[] {
  const steps: CapacityStep[] = [];
  const aliased = Object.keys(provisionedConcurrencyKeys) as FunctionKey[];
  for (const fn of aliased) {
    const wanted = request.provisioned[fn];
    if (request.direction === 'raise') {
      if (wanted !== undefined && wanted > 0) steps.push({ kind: 'putProvisioned', fn, executions: wanted });
    } else if (wanted !== undefined && wanted > 0) {
      steps.push({ kind: 'putProvisioned', fn, executions: wanted });
    } else {
      steps.push({ kind: 'deleteProvisioned', fn });
    }
  }
  if (request.direction === 'raise' && request.warm) {
    for (const [table, current] of Object.entries(currentWarm)) {
      const read = Math.max(
        request.warm.readUnitsPerSecond ?? 0,
        current.readUnitsPerSecond,
        MIN_WARM.readUnitsPerSecond,
      );
      const write = Math.max(
        request.warm.writeUnitsPerSecond ?? 0,
        current.writeUnitsPerSecond,
        MIN_WARM.writeUnitsPerSecond,
      );
      if (read > current.readUnitsPerSecond || write > current.writeUnitsPerSecond)
        steps.push({ kind: 'warmTable', table, readUnitsPerSecond: read, writeUnitsPerSecond: write });
    }
  }
  return steps;
}
