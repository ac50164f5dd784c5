import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Opaque tokens the API issues and later reads back (pagination cursors, admission tokens):
 * base64url(JSON payload) "." base64url(HMAC-SHA256(key, purpose + payload)). The purpose is
 * part of the MAC, so a token minted for one use is refused by another. Anything unsigned,
 * tampered with, truncated or foreign reads as undefined; the caller validates the payload's shape.
 */
export function signedTokens(key: string, purpose: string) {
  const mac = (payload: string) =>
    createHmac('sha256', key).update(`${purpose}\u0000${payload}`).digest('base64url');
  return {
    sign(payload: unknown): string {
      const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
      return `${body}.${mac(body)}`;
    },
    read(token: string): unknown {
      const [body, signature, extra] = token.split('.');
      if (!body || !signature || extra !== undefined) return undefined;
      const expected = Buffer.from(mac(body));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      try {
        return JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      } catch {
        return undefined;
      }
    },
  };
}

export type SignedTokens = ReturnType<typeof signedTokens>;
