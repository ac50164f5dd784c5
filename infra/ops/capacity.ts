import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, DynamoDBClient, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DeleteProvisionedConcurrencyConfigCommand,
  GetProvisionedConcurrencyConfigCommand,
  LambdaClient,
  PutProvisionedConcurrencyConfigCommand,
} from '@aws-sdk/client-lambda';
import { tables } from '../../shared/wiring.ts';
import { LIVE_ALIAS } from '../settings.ts';
import { pascal } from '../stateful-stack.ts';
import { type CapacityStep, parseCapacityArgs, planCapacity } from './capacity-plan.ts';

/**
 * `npm run capacity:raise -- --stage prod --provisioned 200 --warm-writes 40000` before a drop,
 * `npm run capacity:lower -- --stage prod` after it. Uses the caller's AWS credentials and region;
 * names come from the stacks' outputs. Docs: docs/DEPLOY.md ("Before and after a drop").
 */
const request = (() => {
  try {
    return parseCapacityArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
})();

const cloudformation = new CloudFormationClient({});
const lambda = new LambdaClient({});
const dynamodb = new DynamoDBClient({});

async function outputs(stack: string): Promise<Record<string, string>> {
  const { Stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: stack }));
  return Object.fromEntries(
    (Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
  );
}

const prefix = `FlashSale-${request.stage}`;
const [stateful, stateless] = await Promise.all([
  outputs(`${prefix}-Stateful`),
  outputs(`${prefix}-Stateless`),
]);
const need = (from: Record<string, string>, key: string, stack: string) => {
  const value = from[key];
  if (!value) throw new Error(`Stack ${stack} has no output ${key}: deploy the current app first`);
  return value;
};

const tableNames = Object.keys(tables).map((key) =>
  need(stateful, `${pascal(key)}TableName`, `${prefix}-Stateful`),
);
const currentWarm: Record<string, { readUnitsPerSecond: number; writeUnitsPerSecond: number }> = {};
if (request.warm) {
  for (const name of tableNames) {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
    currentWarm[name] = {
      readUnitsPerSecond: Table?.WarmThroughput?.ReadUnitsPerSecond ?? 0,
      writeUnitsPerSecond: Table?.WarmThroughput?.WriteUnitsPerSecond ?? 0,
    };
  }
}

const steps = planCapacity(request, currentWarm);
for (const step of steps) await run(step);
if (request.direction === 'lower')
  console.log('DynamoDB warm throughput stays as it is: it can only be raised.');
console.log(`${request.direction}: ${steps.length} change(s) on ${prefix}.`);

async function run(step: CapacityStep): Promise<void> {
  if (step.kind === 'warmTable') {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: step.table }));
    const warm = {
      ReadUnitsPerSecond: step.readUnitsPerSecond,
      WriteUnitsPerSecond: step.writeUnitsPerSecond,
    };
    await dynamodb.send(
      new UpdateTableCommand({
        TableName: step.table,
        WarmThroughput: warm,
        // Every write to the table also writes its indexes: warm them alike.
        ...(Table?.GlobalSecondaryIndexes?.length
          ? {
              GlobalSecondaryIndexUpdates: Table.GlobalSecondaryIndexes.map((index) => ({
                Update: { IndexName: index.IndexName, WarmThroughput: warm },
              })),
            }
          : {}),
      }),
    );
    console.log(
      `${step.table}: warm throughput → ${step.readUnitsPerSecond} reads/s, ${step.writeUnitsPerSecond} writes/s`,
    );
    return;
  }
  const functionName = need(stateless, `${pascal(step.fn)}FunctionName`, `${prefix}-Stateless`);
  if (step.kind === 'deleteProvisioned') {
    try {
      await lambda.send(
        new DeleteProvisionedConcurrencyConfigCommand({ FunctionName: functionName, Qualifier: LIVE_ALIAS }),
      );
      console.log(`${step.fn}: provisioned concurrency removed`);
    } catch (error) {
      if ((error as Error).name !== 'ProvisionedConcurrencyConfigNotFoundException') throw error;
      console.log(`${step.fn}: had no provisioned concurrency`);
    }
    return;
  }
  await lambda.send(
    new PutProvisionedConcurrencyConfigCommand({
      FunctionName: functionName,
      Qualifier: LIVE_ALIAS,
      ProvisionedConcurrentExecutions: step.executions,
    }),
  );
  console.log(`${step.fn}: provisioned concurrency → ${step.executions} (allocating)`);
  while (request.wait) {
    const config = await lambda.send(
      new GetProvisionedConcurrencyConfigCommand({ FunctionName: functionName, Qualifier: LIVE_ALIAS }),
    );
    if (config.Status === 'READY') break;
    if (config.Status === 'FAILED') throw new Error(`${step.fn}: ${config.StatusReason}`);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
  }
}
