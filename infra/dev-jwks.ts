import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm start` and `npm run token` keep the dev issuer's key (git-ignored). */
export const DEV_ISSUER_KEY_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '.local',
  'dev-issuer-key.json',
);

/** JWK members that describe a public key; everything else (d, p, q, ...) stays on this machine. */
const PUBLIC_MEMBERS = ['kty', 'kid', 'alg', 'use', 'n', 'e', 'crv', 'x', 'y'] as const;

/**
 * The dev issuer's public JWKS for the localstack target, read from the local key file. Only the
 * public members are copied: the template (and every function's environment) must never carry
 * the private key.
 */
export function readDevJwks(keyFile = DEV_ISSUER_KEY_FILE): string {
  if (!existsSync(keyFile))
    throw new Error(
      `The localstack target needs the dev issuer's public key: run \`npm run token -- --user anyone\` once (it creates ${keyFile}), or pass -c jwks='{"keys":[...]}'.`,
    );
  const jwk = JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>;
  const publicJwk = Object.fromEntries(
    PUBLIC_MEMBERS.filter((member) => jwk[member] !== undefined).map((member) => [member, jwk[member]]),
  );
  return JSON.stringify({ keys: [{ use: 'sig', ...publicJwk }] });
}
