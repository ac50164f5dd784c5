import { spawnSync } from 'node:child_process';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';

/**
 * `npm run deploy [-- cdk options]`: reads this account's Lambda concurrency quota (GetAccountSettings,
 * the account and region of the CLI's credentials) and deploys with `-c accountConcurrency=N`, so
 * the concurrency plan (infra/concurrency-plan.ts) reserves only what fits. An explicit
 * `-c accountConcurrency=N` wins and skips the lookup.
 */
const args = process.argv.slice(2);
const given = args.some((arg) => arg.startsWith('accountConcurrency='));
let context: string[] = [];
if (!given) {
  try {
    const settings = await new LambdaClient({}).send(new GetAccountSettingsCommand({}));
    const quota = settings.AccountLimit?.ConcurrentExecutions;
    if (!quota) throw new Error('GetAccountSettings returned no ConcurrentExecutions');
    console.log(
      `Lambda concurrency quota ${quota} (unreserved now ${settings.AccountLimit?.UnreservedConcurrentExecutions ?? '?'}): deploying with -c accountConcurrency=${quota}`,
    );
    context = ['-c', `accountConcurrency=${quota}`];
  } catch (error) {
    console.error(
      `Cannot read the account's Lambda concurrency quota (${(error as Error).message}).\n` +
        'Check your AWS credentials and region, or pass it yourself: npm run deploy -- -c accountConcurrency=N',
    );
    process.exit(2);
  }
}
const result = spawnSync('npx', ['cdk', 'deploy', '--all', ...context, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
