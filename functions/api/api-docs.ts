import { route } from '../../shared/http/route.ts';

/**
 * The API reference: Scalar renders the OpenAPI document. Paths are relative so the page works
 * under a stage prefix (`…/v1/docs` loads `…/v1/docs/scalar.js` and `…/v1/openapi.json`). The
 * configuration sits in a JSON script element (never executed), so the policy allows no inline
 * script; Scalar's default fonts (a CDN) are off, and "try it" calls go to this origin only.
 */
const configuration = JSON.stringify({
  withDefaultFonts: false,
  showDeveloperTools: 'never',
  telemetry: false,
  agent: { disabled: true },
  mcp: { disabled: true },
});
const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Flash-sale checkout API</title><link rel="icon" href="data:,"></head>
<body>
<script id="api-reference" type="application/json" data-url="openapi.json" data-configuration='${configuration}'></script>
<script src="docs/scalar.js"></script>
</body></html>
`;
const headers = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'Cache-Control': 'public, max-age=300',
  'X-Content-Type-Options': 'nosniff',
};

export const handler = route({ auth: 'public' }, async () => ({ statusCode: 200, headers, body: html }));
