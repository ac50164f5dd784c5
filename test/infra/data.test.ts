import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_GROUP } from '../../infra/stateful-stack.ts';
import {
  type QueueKey,
  type QueueSpec,
  queues,
  type TableKey,
  type TableSpec,
  tables,
} from '../../shared/wiring.ts';
import { type Json, logicalId, props, resourcesOfType, type Synthesized, synth } from './support.ts';

const tableEntries = Object.entries(tables) as [TableKey, TableSpec][];
const queueEntries = Object.entries(queues) as [QueueKey, QueueSpec][];

let dev: Synthesized;
let prod: Synthesized;

beforeAll(() => {
  dev = synth();
  // Through CDK context, as `cdk deploy -c stage=prod -c paymentGateway=stripe` does.
  prod = synth({
    context: { stage: 'prod', paymentGateway: 'stripe', stripePublishableKey: 'pk_live_example' },
  });
});

function tableResource(s: Synthesized, key: TableKey): Json {
  return s.stateful.toJSON().Resources[logicalId(s.built.stateful.tables[key])] as Json;
}

describe('tables', () => {
  it('creates exactly the wiring tables', () => {
    dev.stateful.resourceCountIs('AWS::DynamoDB::Table', tableEntries.length);
  });

  it('creates a table the wiring gains, with no CDK change', () => {
    const extra = { ...tables.orders, name: 'extras', envVar: 'EXTRAS_TABLE', indexes: [] };
    (tables as Record<string, TableSpec>).extras = extra;
    try {
      const grown = synth();
      grown.stateful.resourceCountIs('AWS::DynamoDB::Table', tableEntries.length + 1);
      expect((grown.built.stateful.tables as Record<string, unknown>).extras).toBeDefined();
    } finally {
      delete (tables as Record<string, TableSpec>).extras;
    }
  });

  it.each(tableEntries)('%s: on demand, PITR, key schema, GSIs (ALL), TTL as wired', (key, spec) => {
    const p = props(tableResource(dev, key));
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(p.KeySchema).toEqual([{ AttributeName: spec.partitionKey.name, KeyType: 'HASH' }]);
    const indexes = (p.GlobalSecondaryIndexes ?? []) as Json[];
    expect(indexes.map((i) => i.IndexName).sort()).toEqual(spec.indexes.map((i) => i.name).sort());
    for (const index of spec.indexes) {
      expect(indexes.find((i) => i.IndexName === index.name)).toMatchObject({
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      });
      expect(p.AttributeDefinitions).toEqual(
        expect.arrayContaining([
          { AttributeName: index.partitionKey.name, AttributeType: index.partitionKey.type },
          { AttributeName: index.sortKey.name, AttributeType: index.sortKey.type },
        ]),
      );
    }
    if (spec.ttlAttribute) {
      expect(p.TimeToLiveSpecification).toEqual({ AttributeName: spec.ttlAttribute, Enabled: true });
    } else {
      expect(p.TimeToLiveSpecification).toBeUndefined();
    }
  });

  it('dev (default): tables are destroyed with the stack and not deletion-protected', () => {
    for (const [key] of tableEntries) {
      const resource = tableResource(dev, key);
      expect(resource.DeletionPolicy).toBe('Delete');
      expect(resource.UpdateReplacePolicy).toBe('Delete');
      expect(props(resource).DeletionProtectionEnabled).toBe(false);
    }
  });

  it('stage=prod (context): tables are retained and deletion-protected, the stack termination-protected', () => {
    for (const [key] of tableEntries) {
      const resource = tableResource(prod, key);
      expect(resource.DeletionPolicy).toBe('Retain');
      expect(resource.UpdateReplacePolicy).toBe('Retain');
      expect(props(resource).DeletionProtectionEnabled).toBe(true);
    }
    expect(prod.built.stateful.terminationProtection).toBe(true);
    expect(dev.built.stateful.terminationProtection).toBe(false);
    expect(prod.built.stateful.stackName).toBe('FlashSale-prod-Stateful');
  });
});

describe('queues', () => {
  it('creates a queue and a DLQ per wiring queue', () => {
    dev.stateful.resourceCountIs('AWS::SQS::Queue', queueEntries.length * 2);
  });

  it.each(queueEntries)(
    '%s: high-throughput FIFO, encrypted, redrive to a FIFO DLQ as wired',
    (key, spec) => {
      const resources = dev.stateful.toJSON().Resources as Record<string, Json>;
      const pair = dev.built.stateful.queues[key];
      const queue = props(resources[logicalId(pair.queue)] as Json);
      const dlq = props(resources[logicalId(pair.dlq)] as Json);
      const fifo = {
        FifoQueue: true,
        ContentBasedDeduplication: false,
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
        SqsManagedSseEnabled: true,
      };
      expect(queue).toMatchObject({ ...fifo, VisibilityTimeout: spec.visibilityTimeoutSeconds });
      expect(queue.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(pair.dlq), 'Arn'] },
        maxReceiveCount: spec.maxReceiveCount,
      });
      expect(dlq).toMatchObject({ ...fifo, MessageRetentionPeriod: 14 * 24 * 3600 });
    },
  );

  it('denies non-TLS access to every queue', () => {
    const policies = Object.values(resourcesOfType(dev.stateful, 'AWS::SQS::QueuePolicy'));
    const covered = new Set<string>();
    for (const policy of policies) {
      const p = props(policy);
      const statements = (p.PolicyDocument as Json).Statement as Json[];
      const denies = statements.some(
        (st) =>
          st.Effect === 'Deny' && JSON.stringify(st.Condition) === '{"Bool":{"aws:SecureTransport":"false"}}',
      );
      if (denies) for (const q of p.Queues as Json[]) covered.add(q.Ref as string);
    }
    for (const [key] of queueEntries) {
      expect(covered).toContain(logicalId(dev.built.stateful.queues[key].queue));
      expect(covered).toContain(logicalId(dev.built.stateful.queues[key].dlq));
    }
  });
});

describe('topics', () => {
  it('has the order-events topic (encrypted, SSL-only) and an alarm topic CloudWatch may publish to', () => {
    dev.stateful.resourceCountIs('AWS::SNS::Topic', 2);
    const orderEvents = props(
      dev.stateful.toJSON().Resources[logicalId(dev.built.stateful.topics.orderEvents)] as Json,
    );
    expect(JSON.stringify(orderEvents.KmsMasterKeyId)).toContain(':alias/aws/sns');
    dev.stateful.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
  });
});

describe('identity', () => {
  it('has a user pool with a strong password policy, an app client for SRP sign-in and the admin group', () => {
    dev.stateful.hasResourceProperties('AWS::Cognito::UserPool', {
      Policies: {
        PasswordPolicy: Match.objectLike({
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        }),
      },
      MfaConfiguration: 'OPTIONAL',
      DeletionProtection: 'INACTIVE',
    });
    dev.stateful.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH']),
      GenerateSecret: false,
    });
    dev.stateful.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: ADMIN_GROUP });
    // No hosted UI, no redirects: the OAuth flows are off, not merely unused.
    const client = props(
      Object.values(resourcesOfType(dev.stateful, 'AWS::Cognito::UserPoolClient'))[0] as Json,
    );
    expect(client.AllowedOAuthFlows).toBeUndefined();
    expect(client.AllowedOAuthFlowsUserPoolClient).toBe(false);
    expect(client.CallbackURLs).toBeUndefined();
    prod.stateful.hasResourceProperties('AWS::Cognito::UserPool', { DeletionProtection: 'ACTIVE' });
    prod.stateful.hasResource('AWS::Cognito::UserPool', { DeletionPolicy: 'Retain' });
  });
});

describe('outputs', () => {
  it('names every table and queue for the audit and DLQ tools', () => {
    const pascal = (key: string) => key.charAt(0).toUpperCase() + key.slice(1);
    for (const [key] of tableEntries) {
      dev.stateful.hasOutput(`${pascal(key)}TableName`, {
        Value: { Ref: logicalId(dev.built.stateful.tables[key]) },
      });
    }
    for (const [key] of queueEntries) {
      dev.stateful.hasOutput(`${pascal(key)}QueueUrl`, Match.objectLike({}));
      dev.stateful.hasOutput(`${pascal(key)}DlqUrl`, Match.objectLike({}));
    }
  });
});
