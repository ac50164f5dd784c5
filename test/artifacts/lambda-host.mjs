/**
 * Runs one deployed bundle the way Lambda's Node.js runtime does, in its own process (started by
 * lib/lambda-process.ts with Lambda's Node version): resolve `_HANDLER` (`index.handler`) inside
 * LAMBDA_TASK_ROOT, import it once (the cold start), then take invocations over IPC one at a time
 * with a Lambda context and a per-invocation `_X_AMZN_TRACE_ID`. Plain JavaScript on purpose: it
 * must run on a bare Node without tsx, next to a bundle that has nothing else to lean on.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const send = (message) => new Promise((resolve) => process.send(message, () => resolve()));
const serialize = (error) => ({
  errorType: error?.name ?? typeof error,
  errorMessage: error?.message ?? String(error),
  stack: String(error?.stack ?? ''),
});

const taskRoot = process.env.LAMBDA_TASK_ROOT ?? '';
const [moduleName, exportName] = (process.env._HANDLER ?? '').split('.');
let handler;
try {
  const file = ['.mjs', '.js', '.cjs'].map((ext) => join(taskRoot, `${moduleName}${ext}`)).find(existsSync);
  if (!file) throw new Error(`Runtime.ImportModuleError: no ${moduleName}.{mjs,js,cjs} in ${taskRoot}`);
  const module = await import(pathToFileURL(file).href);
  handler = module[exportName];
  if (typeof handler !== 'function')
    throw new Error(`Runtime.HandlerNotFound: ${moduleName}.${exportName} is not a function`);
  await send({ type: 'ready' });
} catch (error) {
  await send({ type: 'initError', error: serialize(error) });
  process.exit(1);
}

const memory = process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128';
process.on('message', async ({ id, event, timeoutMs }) => {
  const deadline = Date.now() + timeoutMs;
  const requestId = randomUUID();
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  process.env._X_AMZN_TRACE_ID = `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:000000000000:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
    memoryLimitInMB: memory,
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
  let timer;
  try {
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Task timed out after ${timeoutMs / 1000} seconds`)),
        timeoutMs,
      );
    });
    const result = await Promise.race([handler(event, context), timeout]);
    await send({ id, ok: true, result: result === undefined ? null : result });
  } catch (error) {
    await send({ id, ok: false, error: serialize(error) });
  } finally {
    clearTimeout(timer);
  }
});
