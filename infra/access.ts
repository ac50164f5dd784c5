import * as iam from 'aws-cdk-lib/aws-iam';
import {
  type DynamoAction,
  type FunctionKey,
  type FunctionSpec,
  type TableKey,
  tables,
} from '../shared/wiring.ts';
import type { FunctionsProps } from './functions.ts';
import { SCOPED_TABLES, WRITE_ACTIONS, writeScopes } from './key-scopes.ts';

/** The IAM statements a wiring entry's `access` implies, and nothing more. */
export function accessStatements(
  spec: FunctionSpec,
  resources: Pick<FunctionsProps, 'tables' | 'queues' | 'topics'>,
  key?: FunctionKey,
): iam.PolicyStatement[] {
  const statements: iam.PolicyStatement[] = [];
  for (const [table, wired] of Object.entries(spec.access.tables ?? {}) as [TableKey, DynamoAction[]][]) {
    const arn = resources.tables[table].tableArn;
    const indexes = spec.access.indexes?.[table] ?? [];
    for (const index of indexes) {
      if (!tables[table].indexes.some((i) => i.name === index))
        throw new Error(
          `${key ?? 'function'}: access.indexes names ${table}/${index}, which the table lacks`,
        );
    }
    if (indexes.length > 0 && !wired.includes('Query'))
      throw new Error(`${key ?? 'function'}: access.indexes on ${table} needs Query in its table actions`);
    // With named indexes, Query is granted on those indexes only, not on the base table.
    const actions = [...new Set(wired)].filter((action) => !(action === 'Query' && indexes.length > 0));
    const scope = key ? writeScopes[key]?.[table] : undefined;
    const writes = actions.filter((action) => WRITE_ACTIONS.has(action));
    if (!scope && writes.length > 0 && SCOPED_TABLES.includes(table))
      throw new Error(
        `${key ?? 'function'} writes the ${table} table (${writes.join(', ')}) without a key scope: list it for the key shapes it writes in infra/key-scopes.ts`,
      );
    const scoped = scope ? writes : [];
    const open = actions.filter((action) => !scoped.includes(action));
    if (open.length > 0) {
      statements.push(
        new iam.PolicyStatement({
          sid: `${pascalSid(table)}Table`,
          actions: open.map((action) => `dynamodb:${action}`),
          resources: [arn],
        }),
      );
    }
    if (scope && scoped.length > 0) {
      statements.push(
        new iam.PolicyStatement({
          sid: `${pascalSid(table)}OwnKeys`,
          actions: scoped.map((action) => `dynamodb:${action}`),
          resources: [arn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': scope.allow } },
        }),
      );
      if (scope.deny.length > 0) {
        statements.push(
          new iam.PolicyStatement({
            sid: `${pascalSid(table)}OtherKeys`,
            effect: iam.Effect.DENY,
            actions: scoped.map((action) => `dynamodb:${action}`),
            resources: [arn],
            conditions: { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': scope.deny } },
          }),
        );
      }
    }
    if (indexes.length > 0) {
      statements.push(
        new iam.PolicyStatement({
          sid: `${pascalSid(table)}Indexes`,
          actions: ['dynamodb:Query'],
          resources: indexes.map((index) => `${arn}/index/${index}`),
        }),
      );
    }
  }
  const sendTo = spec.access.sendTo ?? [];
  if (sendTo.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'SendToQueues',
        actions: ['sqs:SendMessage'],
        resources: sendTo.map((queue) => resources.queues[queue].queue.queueArn),
      }),
    );
  }
  const inspect = spec.access.inspect ?? [];
  if (inspect.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'InspectQueues',
        actions: ['sqs:GetQueueAttributes'],
        resources: inspect.map((queue) => resources.queues[queue].queue.queueArn),
      }),
    );
  }
  const publishTo = spec.access.publishTo ?? [];
  if (publishTo.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'PublishToTopics',
        actions: ['sns:Publish'],
        resources: publishTo.map((topic) => resources.topics[topic].topicArn),
      }),
    );
  }
  return statements;
}

function pascalSid(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}
