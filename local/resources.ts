import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { emulatorCredentials } from '../shared/adapters/aws.ts';
import { type QueueKey, queues, type TableKey, type TableSpec, tables, topics } from '../shared/wiring.ts';

export interface Endpoints {
  region: string;
  dynamodb: string;
  sqs: string;
}

export interface LocalResources {
  /** Environment variables naming every table, queue and topic, as the CDK app sets them in AWS. */
  env: Record<string, string>;
  tableNames: Record<TableKey, string>;
  queueUrls: Record<QueueKey, string>;
  dlqUrls: Record<QueueKey, string>;
}

export function tableInput(spec: TableSpec, tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, 'S' | 'N'>([[spec.partitionKey.name, spec.partitionKey.type]]);
  for (const index of spec.indexes) {
    attributes.set(index.partitionKey.name, index.partitionKey.type);
    attributes.set(index.sortKey.name, index.sortKey.type);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: [{ AttributeName: spec.partitionKey.name, KeyType: 'HASH' }],
    ...(spec.indexes.length > 0
      ? {
          GlobalSecondaryIndexes: spec.indexes.map((index) => ({
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
              { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          })),
        }
      : {}),
  };
}

/**
 * Creates (or finds) every table, queue and topic of the wiring table on the given endpoints.
 * Idempotent, so a restart over persisted data is fine.
 */
export async function ensureResources(
  endpoints: Endpoints,
  options: { prefix: string; visibilityTimeoutSeconds?: number; maxReceiveCount?: number },
): Promise<LocalResources> {
  const credentials = emulatorCredentials();
  const ddb = new DynamoDBClient({ region: endpoints.region, endpoint: endpoints.dynamodb, credentials });
  const sqs = new SQSClient({ region: endpoints.region, endpoint: endpoints.sqs, credentials });
  const sns = new SNSClient({ region: endpoints.region, endpoint: endpoints.sqs, credentials });
  const env: Record<string, string> = {};

  const tableNames = {} as Record<TableKey, string>;
  for (const [key, spec] of Object.entries(tables) as [TableKey, TableSpec][]) {
    const name = `${options.prefix}-${spec.name}`;
    try {
      await ddb.send(new CreateTableCommand(tableInput(spec, name)));
      if (spec.ttlAttribute) {
        await ddb.send(
          new UpdateTimeToLiveCommand({
            TableName: name,
            TimeToLiveSpecification: { AttributeName: spec.ttlAttribute, Enabled: true },
          }),
        );
      }
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    tableNames[key] = name;
    env[spec.envVar] = name;
  }

  const queueUrls = {} as Record<QueueKey, string>;
  const dlqUrls = {} as Record<QueueKey, string>;
  for (const [key, spec] of Object.entries(queues) as [QueueKey, (typeof queues)[QueueKey]][]) {
    const fifo = { FifoQueue: 'true', ContentBasedDeduplication: 'false' };
    const dlq = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${options.prefix}-${spec.dlqName}`,
        Attributes: { ...fifo, MessageRetentionPeriod: '1209600' },
      }),
    );
    const dlqAttributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${options.prefix}-${spec.name}`,
        Attributes: {
          ...fifo,
          VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? spec.visibilityTimeoutSeconds),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: dlqAttributes.Attributes?.QueueArn,
            maxReceiveCount: options.maxReceiveCount ?? spec.maxReceiveCount,
          }),
        },
      }),
    );
    queueUrls[key] = queue.QueueUrl as string;
    dlqUrls[key] = dlq.QueueUrl as string;
    env[spec.envVar] = queueUrls[key];
  }

  for (const spec of Object.values(topics)) {
    const topic = await sns.send(new CreateTopicCommand({ Name: `${options.prefix}-${spec.name}` }));
    env[spec.envVar] = topic.TopicArn as string;
  }
  ddb.destroy();
  sqs.destroy();
  sns.destroy();
  return { env, tableNames, queueUrls, dlqUrls };
}
