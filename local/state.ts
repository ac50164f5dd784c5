import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LocalResources } from './resources.ts';

export const STATE_FILE = 'runtime.json';

/** What a running local stack writes to `<dataDir>/runtime.json`, so operator tools can find it. */
export interface RuntimeState extends LocalResources {
  url: string;
  pid: number;
  /** DynamoDB Local's JVM, so a start after a crash can stop one left behind. */
  dynamodbPid?: number;
  endpoints: { dynamodb: string; sqs: string; region: string };
}

export function readRuntimeState(dataDir = '.local'): RuntimeState | undefined {
  try {
    return JSON.parse(readFileSync(join(resolve(dataDir), STATE_FILE), 'utf8')) as RuntimeState;
  } catch {
    return undefined;
  }
}
