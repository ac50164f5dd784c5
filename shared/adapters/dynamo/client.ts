import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../config.ts';
import { emulatorCredentials } from '../aws.ts';
import { DynamoOrderStore } from './order-store.ts';
import { DynamoSaleStore } from './sale-store.ts';

export function documentClient(config: Pick<Config, 'region' | 'endpoints'>): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: config.region,
    // The SDK's own retries (adaptive backoff on throttling) run before ours see anything.
    maxAttempts: 4,
    ...(config.endpoints.dynamodb
      ? { endpoint: config.endpoints.dynamodb, credentials: emulatorCredentials() }
      : {}),
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** Clients are per bundle; each handler builds the stores it needs, once, at module scope. */
export function stores(config: Pick<Config, 'region' | 'endpoints' | 'tableName'>) {
  const db = documentClient(config);
  return {
    db,
    sales: () => new DynamoSaleStore(db, config.tableName('sales')),
    orders: () => new DynamoOrderStore(db, config.tableName('orders'), () => config.tableName('sales')),
  };
}
