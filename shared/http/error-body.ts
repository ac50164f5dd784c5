import type { ErrorCode, ErrorDetail } from '../domain/errors.ts';

/** The contract's error body: {"error": {"code", "message", "details"?}}. */
export function errorBody(code: ErrorCode, message: string, details: ErrorDetail[] = []): string {
  return JSON.stringify({ error: { code, message, ...(details.length > 0 ? { details } : {}) } });
}
