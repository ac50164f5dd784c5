import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../config.ts';
import { emulatorCredentials } from '../aws.ts';
import { DynamoOrderStore } from './order-store.ts';
import { DynamoSaleStore } from './sale-store.ts';
import { DynamoStockStore } from './stock-store.ts';
import { DynamoSweepStore } from './sweep-store.ts';

export interface ClientTimeouts {
  /** Per attempt: a socket that does not connect in time is dropped and the SDK retries. */
  connectionTimeoutMs: number;
  /** Per attempt: a request without a response in time is abandoned and the SDK retries. */
  requestTimeoutMs: number;
}

export function documentClient(
  config: Pick<Config, 'region' | 'endpoints'>,
  timeouts?: ClientTimeouts,
): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: config.region,
    // The SDK's own retries (adaptive backoff on throttling) run before ours see anything.
    maxAttempts: 4,
    ...(timeouts
      ? {
          requestHandler: {
            connectionTimeout: timeouts.connectionTimeoutMs,
            requestTimeout: timeouts.requestTimeoutMs,
            throwOnRequestTimeout: true,
          },
        }
      : {}),
    ...(config.endpoints.dynamodb
      ? { endpoint: config.endpoints.dynamodb, credentials: emulatorCredentials() }
      : {}),
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** Clients are per bundle; each handler builds the stores it needs, once, at module scope. */
export function stores(
  config: Pick<Config, 'region' | 'endpoints' | 'tableName'>,
  timeouts?: ClientTimeouts,
) {
  const db = documentClient(config, timeouts);
  // Table names resolve on first use: a function is given only the tables its wiring entry grants.
  const table = (key: 'sales' | 'claims') => () => config.tableName(key);
  return {
    db,
    sales: () => new DynamoSaleStore(db, config.tableName('sales')),
    stock: () => new DynamoStockStore(db, config.tableName('sales'), config.tableName('claims')),
    orders: () => new DynamoOrderStore(db, config.tableName('orders'), table('sales'), table('claims')),
    sweep: () => new DynamoSweepStore(db, config.tableName('sales'), config.tableName('claims')),
  };
}
