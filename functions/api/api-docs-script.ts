import { readAsset } from '../../shared/http/assets.ts';
import { route } from '../../shared/http/route.ts';
import { SCALAR_STANDALONE } from '../../shared/wiring.ts';

// Scalar's self-contained browser bundle (~4.9 MB; a Lambda answer may hold 6 MB), read once.
const body = readAsset(SCALAR_STANDALONE);
const headers = {
  'Content-Type': 'text/javascript; charset=utf-8',
  // Changes only with the pinned package version, i.e. with a deployment.
  'Cache-Control': 'public, max-age=86400',
  'X-Content-Type-Options': 'nosniff',
};

export const handler = route({ auth: 'public' }, async () => ({ statusCode: 200, headers, body }));
