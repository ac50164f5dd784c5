import { openApiDocument } from '../../shared/api/openapi.ts';
import { route } from '../../shared/http/route.ts';

// Built once per instance from the same code as the committed docs/openapi.json (a test compares them).
const body = JSON.stringify(openApiDocument());
const headers = {
  'Content-Type': 'application/json',
  // The same for everyone and changed only by a deployment: a CDN or browser may keep it a while.
  'Cache-Control': 'public, max-age=300',
};

export const handler = route({ auth: 'public' }, async () => ({ statusCode: 200, headers, body }));
