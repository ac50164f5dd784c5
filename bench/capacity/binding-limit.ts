/** Naming the limit a run's checkouts hit, from what it used and what DynamoDB refused. */

const largest = (u: Record<string, number>, names: string[]) =>
  names.reduce((a, b) => ((u[b] ?? 0) > (u[a] ?? 0) ? b : a));

/**
 * Which limit holds the checkouts back. Under open-loop overload every queue fills (Lambda environments
 * wait in backoff, so concurrency reads ~100 % whatever binds), so the cause is read in order: an API
 * bucket that is full while (nearly) every request it admits succeeds; else refused DynamoDB calls
 * (conflicts on stock items, or the most used partition/table when throttled); else Lambda concurrency.
 */
export function bindingLimit(
  u: Record<string, number>,
  accepted: number,
  admitted: number,
  conflicts: number,
  throttles: number,
): string {
  const apiNames = ['API Gateway account quota', 'API stage throttle', 'API checkout throttle'];
  const api = largest(u, apiNames);
  if ((u[api] ?? 0) >= 0.97 && accepted >= 0.97 * admitted) return api;
  if (conflicts >= throttles && conflicts > 0.1 * accepted) return 'stock items: transaction conflicts';
  const dynamo = Object.keys(u).filter((n) => !apiNames.includes(n) && !n.endsWith('concurrency'));
  if (throttles > 0.1 * accepted) return largest(u, dynamo);
  return largest(u, ['placeOrder concurrency', 'authorizer concurrency']);
}
