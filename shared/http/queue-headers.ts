import type { QueueStatus } from '../usecases/waiting-room.ts';

/**
 * The answer is one buyer's (it may carry their admission token), so no shared cache may keep it:
 * `private` lets the buyer's own browser reuse it until the next poll is due, and `Vary:
 * Authorization` keeps any cache that ignores `private` from serving it to another bearer. A CDN
 * in front (CloudFront) forwards these; the cacheable, shared part of the room is GET /sales/{id}.
 */
export function queueHeaders(status: QueueStatus): Record<string, string> {
  const headers: Record<string, string> = {
    'Cache-Control': `private, max-age=${status.state === 'WAITING' ? Math.min(status.pollAfterSeconds, 5) : 0}`,
    Vary: 'Authorization',
  };
  if (status.pollAfterSeconds > 0) headers['Retry-After'] = String(status.pollAfterSeconds);
  return headers;
}
