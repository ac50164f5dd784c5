import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { devIssuer } from './dev-issuer.ts';

/** `npm run token -- --user alice [--admin]`: a bearer token the local runtime accepts. */
const { values } = parseArgs({
  options: {
    user: { type: 'string' },
    admin: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
  },
});
if (!values.user || !/^[A-Za-z0-9_@.-]{1,128}$/.test(values.user)) {
  console.error('Usage: npm run token -- --user <id> [--admin]   (id: 1-128 of A-Z a-z 0-9 _ @ . -)');
  process.exit(2);
}
const issuer = await devIssuer(join(resolve(values['data-dir'] ?? '.local'), 'dev-issuer-key.json'));
console.log(await issuer.sign(values.user, values.admin));
