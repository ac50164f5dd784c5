/** How DynamoDB and the SDK report failures, sorted into what the callers need to know. */
import { StoreBusyError } from '../../ports.ts';

export function isConditionFailure(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  if (name === 'ConditionalCheckFailedException') return true;
  if (name === 'TransactionCanceledException') {
    const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
    return reasons.some((r) => r.Code === 'ConditionalCheckFailed');
  }
  return false;
}

const transientNames = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
  'TransactionInProgressException',
  'AbortError',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const networkCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Load or a flaky network, still failing after the SDK's own retries (or our budget aborted the
 * call): worth another try later, and for a write the outcome may be unknown.
 */
export function isTransient(error: unknown): boolean {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  return (
    transientNames.has(e.name ?? '') ||
    networkCodes.has(e.code ?? '') ||
    (e.$metadata?.httpStatusCode ?? 0) >= 500
  );
}

/**
 * A read whose transient failure (a budget's abort included) is StoreBusyError, which callers
 * answer RETRY, never 500: `what` names what could not be read.
 */
export async function readOrBusy<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (isTransient(error)) throw new StoreBusyError(`${what} unreadable now`, { cause: error });
    throw error;
  }
}
