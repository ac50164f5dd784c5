import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessStatements } from '../../infra/access.ts';
import { deployedFunctions } from '../../infra/deployed.ts';
import {
  keyPattern,
  salesKeyWriters,
  stringLike,
  WRITE_ACTIONS,
  writeScopes,
} from '../../infra/key-scopes.ts';
import { emulatorCredentials } from '../../shared/adapters/aws.ts';
import {
  counterKey,
  dispenserKey,
  queueCounterKey,
  saleKey,
  sweepKey,
  ticketKey,
} from '../../shared/adapters/dynamo/keys.ts';
import {
  type DynamoAction,
  type FunctionKey,
  type FunctionSpec,
  functionSpecs,
  type QueueKey,
  queues,
  type TableKey,
  type TopicKey,
  tables,
  topics,
} from '../../shared/wiring.ts';
import {
  type Json,
  logicalId,
  mentions,
  props,
  resourcesOfType,
  type Synthesized,
  synth,
} from './support.ts';

/** What the default stack deploys: every wiring function but the TOKEN authorizer (Cognito's own authorizer). */
const fnEntries = deployedFunctions({ target: 'aws' });
const CONSUMER_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:GetQueueUrl',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
];
const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];
const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

/** One (action, resource) pair of a role's policy, with what the resource points at. */
interface Grant {
  action: string;
  resource: unknown;
  condition?: unknown;
  table?: TableKey;
  index?: string;
  queue?: QueueKey;
  dlq?: QueueKey;
  topic?: TopicKey;
}

let s: Synthesized;
let grantsOf: (key: FunctionKey) => Grant[];
/** The Deny statements of a function's role (only write scopes deny: other key shapes). */
let deniesOf: (key: FunctionKey) => Grant[];

beforeAll(() => {
  s = synth();
  const { stateful } = s.built;
  const policies = Object.values(resourcesOfType(s.stateless, 'AWS::IAM::Policy'));
  const statementsOf = (key: FunctionKey, effect: 'Allow' | 'Deny') => {
    const roleId = logicalId(s.built.stateless.functions.get(key).role as never);
    const grants: Grant[] = [];
    for (const policy of policies) {
      const p = props(policy);
      if (!(p.Roles as Json[]).some((r) => r.Ref === roleId)) continue;
      for (const statement of (p.PolicyDocument as Json).Statement as Json[]) {
        expect(['Allow', 'Deny']).toContain(statement.Effect);
        if (statement.Effect !== effect) continue;
        const actions = [statement.Action].flat() as string[];
        const resources = [statement.Resource].flat();
        for (const action of actions) {
          for (const resource of resources) {
            const grant: Grant = { action, resource, condition: statement.Condition };
            const text = JSON.stringify(resource);
            for (const t of Object.keys(tables) as TableKey[]) {
              if (mentions(resource, logicalId(stateful.tables[t]))) {
                grant.table = t;
                grant.index = /\/index\/([^"]+)"/.exec(text)?.[1];
              }
            }
            for (const q of Object.keys(queues) as QueueKey[]) {
              if (mentions(resource, logicalId(stateful.queues[q].queue))) grant.queue = q;
              if (mentions(resource, logicalId(stateful.queues[q].dlq))) grant.dlq = q;
            }
            for (const t of Object.keys(topics) as TopicKey[]) {
              if (mentions(resource, logicalId(stateful.topics[t]))) grant.topic = t;
            }
            grants.push(grant);
          }
        }
      }
    }
    return grants;
  };
  grantsOf = (key) => statementsOf(key, 'Allow');
  deniesOf = (key) => statementsOf(key, 'Deny');
});

describe('least privilege (wiring access → IAM)', () => {
  it.each(fnEntries)('%s: DynamoDB actions per table are exactly the wiring list', (key, spec) => {
    const grants = grantsOf(key).filter((g) => g.action.startsWith('dynamodb:'));
    const wired = (spec.access.tables ?? {}) as Partial<Record<TableKey, DynamoAction[]>>;
    for (const t of Object.keys(tables) as TableKey[]) {
      const onTable = grants.filter((g) => g.table === t && g.index === undefined).map((g) => g.action);
      // A Query on named indexes is granted there, never on the base table.
      const queriesIndexes = (spec.access.indexes?.[t] ?? []).length > 0;
      const expected = (wired[t] ?? []).filter((a) => !(a === 'Query' && queriesIndexes));
      expect(new Set(onTable), `${key} on ${t}`).toEqual(new Set(expected.map((a) => `dynamodb:${a}`)));
    }
    // Every DynamoDB grant names one of the wiring's tables: no "*".
    for (const grant of grants) expect(grant.table, JSON.stringify(grant)).toBeDefined();
  });

  it.each(fnEntries)('%s: Query only on the indexes it reads, each named (no index/*)', (key, spec) => {
    const indexGrants = grantsOf(key).filter((g) => g.index !== undefined);
    const expected = (Object.entries(spec.access.indexes ?? {}) as [TableKey, string[]][]).flatMap(
      ([t, names]) => names.map((name) => `${t}/${name}`),
    );
    expect(new Set(indexGrants.map((g) => `${g.table}/${g.index}`))).toEqual(new Set(expected));
    for (const grant of indexGrants) expect(grant.action).toBe('dynamodb:Query');
  });

  it('listMyOrders reads byBuyer only, the reconciler byDue and byLive (the sweep) only', () => {
    const indexes = (key: FunctionKey) => grantsOf(key).flatMap((g) => (g.index ? [g.index] : []));
    expect(indexes('listMyOrders')).toEqual(['byBuyer']);
    expect(indexes('reconcile').sort()).toEqual(['byDue', 'byLive']);
    expect(grantsOf('listMyOrders').filter((g) => g.action === 'dynamodb:Query' && !g.index)).toEqual([]);
  });

  it('refuses a wiring entry that names an index its table lacks', () => {
    const { stateful } = s.built;
    const resources = { tables: stateful.tables, queues: stateful.queues, topics: stateful.topics };
    const spec: FunctionSpec = {
      ...functionSpecs.listMyOrders,
      access: { tables: { orders: ['Query'] }, indexes: { orders: ['byNothing'] } },
    };
    expect(() => accessStatements(spec, resources, 'listMyOrders')).toThrow(/orders\/byNothing/);
  });

  it.each(fnEntries)(
    '%s: sqs:SendMessage only to its sendTo queues, sns:Publish only to its topics',
    (key, spec) => {
      const grants = grantsOf(key);
      const sends = grants.filter((g) => g.action === 'sqs:SendMessage');
      expect(new Set(sends.map((g) => g.queue))).toEqual(new Set(spec.access.sendTo ?? []));
      for (const g of sends) expect(g.dlq).toBeUndefined();
      const publishes = grants.filter((g) => g.action === 'sns:Publish');
      expect(new Set(publishes.map((g) => g.topic))).toEqual(new Set(spec.access.publishTo ?? []));
    },
  );

  it.each(fnEntries)('%s: receives/deletes only from the queue it consumes', (key, spec) => {
    const inspected = (g: Grant) =>
      g.action === 'sqs:GetQueueAttributes' && (spec.access.inspect ?? []).includes(g.queue as QueueKey);
    const consumerGrants = grantsOf(key).filter((g) => CONSUMER_ACTIONS.includes(g.action) && !inspected(g));
    if (!spec.consumes) {
      expect(consumerGrants).toEqual([]);
      return;
    }
    expect(new Set(consumerGrants.map((g) => g.action))).toEqual(new Set(CONSUMER_ACTIONS));
    for (const g of consumerGrants) expect(g.queue).toBe(spec.consumes.queue);
  });

  it.each(fnEntries)('%s: nothing else but X-Ray and writing to its own log group', (key, spec) => {
    const logGroupId = logicalId(s.built.stateless.functions.logGroups[key] as LogGroup);
    for (const grant of grantsOf(key)) {
      if (grant.action.startsWith('dynamodb:')) continue;
      if (grant.action === 'sqs:SendMessage' || grant.action === 'sns:Publish') continue;
      if (CONSUMER_ACTIONS.includes(grant.action) && spec.consumes) continue;
      if (
        grant.action === 'sqs:GetQueueAttributes' &&
        (spec.access.inspect ?? []).includes(grant.queue as QueueKey)
      )
        continue;
      if (XRAY_ACTIONS.includes(grant.action)) {
        expect(grant.resource).toBe('*');
        continue;
      }
      if (LOG_ACTIONS.includes(grant.action)) {
        expect(mentions(grant.resource, logGroupId), `${key} logs`).toBe(true);
        continue;
      }
      throw new Error(`${key} has an unexpected grant ${JSON.stringify(grant)}`);
    }
  });

  /** The LeadingKeys patterns of a grant's condition under one operator. */
  const leadingKeys = (grant: Grant, operator: string) =>
    (((grant.condition as Json | undefined)?.[operator] as Json | undefined)?.['dynamodb:LeadingKeys'] ??
      []) as string[];
  /** What IAM decides for a write of `key` by `fn`: an Allow pattern matches and no Deny pattern does. */
  const mayWrite = (fn: FunctionKey, action: string, key: string) => {
    const matches = (grants: Grant[], operator: string) =>
      grants.some(
        (g) =>
          g.table === 'sales' &&
          g.action === action &&
          leadingKeys(g, operator).some((pattern) => stringLike(pattern).test(key)),
      );
    return (
      matches(grantsOf(fn), 'ForAllValues:StringLike') && !matches(deniesOf(fn), 'ForAnyValue:StringLike')
    );
  };
  const sampleKeys = {
    saleKey: saleKey('drop-1'),
    dispenserKey: dispenserKey('drop-1', 7),
    sweepKey: sweepKey('drop-1', 7),
    counterKey: counterKey('drop-1', 'auth0|alice'),
    ticketKey: ticketKey('drop-1', 'auth0|alice'),
    queueCounterKey: queueCounterKey('drop-1', 3),
  } satisfies Record<Exclude<keyof typeof salesKeyWriters, 'unitKey'>, string>;

  it.each(fnEntries)(
    '%s: writes the sales table only on the key shapes it is listed for (LeadingKeys), reads unconditioned',
    (key, spec) => {
      const writes = (spec.access.tables?.sales ?? []).filter((a) => WRITE_ACTIONS.has(a));
      for (const grant of grantsOf(key).filter((g) => g.table === 'sales')) {
        const conditioned = grant.condition !== undefined;
        expect(conditioned, `${key} ${grant.action}`).toBe(WRITE_ACTIONS.has(grant.action.slice(9)));
      }
      for (const action of writes) {
        for (const [shape, sample] of Object.entries(sampleKeys) as [keyof typeof sampleKeys, string][]) {
          const listed = (salesKeyWriters[shape] as readonly FunctionKey[]).includes(key);
          expect(mayWrite(key, `dynamodb:${action}`, sample), `${key} ${action} ${shape}`).toBe(listed);
        }
        expect(mayWrite(key, `dynamodb:${action}`, 'ADMIN#anything'), `${key} ${action}`).toBe(false);
      }
    },
  );

  it('scopes every sales-table writer, the checkout to its dispensers and counters, the room to its own keys', () => {
    const writers = fnEntries
      .filter(([, spec]) => (spec.access.tables?.sales ?? []).some((a) => WRITE_ACTIONS.has(a)))
      .map(([key]) => key)
      .sort();
    expect(writers).toEqual(
      [
        'cancelOrder',
        'createSale',
        'joinQueue',
        'placeOrder',
        'processPayment',
        'reconcile',
        'updateSale',
      ].sort(),
    );
    for (const key of writers) expect(writeScopes[key]?.sales, key).toBeDefined();
    expect(writeScopes.placeOrder?.sales).toEqual({
      allow: [keyPattern(dispenserKey), keyPattern(counterKey)],
      deny: [],
    });
    expect(writeScopes.joinQueue?.sales?.allow).toEqual([keyPattern(ticketKey), keyPattern(queueCounterKey)]);
    // The sale item's SALE#* alone would match every key: the other shapes are denied by name.
    expect(writeScopes.updateSale?.sales?.deny.sort()).toEqual(
      [dispenserKey, sweepKey, counterKey, ticketKey, queueCounterKey].map(keyPattern).sort(),
    );
    expect(mayWrite('updateSale', 'dynamodb:UpdateItem', saleKey('drop-1'))).toBe(true);
    expect(mayWrite('updateSale', 'dynamodb:UpdateItem', counterKey('drop-1', 'x'))).toBe(false);
  });

  it('refuses a wiring entry that writes the sales table without a key scope', () => {
    const { stateful } = s.built;
    const resources = { tables: stateful.tables, queues: stateful.queues, topics: stateful.topics };
    expect(() => accessStatements(functionSpecs.getSale, resources, 'getSale')).not.toThrow();
    const spec: FunctionSpec = {
      ...functionSpecs.getSale,
      access: { tables: { sales: ['GetItem', 'PutItem'] } },
    };
    expect(() => accessStatements(spec, resources, 'getSale')).toThrow(
      /getSale writes the sales table.*key-scopes/,
    );
  });

  it('uses no AWS managed policies on function roles', () => {
    for (const [key] of fnEntries) {
      const role = s.stateless.toJSON().Resources[
        logicalId(s.built.stateless.functions.get(key).role as never)
      ] as Json;
      expect(props(role).ManagedPolicyArns, key).toBeUndefined();
    }
  });

  it('placeOrder: no DeleteItem anywhere and no access to the payments table', () => {
    const grants = grantsOf('placeOrder');
    expect(grants.some((g) => g.action === 'dynamodb:DeleteItem')).toBe(false);
    expect(grants.some((g) => g.table === 'payments')).toBe(false);
    expect(grants.some((g) => g.action === 'dynamodb:Query' || g.action === 'dynamodb:Scan')).toBe(false);
  });

  it('consumers and the reconciler: no PutItem on sales, no Scan anywhere', () => {
    for (const key of ['processOrder', 'processPayment', 'reconcile'] as const) {
      const grants = grantsOf(key);
      expect(
        grants.some((g) => g.table === 'sales' && g.action === 'dynamodb:PutItem'),
        key,
      ).toBe(false);
      expect(
        grants.some((g) => g.action === 'dynamodb:Scan'),
        key,
      ).toBe(false);
    }
  });

  it('public read routes cannot write', () => {
    for (const key of ['health', 'getSale', 'getOrder', 'listMyOrders', 'getRoom'] as const) {
      const writes = grantsOf(key).filter((g) =>
        [
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'sqs:SendMessage',
          'sns:Publish',
        ].includes(g.action),
      );
      expect(writes, key).toEqual([]);
    }
  });
});

describe('emulatorCredentials', () => {
  it('leaves real credentials to the SDK provider chain (session token included)', () => {
    expect(
      emulatorCredentials({
        AWS_ACCESS_KEY_ID: 'ASIAXXX',
        AWS_SECRET_ACCESS_KEY: 's',
        AWS_SESSION_TOKEN: 't',
      }),
    ).toBeUndefined();
  });

  it('uses fixed dummies when the environment has no AWS credentials', () => {
    expect(emulatorCredentials({})).toEqual({ accessKeyId: 'local', secretAccessKey: 'local' });
    expect(emulatorCredentials({ AWS_PROFILE: 'sso-profile' })).toEqual({
      accessKeyId: 'local',
      secretAccessKey: 'local',
    });
  });
});
