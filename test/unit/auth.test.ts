import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { devIssuer } from '../../local/dev-issuer.ts';
import { DEV_ISSUER } from '../../shared/auth/dev-issuer.ts';
import { principalOf } from '../../shared/auth/verify.ts';

describe('the local dev issuer', () => {
  it('publishes only public key material and signs tokens the JWKS verifies', async () => {
    const keyFile = join(mkdtempSync(join(tmpdir(), 'issuer-')), 'key.json');
    const issuer = await devIssuer(keyFile);
    for (const key of issuer.jwks.keys) {
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(secret);
    }
    const token = await issuer.sign('carol', true);
    const { payload } = await jwtVerify(token, createLocalJWKSet(issuer.jwks), { issuer: DEV_ISSUER });
    expect(principalOf(payload)).toEqual({ userId: 'carol', admin: true });
    // The same key comes back from disk, so `npm run token` and the server agree.
    const again = await devIssuer(keyFile);
    await expect(jwtVerify(await again.sign('dave'), createLocalJWKSet(issuer.jwks))).resolves.toBeDefined();
  });

  it('reads groups from Cognito or generic claims and requires a subject', () => {
    expect(principalOf({ sub: 'u', 'cognito:groups': ['admin'] })).toEqual({ userId: 'u', admin: true });
    expect(principalOf({ sub: 'u', groups: ['buyers'] })).toEqual({ userId: 'u', admin: false });
    expect(principalOf({ groups: ['admin'] })).toBeUndefined();
  });
});
